-- Any OAuth 2 server from a connection string: discovery (RFC 8414, OpenID
-- Connect), the device login (RFC 8628) and revocation (RFC 7009), against
-- the sandbox's plain RFC server.
local H = require "helpers"
local json = require "oauthconnect.json"
local oauthconnect = require "oauthconnect"

local CLI = H.ROOT .. "/bin/oauthconnect"

describe("any OAuth 2 server", function()
  local sandbox, dir

  before_each(function()
    sandbox = H.sandbox("generic", { "--issuer-path", "/tenant1", "--device-interval", "1" })
    dir = H.tmpdir()
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function wk() return sandbox.url .. "/.well-known/oauth-authorization-server/tenant1" end

  -- A connection that knows only the metadata URL, the client and the API.
  local function props(extra)
    local p = { OAuthClientId = "sandbox-client-id", OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW",
      OAuthDiscoveryURL = wk(), URL = sandbox.url .. "/api", InitiateOAuth = "GETANDREFRESH",
      OAuthGrantType = "DEVICE_CODE", OAuthSettingsLocation = dir .. "/tokens.json" }
    for k, v in pairs(extra or {}) do p[k] = v end
    return p
  end

  -- Approves the device login the prompt shows, as a user would.
  local function approve(info)
    sandbox:control("POST", "device", { user_code = info.user_code, action = "approve" })
  end

  describe("discovery", function()
    it("finds every endpoint in the RFC 8414 document and caches it for the next client", function()
      local p = props({ on_device_code = approve })
      local c = assert(oauthconnect.connect(p))
      assert.equal("device_code", assert(c:get("/me")).grant)
      assert.equal(1, sandbox:stats().discovery)
      local cached = H.settings(dir .. "/tokens.json").discovery
      assert.equal(wk(), cached.url)
      assert.equal(sandbox.url .. "/tenant1", cached.document.issuer)
      c:close()
      -- another client (another process would do the same) reads the cache
      local c2 = assert(oauthconnect.connect(props()))
      assert(c2:token(true))
      assert.equal(1, sandbox:stats().discovery)
      assert.equal(1, sandbox:stats().refreshes)
      c2:close()
    end)

    it("takes the OpenID Connect form of the URL", function()
      local p = props({ on_device_code = approve,
        OAuthDiscoveryURL = sandbox.url .. "/tenant1/.well-known/openid-configuration" })
      local c = assert(oauthconnect.connect(p))
      assert(c:get("/me"))
      c:close()
    end)

    it("refuses a document whose issuer is not the URL's, naming both", function()
      sandbox:config({ discovery_issuer = "https://evil.example/tenant1" })
      local c, err = oauthconnect.connect(props({ on_device_code = approve }))
      assert.is_nil(c)
      assert.equal("discovery_error", err.code)
      assert.equal("OAuthDiscoveryURL", err.property)
      assert.matches("https://evil.example/tenant1", err.message, 1, true)
      assert.matches(sandbox.url .. "/tenant1", err.message, 1, true)
      assert.equal(0, sandbox:stats().device_authorizations)
    end)

    it("says what is wrong with a document that cannot be used", function()
      sandbox:config({ discovery_body = "<html>not json</html>" })
      local _, err = oauthconnect.connect(props())
      assert.equal("discovery_error", err.code)
      assert.matches("is not JSON", err.message)
      sandbox:config({ discovery_body = json.null, discovery_status = 500 })
      _, err = oauthconnect.connect(props())
      assert.equal("discovery_error", err.code)
      assert.equal(500, err.status)
      sandbox:config({ discovery_status = json.null, discovery_omit = { "device_authorization_endpoint" } })
      _, err = oauthconnect.connect(props())
      assert.equal("missing_property", err.code)
      assert.equal("OAuthDeviceAuthorizationURL", err.property)
      assert.matches("names no device_authorization_endpoint", err.message)
    end)

    it("fetches the document again when a discovered endpoint answers 404", function()
      sandbox:config({ discovery_endpoints_prefix = "/v2" })
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      assert.equal(1, #sandbox:requests("/v2/oauth2/device_authorization"))
      sandbox:config({ discovery_endpoints_prefix = "/v3" })
      assert(c:token(true)) -- /v2/oauth2/token is gone: read the document again, then /v3
      assert.equal(2, sandbox:stats().discovery)
      assert.equal(1, sandbox:stats().refreshes)
      assert.equal(1, #sandbox:requests("/v3/oauth2/token"))
      -- the new document is what the store caches now
      assert.matches("/v3/oauth2/token", H.settings(dir .. "/tokens.json").discovery.document.token_endpoint)
      c:close()
    end)

    it("fetches a day-old document again, and uses it while the server cannot answer", function()
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      c:close()
      local doc = H.settings(dir .. "/tokens.json")
      doc.discovery.fetched_at_ms = doc.discovery.fetched_at_ms - 25 * 3600 * 1000
      H.write_file(dir .. "/tokens.json", json.encode(doc), "600")
      sandbox:config({ discovery_status = 503 })
      local c2 = assert(oauthconnect.connect(props({ Logfile = dir .. "/log", MaxAttempts = 2 })))
      assert(c2:token(true)) -- the refresh goes to the old document's endpoint
      assert.equal(3, sandbox:stats().discovery) -- the first fetch, then two attempts
      assert.matches("is used meanwhile", H.read_file(dir .. "/log"))
      c2:close()
    end)

    it("authenticates the client the way the document states", function()
      sandbox:stop()
      sandbox = H.sandbox("generic", { "--issuer-path", "/tenant1", "--device-interval", "1",
        "--client-auth", "basic" })
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      local sent = sandbox:requests("/oauth2/device_authorization")
      assert.equal(1, #sent) -- Basic at once: the document lists only client_secret_basic
      assert.matches("^Basic ", sent[1].headers.authorization)
      assert.not_matches("client_secret", sent[1].body)
      c:close()
    end)

    it("sends the web flow to the discovered authorization endpoint, with PKCE", function()
      local p = props({ OAuthGrantType = "CODE", CallbackURL = "http://127.0.0.1:1/cb" })
      local url, _, verifier = assert(oauthconnect.get_authorization_url(p))
      assert.equal(sandbox.url .. "/oauth2/authorize?", url:sub(1, #sandbox.url + 18))
      assert.matches("code_challenge_method=S256", url)
      assert(oauthconnect.get_access_token(p, H.follow(url).code, { code_verifier = verifier }))
      assert.equal(1, sandbox:stats().code_exchanges)
    end)

    it("runs through a transport function like every other request", function()
      local urls = {}
      local function transport(req)
        urls[#urls + 1] = req.url
        local status, body, headers = H.http(req.method, req.url, req.body, (function()
          local h = {}
          for _, pair in ipairs(req.headers) do h[pair[1]] = pair[2] end
          return h
        end)())
        return { status = status, body = body, headers = headers or {} }
      end
      local c = assert(oauthconnect.connect(props({ on_device_code = approve, transport = transport })))
      assert(c:get("/me"))
      assert.equal(wk(), urls[1])
      c:close()
    end)
  end)

  describe("the device login", function()
    it("shows where to go and polls until the user approves", function()
      local shown
      local c = assert(oauthconnect.connect(props({ on_device_code = function(info)
        shown = info
        approve(info)
      end })))
      assert.matches("^%u%u%u%u%-%u%u%u%u$", shown.user_code)
      assert.equal(sandbox.url .. "/device", shown.verification_uri)
      assert.matches("user_code=", shown.verification_uri_complete)
      assert.equal(600, shown.expires_in)
      assert.equal("device_code", assert(c:get("/me")).grant)
      assert.equal(1, sandbox:stats().device_tokens)
      -- the device code never reaches the prompt, the log or the store
      assert.is_nil(shown.device_code)
      c:close()
    end)

    it("keeps polling while authorization is pending, and slows down when asked", function()
      sandbox:config({ device_auto_approve_after = 1.5 })
      sandbox:inject({ path = "/oauth2/token", count = 1, status = 400,
        headers = { ["Content-Type"] = "application/json" }, body = '{"error":"slow_down"}' })
      local started = H.now()
      local c = assert(oauthconnect.connect(props({ on_device_code = function() end })))
      local took = H.now() - started
      assert(took >= 6, "a slow_down adds 5 s to the 1 s interval; the login took " .. took .. " s")
      local polls = sandbox:requests("/oauth2/token")
      assert.equal(2, #polls) -- the slowed one, then (6 s later, approved meanwhile) the tokens
      c:close()
    end)

    it("ends with access_denied when the user denies", function()
      local c, err = oauthconnect.connect(props({ on_device_code = function(info)
        sandbox:control("POST", "device", { user_code = info.user_code, action = "deny" })
      end }))
      assert.is_nil(c)
      assert.equal("access_denied", err.code)
      assert.matches("denied", err.message)
      assert.is_nil(H.read_file(dir .. "/tokens.json") and H.settings(dir .. "/tokens.json").access_token)
    end)

    it("ends when the server says the code expired", function()
      local _, err = oauthconnect.connect(props({ on_device_code = function(info)
        sandbox:control("POST", "device", { user_code = info.user_code, action = "expire" })
      end }))
      assert.equal("login_failed", err.code)
      assert.matches("expired", err.message)
    end)

    it("stops polling when the code's lifetime is over, and at LoginTimeout", function()
      sandbox:config({ device_expires_in = 2 })
      local started = H.now()
      local _, err = oauthconnect.connect(props({ on_device_code = function() end }))
      assert.equal("login_failed", err.code)
      assert.matches("expired", err.message)
      assert(H.now() - started < 4)
      sandbox:config({ device_expires_in = 600 })
      started = H.now()
      _, err = oauthconnect.connect(props({ LoginTimeout = 2, on_device_code = function() end }))
      assert.equal("login_failed", err.code)
      assert.equal("LoginTimeout", err.property)
      assert(H.now() - started < 4)
    end)

    it("is what the command's login runs, printing the address and the code; Ctrl-C ends it", function()
      local conn = H.connstr(props({ LoginTimeout = 30 }))
      local errfile = dir .. "/cli.err"
      local login = "exec env " .. H.LUA_ENV .. " HOME=" .. H.q(dir) .. " " .. H.LUA .. " " .. H.q(CLI)
        .. " login custom -c " .. H.q(conn) .. " 2>" .. H.q(errfile) .. " </dev/null >/dev/null"
      -- a session of its own, SIGINT at its default: as a terminal's foreground job
      local pid = H.capture("python3 -c " .. H.q("import signal, subprocess, sys; "
        .. "signal.signal(signal.SIGINT, signal.SIG_DFL); "
        .. "print(subprocess.Popen(sys.argv[1], shell=True, start_new_session=True).pid)") .. " " .. H.q(login))
      pid = assert(tonumber(pid:match("%d+")))
      local deadline = H.now() + 10
      while H.now() < deadline and not (H.read_file(errfile) or ""):match("Ctrl%-C") do H.sleep(0.05) end
      local shown = H.read_file(errfile)
      assert.matches("open " .. sandbox.url:gsub("%p", "%%%0") .. "/device", shown)
      local first_code = shown:match("enter the code (%u%u%u%u%-%u%u%u%u)")
      assert.truthy(first_code)
      os.execute("kill -INT " .. pid)
      local t0 = H.now()
      while H.now() - t0 < 5 and H.alive(pid) do H.sleep(0.05) end
      assert.is_false(H.alive(pid), "the login went on after Ctrl-C")
      assert(H.now() - t0 < 1, "Ctrl-C took " .. (H.now() - t0) .. " s")
      assert.equal(0, sandbox:stats().device_tokens)
      -- a login the user approves ends with the tokens stored
      local approver = "import json, time, urllib.request\n"
        .. "u = '" .. sandbox.url .. "/_sandbox/device'\n"
        .. "for _ in range(200):\n"
        .. "    pending = [x for x in json.load(urllib.request.urlopen(u)) if x['status'] == 'pending'\n"
        .. "               and x['user_code'] != '" .. first_code .. "']\n"
        .. "    if pending: break\n"
        .. "    time.sleep(0.05)\n"
        .. "urllib.request.urlopen(urllib.request.Request(u, data=json.dumps({'user_code': "
        .. "pending[-1]['user_code'], 'action': 'approve'}).encode(), headers={'Content-Type': 'application/json'}))\n"
      local out, code = H.capture("(" .. login .. ") & python3 -c " .. H.q(approver) .. "; wait $!")
      assert.equal(0, code, out .. (H.read_file(errfile) or ""))
      assert.matches("Logged in", H.read_file(errfile))
      assert.is_string(H.settings(dir .. "/tokens.json").refresh_token)
    end)
  end)

  describe("revocation", function()
    local function logged_in(extra)
      local c = assert(oauthconnect.connect(props(extra or { on_device_code = approve })))
      assert(c:get("/me"))
      return c
    end

    it("revokes the refresh token, then the access token, then removes the set", function()
      local c = logged_in()
      local stored = H.settings(dir .. "/tokens.json")
      assert.is_true(c:revoke())
      local stats = sandbox:stats()
      assert.same({ "refresh_token", "access_token" }, stats.revoked_hints)
      assert.equal(1, stats.revoked_refresh)
      assert.is_nil(H.read_file(dir .. "/tokens.json"))
      local status = H.http("GET", sandbox.url .. "/api/me", nil, { Authorization = "Bearer " .. stored.access_token })
      assert.equal(401, status)
      c:close()
    end)

    it("removes the set when the server does not confirm, and says so", function()
      local c = logged_in()
      local stored = H.settings(dir .. "/tokens.json")
      sandbox:config({ revocation_status = 503 })
      local ok, err = c:revoke()
      assert.is_nil(ok)
      assert.equal("revocation_failed", err.code)
      assert.equal(503, err.status)
      assert.matches("removed from", err.message)
      assert.not_matches(stored.refresh_token, err.message, 1, true)
      assert.is_nil(H.read_file(dir .. "/tokens.json"))
      assert.equal(1, #sandbox:tokens().refresh) -- still live at the server, as the error says
      c:close()
    end)

    it("removes the set when the endpoint cannot be reached", function()
      local c = logged_in({ on_device_code = approve,
        OAuthRevocationURL = "http://127.0.0.1:" .. H.free_port() .. "/revoke" })
      local ok, err = c:revoke()
      assert.is_nil(ok)
      assert.equal("revocation_failed", err.code)
      assert.is_nil(H.read_file(dir .. "/tokens.json"))
      c:close()
    end)

    it("says no endpoint is known, and still removes the set", function()
      local p = sandbox:generic_props({ InitiateOAuth = "GETANDREFRESH", OAuthSettingsLocation = dir .. "/t.json",
        OAuthGrantType = "DEVICE_CODE", OAuthDeviceAuthorizationURL = sandbox.url .. "/oauth2/device_authorization",
        on_device_code = approve })
      local c = assert(oauthconnect.connect(p))
      local ok, err = c:revoke()
      assert.is_nil(ok)
      assert.equal("unsupported", err.code)
      assert.equal("OAuthRevocationURL", err.property)
      assert.is_nil(H.read_file(dir .. "/t.json"))
      assert.equal(0, sandbox:stats().revocations)
      c:close()
    end)

    it("forget() removes without asking the server", function()
      local c = logged_in()
      assert.is_true(c:forget())
      assert.is_nil(H.read_file(dir .. "/tokens.json"))
      assert.equal(0, sandbox:stats().revocations)
      c:close()
    end)

    it("is what the command's logout does; --local only removes", function()
      logged_in():close()
      local function logout(args)
        return H.capture(("env %s HOME=%s %s %s logout custom %s -c %s 2>&1 </dev/null"):format(H.LUA_ENV,
          H.q(dir), H.LUA, H.q(CLI), args, H.q(H.connstr(props()))))
      end
      local out, code = logout("--local")
      assert.equal(0, code, out)
      assert.equal(0, sandbox:stats().revocations)
      logged_in():close()
      out, code = logout("")
      assert.equal(0, code, out)
      assert.matches("Logged out", out)
      assert.equal(2, sandbox:stats().revocations)
      logged_in():close()
      sandbox:config({ revocation_status = 503 })
      out, code = logout("")
      assert.not_equal(0, code)
      assert.matches("did not confirm", out)
      assert.is_nil(H.read_file(dir .. "/tokens.json"))
    end)
  end)
  -- what an independent round against its own RFC servers found
  describe("after a black-box round", function()
    it("removes the tokens on revoke() when the discovery document cannot be had", function()
      -- tokens seeded, never a reason to read the document until the logout
      local p = props({ InitiateOAuth = "REFRESH", OAuthGrantType = "CODE" })
      local seed = assert(oauthconnect.connect(props({ on_device_code = approve })))
      local set = assert(seed:token())
      seed:close()
      os.remove(dir .. "/tokens.json")
      p.OAuthAccessToken, p.OAuthRefreshToken = set.access_token, set.refresh_token
      p.OAuthExpiresIn, p.OAuthTokenTimestamp = 3600, os.time() * 1000
      p.OAuthSettingsLocation = dir .. "/seeded.json"
      local c = assert(oauthconnect.connect(p))
      assert(c:get("/me"))
      assert.equal(1, sandbox:stats().discovery) -- the seed's login only
      sandbox:config({ discovery_status = 503 })
      local ok, err = c:revoke()
      assert.is_nil(ok)
      assert.equal("revocation_failed", err.code)
      assert.matches("removed from", err.message)
      assert.matches("was not asked", err.message)
      assert.is_nil(H.read_file(dir .. "/seeded.json"))
      c:close()
    end)

    it("takes client_secret_basic when the document names no method, and moves to Basic at the device endpoint", function()
      sandbox:stop()
      sandbox = H.sandbox("generic", { "--issuer-path", "/tenant1", "--device-interval", "1",
        "--client-auth", "basic" })
      sandbox:config({ discovery_omit = { "token_endpoint_auth_methods_supported" } })
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      local sent = sandbox:requests("/oauth2/device_authorization")
      assert.equal(1, #sent)
      assert.matches("^Basic ", sent[1].headers.authorization)
      c:close()
      -- no document: the body first (the profile's way), refused, then Basic
      local p = sandbox:generic_props({ InitiateOAuth = "GETANDREFRESH", OAuthGrantType = "DEVICE_CODE",
        OAuthDeviceAuthorizationURL = sandbox.url .. "/oauth2/device_authorization",
        OAuthSettingsLocation = dir .. "/plain.json", on_device_code = approve })
      sandbox:reset()
      c = assert(oauthconnect.connect(p))
      assert(c:get("/me"))
      sent = sandbox:requests("/oauth2/device_authorization")
      assert.equal(2, #sent)
      assert.is_nil(sent[1].headers.authorization)
      assert.matches("^Basic ", sent[2].headers.authorization)
      c:close()
    end)

    it("polls once more at LoginTimeout rather than giving up an interval early", function()
      sandbox:config({ device_interval = 2, device_auto_approve_after = 2.5 })
      local c = assert(oauthconnect.connect(props({ LoginTimeout = 3, on_device_code = function() end })))
      assert.equal("device_code", assert(c:get("/me")).grant)
      c:close()
    end)

    it("tries the discovery document again after a 503, as any GET", function()
      sandbox:inject({ path = "/.well-known/", count = 1, status = 503, headers = { ["Retry-After"] = "1" } })
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      assert.equal(2, #sandbox:requests("/.well-known/"))
      c:close()
    end)

    it("fetches the document once for processes refreshing together", function()
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      c:close()
      -- every process finds the token expired and no document cached
      local doc = H.settings(dir .. "/tokens.json")
      doc.discovery = nil
      doc.obtained_at_ms = doc.obtained_at_ms - 7200 * 1000
      doc.expires_at_ms = doc.expires_at_ms - 7200 * 1000
      H.write_file(dir .. "/tokens.json", json.encode(doc), "600")
      sandbox:reset()
      local script = ([[
        local c = assert(require("oauthconnect").connect(%q))
        assert(c:get("/me"))
      ]]):format(H.connstr(props()))
      H.write_file(dir .. "/p.lua", script)
      local cmd = {}
      for i = 1, 8 do
        cmd[#cmd + 1] = H.LUA_ENV .. " " .. H.LUA .. " " .. H.q(dir .. "/p.lua") .. " >" .. H.q(dir .. "/p" .. i .. ".out")
          .. " 2>&1 &"
      end
      local _, code = H.capture(table.concat(cmd, " ") .. " wait")
      assert.equal(0, code)
      local stats = sandbox:stats()
      assert.equal(1, stats.discovery)
      assert.equal(1, stats.refreshes)
      assert.equal(8, stats.api_by_status["200"])
    end)

    it("shares the pause after a failed fetch of a day-old document", function()
      local c = assert(oauthconnect.connect(props({ on_device_code = approve })))
      c:close()
      local doc = H.settings(dir .. "/tokens.json")
      doc.discovery.fetched_at_ms = doc.discovery.fetched_at_ms - 25 * 3600 * 1000
      H.write_file(dir .. "/tokens.json", json.encode(doc), "600")
      sandbox:config({ discovery_status = 503 })
      local p = props({ MaxAttempts = 1, Logfile = dir .. "/log" })
      local c1 = assert(oauthconnect.connect(p))
      assert(c1:token(true))
      c1:close()
      assert.equal(2, sandbox:stats().discovery)
      -- another client (another process would do the same) waits out the pause
      local c2 = assert(oauthconnect.connect(p))
      assert(c2:token(true))
      c2:close()
      assert.equal(2, sandbox:stats().discovery)
      assert(H.settings(dir .. "/tokens.json").discovery.next_fetch_ms > os.time() * 1000)
    end)

    it("polls more slowly after failed polls, and reads a 200 that carries an error", function()
      sandbox:config({ device_auto_approve_after = 0 })
      sandbox:inject({ path = "/oauth2/token", count = 2, status = 503 })
      local started = H.now()
      local c = assert(oauthconnect.connect(props({ on_device_code = function() end })))
      local took = H.now() - started
      assert(took >= 6.5, "polls 1 s, then 2 s, then 4 s apart after two 503s; took " .. took .. " s")
      c:close()
      os.remove(dir .. "/tokens.json")
      -- GitHub answers authorization_pending with 200
      sandbox:config({ device_auto_approve_after = 1.5 })
      sandbox:inject({ path = "/oauth2/token", count = 1, status = 200,
        headers = { ["Content-Type"] = "application/json" }, body = '{"error":"authorization_pending"}' })
      c = assert(oauthconnect.connect(props({ on_device_code = function() end })))
      assert(c:get("/me"))
      c:close()
    end)

    it("refuses a prompt a terminal would act on, and never overstates the code's life", function()
      sandbox:inject({ path = "/oauth2/device_authorization", count = 1, status = 200,
        headers = { ["Content-Type"] = "application/json" },
        body = json.encode({ device_code = "dc", user_code = "AB\27]0;pwned\7", verification_uri = sandbox.url
          .. "/device", expires_in = 600 }) })
      local _, err = oauthconnect.connect(props({ on_device_code = approve }))
      assert.equal("bad_response", err.code)
      assert.matches("not printable", err.message)
      sandbox:config({ device_expires_in = 30, device_auto_approve_after = 1.5 })
      local _, stderr, code = H.run_lua(([[
        local c = assert(require("oauthconnect").connect(%q))
        assert(c:get("/me"))
      ]]):format(H.connstr(props())))
      assert.equal(0, code, stderr)
      assert.matches("The code is good for 30 seconds", stderr)
    end)

    it("ends the command's login on a Ctrl-C that comes before the prompt, storing nothing", function()
      sandbox:inject({ path = "/.well-known/", count = 1, action = "delay", delay_ms = 2000 })
      local errfile = dir .. "/cli.err"
      local login = "exec env " .. H.LUA_ENV .. " HOME=" .. H.q(dir) .. " " .. H.LUA .. " " .. H.q(CLI)
        .. " login custom -c " .. H.q(H.connstr(props())) .. " 2>" .. H.q(errfile) .. " </dev/null >/dev/null; "
      -- Ctrl-C once the login is inside its first request (the delayed
      -- discovery fetch has taken the injected fault), not after a fixed
      -- sleep: a slow start (sanitizers, a loaded machine) would otherwise
      -- meet the default SIGINT action before the login began.
      local out = H.capture("python3 -c " .. H.q("import json, signal, subprocess, sys, time, urllib.request; "
        .. "signal.signal(signal.SIGINT, signal.SIG_DFL); "
        .. "p = subprocess.Popen(['sh', '-c', sys.argv[1]], start_new_session=True); "
        .. "pending = lambda: json.load(urllib.request.urlopen(sys.argv[2] + '/_sandbox/inject'))['pending']; "
        .. "t = time.time()\nwhile pending() and time.time() - t < 60 and p.poll() is None: time.sleep(0.05)\n"
        .. "time.sleep(0.2); p.send_signal(signal.SIGINT); t = time.time(); p.wait(); "
        .. "print(p.returncode, round(time.time() - t, 2))")
        .. " " .. H.q(login:gsub("; $", "")) .. " " .. H.q(sandbox.url))
      local rc, after = out:match("(%-?%d+) ([%d.]+)")
      assert.equal("130", rc, out .. (H.read_file(errfile) or ""))
      assert(tonumber(after) < 3, "ended " .. after .. " s after Ctrl-C")
      local shown = H.read_file(errfile)
      assert.not_matches("enter the code", shown)
      assert.matches("oauthconnect: interrupted", shown)
      assert.equal(0, sandbox:stats().device_tokens)
      assert.is_nil(H.read_file(dir .. "/tokens.json") and H.settings(dir .. "/tokens.json").access_token)
    end)
  end)
end)
