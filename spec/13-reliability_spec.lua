-- The reliability figures of docs/RELIABILITY.md, in the reduced form CI runs:
-- single-flight refresh across processes, and SIGKILL during refresh.
local H = require "helpers"
local jumpseller = require "jumpseller"

local run_tool = H.run_reliability

describe("reliability", function()
  -- Single flight, made certain rather than likely: PROCS processes leave a
  -- barrier together, each meets a 401 for the token the sandbox expired,
  -- and the token endpoint takes 600 ms to answer, so every process is
  -- inside its refresh before the first one has saved. With the lock only
  -- the first sends a refresh, the others wait, read the store again and
  -- use its token; without it every one of them sends its own.
  it("processes that meet an expired token at once send one refresh", function()
    local PROCS = 6
    local sandbox = H.sandbox("jumpseller")
    local dir = H.tmpdir()
    local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = dir .. "/tokens.json",
      CallbackURL = "http://127.0.0.1:1/callback" })
    assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
    H.write_file(dir .. "/child.lua", [[
      local system = require "system"
      local client = assert(require("jumpseller").connect(os.getenv("CONN")))
      io.open(os.getenv("READY"), "w"):close()
      local gate = os.getenv("GATE")
      while not io.open(gate) do system.sleep(0.001) end
      local body, err = client:get("/store/info.json")
      print(body and "ok" or ("failed: " .. tostring(err)))
    ]])
    local cmd = {}
    for i = 1, PROCS do
      cmd[#cmd + 1] = ("%s CONN=%s GATE=%s READY=%s %s %s > %s 2>&1 &"):format(H.LUA_ENV, H.q(H.connstr(props)),
        H.q(dir .. "/gate"), H.q(dir .. "/ready." .. i), H.LUA, H.q(dir .. "/child.lua"), H.q(dir .. "/out." .. i))
    end
    sandbox:expire()
    sandbox:reset()
    sandbox:inject({ path = "/oauth/token", action = "delay", delay_ms = 600, count = PROCS })
    -- every child connects (and reads the store) before the gate opens
    local wait_ready = ("for i in $(seq 300); do [ $(ls %s | grep -c '^ready\\.') -ge %d ] && break; sleep 0.1; done")
      :format(H.q(dir), PROCS)
    os.execute(table.concat(cmd, "\n") .. "\n" .. wait_ready .. "\ntouch " .. H.q(dir .. "/gate") .. "\nwait")
    local ok = 0
    for i = 1, PROCS do
      local out = H.read_file(dir .. "/out." .. i) or ""
      assert.equal("ok\n", out, "process " .. i)
      ok = ok + 1
    end
    assert.equal(PROCS, ok)
    local stats = sandbox:stats()
    assert.equal(PROCS, stats.api_unauthorized) -- every process met the expired token
    assert.equal(1, stats.token)                -- and one of them asked for a new one
    assert.equal(1, stats.refreshes)
    assert.equal(0, stats.invalid_grant)
    sandbox:stop()
    H.cleanup()
  end)

  it("refreshes once per expiry window across 16 processes, losing nothing", function()
    -- 16 processes x 50 requests, 4 s tokens (refreshed with 1 s left):
    -- at least 3 windows, against single-use rotating refresh tokens
    local r = run_tool("refresh_race.lua", "16 50 4 0.25 keap")
    assert.equal(800, r.requests)
    assert.equal(0, r.failed)
    assert.equal(0, r.invalid_grant)
    assert.equal(0, r.refresh_failures)
    assert.is_true(r.windows >= 3)
    assert.is_true(r.refreshes <= r.windows and r.refreshes >= r.windows - 1,
      ("%d refreshes in %d windows"):format(r.refreshes, r.windows))
    assert.is_true(r.min_gap_between_refreshes_s >= r.refresh_period_s * 0.9,
      "two refreshes in one window")
  end)

  it("keeps the settings file whole when a refreshing process is killed", function()
    -- (the script itself exits 1 on any of these, so run_tool fails first)
    local r = run_tool("kill_trials.lua", "25 200")
    assert.equal(0, r.corrupt)
    assert.equal(0, r.missing)
    assert.equal(0, r.incomplete)
    assert.equal(0, r.stale)
    assert.equal(0, r.leftover_temp_files)
    assert.equal(25, r.continued + r.lost_access)
    assert.is_true(r.continued > 0, "no fresh process carried on")
    assert.is_true(r.refreshes_before_kills > 25)
  end)
end)
