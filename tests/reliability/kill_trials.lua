-- Crash safety: SIGKILL a process that refreshes as fast as it can, at a
-- random moment, TRIALS times. After each kill the settings file must parse
-- and hold a complete token set, no temporary file may be left once the
-- next process took the lock, and a fresh process must carry on from it.
--
-- A fresh process that cannot carry on is one of two things, told apart by
-- the sandbox's request log:
--   lost_access  the stored refresh token is the one the killed process last
--                sent: the server rotated it and the answer died with the
--                process (the window the docs describe; not a fault of the
--                file, counted and reported);
--   stale        the stored refresh token is neither live nor the last one
--                sent: the file fell behind the refreshes that completed.
-- A killed process that sent a spent refresh token (the server refused it)
-- or stopped by itself before the kill also read a stale file.
-- Corrupt, missing, incomplete and stale files, leftover temporary files,
-- and a run in which no fresh process carried on at all are failures: the
-- JSON summary is printed and the exit status is 1.
-- With latency_ms, every token request waits that long at the sandbox
-- before it is served (its delay fault), as a distant provider would; with
-- pause_ms the process waits that long after each refresh, as a process
-- with other work does (the span a kill can fall in is then the request in
-- flight, latency_ms out of every latency_ms + pause_ms or so).
--   lua5.4 tests/reliability/kill_trials.lua [trials] [max_delay_ms] [latency_ms] [pause_ms]
local H = require "helpers"
local json = require "oauthconnect.json"
local jumpseller = require "jumpseller"

local TRIALS = tonumber(arg[1] or "200")
local MAX_DELAY = tonumber(arg[2] or "300")
local LATENCY = tonumber(arg[3] or "0")
local PAUSE = tonumber(arg[4] or "0")

local sandbox = H.sandbox("jumpseller")
local dir = H.tmpdir()
local path = dir .. "/tokens.json"
local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = path,
  CallbackURL = "http://127.0.0.1:1/callback" })

if LATENCY > 0 then
  sandbox:inject({ path = "/oauth/token", action = "delay", delay_ms = LATENCY, count = 1000000 })
end

local result = { trials = TRIALS, max_delay_ms = MAX_DELAY, latency_ms = LATENCY, pause_ms = PAUSE, corrupt = 0, missing = 0, incomplete = 0, stale = 0, lost_access = 0,
  continued = 0, refreshes_before_kills = 0, leftover_temp_files = 0 }

-- A new token set through the code flow, replacing whatever the file holds.
local function seed()
  os.remove(path)
  local ok, err = jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL }))
  if not ok then error("cannot seed the settings file: " .. tostring(err), 0) end
end

local function temp_files()
  return tonumber((H.capture("ls -a " .. H.q(dir) .. " | grep -c '\\.tmp\\.' || true")))
end

-- The refresh token in the last token request the sandbox received.
local function last_refresh_token_sent()
  local log = sandbox:requests("/oauth/token")
  local last = log[#log]
  local rt = last and (last.body or ""):match("refresh_token=([^&]*)")
  return rt and rt:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
end

local function is_live(rt)
  for _, t in ipairs(sandbox:tokens().refresh) do
    if t == rt then return true end
  end
  return false
end

local env = "LUA_PATH=" .. H.q(H.LPATH .. ";;") .. " LUA_CPATH=" .. H.q(H.CPATH .. ";;")
  .. " CONN=" .. H.q(H.connstr(props)) .. " PAUSE=" .. PAUSE / 1000
local refresher = H.q(H.ROOT .. "/tests/reliability/refresher.lua")
math.randomseed(os.time())

local ok_seed, seed_err = pcall(seed)
for trial = 1, ok_seed and TRIALS or 0 do
  local before = sandbox:stats()
  local pid = tonumber((H.capture(env .. " " .. H.LUA .. " " .. refresher .. " >/dev/null 2>&1 & echo $!")))
  H.sleep((20 + math.random(0, MAX_DELAY)) / 1000)
  -- it refreshes until killed: one that stopped by itself met an error
  local died_early = not H.alive(pid)
  os.execute("kill -9 " .. pid .. " 2>/dev/null")
  while H.alive(pid) do H.sleep(0.001) end
  local after = sandbox:stats()
  result.refreshes_before_kills = result.refreshes_before_kills + after.refreshes - before.refreshes
  -- a process that stores each rotated token before the next refresh never
  -- sends a spent one: a refusal means it refreshed from a stale file
  local refused = after.invalid_grant - before.invalid_grant

  local text = H.read_file(path)
  local parsed, doc = pcall(json.decode, text or "")
  local fault
  if died_early or refused > 0 then
    result.stale = result.stale + 1
    fault = died_early and "stale (the refresher stopped before the kill)" or "stale (a spent refresh token was sent)"
  elseif not text then
    result.missing = result.missing + 1
    fault = "missing"
  elseif not parsed or type(doc) ~= "table" then
    result.corrupt = result.corrupt + 1
    fault = "corrupt"
  elseif type(doc.access_token) ~= "string" or type(doc.refresh_token) ~= "string" then
    result.incomplete = result.incomplete + 1
    fault = "incomplete"
  else
    local sent = last_refresh_token_sent()
    -- a fresh process carries on from what is stored
    local _, err, code = H.run_lua(H.read_file(H.ROOT .. "/tests/reliability/refresher.lua"),
      { CONN = H.connstr(props), REFRESHES = "1" })
    if code == 0 then
      result.continued = result.continued + 1
    elseif doc.refresh_token == sent and not is_live(sent) then
      result.lost_access = result.lost_access + 1
      result.last_loss = err:gsub("%s+$", "")
      fault = "lost"
    else
      result.stale = result.stale + 1
      result.last_stale = err:gsub("%s+$", "")
      fault = "stale"
    end
    -- the fresh process took the lock, which clears what a dead writer left
    result.leftover_temp_files = result.leftover_temp_files + temp_files()
  end
  if fault then
    if fault ~= "lost" then
      result.faults = result.faults or {}
      if #result.faults < 5 then result.faults[#result.faults + 1] = trial .. ": " .. fault end
    end
    ok_seed, seed_err = pcall(seed)
    if not ok_seed then break end
  end
end
if not ok_seed then result.aborted = seed_err end

local failures = result.corrupt + result.missing + result.incomplete + result.stale + result.leftover_temp_files
local passed = failures == 0 and not result.aborted and result.continued > 0
  and result.continued + result.lost_access == TRIALS
result.passed = passed
print(json.encode(result))
sandbox:stop()
H.cleanup()
os.exit(passed and 0 or 1)
