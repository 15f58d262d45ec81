-- Refresh before expiry and after a 401, rotation persisted, single flight
-- between clients, and a failed refresh that leaves the store as it was.
local H = require "helpers"
local jumpseller = require "jumpseller"

describe("token refresh", function()
  local sandbox, dir, props

  -- Obtains a first token set through the web flow, stored in props' file.
  local function seed_tokens()
    local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
    return assert(jumpseller.get_access_token(props, code))
  end

  before_each(function()
    sandbox = H.sandbox("jumpseller", { "--access-ttl", "4" })
    dir = H.tmpdir()
    props = sandbox:jumpseller_props({
      InitiateOAuth = "GETANDREFRESH",
      OAuthSettingsLocation = dir .. "/tokens.json",
      CallbackURL = "http://127.0.0.1:1/callback",
    })
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("refreshes shortly before expiry, with a leeway of a quarter of a short lifetime", function()
    local first = seed_tokens()
    local client = assert(jumpseller.connect(props))
    assert(client:get("/store/info.json"))
    assert.equal(0, sandbox:stats().refreshes)
    H.sleep(2.2) -- 4 s token: not yet due (leeway capped at 1 s)
    assert(client:get("/store/info.json"))
    assert.equal(0, sandbox:stats().refreshes)
    H.sleep(1.0) -- now inside the last second
    assert(client:get("/store/info.json"))
    local stats = sandbox:stats()
    assert.equal(1, stats.refreshes)
    assert.equal(0, stats.api_unauthorized)
    local stored = H.settings(props.OAuthSettingsLocation)
    assert.not_equal(first.refresh_token, stored.refresh_token)
    assert.equal(client:token().access_token, stored.access_token)
    client:close()
  end)

  it("refreshes once after a 401 and retries the request", function()
    seed_tokens()
    local client = assert(jumpseller.connect(props))
    sandbox:expire()
    local info = assert(client:get("/store/info.json"))
    assert.equal("Sandbox Store", info.store.name)
    local stats = sandbox:stats()
    assert.equal(1, stats.refreshes)
    assert.equal(1, stats.api_unauthorized)
    client:close()
  end)

  it("persists the rotated refresh token before using the new access token", function()
    local first = seed_tokens()
    local reported = {}
    local client = assert(jumpseller.connect(props, { on_token = function(t) reported[#reported + 1] = t end }))
    local token = assert(client:token(true))
    assert.not_equal(first.refresh_token, token.refresh_token)
    assert.equal(token.refresh_token, H.settings(props.OAuthSettingsLocation).refresh_token)
    assert.equal(1, #reported)
    assert.equal(token.access_token, reported[1].access_token)
    -- the spent refresh token is dead at the server: nothing may use it again
    local t, err = jumpseller.refresh_access_token(sandbox:jumpseller_props({ OAuthRefreshToken = first.refresh_token }))
    assert.is_nil(t)
    assert.equal("invalid_grant", err.oauth_error)
    client:close()
  end)

  -- The order itself, seen from outside: while the API holds the request
  -- that carries the new access token, the settings file already has the
  -- set it came with (a process killed now keeps the rotated refresh token).
  it("holds the rotated refresh token in the settings file while the new access token is in use", function()
    local first = seed_tokens()
    sandbox:expire()
    sandbox:reset()
    sandbox:inject({ path = "/v1/store/info.json", action = "delay", delay_ms = 1000, count = 2 })
    H.write_file(dir .. "/child.lua", [[
      local client = assert(require("jumpseller").connect(os.getenv("CONN")))
      local body, err = client:get("/store/info.json")
      print(body and "ok" or ("failed: " .. tostring(err)))
    ]])
    local child_props = {}
    for k, v in pairs(props) do child_props[k] = v end
    child_props.InitiateOAuth = "REFRESH" -- never a login, whatever it finds
    local pid = tonumber((H.capture(("%s CONN=%s %s %s > %s 2>&1 & echo $!"):format(H.LUA_ENV,
      H.q(H.connstr(child_props)), H.LUA, H.q(dir .. "/child.lua"), H.q(dir .. "/child.out")))))
    finally(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
    -- the first request meets the expired token (401), the second carries the new one
    local seen
    local deadline = H.now() + 15
    repeat
      H.sleep(0.05)
      seen = sandbox:requests("/v1/store/info.json")
    until #seen >= 2 or H.now() > deadline
    assert.equal(2, #seen)
    local stored = H.settings(props.OAuthSettingsLocation) -- read while that request waits at the API
    local bearer = (seen[2].headers.authorization or ""):match("^Bearer (.+)$")
    assert.equal(1, sandbox:stats().refreshes)
    assert.is_string(bearer)
    assert.equal(bearer, stored.access_token)
    assert.not_equal(first.refresh_token, stored.refresh_token)
    local live = {}
    for _, t in ipairs(sandbox:tokens().refresh) do live[t] = true end
    assert.is_true(live[stored.refresh_token], "the stored refresh token is the live one")
    deadline = H.now() + 15
    while not (H.read_file(dir .. "/child.out") or ""):match("\n") and H.now() < deadline do H.sleep(0.05) end
    assert.equal("ok\n", H.read_file(dir .. "/child.out"))
  end)

  it("adopts another client's refresh instead of refreshing again", function()
    seed_tokens()
    sandbox:config({ revoke_access_on_refresh = true })
    local a = assert(jumpseller.connect(props))
    local b = assert(jumpseller.connect(props))
    assert(a:token(true)) -- a refreshes; b's access token is now revoked
    assert.equal(1, sandbox:stats().refreshes)
    local info = assert(b:get("/store/info.json")) -- 401, re-read the store, adopt
    assert.equal("Sandbox Store", info.store.name)
    local stats = sandbox:stats()
    assert.equal(1, stats.refreshes)
    assert.equal(0, stats.invalid_grant)
    assert.equal(a:token().access_token, b:token().access_token)
    a:close()
    b:close()
  end)

  it("shares tokens between clients of one memory:// store", function()
    local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
    props.OAuthSettingsLocation = "memory://shared-" .. tostring(H.now())
    assert(jumpseller.get_access_token(props, code))
    local a = assert(jumpseller.connect(props))
    local b = assert(jumpseller.connect(props))
    H.sleep(3.2)
    assert(a:get("/store/info.json"))
    assert(b:get("/store/info.json"))
    assert.equal(1, sandbox:stats().refreshes)
    assert.equal(a:token().access_token, b:token().access_token)
    a:close()
    b:close()
  end)

  it("reads store schemes in any case, and refuses one it does not know", function()
    local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
    local name = "Shared-" .. tostring(H.now())
    props.OAuthSettingsLocation = "MEMORY://" .. name
    assert(jumpseller.get_access_token(props, code))
    props.OAuthSettingsLocation = "memory://" .. name -- the same store
    props.InitiateOAuth = "REFRESH"
    assert(jumpseller.connect(props)):close()
    -- file:///path is a path; a scheme it does not know never becomes one
    local dir2 = H.tmpdir()
    props.InitiateOAuth = "GETANDREFRESH"
    props.OAuthSettingsLocation = "file://" .. dir2 .. "/t.json"
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    assert.is_string(H.read_file(dir2 .. "/t.json"))
    for _, loc in ipairs({ "memory:/typo", "redsi://:pw-9@127.0.0.1/0/k", "ftp://x/y" }) do
      props.OAuthSettingsLocation = loc
      local c, err = jumpseller.connect(props)
      assert.is_nil(c, loc)
      assert.equal("OAuthSettingsLocation", err.property)
      assert.matches("names no store this client knows", err.message, 1, true)
      assert.is_nil(err.message:find("pw-9", 1, true))
    end
    props.OAuthSettingsLocation = "file://host/t.json"
    local _, err = jumpseller.connect(props)
    assert.matches("file:///path on this machine", err.message, 1, true)
  end)

  it("spends no refresh token it could not save, and refreshes once it can", function()
    seed_tokens()
    local before = H.settings(props.OAuthSettingsLocation)
    H.sleep(3.2) -- due
    -- the child cannot write files (RLIMIT_FSIZE 0, as a full disk) until it
    -- lifts the limit itself with prlimit: the due refresh waits, the token
    -- still works, and nothing is spent that could not be kept
    local dir2 = H.tmpdir()
    H.write_file(dir2 .. "/s.lua", [[
      local c = assert(require("jumpseller").connect(os.getenv("CONN")))
      assert(c:get("/store/info.json"))
      io.stdout:write("used\n"); io.stdout:flush()
      local pid = io.popen("echo $PPID"):read("l")
      assert(os.execute("prlimit --pid " .. pid .. " --fsize=unlimited"))
      assert(c:get("/store/info.json"))
      print("saved")
      c:close()
    ]])
    local out, code = H.capture("trap '' XFSZ; ulimit -S -f 0; " .. H.LUA_ENV .. " CONN=" .. H.q(H.connstr(props))
      .. " " .. H.LUA .. " " .. H.q(dir2 .. "/s.lua") .. " 2>&1") -- a pipe: files cannot grow
    assert.equal(0, code, out)
    assert.is_nil(out:find("renewed but could not be saved", 1, true), out)
    assert.matches("used\n.*saved\n$", out)
    assert.equal(1, sandbox:stats().refreshes) -- only once the file could take the answer
    local after = H.settings(props.OAuthSettingsLocation)
    assert.not_equal(before.refresh_token, after.refresh_token)
    -- a new process carries on from the saved set
    local c = assert(jumpseller.connect(props))
    assert(c:get("/store/info.json"))
    c:close()
    assert.equal(0, sandbox:stats().invalid_grant)
    -- expired, with the disk still full: the request fails, saying why, and
    -- the stored refresh token is still the live one
    H.sleep(4.2)
    H.write_file(dir2 .. "/e.lua", [[
      local c = assert(require("jumpseller").connect(os.getenv("CONN")))
      local body, err = c:get("/store/info.json")
      print(body and "ok" or tostring(err))
    ]])
    out = H.capture("trap '' XFSZ; ulimit -S -f 0; " .. H.LUA_ENV .. " CONN=" .. H.q(H.connstr(props))
      .. " " .. H.LUA .. " " .. H.q(dir2 .. "/e.lua") .. " 2>&1")
    assert.matches("the token was not refreshed, for its answer could not be kept", out, 1, true)
    assert.equal(1, sandbox:stats().refreshes)
    c = assert(jumpseller.connect(props))
    assert(c:get("/store/info.json"))
    c:close()
    assert.equal(0, sandbox:stats().invalid_grant)
  end)

  it("leaves the store untouched when the refresh is refused", function()
    seed_tokens()
    local before = H.read_file(props.OAuthSettingsLocation)
    local client = assert(jumpseller.connect(props))
    sandbox:revoke()
    local body, err = client:get("/store/info.json")
    assert.is_nil(body)
    assert.equal("oauth_error", err.code)
    assert.equal("invalid_grant", err.oauth_error)
    assert.matches("was rejected with HTTP 401 and: the token refresh was refused by", err.message)
    assert.equal(before, H.read_file(props.OAuthSettingsLocation))
    -- the refused refresh token is not sent again: the same answer, no request
    local refreshes = #sandbox:requests("/oauth/token")
    body, err = client:get("/store/info.json")
    assert.is_nil(body)
    assert.equal("invalid_grant", err.oauth_error)
    assert.matches("the refresh token was refused before and is not sent again", err.message, 1, true)
    assert.equal(refreshes, #sandbox:requests("/oauth/token"))
    client:close()
  end)

  it("leaves the store untouched when the token endpoint answers garbage", function()
    seed_tokens()
    local before = H.read_file(props.OAuthSettingsLocation)
    local client = assert(jumpseller.connect(props))
    for _, fault in ipairs({
      { status = 200, body = "<html>maintenance</html>", headers = { ["Content-Type"] = "text/html" } },
      { status = 200, body = '{"access_token": 5}' },
      { status = 502, body = "Bad gateway" },
      { action = "truncate", status = 200, body = '{"access_token": "x' },
    }) do
      fault.path = "/oauth/token"
      sandbox:inject(fault)
      local token, err = client:token(true)
      assert.is_nil(token, fault.body)
      assert.is_string(err.code)
      assert.equal(before, H.read_file(props.OAuthSettingsLocation))
    end
    assert(client:token(true)) -- and it still works afterwards
    client:close()
  end)

  it("keeps using a valid token when a due refresh fails on the network", function()
    seed_tokens()
    local client = assert(jumpseller.connect(props))
    H.sleep(3.2)
    sandbox:inject({ path = "/oauth/token", status = 503, body = "down for maintenance", count = 10 })
    assert(client:get("/store/info.json")) -- refresh failed, token not expired yet: used
    assert.equal(0, sandbox:stats().refreshes)
    client:close()
  end)
end)
