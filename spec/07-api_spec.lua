-- Signed requests, JSON, pagination and HTTP errors against the Jumpseller sandbox.
local H = require "helpers"
local jumpseller = require "jumpseller"

describe("the Jumpseller client", function()
  local sandbox, client, dir

  setup(function()
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
    local props = sandbox:jumpseller_props({
      InitiateOAuth = "GETANDREFRESH",
      OAuthSettingsLocation = dir .. "/tokens.json",
      CallbackURL = "http://127.0.0.1:1/callback",
      Scope = "read_store read_orders read_products write_products",
    })
    local code = sandbox:authorize({ scope = props.Scope })
    assert(jumpseller.get_access_token(props, code))
    client = assert(jumpseller.connect(props))
  end)

  teardown(function()
    if client then client:close() end
    sandbox:stop()
    H.cleanup()
  end)

  it("gets the store info", function()
    local info, res = assert(client:get("/store/info.json"))
    assert.equal("Sandbox Store", info.store.name)
    assert.equal(200, res.status)
    assert.matches("application/json", res.headers["Content-Type"])
    assert.equal(res.headers["content-type"], res.headers["CONTENT-TYPE"])
  end)

  it("gives res.headers as a table of every header, made when first read", function()
    local res = assert(client:request { path = "/store/info.json" })
    local h = res.headers
    assert.is_table(h)
    assert.equal(h, res.headers) -- made once
    local names = {}
    for name, value in pairs(h) do
      assert.equal(name:lower(), name)
      assert.is_string(value)
      names[#names + 1] = name
    end
    assert.is_true(#names >= 2)
    assert.matches("application/json", h["Content-Type"])
    assert.is_nil(rawget(res, "raw")) -- nothing else shows in the result
    for k in pairs(res) do assert.is_true(k == "status" or k == "body" or k == "headers") end
  end)

  it("signs with a Bearer token and identifies itself", function()
    assert(client:get("/store/info.json"))
    local reqs = sandbox:requests("/v1/store/info.json")
    local last = reqs[#reqs]
    assert.matches("^Bearer %S+$", last.headers.authorization)
    assert.matches("^oauthconnect/%d", last.headers["user-agent"])
  end)

  it("walks every order across pages, unwrapping envelopes, with a filter", function()
    local count = assert(client:get("/orders/count.json", { status = "paid" })).count
    assert.is_true(count > 0)
    local seen, ids = 0, {}
    for order in client:each("/orders.json", { status = "paid" }) do
      seen = seen + 1
      assert.equal("/orders/" .. order.id, ("/orders/%d"):format(order.id)) -- never "1001.0"
      assert.is_nil(ids[order.id])
      ids[order.id] = true
      assert.equal("paid", order.status:lower())
    end
    assert.equal(count, seen)
  end)

  it("asks for pages of at most 100", function()
    sandbox:reset()
    local n = 0
    for _ in client:each("/orders.json", { limit = 500 }) do n = n + 1 end
    assert.equal(300, n)
    for _, r in ipairs(sandbox:requests("/v1/orders.json")) do
      assert.equal("100", r.query.limit)
    end
    assert.equal(4, #sandbox:requests("/v1/orders.json")) -- 100, 100, 100, then an empty page
  end)

  it("posts JSON and returns the created object", function()
    local created, res = assert(client:post("/products.json", { product = { name = "Tee", price = 10 } }))
    assert.equal("Tee", created.product.name)
    assert.is_number(created.product.id)
    assert.is_true(res.status == 200 or res.status == 201)
    local reqs = sandbox:requests("/v1/products.json")
    assert.matches("^application/json", reqs[#reqs].headers["content-type"])
  end)

  it("sends a large body at once, without Expect: 100-continue", function()
    -- libcurl asks before sending bodies over 1 MiB; some API gateways never
    -- answer "100 Continue", and each request would wait a second for it
    local big = string.rep("x", 1100 * 1024)
    assert(client:post("/products.json", { product = { name = "Big", description = big } }))
    assert(client:request { method = "POST", path = "/products.json",
      body = '{"product":{"name":"Big2","description":"' .. big .. '"}}' })
    local reqs = sandbox:requests("/v1/products.json")
    assert.is_nil(reqs[#reqs - 1].headers.expect)
    assert.is_nil(reqs[#reqs].headers.expect)
  end)

  it("turns HTTP errors into err with status, code and the provider's message", function()
    local body, err = client:get("/orders/999999.json")
    assert.is_nil(body)
    assert.equal(404, err.status)
    assert.equal("not_found", err.code)
    assert.matches("GET http://127%.0%.0%.1:%d+/v1/orders/999999%.json: HTTP 404 Not Found: Order not found", tostring(err))

    body, err = client:post("/products.json", { product = { price = 3 } })
    assert.is_nil(body)
    assert.equal(422, err.status)
    assert.equal("unprocessable", err.code)
    assert.matches("name can't be blank", err.message)
  end)

  it("joins an error with strings and numbers, on either side, as its message", function()
    local _, err = client:get("/orders/999999.json")
    local text = tostring(err)
    assert.equal("failed: " .. text, "failed: " .. err)
    assert.equal(text .. "!", err .. "!")
    assert.equal("1" .. text, 1 .. err)
    assert.equal(text .. "2.5", err .. 2.5)
    assert.equal(text .. text, err .. err)
    local made = require("oauthconnect.core").error("bad_response", "made in Lua")
    assert.equal("x: made in Lua", "x: " .. made)
    assert.has_error(function() return err .. {} end, "attempt to concatenate a table value")
    assert.has_error(function() return nil .. err end, "attempt to concatenate a nil value")
  end)

  it("returns the raw response from request, whatever the status", function()
    local res = assert(client:request { method = "GET", path = "/orders/999999.json" })
    assert.equal(404, res.status)
    assert.matches("Order not found", res.body)
    res = assert(client:request { method = "post", path = "/products.json", json = { product = { name = "Mug" } } })
    assert.equal("Mug", require("oauthconnect.json").decode(res.body).product.name)
    -- the caller's Content-Type, in any spelling, is the only one sent
    sandbox:reset()
    res = assert(client:request { method = "POST", path = "/products.json", json = { product = { name = "Cup" } },
      headers = { ["content-type"] = "application/json; charset=utf-8" } })
    assert.equal(200, res.status, res.body)
    local seen = sandbox:requests("/v1/products.json")
    assert.equal("application/json; charset=utf-8", seen[#seen].headers["content-type"])
  end)

  it("raises for arguments of the wrong type, naming them", function()
    assert.has_error(function() client:get("/store/info.json", "a=b") end, "query must be a table")
    assert.has_error(function() client:post("/products.json", print) end)
    local ok, e = pcall(client.post, client, "/products.json", { f = print })
    assert.is_false(ok)
    assert.matches("the body cannot be sent as JSON", e)
    assert.has_error(function() client:request { path = "/x", method = 5 } end,
      "client:request: method must be a string")
    assert.has_error(function() client:request { path = "/x", query = "a=b" } end,
      "client:request: query must be a table")
    assert.has_error(function() client:request { path = "/x", body = {} } end,
      "client:request: body must be a string (or use json)")
    assert.has_error(function() client:request { path = "/x", body = "{}", json = {} } end,
      "client:request takes body or json, not both")
    assert.has_error(function() client:each("/orders.json", nil, { page_size = 10 }) end,
      "each: unknown option 'page_size' (in_flight, on_page; page size goes in the query)")
  end)

  it("each takes the array of a collection wrapped in an object, and refuses an object without one", function()
    sandbox:inject({ path = "/v1/products.json", status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"products":[{"product":{"id":1}},{"product":{"id":2}}]}' })
    local ids = {}
    for p in client:each("/products.json") do ids[#ids + 1] = p.id end
    assert.same({ 1, 2 }, ids)
    -- an object that is no collection: an error, not zero items
    local ok, err = pcall(function() for _ in client:each("/store/info.json") do end end)
    assert.is_false(ok)
    assert.equal("bad_response", err.code)
    assert.matches("GET " .. sandbox.url .. "/v1/store/info.json: no array of items in the answer",
      tostring(err), 1, true)
  end)

  it("names the scope a 403 insufficient_scope challenge asks for", function()
    sandbox:inject({ path = "/v1/products.json", status = 403, body = '{"message":"need admin"}',
      headers = { ["Content-Type"] = "application/json",
        ["WWW-Authenticate"] = 'Bearer realm="api", error="insufficient_scope", scope="write_products admin"' } })
    local body, err = client:get("/products.json")
    assert.is_nil(body)
    assert.equal(403, err.status)
    assert.equal("insufficient_scope", err.oauth_error)
    assert.matches("the token lacks a scope this needs (write_products admin); add it to Scope and log in again",
      err.message, 1, true)
  end)

  it("reports a 200 whose body is not JSON", function()
    sandbox:inject({ path = "/v1/store/info.json", status = 200, body = "<html>oops</html>",
      headers = { ["Content-Type"] = "text/html" } })
    local body, err = client:get("/store/info.json")
    assert.is_nil(body)
    assert.equal("bad_response", err.code)
    assert.equal(200, err.status)
    -- named by the URL it went to, as HTTP errors are, not by the bare path
    assert.matches("GET " .. sandbox.url .. "/v1/store/info.json: HTTP 200", tostring(err), 1, true)
  end)

  it("never sends the token to another origin", function()
    local evil = H.sandbox("jumpseller")
    local body, err = client:get(evil.url .. "/v1/store/info.json")
    assert.is_nil(body)
    assert.equal("origin_refused", err.code)

    sandbox:inject({ path = "/v1/store/info.json", status = 302,
      headers = { Location = evil.url .. "/v1/store/info.json" } })
    body, err = client:get("/store/info.json")
    assert.is_nil(body)
    assert.equal("origin_refused", err.code)
    assert.equal(0, #evil:requests("/"))
    evil:stop()
  end)

  -- The origin is scheme, host and port, each on its own: the same port
  -- under another name of this machine, or the same host and port over
  -- https, is another origin. The API here is http://127.0.0.1:PORT.
  it("never sends the token to another host or scheme at the API's port", function()
    local port = sandbox.url:match(":(%d+)$")
    for _, other in ipairs({ "http://localhost:" .. port, "https://127.0.0.1:" .. port }) do
      sandbox:reset()
      local body, err = client:get(other .. "/v1/store/info.json")
      assert.is_nil(body, other)
      assert.equal("origin_refused", err.code, other)
      sandbox:inject({ path = "/v1/store/info.json", status = 302,
        headers = { Location = other .. "/v1/store/info.json" } })
      body, err = client:get("/store/info.json")
      assert.is_nil(body, other)
      assert.equal("origin_refused", err.code, other)
      assert.equal(1, #sandbox:requests("/"), other) -- the redirect alone, nothing after it
    end
  end)

  it("follows a redirect within the API origin with the token", function()
    sandbox:inject({ path = "/v1/store/old.json", status = 301, headers = { Location = "/v1/store/info.json" } })
    local info = assert(client:get("/store/old.json"))
    assert.equal("Sandbox Store", info.store.name)
  end)

  it("refuses paths with spaces or control characters", function()
    local _, err = client:get("/orders.json\r\nX-Evil: 1")
    assert.equal("invalid_argument", err.code)
  end)

  it("closes exactly once, and refuses use after close", function()
    local c = assert(jumpseller.connect({ OAuthAccessToken = "x", URL = sandbox.url .. "/v1" }))
    c:close()
    c:close()
    assert.has_error(function() c:get("/store/info.json") end, "attempt to use a closed client")
    if _VERSION == "Lua 5.4" then -- to-be-closed variables; LuaJIT has none
      local scoped = assert(load([[
        local jumpseller, url = ...
        local scoped <close> = assert(jumpseller.connect({ OAuthAccessToken = "x", URL = url }))
        return scoped
      ]]))(jumpseller, sandbox.url .. "/v1")
      assert.has_error(function() scoped:get("/store/info.json") end, "attempt to use a closed client")
    end
  end)
end)
