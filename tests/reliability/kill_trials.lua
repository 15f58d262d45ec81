-- Crash safety: SIGKILL a process that refreshes as fast as it can, at a
-- random moment, TRIALS times. After each kill the settings file must parse
-- and hold a complete token set, and a fresh process must carry on. Counts
-- the trials that lost access (the kill fell after the server rotated the
-- refresh token and before the new one was written).
--   lua5.4 tests/reliability/kill_trials.lua [trials] [max_delay_ms]
-- Prints a JSON summary.
local H = require "helpers"
local json = require "oauthconnect.json"
local jumpseller = require "jumpseller"

local TRIALS = tonumber(arg[1] or "200")
local MAX_DELAY = tonumber(arg[2] or "300")

local sandbox = H.sandbox("jumpseller")
local dir = H.tmpdir()
local path = dir .. "/tokens.json"
local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = path,
  CallbackURL = "http://127.0.0.1:1/callback" })
local function seed()
  assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
end
seed()

local env = "LUA_PATH=" .. H.q(H.LPATH .. ";;") .. " LUA_CPATH=" .. H.q(H.CPATH .. ";;")
  .. " CONN=" .. H.q(H.connstr(props))
local refresher = H.q(H.ROOT .. "/tests/reliability/refresher.lua")
math.randomseed(os.time())

local result = { trials = TRIALS, corrupt = 0, incomplete = 0, lost_access = 0, continued = 0,
  refreshes_before_kills = 0, leftover_temp_files = 0 }
for _ = 1, TRIALS do
  local before = sandbox:stats().refreshes
  local pid = tonumber((H.capture(env .. " " .. H.LUA .. " " .. refresher .. " >/dev/null 2>&1 & echo $!")))
  H.sleep((20 + math.random(0, MAX_DELAY)) / 1000)
  os.execute("kill -9 " .. pid .. " 2>/dev/null")
  while H.alive(pid) do H.sleep(0.001) end
  result.refreshes_before_kills = result.refreshes_before_kills + sandbox:stats().refreshes - before

  local ok, doc = pcall(json.decode, H.read_file(path) or "")
  if not ok or type(doc) ~= "table" then
    result.corrupt = result.corrupt + 1
    seed()
  elseif type(doc.access_token) ~= "string" or type(doc.refresh_token) ~= "string" then
    result.incomplete = result.incomplete + 1
    seed()
  else
    -- a fresh process carries on from what is stored
    local _, err, code = H.run_lua(H.read_file(H.ROOT .. "/tests/reliability/refresher.lua"),
      { CONN = H.connstr(props), REFRESHES = "1" })
    if code == 0 then
      result.continued = result.continued + 1
    else
      result.lost_access = result.lost_access + 1
      result.last_loss = err:gsub("%s+$", "")
      seed()
    end
  end
end
result.leftover_temp_files = tonumber((H.capture("ls " .. H.q(dir) .. " | grep -c '\\.tmp\\.' || true")))
print(json.encode(result))
sandbox:stop()
H.cleanup()
