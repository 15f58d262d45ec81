-- The web-flow helpers (CData's GetOAuthAuthorizationURL, GetOAuthAccessToken,
-- RefreshOAuthAccessToken) for servers that handle the redirect themselves.
local H = require "helpers"
local jumpseller = require "jumpseller"

local query_of, follow = H.query_of, H.follow

describe("the web flow", function()
  local sandbox, dir, props

  before_each(function()
    sandbox = H.sandbox("jumpseller", { "--redirect-uri", "https://app.example/oauth/callback",
      "https://app.example/oauth/other-callback" })
    dir = H.tmpdir()
    props = sandbox:jumpseller_props({
      CallbackURL = "https://app.example/oauth/callback",
      OAuthSettingsLocation = dir .. "/tokens.json",
    })
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("builds the authorization URL with state, PKCE and the default scope", function()
    local url, state, verifier = assert(jumpseller.get_authorization_url(props))
    local q = query_of(url)
    assert.equal("code", q.response_type)
    assert.equal("sandbox-client-id", q.client_id)
    assert.equal("https://app.example/oauth/callback", q.redirect_uri)
    assert.equal(state, q.state)
    assert.equal("S256", q.code_challenge_method)
    assert.is_true(#verifier >= 43)
    assert.matches("read_orders read_products read_customers", q.scope)
    assert.matches("read_store$", q.scope)
    local url2, state2 = jumpseller.get_authorization_url(props)
    assert.not_equal(state, state2)
    assert.not_equal(url, url2)
  end)

  it("takes another registered redirect URI for one login, in both steps", function()
    local other = "https://app.example/oauth/other-callback"
    local url, _, verifier = assert(jumpseller.get_authorization_url(props, { redirect_uri = other }))
    assert.equal(other, query_of(url).redirect_uri)
    local callback = follow(url)
    local token = assert(jumpseller.get_access_token(props, callback.code,
      { code_verifier = verifier, redirect_uri = other }))
    assert.is_string(token.access_token)
    assert.has_error(function() jumpseller.get_authorization_url(props, { redirect_uri = 7 }) end,
      "redirect_uri must be a string")
  end)

  it("exchanges the code, persists the tokens and reports them to on_token", function()
    local url, state, verifier = assert(jumpseller.get_authorization_url(props))
    local callback = follow(url)
    assert.equal(state, callback.state)
    local reported
    props.on_token = function(t) reported = t end
    local token = assert(jumpseller.get_access_token(props, callback.code, { code_verifier = verifier }))
    assert.is_string(token.access_token)
    assert.is_string(token.refresh_token)
    assert.equal(3600, token.expires_in)
    assert.is_true(token.expires_at > os.time())
    assert.equal(token.access_token, reported.access_token)
    assert.equal(token.refresh_token, H.settings(props.OAuthSettingsLocation).refresh_token)
  end)

  it("returns the callback's refusal as an error, not a raise", function()
    local token, err = jumpseller.get_access_token(props,
      { error = "access_denied", error_description = "The user said no", state = "s" })
    assert.is_nil(token)
    assert.equal("access_denied", err.code)
    assert.equal("access_denied", err.oauth_error)
    assert.equal("access was denied at the authorization page: The user said no", err.message)
    token, err = jumpseller.get_access_token(props, { error = "server_error" })
    assert.equal("oauth_error", err.code)
    assert.equal("server_error", err.oauth_error)
    assert.equal(0, sandbox:stats().code_exchanges)
  end)

  it("keeps no part of a secret the callback's error quotes where it is cut", function()
    local secret = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"):rep(5)
    local p = {}
    for k, v in pairs(props) do p[k] = v end
    p.OAuthClientSecret = secret
    for _, offset in ipairs({ 0, 100, 200, 236 }) do
      local _, err = jumpseller.get_access_token(p, { error = "invalid_client",
        error_description = ("x"):rep(offset) .. " the secret " .. secret .. " is wrong" })
      assert.equal("invalid_client", err.oauth_error)
      assert.matches("^the authorization server answered the login with invalid_client: ", err.message)
      for i = 1, #secret - 7 do
        assert.is_nil(err.message:find(secret:sub(i, i + 7), 1, true), err.message)
      end
    end
  end)

  it("raises for wrong argument types, at the caller's line", function()
    local here = debug.getinfo(1, "S").short_src:gsub("%p", "%%%0")
    local function where(f)
      local ok, e = pcall(f)
      assert.is_false(ok)
      return e
    end
    assert.matches(here .. ":%d+: the authorization code must be a string",
      where(function() jumpseller.get_access_token(props, 42) end))
    assert.matches(here .. ":%d+: params must be a table",
      where(function() jumpseller.get_access_token(props, "code", "verifier") end))
    assert.matches(here .. ":%d+: options must be a connection string or a table",
      where(function() jumpseller.connect(42) end))
  end)

  it("takes on_token in get_access_token's params, with a connection string", function()
    local url, _, verifier = assert(jumpseller.get_authorization_url(props))
    local reported
    local token = assert(jumpseller.get_access_token(H.connstr(props), follow(url).code,
      { code_verifier = verifier, on_token = function(t) reported = t end }))
    assert.equal(token.access_token, reported.access_token)
  end)

  -- on_token given twice: the later word wins, as for every property
  -- (extra over options, get_access_token's params over options); one is
  -- called, never both.
  it("calls extra's on_token, not the options', when both give one", function()
    local calls = {}
    local function recorder(name) return function() calls[#calls + 1] = name end end
    local p = {}
    for k, v in pairs(props) do p[k] = v end
    p.InitiateOAuth = "REFRESH"
    p.on_token = recorder("options")
    local url, _, verifier = assert(jumpseller.get_authorization_url(p))
    assert(jumpseller.get_access_token(p, follow(url).code,
      { code_verifier = verifier, on_token = recorder("params") }))
    assert.same({ "params" }, calls)
    calls = {}
    local c = assert(jumpseller.connect(p, { on_token = recorder("extra") }))
    assert(c:token(true))
    c:close()
    assert.same({ "extra" }, calls)
    calls = {}
    assert(jumpseller.refresh_access_token(p, { on_token = recorder("extra") }))
    assert.same({ "extra" }, calls)
    calls = {}
    assert(jumpseller.refresh_access_token(p))
    assert.same({ "options" }, calls)
  end)

  it("takes the callback's whole query in place of the code", function()
    local url, _, verifier = assert(jumpseller.get_authorization_url(props))
    local callback = follow(url)
    local token = assert(jumpseller.get_access_token(props, callback))
    assert.is_string(token.access_token)
    -- or the query as it came, and the verifier in params beside it
    url, _, verifier = assert(jumpseller.get_authorization_url(props))
    local reported
    token = assert(jumpseller.get_access_token(props, follow(url),
      { code_verifier = verifier, on_token = function(t) reported = t end }))
    assert.equal(token.access_token, reported.access_token)
  end)

  it("finishes the login it started when given the code alone", function()
    local url = assert(jumpseller.get_authorization_url(props))
    local token = assert(jumpseller.get_access_token(props, follow(url).code))
    assert.is_string(token.access_token)
    -- the verifier was the one that login's challenge was made from, and is spent now
    local exchange = sandbox:requests("/oauth/token")[1]
    assert.matches("code_verifier=", exchange.body, 1, true)
    assert.is_nil(H.settings(props.OAuthSettingsLocation).pending_logins)
  end)

  it("finds the login a callback's state names among several pending", function()
    local url1 = assert(jumpseller.get_authorization_url(props))
    local url2 = assert(jumpseller.get_authorization_url(props))
    local cb1, cb2 = follow(url1), follow(url2)
    -- the code alone cannot say which login it ends: a clear error, nothing sent
    local token, err = jumpseller.get_access_token(props, cb2.code)
    assert.is_nil(token)
    assert.equal("invalid_argument", err.code)
    assert.matches("pass the callback's query", err.message, 1, true)
    assert.equal(0, sandbox:stats().code_exchanges)
    -- the query's state says, in any order
    assert(jumpseller.get_access_token(props, cb2))
    assert(jumpseller.get_access_token(props, cb1))
    assert.equal(2, sandbox:stats().code_exchanges)
  end)

  it("never lets the callback's query choose the redirect URI or the verifier", function()
    local url = assert(jumpseller.get_authorization_url(props))
    local callback = follow(url)
    callback.redirect_uri = "https://attacker.example/cb"
    callback.code_verifier = string.rep("a", 43)
    assert(jumpseller.get_access_token(props, callback))
    local body = sandbox:requests("/oauth/token")[1].body
    assert.not_matches("attacker", body, 1, true)
    assert.not_matches("code_verifier=" .. string.rep("a", 43), body, 1, true)
  end)

  it("sends an explicit code_verifier over the one it recorded", function()
    local url = assert(jumpseller.get_authorization_url(props))
    local token, err = jumpseller.get_access_token(props, follow(url),
      { code_verifier = string.rep("b", 43) })
    assert.is_nil(token)
    assert.equal("invalid_grant", err.oauth_error)
    assert.matches("code_verifier=" .. string.rep("b", 43), sandbox:requests("/oauth/token")[1].body, 1, true)
  end)

  it("keeps the verifier in the process when there is no settings store", function()
    local bare = {}
    for k, v in pairs(props) do bare[k] = v end
    bare.OAuthSettingsLocation = nil
    local url = assert(jumpseller.get_authorization_url(bare))
    local token = assert(jumpseller.get_access_token(bare, follow(url).code))
    assert.is_string(token.access_token)
    assert.is_nil(H.read_file(props.OAuthSettingsLocation))
  end)

  it("refreshes on demand with rotation, and the spent refresh token is dead", function()
    local url, _, verifier = assert(jumpseller.get_authorization_url(props))
    local first = assert(jumpseller.get_access_token(props, follow(url).code, { code_verifier = verifier }))
    local second = assert(jumpseller.refresh_access_token(props))
    assert.not_equal(first.access_token, second.access_token)
    assert.not_equal(first.refresh_token, second.refresh_token)
    assert.equal(second.refresh_token, H.settings(props.OAuthSettingsLocation).refresh_token)
    -- CData's RefreshOAuthAccessToken(OAuthRefreshToken) with the spent one
    local p2 = sandbox:jumpseller_props({ OAuthRefreshToken = first.refresh_token })
    local token, err = jumpseller.refresh_access_token(p2)
    assert.is_nil(token)
    assert.equal("invalid_grant", err.oauth_error)
    assert.not_matches(first.refresh_token, tostring(err), 1, true)
    assert.equal(1, sandbox:stats().refreshes)
  end)

  it("works without a settings location, returning tokens only", function()
    props.OAuthSettingsLocation = nil
    local url, _, verifier = assert(jumpseller.get_authorization_url(props))
    local token = assert(jumpseller.get_access_token(props, follow(url).code, { code_verifier = verifier }))
    local p2 = sandbox:jumpseller_props({ OAuthRefreshToken = token.refresh_token })
    local t2 = assert(jumpseller.refresh_access_token(p2))
    assert.is_string(t2.access_token)
  end)

  it("needs a client id and a callback URL, and names them", function()
    local _, err = jumpseller.get_authorization_url({ CallbackURL = "https://x/cb" })
    assert.equal("OAuthClientId", err.property)
    _, err = jumpseller.get_authorization_url({ OAuthClientId = "x" })
    assert.equal("CallbackURL", err.property)
  end)
end)
