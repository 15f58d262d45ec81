-- Any OAuth 2 server: described by properties alone or by a profile table,
-- and the client-credentials scheme, against the sandbox's plain RFC 6749 server.
local H = require "helpers"
local oauthconnect = require "oauthconnect"

describe("a custom OAuth 2 server", function()
  local sandbox, dir

  before_each(function()
    sandbox = H.sandbox("generic", { "--api-key", "key-123", "--access-ttl", "4" })
    dir = H.tmpdir()
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("connects from properties alone: code flow with PKCE, refresh, paging", function()
    local props = sandbox:generic_props({ InitiateOAuth = "GETANDREFRESH", Scope = "api",
      OAuthSettingsLocation = dir .. "/t.json", CallbackURL = "http://127.0.0.1:1/cb" })
    local url, state, verifier = assert(oauthconnect.get_authorization_url(props))
    assert.matches("code_challenge_method=S256", url)
    local callback = H.follow(url)
    assert.equal(state, callback.state)
    local code = callback.code
    assert(oauthconnect.get_access_token(props, code, { code_verifier = verifier }))
    local c = assert(oauthconnect.connect(props))
    assert.equal("authorization_code", assert(c:get("/me")).grant)
    local n = 0
    for _ in c:each("/items") do n = n + 1 end
    assert.equal(250, n)
    H.sleep(3.2)
    assert(c:get("/me"))
    assert.equal(1, sandbox:stats().refreshes)
    c:close()
  end)

  it("moves the client's credentials to HTTP Basic for a server that takes only that", function()
    sandbox:stop()
    sandbox = H.sandbox("generic", { "--client-auth", "basic", "--access-ttl", "4" })
    local props = sandbox:generic_props({ InitiateOAuth = "GETANDREFRESH", Scope = "api",
      OAuthSettingsLocation = dir .. "/basic-only.json", CallbackURL = "http://127.0.0.1:1/cb" })
    local url, _, verifier = assert(oauthconnect.get_authorization_url(props))
    assert(oauthconnect.get_access_token(props, H.follow(url).code, { code_verifier = verifier }))
    local sent = sandbox:requests("/oauth2/token")
    assert.equal(2, #sent) -- the body first (refused, the code untouched), then Basic
    assert.matches("client_secret=", sent[1].body)
    assert.is_nil(sent[1].headers.authorization)
    assert.matches("^Basic ", sent[2].headers.authorization)
    assert.not_matches("client_secret", sent[2].body)
    -- a client that learnt it sends Basic straight away
    local c = assert(oauthconnect.connect(props))
    assert(c:token(true))
    sent = sandbox:requests("/oauth2/token")
    assert.equal(4, #sent) -- its first refresh tried the body once more, then Basic
    assert(c:token(true))
    sent = sandbox:requests("/oauth2/token")
    assert.equal(5, #sent)
    assert.matches("^Basic ", sent[5].headers.authorization)
    c:close()
    -- and the other way round: a profile saying Basic, a server taking only the body
    sandbox:stop()
    sandbox = H.sandbox("generic", { "--client-auth", "post" })
    local profile = { name = "acme", token_url = sandbox.url .. "/oauth2/token",
      authorize_url = sandbox.url .. "/oauth2/authorize", api_url = sandbox.url .. "/api",
      code_auth = "basic", refresh_auth = "basic", pkce = false, refreshable = true }
    props = { CallbackURL = "http://127.0.0.1:1/cb", OAuthClientId = "sandbox-client-id",
      OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW", Scope = "api" }
    assert(oauthconnect.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL }), nil, profile))
    sent = sandbox:requests("/oauth2/token")
    assert.equal(2, #sent)
    assert.matches("^Basic ", sent[1].headers.authorization)
    assert.matches("client_secret=sbx%-s3cr3t%-Zq7RkA9dW", sent[2].body)
    -- a wrong secret is still refused, once each way, and reported
    props.OAuthClientSecret = "not-the-secret-x9"
    local _, err = oauthconnect.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL }),
      nil, profile)
    assert.equal("invalid_client", err.oauth_error)
    assert.equal("OAuthClientSecret", err.property)
    assert.equal(4, #sandbox:requests("/oauth2/token"))
    assert.not_matches("not%-the%-secret", tostring(err))
  end)

  it("logs in and refreshes as a public client: PKCE, no secret", function()
    sandbox:stop()
    sandbox = H.sandbox("generic", { "--public-client", "--access-ttl", "4" })
    local props = sandbox:generic_props({ InitiateOAuth = "GETANDREFRESH", Scope = "api",
      OAuthSettingsLocation = dir .. "/pub.json", CallbackURL = "http://127.0.0.1:1/cb" })
    props.OAuthClientSecret = nil
    local url, _, verifier = assert(oauthconnect.get_authorization_url(props))
    local token = assert(oauthconnect.get_access_token(props, H.follow(url).code, { code_verifier = verifier }))
    local refreshed = assert(oauthconnect.refresh_access_token(props))
    assert.not_equal(token.access_token, refreshed.access_token)
    for _, sent in ipairs(sandbox:requests("/oauth2/token")) do
      assert.matches("client_id=sandbox%-client%-id", sent.body)
      assert.not_matches("client_secret", sent.body)
    end
    -- a profile that needs a secret still says so
    local _, err = require("jumpseller").connect({ InitiateOAuth = "GETANDREFRESH", OAuthClientId = "x",
      CallbackURL = "http://127.0.0.1:1/cb" })
    assert.equal("OAuthClientSecret", err.property)
  end)

  it("never takes a call's options for a profile, and keeps PKCE in a partial profile", function()
    local props = sandbox:generic_props({ CallbackURL = "http://127.0.0.1:1/cb" })
    -- the provider modules' form, { redirect_uri = ... } second, used to mean
    -- a profile without PKCE
    local ok, msg = pcall(oauthconnect.get_authorization_url, props, { redirect_uri = "https://app/cb" })
    assert.is_false(ok)
    assert.matches("profile field 'redirect_uri' is unknown", msg, 1, true)
    local url = assert(oauthconnect.get_authorization_url(props, nil, { redirect_uri = "https://app/cb" }))
    assert.matches("redirect_uri=https%3A%2F%2Fapp%2Fcb", url, 1, true)
    assert.matches("code_challenge_method=S256", url, 1, true)
    -- a profile naming only what differs keeps the custom defaults
    url = assert(oauthconnect.get_authorization_url(props, { name = "acme", title = "Acme" }))
    assert.matches("code_challenge_method=S256", url, 1, true)
  end)

  it("names the endpoints a server described by properties is missing", function()
    local _, err = oauthconnect.connect({ OAuthAccessToken = "x" })
    assert.equal("missing_property", err.code)
    assert.equal("URL", err.property)
    _, err = oauthconnect.connect({ InitiateOAuth = "REFRESH", OAuthClientId = "i", OAuthClientSecret = "s",
      URL = sandbox.url .. "/api" })
    assert.equal("OAuthAccessTokenURL", err.property)
  end)

  it("uses client_secret_basic when the profile says so", function()
    local profile = { name = "acme", title = "Acme", token_url = sandbox.url .. "/oauth2/token",
      authorize_url = sandbox.url .. "/oauth2/authorize", api_url = sandbox.url .. "/api",
      code_auth = "basic", refresh_auth = "basic", pkce = true, refreshable = true }
    local props = { CallbackURL = "http://127.0.0.1:1/cb", OAuthClientId = "sandbox-client-id",
      OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW", Scope = "api" }
    local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
    local token = assert(oauthconnect.get_access_token(props, code, nil, profile))
    local sent = sandbox:requests("/oauth2/token")[1]
    assert.matches("^Basic ", sent.headers.authorization)
    assert.not_matches("client_secret", sent.body)
    local acme = oauthconnect.provider(profile)
    local t2 = assert(acme.refresh_access_token({ OAuthClientId = "sandbox-client-id",
      OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW", OAuthRefreshToken = token.refresh_token }))
    assert.is_string(t2.access_token)
  end)

  describe("AuthScheme=OAUTH_CLIENT", function()
    it("gets a token with the client-credentials grant and renews it on expiry", function()
      local props = sandbox:generic_props({ AuthScheme = "OAuthClient", Scope = "api read" })
      local c = assert(oauthconnect.connect(props))
      local me = assert(c:get("/me"))
      assert.equal("client_credentials", me.grant)
      assert.equal("api read", me.scope)
      assert.is_nil(c:token().refresh_token)
      assert.equal(1, sandbox:stats().client_credentials_issued)
      H.sleep(3.2)
      assert(c:get("/me"))
      assert.equal(2, sandbox:stats().client_credentials_issued)
      assert.equal(0, sandbox:stats().refreshes)
      c:close()
    end)

    it("fetches a new token after a 401", function()
      local c = assert(oauthconnect.connect(sandbox:generic_props({ AuthScheme = "OAUTH_CLIENT" })))
      sandbox:revoke()
      assert(c:get("/me"))
      assert.equal(2, sandbox:stats().client_credentials_issued)
      c:close()
    end)

    it("shares the token between processes through the store", function()
      local props = sandbox:generic_props({ AuthScheme = "OAUTH_CLIENT", OAuthSettingsLocation = dir .. "/cc.json" })
      assert(oauthconnect.connect(props)):close()
      assert(oauthconnect.connect(props)):close()
      assert.equal(1, sandbox:stats().client_credentials_issued)
    end)

    it("needs the client id, secret and token URL", function()
      local _, err = oauthconnect.connect({ AuthScheme = "OAUTH_CLIENT", URL = sandbox.url .. "/api",
        OAuthClientId = "x", OAuthClientSecret = "y" })
      assert.equal("OAuthAccessTokenURL", err.property)
    end)
  end)

  it("sends an API key in X-API-Key by default", function()
    local c = assert(oauthconnect.connect({ AuthScheme = "APIKEY", APIKey = "key-123", URL = sandbox.url .. "/api" }))
    assert.equal("api_key", assert(c:get("/me")).grant)
    c:close()
  end)
end)
