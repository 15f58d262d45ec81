-- The auth plugin: client:authorize, client:rejected and client:send sign
-- requests the caller sends with its own HTTP client, with the guarantees
-- the client's own requests have (one refresh for many reports, the store's
-- newer tokens adopted, advice when nothing better can be had).
local H = require "helpers"
local jumpseller = require "jumpseller"
local bigcommerce = require "bigcommerce"
local keap = require "keap"
local oauthconnect = require "oauthconnect"
local json = require "oauthconnect.json"
local http = require "socket.http"
local ltn12 = require "ltn12"

-- GET url with LuaSocket and the given headers: status, body.
local function socket_get(url, headers)
  local chunks = {}
  local _, status = http.request { url = url, headers = headers, sink = ltn12.sink.table(chunks) }
  return status, table.concat(chunks)
end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("the auth plugin", function()
  local sandbox, dir

  after_each(function()
    if sandbox then sandbox:stop() end
    sandbox = nil
    H.cleanup()
  end)

  -- A logged-in client of a sandbox provider on a fresh settings file.
  local function logged_in(provider, module, extra)
    sandbox = H.sandbox(provider, extra and extra.flags or nil)
    dir = H.tmpdir()
    local base = { InitiateOAuth = "REFRESH", OAuthSettingsLocation = dir .. "/s.json",
      CallbackURL = "http://127.0.0.1:1/callback" }
    local props = provider == "keap" and sandbox:keap_props(base)
      or provider == "bigcommerce" and sandbox:bigcommerce_props(base)
      or provider == "generic" and sandbox:generic_props(base) or sandbox:jumpseller_props(base)
    local code, cb = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert(module.get_access_token(props, provider == "bigcommerce" and cb or code,
      provider == "bigcommerce" and { redirect_uri = props.CallbackURL } or nil))
    sandbox:reset()
    return assert(module.connect(props)), props
  end

  describe("authorize", function()
    it("gives each provider's OAuth header, replacing one of the same name in any case", function()
      local cases = {
        { "jumpseller", jumpseller, "Authorization", "^Bearer %S+$" },
        { "bigcommerce", bigcommerce, "X-Auth-Token", "^[^%s]+$" },
        { "keap", keap, "Authorization", "^Bearer %S+$" },
        { "generic", oauthconnect, "Authorization", "^Bearer %S+$" },
      }
      for _, case in ipairs(cases) do
        local c = logged_in(case[1], case[2])
        local headers, ticket = c:authorize({ [case[3]:lower()] = "stale", ["X-Other"] = "kept" })
        assert.is_number(ticket)
        assert.is_nil(headers[case[3]:lower()])
        assert.matches(case[4], headers[case[3]])
        assert.equal("kept", headers["X-Other"])
        assert.equal(2, count_keys(headers))
        -- the header works with the caller's own client
        local path = case[1] == "keap" and "/contacts/1" or case[1] == "bigcommerce" and "/catalog/products"
          or case[1] == "generic" and "/me" or "/store/info.json"
        local status = socket_get(c:api_url() .. path, c:authorize())
        assert.equal(200, status, case[1])
        assert.equal(0, sandbox:stats().token) -- a valid token: no refresh, no request
        c:close()
        sandbox:stop()
      end
    end)

    it("gives BASIC and APIKEY headers, nothing for NONE, and refuses NTLM", function()
      sandbox = H.sandbox("generic", { "--api-key", "k-123", "--basic-login", "u", "--basic-token", "p" })
      local url = sandbox.url .. "/api"
      local c = assert(oauthconnect.connect({ AuthScheme = "APIKEY", APIKey = "k-123", URL = url }))
      local h = c:authorize()
      assert.equal("k-123", h["X-API-Key"])
      assert.equal(200, (socket_get(url .. "/me", h)))
      c:close()
      c = assert(oauthconnect.connect({ AuthScheme = "BASIC", User = "u", Password = "p", URL = url }))
      h = c:authorize()
      assert.equal("Basic dTpw", h.Authorization)
      assert.equal(200, (socket_get(url .. "/me", h)))
      c:close()
      c = assert(oauthconnect.connect({ AuthScheme = "NONE", URL = url }))
      h = c:authorize({ Accept = "x" })
      assert.same({ Accept = "x" }, h)
      c:close()
      c = assert(oauthconnect.connect({ AuthScheme = "NTLM", User = "u", Password = "p", URL = url }))
      local none, err = c:authorize()
      assert.is_nil(none)
      assert.equal("unsupported", err.code)
      assert.matches("NTLM", err.message)
      c:close()
      -- Keap and BigCommerce keys go in their own headers
      sandbox:stop()
      sandbox = H.sandbox("keap", { "--api-key", "pat-1" })
      c = assert(keap.connect({ AuthScheme = "APIKEY", APIKey = "pat-1", URL = sandbox.url .. "/crm/rest/v1" }))
      assert.equal("pat-1", c:authorize()["X-Keap-API-Key"])
      c:close()
    end)

    it("refreshes first when the token is due, once across concurrent callers", function()
      local c = logged_in("jumpseller", jumpseller, { flags = { "--access-ttl", "4" } })
      H.sleep(3.2) -- inside the last quarter of the token's life
      local h1, t1 = c:authorize()
      local h2, t2 = c:authorize()
      assert.equal(1, sandbox:stats().refreshes)
      assert.equal(t1, t2)
      assert.equal(h1.Authorization, h2.Authorization)
      assert.equal(200, (socket_get(c:api_url() .. "/store/info.json", h1)))
      c:close()
    end)
  end)

  describe("rejected", function()
    it("refreshes once for many reports of one ticket, and not at all for an old ticket", function()
      local c = logged_in("jumpseller", jumpseller)
      local h, ticket = c:authorize()
      sandbox:expire() -- the access token only: the refresh token still works
      assert.equal(401, (socket_get(c:api_url() .. "/store/info.json", h)))
      assert.is_true(c:rejected(ticket))
      for _ = 1, 5 do assert.is_true(c:rejected(ticket)) end
      assert.equal(1, sandbox:stats().refreshes)
      local h2, ticket2 = c:authorize()
      assert.is_not.equal(ticket, ticket2)
      assert.is_not.equal(h.Authorization, h2.Authorization)
      assert.equal(200, (socket_get(c:api_url() .. "/store/info.json", h2)))
      c:close()
    end)

    it("adopts what another process stored, sending nothing", function()
      local c, props = logged_in("jumpseller", jumpseller)
      local h, ticket = c:authorize()
      assert(jumpseller.refresh_access_token(props)) -- another process renews
      sandbox:reset()
      assert.is_true(c:rejected(ticket))
      assert.equal(0, sandbox:stats().token)
      local h2 = c:authorize()
      assert.is_not.equal(h.Authorization, h2.Authorization)
      c:close()
    end)

    it("says what to do when nothing better can be had", function()
      local c = logged_in("bigcommerce", bigcommerce)
      local _, ticket = c:authorize()
      local ok, err = c:rejected(ticket)
      assert.is_nil(ok)
      assert.equal("unauthorized", err.code)
      assert.matches("must be authorized %(installed%) again", err.message)
      assert.equal(0, sandbox:stats().token)
      c:close()
      -- InitiateOAuth=OFF: the caller's token is not renewed
      local token = assert(jumpseller.connect({ OAuthAccessToken = "given", URL = "https://api.example" }))
      local _, t = token:authorize()
      ok, err = token:rejected(t)
      assert.is_nil(ok)
      assert.matches("InitiateOAuth=OFF", err.message)
      token:close()
    end)

    it("reports a refused refresh with the refresh's own advice", function()
      local c = logged_in("jumpseller", jumpseller)
      local _, ticket = c:authorize()
      sandbox:revoke() -- the refresh token too
      local ok, err = c:rejected(ticket)
      assert.is_nil(ok)
      assert.equal("invalid_grant", err.oauth_error)
      assert.matches("log in again", err.message)
      c:close()
    end)
  end)

  describe("send", function()
    it("retries once after a 401 with fresh headers and returns what the last call returned", function()
      local c = logged_in("jumpseller", jumpseller)
      local seen = {}
      local url = c:api_url() .. "/store/info.json"
      -- the server refuses the first request's token
      sandbox:inject({ path = "/v1/store/info.json", status = 401, body = json.encode({ message = "expired" }) })
      local status, body, extra = c:send(function(headers)
        seen[#seen + 1] = headers.Authorization
        local s, b = socket_get(url, headers)
        return s, b, "third"
      end)
      assert.equal(200, status)
      assert.matches("Sandbox Store", body, 1, true)
      assert.equal("third", extra)
      assert.equal(2, #seen)
      assert.is_not.equal(seen[1], seen[2])
      assert.equal(1, sandbox:stats().refreshes)
      c:close()
    end)

    it("returns nil, err when the 401 leaves nothing better, without calling fn again", function()
      local c = logged_in("bigcommerce", bigcommerce)
      local calls = 0
      local status, err = c:send(function() calls = calls + 1 return 401 end)
      assert.is_nil(status)
      assert.equal("unauthorized", err.code)
      assert.equal(1, calls)
      c:close()
    end)
  end)
  describe("under churn", function()
    -- the reduced form of tests/reliability/churn.lua client=send (16 processes, file and redis://)
    for _, store in ipairs({ "file", "redis" }) do
      it("serves 8 processes signing LuaSocket requests through client:send (" .. store .. ")", function()
        local r = H.run_reliability("churn.lua", "processes=8 requests=12 interval=0.25 ttl=2 client=send store="
          .. store .. " per_minute=0 per_second=0")
        assert.equal(96, r.requests)
        assert.equal(0, r.failed)
        assert.equal(0, r.invalid_grant)
        assert.is_true(r.refreshes <= r.lifetimes + 1, ("%d refreshes in %d lifetimes"):format(r.refreshes, r.lifetimes))
      end)
    end
  end)
end)
