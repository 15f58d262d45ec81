-- One connection, many machines: G groups of P processes (each group its own
-- HOME: nothing shared but Redis) making N requests against single-use
-- rotating refresh tokens kept in one Redis key. With "restart", Redis is
-- stopped a third of the way in and started again OUTAGE seconds later, and
-- the access tokens expire as it stops, so every request made in the outage
-- needs the lock Redis holds (without that a short outage may fall between
-- refreshes and test nothing). Prints a JSON summary: requests (in all and
-- started inside the outage), failures (inside and outside it), invalid_grant,
-- refreshes, windows, and whether the stored set still works.
--   lua5.4 tests/reliability/redis_race.lua [groups] [processes] [requests] [ttl] [interval] [restart] [outage_s]
local H = require "helpers"
local json = require "oauthconnect.json"
local infusionsoft = require "infusionsoft"

local G, P, N = tonumber(arg[1] or "3"), tonumber(arg[2] or "8"), tonumber(arg[3] or "40")
local TTL, INTERVAL = tonumber(arg[4] or "4"), tonumber(arg[5] or "0.25")
local RESTART, OUTAGE = arg[6] == "restart", tonumber(arg[7] or "1.5")

local redis = H.redis({ password = "r3dis-pw" })
local sandbox = H.sandbox("keap", { "--access-ttl", tostring(TTL) })
local location = redis:url("oauthconnect:keap", 2)
local props = sandbox:keap_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = location,
  CallbackURL = "http://127.0.0.1:1/callback", Timeout = 5 })
-- Expiry windows count from the first token's issue, not from the start of
-- the workers: its first refresh may come sooner than a whole period in.
local issued = H.now()
assert(infusionsoft.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
sandbox:reset()

local dir = H.tmpdir()
local cmd = {}
for g = 1, G do
  os.execute("mkdir -p " .. H.q(dir .. "/machine" .. g))
  for p = 1, P do
    cmd[#cmd + 1] = ("env HOME=%s LUA_PATH=%s LUA_CPATH=%s CONN=%s N=%d INTERVAL=%s PROVIDER=infusionsoft "
      .. "RESOURCE=/contacts/1 TIMES=1 ASAN_OPTIONS=%s %s %s > %s 2>&1 &"):format(
      H.q(dir .. "/machine" .. g), H.q(H.LPATH .. ";;"), H.q(H.CPATH .. ";;"), H.q(H.connstr(props)), N, INTERVAL,
      H.q((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0"), H.LUA,
      H.q(H.ROOT .. "/tests/reliability/worker.lua"), H.q(("%s/out.%d.%d"):format(dir, g, p)))
  end
end
local t0 = H.now()
local outage
os.execute(table.concat(cmd, "\n") .. "\necho started > " .. H.q(dir .. "/started"))
if RESTART then
  H.sleep(N * INTERVAL / 3)
  local down = H.now()
  redis:stop()
  sandbox:expire()
  H.sleep(OUTAGE)
  redis:start()
  outage = { down, H.now() }
end
-- wait for every worker
local deadline = H.now() + N * INTERVAL * 4 + 60
while H.now() < deadline do
  local done = 0
  for g = 1, G do
    for p = 1, P do
      if (H.read_file(("%s/out.%d.%d"):format(dir, g, p)) or ""):match("ok=%d+") then done = done + 1 end
    end
  end
  if done == G * P then break end
  H.sleep(0.2)
end
local elapsed = H.now() - t0

local ok, failed, inside, outside, invalid, samples, during = 0, 0, 0, 0, 0, {}, 0
for g = 1, G do
  for p = 1, P do
    local text = H.read_file(("%s/out.%d.%d"):format(dir, g, p)) or ""
    local o, f, gr = text:match("ok=(%d+) failed=(%d+) invalid_grant=(%d+)")
    ok, failed, invalid = ok + tonumber(o or 0), failed + tonumber(f or N), invalid + tonumber(gr or 0)
    for t in text:gmatch("req_at=([%d%.]+)") do
      t = tonumber(t)
      if outage and t >= outage[1] and t <= outage[2] then during = during + 1 end
    end
    for t, e in text:gmatch("fail_at=([%d%.]+) ([^\n]*)") do
      t = tonumber(t)
      -- a request that began just before the outage may fail in it
      if outage and t >= outage[1] - 1 and t <= outage[2] + 1 then inside = inside + 1
      else outside = outside + 1 end
      if #samples < 3 then samples[#samples + 1] = e end
    end
  end
end

-- The run's refreshes, counted before the check below can add one.
local stats = sandbox:stats()
-- After the run: the stored set is whole and still works for a new process.
local stored = redis:cli("-n 2 GET oauthconnect:keap")
local doc_ok, doc = pcall(json.decode, stored)
local _, _, fresh = H.run_lua(H.read_file(H.ROOT .. "/tests/reliability/worker.lua"),
  { CONN = H.connstr(props), N = "1", INTERVAL = "0", PROVIDER = "infusionsoft", RESOURCE = "/contacts/1" })
local times = stats.refresh_times
table.sort(times)
local min_gap = math.huge
for i = 2, #times do min_gap = math.min(min_gap, times[i] - times[i - 1]) end
print(json.encode({
  machines = G, processes_each = P, requests_each = N, access_ttl_s = TTL, seconds = elapsed,
  requests = ok + failed, failed = failed, failed_inside_outage = inside, failed_outside_outage = outside,
  requests_started_in_outage = outage and during or nil,
  invalid_grant = invalid + stats.invalid_grant, refreshes = stats.refreshes,
  windows = math.floor((t0 + elapsed - issued) / (TTL * 0.75)), refresh_period_s = TTL * 0.75,
  min_gap_between_refreshes_s = #times > 1 and min_gap or nil,
  outage_s = outage and (outage[2] - outage[1]) or nil,
  stored_set_whole = doc_ok and type(doc) == "table" and type(doc.refresh_token) == "string",
  new_process_works = fresh == 0, sample_errors = samples,
}))
sandbox:stop()
redis:stop()
H.cleanup()
