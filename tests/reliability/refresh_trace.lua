-- Where a refresh cycle's time goes, seen by strace: a process refreshes
-- REFRESHES times as fast as it can against the Jumpseller sandbox, traced
-- (sendto, recvfrom, rename, with timestamps). For each cycle: from one
-- rename of the settings file to the next (the whole cycle), from sending
-- the token request to the rename (the span in which a kill loses the
-- rotated refresh token), and from the answer's arrival to the rename (the
-- client's own part of it: parse, serialise, write, rename). strace slows
-- every system call, so these are upper bounds of the untraced figures.
-- Prints a JSON summary with the medians in milliseconds.
--   lua5.4 tests/reliability/refresh_trace.lua [refreshes]
local H = require "helpers"
local json = require "oauthconnect.json"
local jumpseller = require "jumpseller"

local REFRESHES = tonumber(arg[1] or "300")

local sandbox = H.sandbox("jumpseller")
local dir = H.tmpdir()
local path = dir .. "/tokens.json"
local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = path,
  CallbackURL = "http://127.0.0.1:1/callback" })
assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))

local trace = dir .. "/trace"
local out, code = H.capture(("%s CONN=%s REFRESHES=%d strace -f -ttt -s 16 -e trace=sendto,recvfrom,rename -o %s %s %s 2>&1")
  :format(H.LUA_ENV, H.q(H.connstr(props)), REFRESHES, H.q(trace), H.LUA,
    H.q(H.ROOT .. "/tests/reliability/refresher.lua")))
assert(code == 0, "the traced refresher failed: " .. out)

-- Lines: "PID SECONDS.MICROS name(args) = result"; only completed calls.
local sent, answered, renames, cycles = nil, nil, {}, {}
for line in io.lines(trace) do
  local t, name, args, ret = line:match("^%d+%s+([%d%.]+) (%a+)%((.*)%) += (%-?%d+)")
  t, ret = tonumber(t), tonumber(ret)
  if name == "sendto" and args:match('^%d+, "POST ') then
    sent, answered = t, nil
  elseif name == "recvfrom" and ret and ret > 0 and args:match('^%d+, "HTTP/') and sent and not answered then
    answered = t
  elseif name == "rename" and ret == 0 and args:find(path, 1, true) then
    if sent and answered then
      cycles[#cycles + 1] = { send_to_rename = t - sent, answer_to_rename = t - answered }
    end
    renames[#renames + 1] = t
    sent, answered = nil, nil
  end
end

local function median(values)
  table.sort(values)
  local n = #values
  if n == 0 then return nil end
  return n % 2 == 1 and values[(n + 1) // 2] or (values[n // 2] + values[n // 2 + 1]) / 2
end
local whole, send, own = {}, {}, {}
for i = 2, #renames do whole[#whole + 1] = (renames[i] - renames[i - 1]) * 1000 end
for _, c in ipairs(cycles) do
  send[#send + 1] = c.send_to_rename * 1000
  own[#own + 1] = c.answer_to_rename * 1000
end
print(json.encode({
  refreshes = REFRESHES, cycles_traced = #cycles,
  median_cycle_ms = median(whole), median_send_to_rename_ms = median(send),
  median_answer_to_rename_ms = median(own),
}))
sandbox:stop()
H.cleanup()
