-- The reliability figures of docs/RELIABILITY.md, in the reduced form CI runs:
-- single-flight refresh across processes, and SIGKILL during refresh.
local H = require "helpers"

local run_tool = H.run_reliability

describe("reliability", function()
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
    local r = run_tool("kill_trials.lua", "25 200")
    assert.equal(0, r.corrupt)
    assert.equal(0, r.incomplete)
    assert.equal(0, r.leftover_temp_files)
    assert.equal(25, r.continued + r.lost_access)
    assert.is_true(r.refreshes_before_kills > 25)
  end)
end)
