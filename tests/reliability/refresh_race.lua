-- The refresh race: P processes, each making N requests that span several
-- access-token lifetimes, against a sandbox whose refresh tokens are single
-- use. Prints a JSON summary: requests, failures, invalid_grant, refreshes,
-- the lifetimes crossed, and the refreshes per window.
--   lua5.4 tests/reliability/refresh_race.lua [processes] [requests] [ttl_seconds] [interval] [provider]
-- provider: jumpseller (default) or keap.
-- Run from the repository root with LUA_PATH/LUA_CPATH set as scripts/test does.
local H = require "helpers"
local json = require "oauthconnect.json"

local P = tonumber(arg[1] or "16")
local N = tonumber(arg[2] or "50")
local TTL = tonumber(arg[3] or "4")
local INTERVAL = tonumber(arg[4] or "0.25")
local PROVIDER = arg[5] or "jumpseller"
local module = PROVIDER == "keap" and "infusionsoft" or "jumpseller"
local resource = PROVIDER == "keap" and "/contacts/1" or "/store/info.json"

local sandbox = H.sandbox(PROVIDER, { "--access-ttl", tostring(TTL) })
local dir = H.tmpdir()
local base = {
  InitiateOAuth = "REFRESH",
  OAuthSettingsLocation = dir .. "/shared.json",
  CallbackURL = "http://127.0.0.1:1/callback",
}
local props = PROVIDER == "keap" and sandbox:keap_props(base) or sandbox:jumpseller_props(base)
-- Expiry windows count from the first token's issue, not from the start of
-- the workers: its first refresh may come sooner than a whole period in.
local issued = H.now()
assert(require(module).get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
sandbox:reset()

local env = "LUA_PATH=" .. H.q(H.LPATH .. ";;") .. " LUA_CPATH=" .. H.q(H.CPATH .. ";;")
  .. " CONN=" .. H.q(H.connstr(props)) .. " N=" .. N .. " INTERVAL=" .. INTERVAL
  .. " PROVIDER=" .. module .. " RESOURCE=" .. resource
  -- Under the sanitizer run, sixteen LeakSanitizer tracers stopping the
  -- world at once crash (a ptrace limit, not a leak); leaks are checked by
  -- every other sanitized process.
  .. " ASAN_OPTIONS=" .. H.q((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0")
local cmd = {}
for i = 1, P do
  cmd[#cmd + 1] = env .. " " .. H.LUA .. " " .. H.q(H.ROOT .. "/tests/reliability/worker.lua")
    .. " > " .. H.q(dir .. "/out." .. i) .. " 2>&1 &"
end
local t0 = H.now()
os.execute(table.concat(cmd, "\n") .. "\nwait")
local elapsed = H.now() - t0

local ok, failed, invalid, errors = 0, 0, 0, {}
for i = 1, P do
  local line = H.read_file(dir .. "/out." .. i) or ""
  local o, f, g, e = line:match("ok=(%d+) failed=(%d+) invalid_grant=(%d+) first_error=([^\n]*)")
  if not o then
    failed = failed + N
    errors[#errors + 1] = line
  else
    ok, failed, invalid = ok + tonumber(o), failed + tonumber(f), invalid + tonumber(g)
    if e ~= "" and e ~= "\n" then errors[#errors + 1] = e end
  end
end
local stats = sandbox:stats()
-- A token is refreshed when it has at most a quarter of its life left; the
-- windows are the lifetimes the run crossed.
local period = TTL * 0.75
local windows = math.floor((t0 + elapsed - issued) / period)
local times = stats.refresh_times
table.sort(times)
local min_gap = math.huge
for i = 2, #times do min_gap = math.min(min_gap, times[i] - times[i - 1]) end
local result = {
  provider = PROVIDER, processes = P, requests_each = N, access_ttl_s = TTL, seconds = elapsed,
  requests = ok + failed, failed = failed, invalid_grant = stats.invalid_grant + invalid,
  refreshes = stats.refreshes, refresh_failures = stats.refresh_failures, windows = windows,
  min_gap_between_refreshes_s = #times > 1 and min_gap or nil, errors = errors,
  refresh_period_s = period,
}
print(json.encode(result))
sandbox:stop()
H.cleanup()
