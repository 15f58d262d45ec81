-- The desktop login end to end: a child Lua process connects with
-- InitiateOAuth=GETANDREFRESH, and $BROWSER plays the user.
local H = require "helpers"

local SCRIPT = [[
local jumpseller = require "jumpseller"
local client, err = jumpseller.connect(os.getenv("CONN"))
if not client then
  io.stderr:write("ERR ", err.code, " ", tostring(err), "\n")
  os.exit(3)
end
local info = assert(client:get("/store/info.json"))
print(info.store.name)
client:close()
]]

describe("the desktop login", function()
  local sandbox, dir, props

  before_each(function()
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
    props = sandbox:jumpseller_props({
      InitiateOAuth = "GETANDREFRESH",
      OAuthSettingsLocation = dir .. "/cfg/jumpseller.json",
      CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/callback",
      LoginTimeout = 20,
    })
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("logs in through the browser once, stores the tokens 0600, then reuses them", function()
    local out, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = H.BROWSER })
    assert.equal(0, code, err)
    assert.equal("Sandbox Store\n", out)
    assert.matches("To sign in to Jumpseller, open this address in your browser", err)
    assert.matches("/oauth/authorize%?response_type=code", err)
    assert.not_matches("sbx%-s3cr3t%-Zq7RkA9dW", err)
    local settings = H.settings(props.OAuthSettingsLocation)
    assert.is_string(settings.access_token)
    assert.is_string(settings.refresh_token)
    assert.equal("600", H.mode(props.OAuthSettingsLocation))
    assert.equal("700", H.mode(dir .. "/cfg"))

    local stats = sandbox:stats()
    assert.equal(1, stats.authorize)
    assert.equal(1, stats.code_exchanges)
    -- PKCE: the exchange carried the verifier for the challenge sent at authorize
    local exchange = sandbox:requests("/oauth/token")[1]
    assert.matches("code_verifier=", exchange.body)

    out, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = "/bin/false" })
    assert.equal(0, code, err)
    assert.equal(1, sandbox:stats().authorize)
  end)

  it("starts the browser without the script's secrets or open connections", function()
    local browser = dir .. "/spy-browser"
    H.write_file(browser, "#!/bin/sh\nenv > " .. H.q(dir .. "/browser-env") .. "\nls -l /proc/$$/fd > "
      .. H.q(dir .. "/browser-fds") .. "\nexec " .. H.BROWSER .. " \"$1\"\n", "755")
    local out, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = browser,
      OAUTHCONNECT_JUMPSELLER = H.connstr(props), SHOP_DSN = "postgres://app:db-pw-77@db/shop",
      PLAIN_SETTING = "kept" })
    assert.equal(0, code, err)
    assert.equal("Sandbox Store\n", out)
    local env = H.read_file(dir .. "/browser-env")
    assert.matches("PLAIN_SETTING=kept", env, 1, true)
    assert.is_nil(env:find(props.OAuthClientSecret, 1, true))
    assert.is_nil(env:find("db-pw-77", 1, true))
    assert.is_nil(H.read_file(dir .. "/browser-fds"):find("socket:", 1, true))
  end)

  it("tries the next $BROWSER entry when one fails at once", function()
    props.LoginTimeout = 8
    local out, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = "/bin/false:" .. H.BROWSER })
    assert.equal(0, code, err)
    assert.equal("Sandbox Store\n", out)
    assert.equal(1, sandbox:stats().authorize)
  end)

  it("reports access_denied from the authorization page", function()
    sandbox:config({ deny = true })
    local _, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = H.BROWSER })
    assert.equal(3, code)
    assert.matches("ERR access_denied access was denied at the authorization page", err)
    assert.is_nil(H.read_file(props.OAuthSettingsLocation))
  end)

  it("refuses a callback whose state does not match, and keeps waiting", function()
    props.LoginTimeout = 2
    local forger = dir .. "/forger"
    H.write_file(forger, "#!/bin/sh\nexec " .. H.BROWSER .. " \"$(echo \"$1\" | sed 's/state=[^&]*/state=forged/')\"\n", "755")
    local _, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = forger })
    assert.equal(3, code)
    assert.matches("ERR state_mismatch", err)
    assert.equal(0, sandbox:stats().code_exchanges)
  end)

  it("times out when the browser never comes back", function()
    props.LoginTimeout = 1
    local t0 = H.now()
    local _, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = "/bin/true" })
    assert.equal(3, code)
    assert.matches("ERR login_failed .*timed out", err)
    assert.is_true(H.now() - t0 < 10)
  end)

  it("refuses a callback address that is not loopback", function()
    props.CallbackURL = "http://192.0.2.1:8000/callback"
    local _, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = H.BROWSER })
    assert.equal(3, code)
    assert.matches("CallbackURL: the desktop login listens only on http loopback addresses", err)
  end)

  it("needs CallbackURL to log in, and says so", function()
    props.CallbackURL = nil
    local _, err, code = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = H.BROWSER })
    assert.equal(3, code)
    assert.matches("ERR missing_property CallbackURL is required for the browser login", err)
  end)

  it("asks for the code on the terminal with urn:ietf:wg:oauth:2.0:oob", function()
    props.CallbackURL = "urn:ietf:wg:oauth:2.0:oob"
    props.LoginTimeout = 0 -- no limit, as Timeout=0 (it used to give up at once)
    local code = H.capture("curl -s " .. H.q(sandbox.url
      .. "/oauth/authorize?response_type=code&client_id=sandbox-client-id&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&scope=read_store"))
      :match('<code id="code">([^<]+)</code>')
    assert.is_string(code)
    local codefile = dir .. "/code.txt"
    -- an Enter pressed before the code is not taken as the answer
    H.write_file(codefile, "\n  \n" .. code .. "\n")
    -- setsid: no controlling terminal, so the code is read from stdin
    local envs = H.LUA_ENV .. " CONN=" .. H.q(H.connstr(props)) .. " BROWSER=/bin/true"
    H.write_file(dir .. "/s.lua", SCRIPT)
    local out = H.capture(envs .. " setsid -w " .. H.LUA .. " " .. H.q(dir .. "/s.lua") .. " <" .. H.q(codefile)
      .. " 2>" .. H.q(dir .. "/err"))
    assert.equal("Sandbox Store\n", out, H.read_file(dir .. "/err"))
    assert.matches("paste the code", H.read_file(dir .. "/err"))
    local _, asked = H.read_file(dir .. "/err"):gsub("Nothing was pasted", "")
    assert.equal(2, asked)
  end)

  it("ends at once on Ctrl-C while waiting for the browser", function()
    props.LoginTimeout = 60
    local d = H.tmpdir()
    H.write_file(d .. "/s.lua", SCRIPT)
    -- a background job of a shell without job control starts with SIGINT
    -- ignored, which no Ctrl-C could reach: env puts the default back
    local pid = H.capture("env --default-signal=INT " .. H.LUA_ENV .. " CONN=" .. H.q(H.connstr(props))
      .. " BROWSER=/bin/true " .. H.LUA .. " " .. H.q(d .. "/s.lua") .. " >/dev/null 2>" .. H.q(d .. "/err") .. " & echo $!")
    pid = pid:match("%d+")
    local waiting = false
    for _ = 1, 600 do -- until the listener waits (a loaded CI machine is slow)
      waiting = (H.read_file(d .. "/err") or ""):find("Waiting for the browser", 1, true) ~= nil
      if waiting then break end
      H.sleep(0.05)
    end
    assert.is_true(waiting, H.read_file(d .. "/err"))
    local t0 = H.now()
    os.execute("kill -INT " .. pid)
    local function alive()
      local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
      return r == true or r == 0
    end
    while alive() and H.now() - t0 < 10 do H.sleep(0.05) end
    assert.is_true(H.now() - t0 < 5, "still waiting after Ctrl-C")
    if not H.LUA:find("sanitized", 1, true) then -- lua5.4 and luajit turn it into an error
      assert.matches("interrupted", H.read_file(d .. "/err"))
    end
    assert.is_nil(io.open(props.OAuthSettingsLocation))
  end)

  it("exchanges OAuthVerifier headlessly and stores the tokens", function()
    local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
    props.OAuthVerifier = code
    local out, err, rc = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = "/bin/false" })
    assert.equal(0, rc, err)
    assert.equal("Sandbox Store\n", out)
    assert.is_string(H.settings(props.OAuthSettingsLocation).refresh_token)
    assert.equal(1, sandbox:stats().code_exchanges)
    -- the verifier is spent; the stored tokens are used from now on
    out, err, rc = H.run_lua(SCRIPT, { CONN = H.connstr(props), BROWSER = "/bin/false" })
    assert.equal(0, rc, err)
    assert.equal(1, sandbox:stats().code_exchanges)
  end)

  it("takes the whole redirect address as OAuthVerifier, with PKCEVerifier for its challenge", function()
    local jumpseller = require "jumpseller"
    -- made on another machine (its own store): the URL, the state and the PKCE verifier
    local elsewhere = {}
    for k, v in pairs(props) do elsewhere[k] = v end
    elsewhere.OAuthSettingsLocation = H.tmpdir() .. "/elsewhere.json"
    local url, _, verifier = assert(jumpseller.get_authorization_url(elsewhere))
    local landed = H.redirect(url)
    assert.matches("%?code=", landed)
    -- without the verifier the server that got the challenge refuses the code
    local headless = {}
    for k, v in pairs(props) do headless[k] = v end
    headless.OAuthVerifier = landed
    local client, err = jumpseller.connect(headless)
    assert.is_nil(client)
    assert.equal("invalid_grant", err.oauth_error)
    assert.is_nil(io.open(props.OAuthSettingsLocation))
    -- a second login, this time passing its verifier on
    url, _, verifier = assert(jumpseller.get_authorization_url(elsewhere))
    headless.OAuthVerifier = H.redirect(url)
    headless.PKCEVerifier = verifier
    client = assert(jumpseller.connect(headless))
    assert.equal("Sandbox Store", assert(client:get("/store/info.json")).store.name)
    client:close()
    local exchanges = sandbox:requests("/oauth/token")
    assert.matches("code_verifier=" .. verifier, exchanges[#exchanges].body, 1, true)
    assert.is_string(H.settings(props.OAuthSettingsLocation).refresh_token)
  end)

  it("finishes a login get_authorization_url started with this store from OAuthVerifier alone", function()
    local jumpseller = require "jumpseller"
    local url = assert(jumpseller.get_authorization_url(props))
    local headless = {}
    for k, v in pairs(props) do headless[k] = v end
    headless.OAuthVerifier = H.redirect(url) -- its state names the login, whose verifier was kept
    local client = assert(jumpseller.connect(headless))
    assert.equal("Sandbox Store", assert(client:get("/store/info.json")).store.name)
    client:close()
    assert.matches("code_verifier=", sandbox:requests("/oauth/token")[1].body, 1, true)
    assert.is_nil(H.settings(props.OAuthSettingsLocation).pending_logins)
  end)

  it("reports an OAuthVerifier that holds an error or no code, naming it", function()
    local jumpseller = require "jumpseller"
    props.OAuthVerifier = "http://127.0.0.1/callback?error=access_denied&error_description=No+thanks&state=x"
    local client, err = jumpseller.connect(props)
    assert.is_nil(client)
    assert.equal("access_denied", err.code)
    assert.equal("OAuthVerifier", err.property)
    assert.matches("No thanks", tostring(err))
    props.OAuthVerifier = "http://127.0.0.1/callback?state=x"
    client, err = jumpseller.connect(props)
    assert.is_nil(client)
    assert.equal("OAuthVerifier", err.property)
    assert.matches("OAuthVerifier: .*neither a code nor an error", tostring(err))
    assert.equal(0, sandbox:stats().code_exchanges)
  end)
end)
