-- Hostile input: each case gets a clear error, nothing crashes, and stored
-- tokens stay as they were.
local H = require "helpers"
local core = require "oauthconnect.core"
local jumpseller = require "jumpseller"
local oauthconnect = require "oauthconnect"
local json = require "oauthconnect.json"

describe("hostile connection strings", function()
  local cases = {
    { "garbage", "!!!;;==;;", "syntax_error" },
    { "a huge one", ("Scope=" .. ("x"):rep(70000)), "syntax_error", "the limit is 65536" },
    { "NUL bytes", "Scope=a\0b;OAuthClientId=x", "syntax_error", "NUL byte at position 8" },
    { "unknown keys", "Bogus=1;Scope=x", "unknown_property", "unknown connection property 'Bogus' (docs" },
    { "a misspelt key", "Scpoe=x", "unknown_property", "did you mean 'Scope'?" },
    { "high bytes in a key", "\xff\xfe=1", "unknown_property", "unknown connection property '??'" },
    { "a lone quote", "Scope='", "syntax_error", "unterminated quote starting at position 7" },
    { "text after a closing quote", "Scope='a'b", "syntax_error", "after the closing quote" },
    { "a key without a value separator", "Scope", "syntax_error", "expected '=' after 'Scope'" },
    { "an enum that is a number", "InitiateOAuth=1", "bad_value", "use OFF, GETANDREFRESH or REFRESH" },
    { "a number with a sign", "Timeout=+5", "bad_value", "not a whole number" },
    { "a CR LF inside a token", "OAuthAccessToken=abc\r\nX-Evil: 1", "bad_value", "a token cannot" },
  }
  for _, case in ipairs(cases) do
    it("refuses " .. case[1], function()
      local t, err = core.parse(case[2])
      assert.is_nil(t)
      assert.equal(case[3], err.code)
      if case[4] then assert.matches(case[4], err.message, 1, true) end
      assert.is_true(#err.message < 700)
    end)
  end

  it("takes a string of separators only as no properties", function()
    assert.same({}, core.parse(" ; ;; "))
  end)
end)

describe("a password written into a URL", function()
  it("is never shown: not in errors, tostring or the log", function()
    local sandbox = H.sandbox("generic")
    local log = H.tmpdir() .. "/oc.log"
    local c = assert(oauthconnect.connect({ AuthScheme = "NONE", Verbosity = 5, Logfile = log,
      URL = sandbox.url:gsub("://", "://user:URLPW-secret@") .. "/api" }))
    local _, err = c:get("/me") -- libcurl sends the URL's user:password as Basic: refused
    assert.equal(401, err.status)
    assert.matches("GET " .. sandbox.url .. "/api/me", tostring(err), 1, true)
    assert.matches("GET " .. sandbox.url .. "/api/me -> 401", H.read_file(log), 1, true)
    local _, origin = c:get("http://user:URLPW-secret@127.0.0.2:1/x")
    assert.equal("origin_refused", origin.code)
    for _, shown in ipairs({ tostring(err), tostring(origin), tostring(c), H.read_file(log) or "" }) do
      assert.is_nil(shown:find("URLPW", 1, true), shown)
    end
    c:close()
    sandbox:stop()
    H.cleanup()
  end)
end)

-- A Jumpseller sandbox, a settings file in a fresh directory, and a client
-- logged in through it; with_log adds a Verbosity 3 Logfile in that directory.
local function logged_in(with_log)
  local sandbox, dir = H.sandbox("jumpseller"), H.tmpdir()
  local p = { InitiateOAuth = "REFRESH", OAuthSettingsLocation = dir .. "/t.json",
    CallbackURL = "http://127.0.0.1:1/cb", MaxAttempts = 1 }
  if with_log then p.Logfile, p.Verbosity = dir .. "/log", 3 end
  local props = sandbox:jumpseller_props(p)
  assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
  return sandbox, dir, props, assert(jumpseller.connect(props))
end

describe("hostile token endpoint answers", function()
  local sandbox, dir, props, client, before

  setup(function()
    sandbox, dir, props, client = logged_in(false)
  end)
  teardown(function()
    client:close()
    sandbox:stop()
    H.cleanup()
  end)

  local function refresh_with(fault, code, pattern, by)
    before = H.read_file(props.OAuthSettingsLocation)
    fault.path = "/oauth/token"
    sandbox:inject(fault)
    local token, err = (by or client):token(true)
    assert.is_nil(token)
    assert.equal(code, err.code)
    if pattern then assert.matches(pattern, err.message) end
    assert.equal(before, H.read_file(props.OAuthSettingsLocation))
  end

  local json200 = function(body, ctype)
    return { status = 200, body = body, headers = { ["Content-Type"] = ctype or "application/json" } }
  end

  it("an HTML error page with 200", function()
    refresh_with(json200("<!DOCTYPE html><h1>Oops</h1>", "text/html"), "bad_response", "not valid JSON")
  end)
  it("truncated JSON", function()
    refresh_with(json200('{"access_token": "abc", "refresh'), "bad_response", "not valid JSON")
  end)
  it("no access_token", function()
    refresh_with(json200('{"token_type": "Bearer"}'), "bad_response", "without access_token")
  end)
  it("an access_token that is not a string", function()
    refresh_with(json200('{"access_token": 12345}'), "bad_response", "not a string")
  end)
  it("an empty access_token", function()
    refresh_with(json200('{"access_token": ""}'), "bad_response", "empty")
  end)
  it("a negative expires_in", function()
    refresh_with(json200('{"access_token": "a1", "expires_in": -5}'), "bad_response", "negative")
  end)
  it("a huge expires_in", function()
    refresh_with(json200('{"access_token": "a1", "expires_in": 1e20}'), "bad_response", "over")
  end)
  it("an expires_in that is a word", function()
    refresh_with(json200('{"access_token": "a1", "expires_in": "soon"}'), "bad_response", "not a number")
  end)
  it("a 10 MB body", function()
    local fault = json200('{"access_token": "{PAD}"}')
    fault.pad = 10 * 1024 * 1024
    refresh_with(fault, "too_large", "larger than the limit")
  end)
  it("a form-encoded body", function()
    refresh_with(json200("access_token=abc&token_type=bearer", "application/x-www-form-urlencoded"),
      "bad_response", "not valid JSON")
  end)
  it("a token type other than Bearer", function()
    refresh_with(json200('{"access_token": "a1", "token_type": "mac"}'), "bad_response", "only Bearer")
  end)
  it("a refresh_token that is not a string", function()
    refresh_with(json200('{"access_token": "a1", "refresh_token": ["x"]}'), "bad_response", "not a string")
  end)
  it("a JSON array", function()
    refresh_with(json200('["access_token"]'), "bad_response", "not an object")
  end)
  it("an access_token holding CR LF", function()
    refresh_with(json200('{"access_token": "a\\r\\nX-Evil: 1"}'), "bad_response", "characters a token cannot hold")
  end)
  it("duplicate members", function()
    refresh_with(json200('{"access_token": "a1", "access_token": "a2"}'), "bad_response", "not valid JSON")
  end)
  it("a 500 with an HTML page", function()
    refresh_with({ status = 500, body = "<html>boom</html>", headers = { ["Content-Type"] = "text/html" } },
      "server_error", "HTTP 500, a server error; the stored tokens are unchanged, try again later")
  end)
  it("an OAuth error", function()
    -- a client of its own: one told invalid_grant never sends that refresh token again
    local other = assert(jumpseller.connect(props))
    refresh_with({ status = 400, body = '{"error":"invalid_grant","error_description":"revoked"}',
      headers = { ["Content-Type"] = "application/json" } }, "oauth_error",
      "invalid_grant: revoked; the refresh token is no longer accepted: log in again", other)
    other:close()
  end)
  it("an answer that never comes: the refresh token may be spent, and the error says so", function()
    local c = assert(jumpseller.connect(props, { Timeout = 1 }))
    refresh_with({ action = "hang" }, "timeout", "the server may have taken the refresh token", c)
    c:close()
  end)
  it("an answer cut short", function()
    refresh_with({ action = "truncate", status = 200, body = '{"access_token":' }, "network_error")
  end)
  it("keeps a rotated refresh token from an answer it refuses", function()
    -- the server spent the old refresh token when it sent this answer: losing
    -- the new one with the rest would end the connection
    local stored = json.decode(H.read_file(props.OAuthSettingsLocation))
    sandbox:inject({ path = "/oauth/token", status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"access_token":"a-mac","refresh_token":"rt-rotated-1","token_type":"mac"}' })
    local token, err = client:token(true)
    assert.is_nil(token)
    assert.equal("bad_response", err.code)
    assert.matches("only Bearer tokens are supported; the new refresh token in that answer was kept",
      err.message, 1, true)
    assert.not_matches("rt%-rotated", tostring(err))
    local now = json.decode(H.read_file(props.OAuthSettingsLocation))
    assert.equal("rt-rotated-1", now.refresh_token)
    assert.equal(stored.access_token, now.access_token) -- still the one in use
    -- the next refresh sends it
    sandbox:inject({ path = "/oauth/token", status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"access_token":"a-next","refresh_token":"rt-rotated-2","token_type":"bearer"}' })
    assert.equal("a-next", assert(client:token(true)).access_token)
    local reqs = sandbox:requests("/oauth/token")
    assert.matches("refresh_token=rt%-rotated%-1", reqs[#reqs].body)
  end)
  it("keeps a rotated refresh token from a refused answer when no access token was held yet", function()
    -- a process that starts from OAuthRefreshToken alone: the set it keeps
    -- has no access token, and every later process must still read it
    local fresh = {}
    for k, v in pairs(props) do fresh[k] = v end
    fresh.OAuthSettingsLocation = H.tmpdir() .. "/only-refresh.json"
    fresh.InitiateOAuth = "REFRESH"
    fresh.OAuthRefreshToken = json.decode(H.read_file(props.OAuthSettingsLocation)).refresh_token
    fresh.OAuthAccessToken = nil
    for _, body in ipairs({ '{"access_token":"a-mac","refresh_token":"rt-kept-1","token_type":"mac"}',
      '{"access_token":"a-soon","refresh_token":"rt-kept-2","expires_in":"soon"}' }) do
      sandbox:inject({ path = "/oauth/token", status = 200, headers = { ["Content-Type"] = "application/json" },
        body = body })
      local c, err = jumpseller.connect(fresh)
      if c then
        local _, terr = c:token()
        err = terr
        c:close()
      end
      assert.matches("the new refresh token in that answer was kept", tostring(err), 1, true)
    end
    sandbox:inject({ path = "/oauth/token", status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"access_token":"a-after","refresh_token":"rt-after","token_type":"bearer","expires_in":3600}' })
    local c = assert(jumpseller.connect(fresh))
    assert.equal("a-after", assert(c:token()).access_token)
    c:close()
    local reqs = sandbox:requests("/oauth/token")
    assert.matches("refresh_token=rt%-kept%-2", reqs[#reqs].body)
  end)
  it("takes a scope sent as a JSON array", function()
    sandbox:inject({ path = "/oauth/token", status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"access_token":"a-list","refresh_token":"r-list","scope":["read_orders","write_products"]}' })
    local token = assert(client:token(true))
    assert.equal("read_orders write_products", token.scope)
  end)
  it("a scope list holding a number", function()
    refresh_with(json200('{"access_token": "a1", "scope": ["a", 5]}'), "bad_response", "scope list")
  end)
  it("accepts valid JSON under a text/plain content type", function()
    sandbox:inject({ path = "/oauth/token", status = 200, body = '{"access_token":"plain-ok","refresh_token":"r-plain"}',
      headers = { ["Content-Type"] = "text/plain" } })
    local token = assert(client:token(true))
    assert.equal("plain-ok", token.access_token)
  end)
end)

describe("secrets a server or libcurl quotes back", function()
  local sandbox, dir, props, client

  setup(function()
    sandbox, dir, props, client = logged_in(true)
  end)
  teardown(function()
    client:close()
    sandbox:stop()
    H.cleanup()
  end)

  -- ... in the error, and in the Verbosity 3 log that saw the answer
  local function refute_secret(secret, err)
    assert.is_nil(tostring(err):find(secret, 1, true), tostring(err))
    assert.is_nil(err.message:find(secret, 1, true))
    if err.body then assert.is_nil(err.body:find(secret, 1, true), err.body) end
    local log = H.read_file(props.Logfile) or ""
    assert.is_true(#log > 0, "nothing was logged")
    assert.is_nil(log:find(secret, 1, true), "the log holds a secret")
  end

  it("an API error that quotes the access token", function()
    local token = assert(client:token()).access_token
    sandbox:inject({ path = "/v1/store/info.json", status = 400, headers = { ["Content-Type"] = "application/json" },
      body = json.encode({ message = "bad request with header Bearer " .. token }) })
    local body, err = client:get("/store/info.json")
    assert.is_nil(body)
    assert.equal(400, err.status)
    refute_secret(token, err)
    assert.matches("bad request with header Bearer [REDACTED]", err.message, 1, true)
    assert.matches("[REDACTED]", err.body, 1, true)
  end)

  it("a token endpoint error that quotes the refresh token and the client secret", function()
    local refresh = assert(client:token()).refresh_token
    sandbox:inject({ path = "/oauth/token", status = 400, headers = { ["Content-Type"] = "application/json" },
      body = json.encode({ error = "invalid_request", error_description = "Invalid Refresh Token "
        .. refresh .. " for secret " .. props.OAuthClientSecret }) })
    local token, err = client:token(true)
    assert.is_nil(token)
    refute_secret(refresh, err)
    refute_secret(props.OAuthClientSecret, err)
    assert.matches("Invalid Refresh Token [REDACTED] for secret [REDACTED]", err.message, 1, true)
  end)

  it("a proxy address with a password", function()
    -- a bad one is refused at connect, without quoting it
    local c, err = oauthconnect.connect({ InitiateOAuth = "OFF", OAuthAccessToken = "access-xyz",
      URL = sandbox.url .. "/v1", ProxyServer = "http://u:PROXYPW-9@bad host:1" })
    assert.is_nil(c)
    assert.equal("ProxyServer", err.property)
    refute_secret("PROXYPW-9", err)
    -- a good one that cannot be reached: libcurl's words quote it whole
    -- (for an API not on loopback, which never goes through a proxy)
    c = assert(oauthconnect.connect({ InitiateOAuth = "OFF", OAuthAccessToken = "access-xyz",
      URL = "https://api.example.invalid/v1", ProxyServer = "http://u:PROXYPW-9@127.0.0.1:1", MaxAttempts = 1,
      Logfile = dir .. "/proxy.log", Verbosity = 5 }))
    local body
    body, err = c:get("/store/info.json")
    c:close()
    assert.is_nil(body)
    refute_secret("PROXYPW-9", err)
    assert.is_nil((H.read_file(dir .. "/proxy.log") or ""):find("PROXYPW-9", 1, true))
  end)
end)

-- A server quoting a secret where the library cuts its words (an API
-- error's message at 299 bytes, an error_description at 239): the cut
-- must not keep the part of the secret that whole-secret redaction no
-- longer recognises. A part is 8 bytes in a row of the secret.
describe("secrets quoted where a message is cut", function()
  local sandbox, dir, props

  setup(function()
    sandbox, dir = H.sandbox("jumpseller"), H.tmpdir()
    props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = dir .. "/t.json",
      CallbackURL = "http://127.0.0.1:1/cb", MaxAttempts = 1 })
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
  end)
  teardown(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function refute_part(secret, text, where)
    for i = 1, #secret - 7 do
      local at = text:find(secret:sub(i, i + 7), 1, true)
      assert(not at, ("%s holds part of a %d-byte secret, from its byte %d: %s"):format(where, #secret, i,
        text:sub(at or 1, (at or 1) + 60)))
    end
  end

  local function refute_everywhere(secret, err, log)
    assert.is_not_nil(err)
    refute_part(secret, err.message, "err.message")
    refute_part(secret, tostring(err), "tostring(err)")
    if err.body then refute_part(secret, err.body, "err.body") end
    refute_part(secret, H.read_file(log) or "", "the Logfile")
  end

  -- base64url characters, as tokens are made
  local function token_of(len, seed)
    local abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    local t, x = {}, seed
    for i = 1, len do
      x = (x * 1103515245 + 12345) % 2147483648
      local k = math.floor(x / 65536) % 64 + 1
      t[i] = abc:sub(k, k)
    end
    return table.concat(t)
  end

  -- offsets that put the secret across cut, and just inside it
  local function across(cut, len)
    return { math.max(0, cut - len + 4), math.max(0, cut - math.floor(len / 2)), cut - 4 }
  end

  local function padding(n) return ("the server says "):rep(math.floor(n / 16) + 1):sub(1, n) end

  local n = 0
  local function new_log()
    n = n + 1
    return dir .. "/log" .. n
  end

  for _, status in ipairs({ 400, 401, 500 }) do
    for _, verbosity in ipairs({ 1, 3 }) do
      it("an HTTP " .. status .. " quoting the live token, at Verbosity " .. verbosity, function()
        local token = assert(jumpseller.connect(props)):token().access_token
        for _, offset in ipairs(across(299, #token)) do
          local log = new_log()
          local c = assert(oauthconnect.connect({ InitiateOAuth = "OFF", OAuthAccessToken = token,
            URL = sandbox.url .. "/v1", MaxAttempts = 1, Logfile = log, Verbosity = verbosity }))
          sandbox:inject({ path = "/v1/store/info.json", status = status,
            headers = { ["Content-Type"] = "application/json" },
            body = json.encode({ message = padding(offset) .. token .. " is not valid" }) })
          local body, err = c:get("/store/info.json")
          c:close()
          assert.is_nil(body)
          assert.equal(status, err.status)
          refute_everywhere(token, err, log)
        end
      end)
    end
  end

  for _, len in ipairs({ 64, 681, 4000 }) do
    it("a " .. len .. "-character token given with InitiateOAuth=OFF, quoted in a 401", function()
      local token = token_of(len, len)
      for _, offset in ipairs(across(299, len)) do
        for _, verbosity in ipairs({ 1, 3 }) do
          local log = new_log()
          local c = assert(oauthconnect.connect({ InitiateOAuth = "OFF", OAuthAccessToken = token,
            URL = sandbox.url .. "/v1", MaxAttempts = 1, Logfile = log, Verbosity = verbosity }))
          sandbox:inject({ path = "/v1/store/info.json", status = 401,
            headers = { ["Content-Type"] = "application/json" },
            body = json.encode({ error = "invalid_token", error_description = padding(offset) .. token }) })
          local _, err = c:get("/store/info.json")
          c:close()
          assert.equal("unauthorized", err.code)
          refute_everywhere(token, err, log)
        end
      end
    end)
  end

  for _, len in ipairs({ 64, 363, 4000 }) do
    it("an invalid_grant quoting a " .. len .. "-character refresh token", function()
      local refresh = token_of(len, len + 1)
      for _, offset in ipairs(across(239, len)) do
        for _, verbosity in ipairs({ 1, 3 }) do
          local log = new_log()
          local p = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthAccessToken = "at-expired-0123",
            OAuthRefreshToken = refresh, OAuthExpiresIn = 3600, OAuthTokenTimestamp = 1000,
            OAuthSettingsLocation = "memory://cut-" .. n, MaxAttempts = 1, Logfile = log,
            Verbosity = verbosity })
          sandbox:inject({ path = "/oauth/token", status = 400, headers = { ["Content-Type"] = "application/json" },
            body = json.encode({ error = "invalid_grant",
              error_description = padding(offset) .. refresh .. " was revoked" }) })
          local c, err = jumpseller.connect(p)
          assert.is_nil(c)
          assert.equal("invalid_grant", err.oauth_error)
          refute_everywhere(refresh, err, log)
        end
      end
    end)
  end
end)

describe("hostile callback requests", function()
  local sandbox, dir

  before_each(function()
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  -- Runs a desktop login whose "browser" first attacks the listener with
  -- attack (shell, $PORT set), then completes the login.
  local function login_after(attack)
    local browser = dir .. "/browser"
    H.write_file(browser, "#!/bin/sh\nPORT=$(echo \"$1\" | sed -E 's/.*redirect_uri=http%3A%2F%2F127.0.0.1%3A([0-9]+).*/\\1/')\n"
      .. attack .. "\nexec " .. H.BROWSER .. " \"$1\"\n", "755")
    local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
      OAuthSettingsLocation = dir .. "/t.json", LoginTimeout = 20,
      CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/callback" })
    return H.run_lua([[
      local c, err = require("jumpseller").connect(os.getenv("CONN"))
      if not c then print("ERR " .. err.code) os.exit(3) end
      print("OK")
    ]], { CONN = H.connstr(props), BROWSER = browser })
  end

  local function py(code)
    return "python3 -c " .. H.q(code) .. " \"$PORT\""
  end

  it("ignores a callback without state", function()
    local out = login_after("curl -s -o /dev/null \"http://127.0.0.1:$PORT/callback?code=stolen\"")
    assert.equal("OK\n", out)
  end)
  it("ignores a callback with a wrong state", function()
    local out = login_after("curl -s -o /dev/null \"http://127.0.0.1:$PORT/callback?code=x&state=forged\"")
    assert.equal("OK\n", out)
  end)
  it("answers an oversize request line without giving up", function()
    local out = login_after("curl -s -o /dev/null \"http://127.0.0.1:$PORT/callback?junk=$(head -c 60000 /dev/zero | tr '\\0' a)\"")
    assert.equal("OK\n", out)
  end)
  it("survives binary garbage", function()
    local out = login_after(py("import socket,sys,os; s=socket.create_connection(('127.0.0.1',int(sys.argv[1]))); s.sendall(os.urandom(4096)); s.close()"))
    assert.equal("OK\n", out)
  end)
  it("is not blocked by a client that connects and sends nothing", function()
    local out = login_after(py("import socket,sys,time,os\nif os.fork()==0:\n s=socket.create_connection(('127.0.0.1',int(sys.argv[1]))); time.sleep(15); os._exit(0)\ntime.sleep(0.2)"))
    assert.equal("OK\n", out)
  end)
  it("copes with many connections at once", function()
    local out = login_after(py("import socket,sys\ncs=[]\nfor i in range(60):\n  try: cs.append(socket.create_connection(('127.0.0.1',int(sys.argv[1])),timeout=1))\n  except OSError: pass\nfor c in cs: c.close()"))
    assert.equal("OK\n", out)
  end)
  it("refuses a POST to the callback", function()
    local out = login_after("curl -s -o /dev/null -X POST -d code=x \"http://127.0.0.1:$PORT/callback\"")
    assert.equal("OK\n", out)
  end)
  it("ignores stray paths", function()
    local out = login_after("curl -s -o /dev/null \"http://127.0.0.1:$PORT/favicon.ico\"; curl -s -o /dev/null \"http://127.0.0.1:$PORT/../etc/passwd\"")
    assert.equal("OK\n", out)
  end)
end)

describe("hostile settings files", function()
  local sandbox, dir, props

  before_each(function()
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
    props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH", OAuthSettingsLocation = dir .. "/s/t.json",
      CallbackURL = "http://127.0.0.1:1/cb" })
    os.execute("mkdir -m 700 " .. H.q(dir .. "/s"))
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function refused(pattern)
    local before = H.read_file(props.OAuthSettingsLocation)
    local c, err = jumpseller.connect(props)
    assert.is_nil(c)
    assert.equal("settings_error", err.code)
    assert.matches(pattern, err.message)
    assert.equal(before, H.read_file(props.OAuthSettingsLocation))
    assert.equal(0, sandbox:stats().authorize)
  end

  it("corrupt JSON", function()
    H.write_file(props.OAuthSettingsLocation, "{nope", "600")
    refused("corrupt")
  end)
  it("an empty file", function()
    H.write_file(props.OAuthSettingsLocation, "", "600")
    refused("corrupt")
  end)
  it("wrong types", function()
    H.write_file(props.OAuthSettingsLocation, '{"access_token": 5, "refresh_token": "r"}', "600")
    refused("access_token is not a token string")
  end)
  it("a symlink", function()
    H.write_file(dir .. "/elsewhere.json", '{"access_token": "a"}', "600")
    os.execute("ln -s " .. H.q(dir .. "/elsewhere.json") .. " " .. H.q(props.OAuthSettingsLocation))
    refused("symbolic link")
  end)
  it("a file group can write", function()
    H.write_file(props.OAuthSettingsLocation, '{"access_token": "a"}', "660")
    refused("mode 0660")
  end)
  it("a directory others can write", function()
    H.write_file(props.OAuthSettingsLocation, '{"access_token": "a"}', "600")
    os.execute("chmod 777 " .. H.q(dir .. "/s"))
    refused("writable by group or others")
  end)
  it("a directory where the file should be", function()
    os.execute("mkdir -m 700 " .. H.q(props.OAuthSettingsLocation))
    refused("not a regular file")
  end)
  it("tokens for another server", function()
    H.write_file(props.OAuthSettingsLocation, '{"access_token": "a", "provider": "jumpseller", "api_url": "https://evil.example/v1"}', "600")
    refused("holds tokens for jumpseller at https://evil.example/v1")
  end)
end)

describe("hostile API answers", function()
  local sandbox, client

  setup(function()
    sandbox = H.sandbox("jumpseller", { "--basic-login", "s", "--basic-token", "t" })
    client = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "s", Password = "t",
      URL = sandbox.url .. "/v1", MaxAttempts = 1 }))
  end)
  teardown(function()
    client:close()
    sandbox:stop()
  end)

  it("invalid JSON with 200", function()
    sandbox:inject({ path = "/v1/orders.json", status = 200, body = "[{]" })
    local _, err = client:get("/orders.json")
    assert.equal("bad_response", err.code)
    assert.equal("[{]", err.body)
  end)
  it("a body over the 64 MiB limit", function()
    sandbox:inject({ path = "/v1/orders.json", status = 200, body = "[", pad = 65 * 1024 * 1024 })
    local _, err = client:get("/orders.json")
    assert.equal("too_large", err.code)
  end)
  it("JSON nested deeper than the decoder allows", function()
    sandbox:inject({ path = "/v1/orders.json", status = 200, body = ("["):rep(5000) .. ("]"):rep(5000) })
    local _, err = client:get("/orders.json")
    assert.equal("bad_response", err.code)
  end)
  it("an answer cut short", function()
    sandbox:inject({ path = "/v1/orders.json", action = "truncate", status = 200, body = "[" })
    local _, err = client:get("/orders.json")
    assert.equal("network_error", err.code)
  end)
  it("an empty 200 is true", function()
    sandbox:inject({ path = "/v1/orders.json", status = 200, body = "" })
    assert.is_true((client:get("/orders.json")))
  end)
  it("a proxy's HTML 502", function()
    sandbox:inject({ path = "/v1/orders.json", status = 502, body = "<html>Bad Gateway</html>" })
    local _, err = client:get("/orders.json")
    assert.equal("server_error", err.code)
    assert.matches("HTTP 502 Bad Gateway", err.message)
  end)
  it("control characters in an error message", function()
    sandbox:inject({ path = "/v1/orders.json", status = 404, body = '{"message":"no\\r\\nX-Forged: yes"}' })
    local _, err = client:get("/orders.json")
    assert.not_matches("\n", err.message)
  end)
  it("a redirect loop", function()
    sandbox:inject({ path = "/v1/orders.json", status = 302, count = 10, headers = { Location = "/v1/orders.json" } })
    local _, err = client:get("/orders.json")
    assert.equal("bad_response", err.code)
    assert.matches("more than 5 redirects", err.message)
  end)
  it("a redirect to a plain-http host elsewhere", function()
    sandbox:inject({ path = "/v1/orders.json", status = 307, headers = { Location = "http://198.51.100.7/steal" } })
    local _, err = client:get("/orders.json")
    assert.equal("origin_refused", err.code)
  end)
end)

describe("hostile profiles", function()
  it("refuses a header name with a newline", function()
    local _, err = oauthconnect.connect({ AuthScheme = "APIKEY", APIKey = "k", URL = "https://api.example" },
      { name = "evil", apikey_header = "X-Key\r\nX-Evil" })
    assert.equal("invalid_argument", err.code)
  end)
end)
