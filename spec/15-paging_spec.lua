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
