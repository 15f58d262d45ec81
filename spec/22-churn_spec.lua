-- Under churn: short tokens revoked by every refresh, quotas counted in
-- calendar windows, 401s for tokens another process already replaced. The
-- promises: no request fails that could be served, a quota wait is never a
-- Timeout, and "rejected even after a refresh" is said only when it is so.
local H = require "helpers"
local jumpseller = require "jumpseller"
local json = require "oauthconnect.json"

describe("under churn", function()
  local sandbox, dir

  -- A Jumpseller connection on a shared settings file, logged in once.
  local function props(extra)
    local p = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = dir .. "/s.json",
      CallbackURL = "http://127.0.0.1:1/callback" })
    for k, v in pairs(extra or {}) do p[k] = v end
    return p
  end

  local function logged_in(extra)
    local p = props(extra)
    assert(jumpseller.get_access_token(p, (sandbox:authorize({ redirect_uri = p.CallbackURL }))))
    return p
  end

  before_each(function()
    sandbox = H.sandbox("jumpseller")
    sandbox:config({ revoke_access_on_refresh = true })
    dir = H.tmpdir()
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("answers each 401 for a token another process replaced with the stored one", function()
    local p = logged_in()
    local c = assert(jumpseller.connect(p))
    -- The next two API requests are held 800 ms by the server; while each
    -- is held, another process refreshes (revoking the token it carries).
    sandbox:inject({ path = "/v1/store/info.json", action = "delay", delay_ms = 800, count = 2 })
    local other = H.LUA_ENV .. " CONN=" .. H.q(H.connstr(p)) .. " " .. H.LUA .. " -e "
      .. H.q([[local j = require "jumpseller"; local s = require "system"
        s.sleep(0.3); assert(j.refresh_access_token(os.getenv("CONN")))
        s.sleep(0.8); assert(j.refresh_access_token(os.getenv("CONN")))]]) .. " 2>&1 &"
    os.execute(other)
    local info, err = c:get("/store/info.json")
    assert(info, tostring(err))
    assert.equal("Sandbox Store", info.store.name)
    H.sleep(0.5) -- the other process ends
    local stats = sandbox:stats()
    assert.equal(2, stats.refreshes)
    assert.equal(2, stats.api_by_status["401"])
    assert.equal(0, stats.invalid_grant)
    c:close()
  end)

  it("says 'rejected even after a refresh' only for its own refresh's newest token", function()
    local p = logged_in()
    local c = assert(jumpseller.connect(p))
    -- every token is refused: the first 401 refreshes, the second is final
    sandbox:inject({ path = "/v1/store/info.json", status = 401, count = 2,
      body = json.encode({ message = "no" }) })
    local _, err = c:get("/store/info.json")
    assert.equal(401, err.status)
    assert.matches("rejected even after a refresh", err.message, 1, true)
    assert.equal(1, sandbox:stats().refreshes)
    c:close()
  end)

  it("does not count a wait for a spent quota against Timeout", function()
    local p = logged_in({ Timeout = 2 })
    local c = assert(jumpseller.connect(p))
    sandbox:inject({ path = "/v1/store/info.json", status = 429, headers = { ["Retry-After"] = "3" } })
    local t0 = H.now()
    local info, err = c:get("/store/info.json")
    assert(info, tostring(err))
    assert.equal("Sandbox Store", info.store.name)
    assert.is_true(H.now() - t0 >= 2.9)
    c:close()
  end)

  it("waits for the server's minute to end, not a whole window, when a minute quota is spent", function()
    -- the server's clock is 4 s before a whole minute, whatever this machine's says
    local now_ms = math.floor(H.now() * 1000)
    local offset = (56000 - now_ms % 60000) % 60000
    sandbox:config({ rate_limit_per_minute = 3, rate_limit_enforce = false,
      rate_limit_clock_offset_ms = offset })
    local p = logged_in()
    local c = assert(jumpseller.connect(p))
    sandbox:reset()
    local t0 = H.now()
    for _ = 1, 4 do assert(c:get("/store/info.json")) end
    local took = H.now() - t0
    -- three fit in the server's minute; the fourth waits for the next one (about 4 s)
    assert.is_true(took >= 2.5, ("took %.1f s"):format(took))
    assert.is_true(took < 15, ("took %.1f s: a whole window was waited"):format(took))
    assert.equal(0, sandbox:stats().rate_over_limit)
    c:close()
  end)

  it("runs 8 processes against 2-second tokens and advertised quotas without a failure", function()
    local r = H.run_reliability("churn.lua", "processes=8 requests=12 interval=0.25 ttl=2")
    assert.equal(0, r.failed)
    assert.equal(0, r.invalid_grant)
    assert.is_true(r.requests == 96)
    assert.is_true(r.refreshes <= r.lifetimes + 1, ("%d refreshes in %d lifetimes"):format(r.refreshes, r.lifetimes))
  end)
end)
