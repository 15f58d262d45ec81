-- Retries, rate limits and timeouts.
local H = require "helpers"
local jumpseller = require "jumpseller"
local bigcommerce = require "bigcommerce"

describe("retries and rate limits", function()
  local sandbox

  local function client(extra)
    local p = { AuthScheme = "BASIC", User = "shop", Password = "tok", URL = sandbox.url .. "/v1" }
    for k, v in pairs(extra or {}) do p[k] = v end
    return assert(jumpseller.connect(p))
  end

  before_each(function()
    sandbox = H.sandbox("jumpseller", { "--basic-login", "shop", "--basic-token", "tok" })
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("retries 502, 503 and 504 for a GET", function()
    sandbox:inject({ path = "/v1/store/info.json", status = 502 })
    sandbox:inject({ path = "/v1/store/info.json", status = 503 })
    local c = client()
    assert(c:get("/store/info.json"))
    assert.equal(3, #sandbox:requests("/v1/store/info.json"))
    sandbox:reset()
    sandbox:inject({ path = "/v1/store/info.json", status = 504, count = 3 })
    local _, err = c:get("/store/info.json")
    assert.equal(504, err.status)
    assert.equal("server_error", err.code)
    assert.equal(3, #sandbox:requests("/v1/store/info.json")) -- MaxAttempts 3
    c:close()
  end)

  it("does not retry a 503 for a POST, but does retry a 429", function()
    local c = client()
    sandbox:inject({ path = "/v1/products.json", status = 503 })
    local _, err = c:post("/products.json", { product = { name = "x" } })
    assert.equal(503, err.status)
    assert.equal(1, #sandbox:requests("/v1/products.json"))
    sandbox:inject({ path = "/v1/products.json", status = 429, headers = { ["Retry-After"] = "0" } })
    assert(c:post("/products.json", { product = { name = "y" } }))
    c:close()
  end)

  it("waits as Retry-After says, in seconds or as an HTTP date", function()
    local c = client()
    sandbox:inject({ path = "/v1/store/info.json", status = 429, headers = { ["Retry-After"] = "1" } })
    local t0 = H.now()
    assert(c:get("/store/info.json"))
    assert.is_true(H.now() - t0 >= 0.95)
    sandbox:inject({ path = "/v1/store/info.json", status = 503,
      headers = { ["Retry-After"] = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2) } })
    t0 = H.now()
    assert(c:get("/store/info.json"))
    assert.is_true(H.now() - t0 >= 0.9)
    c:close()
  end)

  it("returns the error at once when the server asks for more than RetryMaxWait", function()
    local c = client({ RetryMaxWait = 1 })
    sandbox:inject({ path = "/v1/store/info.json", status = 429, headers = { ["Retry-After"] = "120" } })
    local t0 = H.now()
    local _, err = c:get("/store/info.json")
    assert.is_true(H.now() - t0 < 1)
    assert.equal("rate_limited", err.code)
    assert.matches("Retry%-After: 120", err.message)
    c:close()
  end)

  it("honours MaxAttempts=1", function()
    local c = client({ MaxAttempts = 1 })
    sandbox:inject({ path = "/v1/store/info.json", status = 503 })
    local _, err = c:get("/store/info.json")
    assert.equal(503, err.status)
    c:close()
  end)

  it("retries Jumpseller's older 403 rate-limit answer, not a scope 403", function()
    local c = client()
    sandbox:inject({ path = "/v1/store/info.json", status = 403, body = '{"message":"Too many requests"}',
      headers = { ["Retry-After"] = "0", ["Jumpseller-PerSecondRateLimit-Remaining"] = "0" } })
    assert(c:get("/store/info.json"))
    assert.equal(2, #sandbox:requests("/v1/store/info.json"))
    sandbox:reset()
    sandbox:inject({ path = "/v1/store/info.json", status = 403, body = '{"message":"lacks the read_store scope"}' })
    local _, err = c:get("/store/info.json")
    assert.equal("forbidden", err.code)
    assert.equal(1, #sandbox:requests("/v1/store/info.json"))
    c:close()
  end)

  it("waits out rate-limit answers without counting them as attempts, within the quota budget", function()
    -- three rate-limit answers in a row do not use up MaxAttempts (3): the fourth try is served
    local c = client()
    sandbox:inject({ path = "/v1/store/info.json", status = 403, count = 3,
      headers = { ["Retry-After"] = "0" }, body = '{"message":"Too many requests"}' })
    assert(c:get("/store/info.json"))
    assert.equal(4, #sandbox:requests("/v1/store/info.json"))
    c:close()
    -- one that never stops is given up after five RetryMaxWaits of waiting, backing off
    c = client({ RetryMaxWait = 1 })
    sandbox:reset()
    sandbox:inject({ path = "/v1/store/info.json", status = 429, count = 1000,
      headers = { ["Retry-After"] = "0" }, body = '{"message":"Too many requests"}' })
    local t0 = H.now()
    local _, err = c:get("/store/info.json")
    assert.equal("rate_limited", err.code)
    assert.is_true(H.now() - t0 < 12)
    assert.is_true(#sandbox:requests("/v1/store/info.json") < 100)
    c:close()
  end)

  it("waits for the quota window when a remaining header says 0 instead of collecting a 429", function()
    sandbox:config({ rate_limit_per_second = 3 })
    local c = client()
    local t0 = H.now()
    for _ = 1, 9 do assert(c:get("/store/info.json")) end
    assert.equal(0, sandbox:stats().rate_limited)
    assert.is_true(H.now() - t0 >= 1.5) -- three windows of one second
    c:close()
  end)

  it("honours Jumpseller-BannedByRateLimit-Reset", function()
    local c = client()
    sandbox:inject({ path = "/v1/store/info.json", status = 429,
      headers = { ["Jumpseller-BannedByRateLimit-Reset"] = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 2) } })
    local t0 = H.now()
    assert(c:get("/store/info.json"))
    assert.is_true(H.now() - t0 >= 0.9)
    c:close()
  end)

  it("treats a 403 carrying only Jumpseller-BannedByRateLimit-Reset as the ban it is", function()
    local c = client()
    sandbox:inject({ path = "/v1/store/info.json", status = 403, body = '{"message":"Banned"}',
      headers = { ["Jumpseller-BannedByRateLimit-Reset"] = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 1) } })
    assert(c:get("/store/info.json"))
    assert.equal(2, #sandbox:requests("/v1/store/info.json"))
    c:close()
  end)

  it("retries after a refused connection, then reports it clearly", function()
    local url = sandbox.url
    sandbox:stop()
    local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "u", Password = "p", URL = url .. "/v1",
      RetryMaxWait = 1 }))
    local t0 = H.now()
    local _, err = c:get("/store/info.json")
    assert.equal("network_error", err.code)
    assert.matches("GET " .. url .. "/v1/store/info.json failed", err.message, 1, true)
    assert.is_true(H.now() - t0 < 5)
    c:close()
    sandbox = H.sandbox("jumpseller")
  end)

  it("times out a server that accepts and never answers", function()
    local c = client({ Timeout = 1, MaxAttempts = 1 })
    sandbox:inject({ path = "/v1/store/info.json", action = "hang" })
    local t0 = H.now()
    local _, err = c:get("/store/info.json")
    assert.equal("timeout", err.code)
    assert.is_true(H.now() - t0 < 3)
    c:close()
  end)

  it("bounds the whole request by Timeout, retries included", function()
    local c = client({ Timeout = 1 }) -- MaxAttempts 3
    sandbox:inject({ path = "/v1/store/info.json", action = "hang", count = 3 })
    local t0 = H.now()
    local _, err = c:get("/store/info.json")
    local took = H.now() - t0
    assert.equal("timeout", err.code)
    assert.is_true(took < 1.8, tostring(took)) -- not three attempts of a second each
    c:close()
  end)

  it("gives a refresh the whole Timeout, whatever the request before it used", function()
    -- a refresh cut short may still be completed by the server, which then
    -- rotates a refresh token the client never learns of
    local dir = H.tmpdir()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH", Timeout = 1, MaxAttempts = 1,
      OAuthSettingsLocation = dir .. "/t.json", CallbackURL = "http://127.0.0.1:1/cb" })
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    local before = H.settings(props.OAuthSettingsLocation).refresh_token
    local c = assert(jumpseller.connect(props))
    local refreshes = sandbox:stats().refreshes
    sandbox:inject({ path = "/v1/store/info.json", status = 401, delay_ms = 800,
      headers = { ["Content-Type"] = "application/json" }, body = '{"message":"expired"}' })
    sandbox:inject({ path = "/oauth/token", action = "delay", delay_ms = 500 })
    local _, err = c:get("/store/info.json")
    c:close()
    assert.equal("timeout", err.code) -- the request itself ran out of time
    assert.equal(refreshes + 1, sandbox:stats().refreshes)
    assert.not_equal(before, H.settings(props.OAuthSettingsLocation).refresh_token) -- and nothing was lost
  end)

  it("times out a token refresh that never answers, leaving the store as it was", function()
    local dir = H.tmpdir()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH", Timeout = 1,
      OAuthSettingsLocation = dir .. "/t.json", CallbackURL = "http://127.0.0.1:1/cb" })
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    local before = H.read_file(props.OAuthSettingsLocation)
    local c = assert(jumpseller.connect(props))
    sandbox:inject({ path = "/oauth/token", action = "hang" })
    local t0 = H.now()
    local token, err = c:token(true)
    assert.is_nil(token)
    assert.equal("timeout", err.code)
    assert.is_true(H.now() - t0 < 3)
    assert.equal(before, H.read_file(props.OAuthSettingsLocation))
    c:close()
  end)
end)

describe("BigCommerce rate limits", function()
  it("waits X-Rate-Limit-Time-Reset-Ms after a 429", function()
    local sandbox = H.sandbox("bigcommerce", { "--api-key", "k" })
    local c = assert(bigcommerce.connect({ AuthScheme = "APIKEY", APIKey = "k", StoreId = "sbx123abc",
      URL = sandbox.url .. "/stores/{StoreId}/v3" }))
    sandbox:inject({ path = "/stores/sbx123abc/v3/catalog/products", status = 429,
      headers = { ["X-Rate-Limit-Time-Reset-Ms"] = "700", ["X-Rate-Limit-Requests-Left"] = "0" } })
    local t0 = H.now()
    assert(c:get("/catalog/products", { limit = 1 }))
    assert.is_true(H.now() - t0 >= 0.65)
    c:close()
    sandbox:stop()
  end)
end)

describe("Keap throttles", function()
  it("waits the 429's Retry-After, not a whole window for its spent throttle", function()
    local sandbox = H.sandbox("keap", { "--api-key", "k" })
    local c = assert(require("infusionsoft").connect({ AuthScheme = "APIKEY", APIKey = "k",
      URL = sandbox.url .. "/crm/rest/v1" }))
    sandbox:inject({ path = "/crm/rest/v1/contacts", status = 429,
      headers = { ["Retry-After"] = "1", ["x-keap-product-throttle-available"] = "0" } })
    local t0 = H.now()
    assert(c:get("/contacts", { limit = 1 }))
    local waited = H.now() - t0
    assert.is_true(waited >= 0.9 and waited < 10, tostring(waited))
    assert.equal(2, #sandbox:requests("/crm/rest/v1/contacts"))
    c:close()
    sandbox:stop()
  end)
end)
