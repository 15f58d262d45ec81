-- The token store on Redis: one connection for many machines.
local H = require "helpers"
local json = require "oauthconnect.json"
local jumpseller = require "jumpseller"

local function run_tool(args) return H.run_reliability("redis_race.lua", args) end

describe("the Redis store", function()
  local redis, sandbox, dir

  before_each(function()
    redis = H.redis({ password = "sup3r-s3cret" })
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
  end)
  after_each(function()
    sandbox:stop()
    redis:stop()
    H.cleanup()
  end)

  it("keeps the token set in Redis and refreshes through it", function()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH", CallbackURL = "http://127.0.0.1:1/cb",
      OAuthSettingsLocation = redis:url("shop:jumpseller", 4), Logfile = dir .. "/log", Verbosity = 3 })
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    local doc = json.decode(redis:cli("-n 4 GET shop:jumpseller"))
    assert.is_string(doc.refresh_token)
    assert.equal("jumpseller", doc.provider)
    local c = assert(jumpseller.connect(props))
    assert(c:get("/store/info.json"))
    local t = assert(c:token(true))
    assert.equal(t.refresh_token, json.decode(redis:cli("-n 4 GET shop:jumpseller")).refresh_token)
    assert.equal("0", redis:cli("-n 4 EXISTS shop:jumpseller:lock"):match("%d"))
    c:close()
    assert.is_nil(H.read_file(dir .. "/log"):find("sup3r-s3cret", 1, true))
  end)

  it("says clearly when Redis cannot be reached, without the password", function()
    -- a port nothing listens on (not 1: another spec's login listener may hold it)
    local port = H.free_port()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", Timeout = 2,
      OAuthSettingsLocation = ("redis://:sup3r-s3cret@127.0.0.1:%d/0/k"):format(port) })
    local c, err = jumpseller.connect(props)
    assert.is_nil(c)
    assert.equal("network_error", err.code)
    assert.matches(("Redis store redis://127.0.0.1:%d/0/k: cannot connect"):format(port), err.message, 1, true)
    assert.is_nil(err.message:find("sup3r", 1, true))
  end)

  it("refuses a Redis user that may not run EVAL before any refresh is sent", function()
    -- saving the renewed set is a script: found out after the refresh, the
    -- rotated refresh token would be lost
    assert.matches("OK", redis:cli("ACL SETUSER noeval on '>n0eval-pw' '~*' +get +set +del +pexpire +select +ping"))
    local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", CallbackURL = "http://127.0.0.1:1/cb",
      OAuthSettingsLocation = ("redis://noeval:n0eval-pw@127.0.0.1:%d/0/k"):format(redis.port) })
    local c, err = jumpseller.connect(props)
    assert.is_nil(c)
    assert.matches("the Redis user must be allowed EVAL, GET, SET, DEL and PEXPIRE", err.message, 1, true)
    assert.is_nil(err.message:find("n0eval-pw", 1, true))
    assert.equal(0, sandbox:stats().refreshes)
  end)

  it("tells a wrong password from a server that does not answer", function()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", Timeout = 1,
      OAuthSettingsLocation = ("redis://:wrong-pw@127.0.0.1:%d/0/k"):format(redis.port) })
    local _, err = jumpseller.connect(props)
    assert.matches("the server refused the credentials", err.message, 1, true)
    os.execute("kill -STOP " .. redis.pid)
    props.OAuthSettingsLocation = redis:url("k", 0)
    local t0 = H.now()
    _, err = jumpseller.connect(props)
    os.execute("kill -CONT " .. redis.pid)
    assert.equal("timeout", err.code, err.message)
    assert.is_nil(err.message:find("refused the credentials", 1, true))
    assert.is_true(H.now() - t0 < 4)
  end)

  it("refreshes once per window across 3 machines of 8 processes", function()
    local r = run_tool("3 8 40 4 0.25")
    assert.equal(960, r.requests)
    assert.equal(0, r.failed)
    assert.equal(0, r.invalid_grant)
    assert.is_true(r.windows >= 3)
    assert.is_true(r.refreshes <= r.windows and r.refreshes >= r.windows - 1)
    assert.is_true(r.min_gap_between_refreshes_s >= r.refresh_period_s * 0.9)
    assert.is_true(r.stored_set_whole and r.new_process_works)
  end)

  -- The access tokens expire as Redis stops, so every request of the outage
  -- needs its lock: requests must have been made in it and failed there
  -- (a run where none did would show nothing), none outside it.
  it("fails only inside an outage when Redis restarts mid-run, and loses nothing", function()
    local r = run_tool("3 8 48 4 0.25 restart 2.5")
    assert.equal(3 * 8 * 48, r.requests)
    assert.is_true(r.outage_s >= 2.5)
    assert.is_true(r.requests_started_in_outage >= 3 * 8, r.requests_started_in_outage .. " requests in the outage")
    assert.is_true(r.failed_inside_outage > 0, "nothing failed in the outage")
    assert.equal(0, r.failed_outside_outage)
    assert.equal(r.failed, r.failed_inside_outage)
    -- a request that began just before the outage may fail in it, no more
    assert.is_true(r.failed <= r.requests_started_in_outage + 3 * 8)
    assert.equal(0, r.invalid_grant)
    assert.is_true(r.refreshes >= 1)
    assert.is_true(r.stored_set_whole)
    assert.is_true(r.new_process_works)
    assert.is_true(#r.sample_errors > 0)
    for _, e in ipairs(r.sample_errors) do assert.matches("Redis store", e) end
  end)
end)

describe("the Redis store over TLS", function()
  it("trusts the CA named by SSLServerCert, and nothing else", function()
    local ca, cert, key = H.make_ca(H.tmpdir())
    local tls_port = H.free_port()
    local redis = H.redis({ tls = { port = tls_port, cert = cert, key = key, ca = ca } })
    local sandbox = H.sandbox("jumpseller")
    local loc = ("rediss://127.0.0.1:%d/0/tls:key"):format(tls_port)
    local props = sandbox:jumpseller_props({ CallbackURL = "http://127.0.0.1:1/cb", OAuthSettingsLocation = loc,
      SSLServerCert = ca })
    -- SSLServerCert replaces the system's trust for the API too, so the
    -- API here is plain http on loopback
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    assert.is_string(json.decode(redis:cli("GET tls:key")).access_token)
    props.SSLServerCert = nil
    local token, err = jumpseller.refresh_access_token(props)
    assert.is_nil(token)
    assert.equal("tls_error", err.code)
    sandbox:stop()
    redis:stop()
    H.cleanup()
  end)
end)
