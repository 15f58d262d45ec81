-- Paging with several requests in flight: items still come in order, every
-- item once, and a 401 in the middle of a batch is refreshed once.
local H = require "helpers"
local jumpseller = require "jumpseller"
local bigcommerce = require "bigcommerce"
local infusionsoft = require "infusionsoft"

local function collect(iter)
  local ids = {}
  for item in iter do ids[#ids + 1] = item.id end
  return ids
end

describe("paging with requests in flight", function()
  it("walks Jumpseller's pages 4 at a time, in order", function()
    local sandbox = H.sandbox("jumpseller", { "--basic-login", "s", "--basic-token", "t" })
    local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "s", Password = "t", URL = sandbox.url .. "/v1" }))
    local one = collect(c:each("/orders.json", { limit = 30 }))
    sandbox:reset()
    local four = collect(c:each("/orders.json", { limit = 30 }, { in_flight = 4 }))
    assert.same(one, four)
    assert.equal(300, #four)
    -- 10 full pages then an empty one; batches of 4 ask for pages 1-12
    assert.equal(12, #sandbox:requests("/v1/orders.json"))
    assert.has_error(function() c:each("/orders.json", nil, { in_flight = 0 }) end)
    c:close()
    sandbox:stop()
  end)

  it("walks BigCommerce v3 and Keap v1 pages in parallel", function()
    local bc = H.sandbox("bigcommerce", { "--api-key", "k" })
    local c = assert(bigcommerce.connect({ AuthScheme = "APIKEY", APIKey = "k", StoreId = "sbx123abc",
      URL = bc.url .. "/stores/{StoreId}/v3" }))
    local ids = collect(c:each("/catalog/products", { limit = 50 }, { in_flight = 3 }))
    assert.equal(320, #ids)
    for i = 2, #ids do assert.is_true(ids[i] > ids[i - 1]) end
    c:close()
    bc:stop()

    local keap = H.sandbox("keap", { "--api-key", "k" })
    c = assert(infusionsoft.connect({ AuthScheme = "APIKEY", APIKey = "k", URL = keap.url .. "/crm/rest/v1" }))
    ids = collect(c:each("/contacts", { limit = 70 }, { in_flight = 2 }))
    assert.equal(300, #ids)
    for i = 2, #ids do assert.is_true(ids[i] > ids[i - 1]) end
    c:close()
    keap:stop()
  end)

  it("refreshes once when a batch meets an expired token", function()
    local sandbox = H.sandbox("jumpseller")
    local dir = H.tmpdir()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH", CallbackURL = "http://127.0.0.1:1/cb",
      OAuthSettingsLocation = dir .. "/t.json" })
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    local c = assert(jumpseller.connect(props))
    sandbox:expire()
    local ids = collect(c:each("/orders.json", { limit = 100 }, { in_flight = 4 }))
    assert.equal(300, #ids)
    assert.equal(1, sandbox:stats().refreshes)
    c:close()
    sandbox:stop()
    H.cleanup()
  end)

  -- A number given as a path or method was turned into a string that
  -- nothing kept alive while the batch ran (heap-use-after-free under
  -- ASan, once a collection ran in between: here a metatable's __index,
  -- which reading the request's next field calls). A child process: the
  -- sanitizer run gives it the instrumented interpreter.
  it("raises for a path or method that is not a string, in a batch or a parallel walk", function()
    local sandbox = H.sandbox("jumpseller", { "--basic-login", "s", "--basic-token", "t" })
    local out, err, code = H.run_lua([[
      local collect = { __index = function() collectgarbage() end }
      local c = assert(require("jumpseller").connect(os.getenv("CONN")))
      local function raised(f)
        local ok, e = pcall(f)
        assert(not ok, "no error raised")
        return tostring(e)
      end
      local reqs = {}
      for i = 1, 32 do reqs[i] = setmetatable({ method = "GET", path = 1000 + i + 0.5 }, collect) end
      print(raised(function() return c:request_many(reqs) end))
      for i = 1, 32 do reqs[i] = setmetatable({ method = 7, path = "/orders.json" }, collect) end
      print(raised(function() return c:request_many(reqs) end))
      reqs = { { path = "/orders.json" }, { path = 42 } }
      print(raised(function() return c:request_many(reqs) end))
      print(raised(function() for _ in c:each(123, nil, { in_flight = 4 }) do end end))
      print(raised(function() for _ in c:each(123) do end end))
      local results = assert(c:request_many({ { path = "/orders.json" }, { method = "GET", path = "/store/info.json" } }))
      print(#results, results[1].status, results[2].status)
      c:close()
    ]], { CONN = H.connstr({ AuthScheme = "BASIC", User = "s", Password = "t", URL = sandbox.url .. "/v1" }) })
    sandbox:stop()
    assert.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.matches("request 1: path must be a string", lines[1], 1, true)
    assert.matches("request 1: method must be a string", lines[2], 1, true)
    assert.matches("request 2: path must be a string", lines[3], 1, true)
    assert.matches("path must be a string", lines[4], 1, true)
    assert.matches("path must be a string", lines[5], 1, true)
    assert.equal("2\t200\t200", lines[6])
  end)

  -- A page that is not JSON is named by the URL it came from, as a
  -- client:get of it is (spec/07), in a parallel walk too.
  it("names a page that is not JSON by its URL", function()
    local sandbox = H.sandbox("jumpseller", { "--basic-login", "s", "--basic-token", "t" })
    local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "s", Password = "t", URL = sandbox.url .. "/v1",
      MaxAttempts = 1 }))
    for _, in_flight in ipairs({ 1, 3 }) do
      sandbox:inject({ path = "/v1/orders.json", status = 200, body = "<html>oops</html>",
        headers = { ["Content-Type"] = "text/html" } })
      local ok, err = pcall(function() for _ in c:each("/orders.json", nil, { in_flight = in_flight }) do end end)
      assert.is_false(ok)
      assert.equal("bad_response", err.code)
      assert.matches("GET " .. sandbox.url .. "/v1/orders.json", tostring(err), 1, true)
    end
    c:close()
    sandbox:stop()
  end)

  it("raises the page's error", function()
    local sandbox = H.sandbox("jumpseller", { "--basic-login", "s", "--basic-token", "t" })
    local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "s", Password = "t", URL = sandbox.url .. "/v1",
      MaxAttempts = 1 }))
    sandbox:inject({ path = "/v1/orders.json", status = 500, body = '{"message":"boom"}', count = 4 })
    local ok, err = pcall(function() for _ in c:each("/orders.json", nil, { in_flight = 4 }) do end end)
    assert.is_false(ok)
    assert.equal("server_error", err.code)
    assert.equal(500, err.status)
    assert.matches("GET http://127.0.0.1:%d+/v1/orders.json: HTTP 500", err.message)
    assert.matches("boom", err.message)
    -- the batch's own answer is the error: no page is asked for again
    assert.equal(4, #sandbox:requests("/v1/orders.json"))
    c:close()
    sandbox:stop()
  end)
end)
