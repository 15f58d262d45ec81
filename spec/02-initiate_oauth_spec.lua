-- InitiateOAuth: OFF, GETANDREFRESH and REFRESH, as CData defines them.
local H = require "helpers"
local jumpseller = require "jumpseller"

describe("InitiateOAuth", function()
  local sandbox, dir

  before_each(function()
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function tokens(scope)
    local p = sandbox:jumpseller_props({ CallbackURL = "http://127.0.0.1:1/callback" })
    local code = sandbox:authorize({ redirect_uri = p.CallbackURL, scope = scope })
    return assert(jumpseller.get_access_token(p, code))
  end

  describe("OFF", function()
    it("uses OAuthAccessToken as given, and never refreshes", function()
      local t = tokens()
      local client = assert(jumpseller.connect(sandbox:jumpseller_props({
        OAuthAccessToken = t.access_token, OAuthRefreshToken = t.refresh_token })))
      assert(client:get("/store/info.json"))
      sandbox:expire()
      local body, err = client:get("/store/info.json")
      assert.is_nil(body)
      assert.equal("unauthorized", err.code)
      assert.equal(401, err.status)
      assert.matches("the access token was rejected %(expired or revoked%); with InitiateOAuth=OFF it is not refreshed", err.message)
      assert.equal(0, sandbox:stats().refreshes)
      client:close()
    end)

    it("is the default and needs OAuthAccessToken", function()
      local _, err = jumpseller.connect(sandbox:jumpseller_props())
      assert.equal("missing_property", err.code)
      assert.equal("OAuthAccessToken", err.property)
    end)

    it("honours OAuthExpiresIn and OAuthTokenTimestamp without refreshing", function()
      local t = tokens()
      local client = assert(jumpseller.connect(sandbox:jumpseller_props({
        OAuthAccessToken = t.access_token, OAuthExpiresIn = 3600,
        OAuthTokenTimestamp = tostring(math.floor(os.time() * 1000)) })))
      local tok = client:token()
      assert.is_true(math.abs(tok.expires_at - (os.time() + 3600)) <= 2)
      client:close()
    end)
  end)

  describe("REFRESH", function()
    it("never prompts: without a refresh token it says what to do", function()
      local _, err = jumpseller.connect(sandbox:jumpseller_props({
        InitiateOAuth = "REFRESH", OAuthSettingsLocation = dir .. "/t.json" }))
      assert.equal("no_token", err.code)
      assert.matches("InitiateOAuth=REFRESH never opens a browser", err.message)
      assert.equal(0, sandbox:stats().authorize)
    end)

    it("refreshes from OAuthRefreshToken, persists, and later runs use the stored descendant", function()
      local t = tokens()
      local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH",
        OAuthRefreshToken = t.refresh_token, OAuthSettingsLocation = dir .. "/t.json" })
      local c1 = assert(jumpseller.connect(props))
      assert(c1:get("/store/info.json"))
      assert.equal(1, sandbox:stats().refreshes)
      c1:close()
      -- same properties again: the given refresh token is spent, the stored one is used
      local c2 = assert(jumpseller.connect(props))
      assert(c2:get("/store/info.json"))
      assert.equal(1, sandbox:stats().refreshes)
      assert.equal(0, sandbox:stats().invalid_grant)
      c2:close()
    end)

    it("lets a new OAuthRefreshToken alone replace an old stored set", function()
      local old, new = tokens(), tokens()
      local path = dir .. "/t.json"
      local c1 = assert(jumpseller.connect(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH",
        OAuthRefreshToken = old.refresh_token, OAuthSettingsLocation = path })))
      c1:close()
      sandbox:reset()
      local c2 = assert(jumpseller.connect(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH",
        OAuthRefreshToken = new.refresh_token, OAuthSettingsLocation = path })))
      local sent = sandbox:requests("/oauth/token")
      assert.equal(1, #sent)
      assert.matches("refresh_token=" .. new.refresh_token, sent[1].body, 1, true)
      c2:close()
    end)

    it("lets new token properties replace an old stored set", function()
      local old, new = tokens(), tokens()
      local path = dir .. "/t.json"
      local c1 = assert(jumpseller.connect(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH",
        OAuthAccessToken = old.access_token, OAuthRefreshToken = old.refresh_token, OAuthSettingsLocation = path })))
      c1:close()
      local c2 = assert(jumpseller.connect(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH",
        OAuthAccessToken = new.access_token, OAuthRefreshToken = new.refresh_token, OAuthSettingsLocation = path })))
      assert.equal(new.access_token, c2:token().access_token)
      assert.equal(new.refresh_token, H.settings(path).refresh_token)
      c2:close()
    end)
  end)

  describe("GETANDREFRESH", function()
    it("uses stored tokens without prompting", function()
      local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
        OAuthSettingsLocation = dir .. "/t.json", CallbackURL = "http://127.0.0.1:1/callback" })
      assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
      local c = assert(jumpseller.connect(props))
      assert(c:get("/store/info.json"))
      assert.equal(1, sandbox:stats().authorize)
      c:close()
    end)

    it("refuses a corrupt settings file instead of logging in again", function()
      local path = dir .. "/t.json"
      H.write_file(path, '{"access_token": "abc", ', "600")
      local _, err = jumpseller.connect(sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
        OAuthSettingsLocation = path, CallbackURL = "http://127.0.0.1:1/callback" }))
      assert.equal("settings_error", err.code)
      assert.equal("OAuthSettingsLocation", err.property)
      assert.matches(path, err.message, 1, true)
      assert.matches("corrupt", err.message)
      assert.equal('{"access_token": "abc", ', H.read_file(path))
      assert.equal(0, sandbox:stats().authorize)
    end)

    it("refuses a settings file others can read", function()
      local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
        OAuthSettingsLocation = dir .. "/t.json", CallbackURL = "http://127.0.0.1:1/callback" })
      assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
      os.execute("chmod 644 " .. H.q(props.OAuthSettingsLocation))
      local _, err = jumpseller.connect(props)
      assert.equal("settings_error", err.code)
      assert.equal("OAuthSettingsLocation", err.property)
      assert.matches("mode 0644", err.message)
    end)

    it("defaults the settings file under XDG_CONFIG_HOME", function()
      local out, err, code = H.run_lua([[
        local js = require "jumpseller"
        local ok, e = js.get_access_token(os.getenv("CONN"), os.getenv("CODE"))
        print(ok and "ok" or tostring(e))
      ]], { XDG_CONFIG_HOME = dir, CONN = H.connstr(sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
        CallbackURL = "http://127.0.0.1:1/callback" })), CODE = sandbox:authorize() })
      assert.equal(0, code, err)
      assert.equal("ok\n", out)
      -- URL points at the sandbox, not Jumpseller: the name says which endpoints
      -- the settings file, and beside it only its lock file (README: "<file>.lock")
      local names = {}
      for name in H.capture("ls " .. H.q(dir .. "/oauthconnect")):gmatch("%S+") do names[#names + 1] = name end
      local file = names[1]
      assert.matches("^jumpseller%-%x%x%x%x%x%x%x%x%.json$", file)
      assert.is_true(#names == 1 or (#names == 2 and names[2] == file .. ".lock"), table.concat(names, " "))
      assert.is_string(H.settings(dir .. "/oauthconnect/" .. file).access_token)
    end)

    -- Props for a GETANDREFRESH client on path, whose tokens are stored there.
    local function logged_in(path)
      local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH", OAuthSettingsLocation = path,
        CallbackURL = "http://127.0.0.1:1/callback" })
      assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
      return props
    end

    it("never sends stored tokens to another server sharing the store", function()
      local other = H.sandbox("jumpseller")
      local path = dir .. "/shared.json"
      logged_in(path)
      local _, err = jumpseller.connect(other:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
        OAuthSettingsLocation = path, CallbackURL = "http://127.0.0.1:1/callback" }))
      assert.equal("settings_error", err.code)
      assert.matches("holds tokens for jumpseller at " .. sandbox.url .. "/v1", err.message, 1, true)
      assert.equal(0, #other:requests("/"))
      other:stop()
    end)

    it("names the token endpoint when only it differs from the stored set's", function()
      local path = dir .. "/one-endpoint.json"
      local props = logged_in(path)
      props.OAuthAccessTokenURL = sandbox.url .. "/other/token"
      local _, err = jumpseller.connect(props)
      assert.equal("settings_error", err.code)
      assert.matches("holds tokens for jumpseller from the authorization server " .. sandbox.url .. "/oauth/token, "
        .. "not for jumpseller from the authorization server " .. sandbox.url .. "/other/token", err.message, 1, true)
    end)

    it("never hands one app's tokens to another app on the same server", function()
      local path = dir .. "/one-app.json"
      local props = logged_in(path)
      assert.equal("sandbox-client-id", H.settings(path).client_id)
      local before = sandbox:stats().token or 0
      props.OAuthClientId = "another-app"
      local c, err = jumpseller.connect(props)
      assert.is_nil(c)
      assert.equal("settings_error", err.code)
      assert.equal("OAuthSettingsLocation", err.property)
      assert.matches("holds tokens issued to the client 'sandbox-client-id', not to OAuthClientId "
        .. "'another-app'", err.message, 1, true)
      assert.equal(before, sandbox:stats().token or 0)
      -- nor lets another app's code exchange replace them: refused before the code is spent
      local sent = #sandbox:requests("/oauth/token")
      local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
      local token
      token, err = jumpseller.get_access_token(props, code)
      assert.is_nil(token)
      assert.matches("not to OAuthClientId 'another-app'", err.message, 1, true)
      assert.equal(sent, #sandbox:requests("/oauth/token"))
      assert.equal("sandbox-client-id", H.settings(path).client_id)
    end)
  end)
end)
