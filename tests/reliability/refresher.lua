-- Refreshes as fast as it can until killed (the crash-safety trials SIGKILL it
-- at random moments), or REFRESHES times. Env: CONN, REFRESHES, PAUSE (seconds
-- to wait after each refresh, default 0). Prints nothing; exits 3 on a
-- refresh error.
local jumpseller = require "jumpseller"
local pause = tonumber(os.getenv("PAUSE") or "0")
local client = assert(jumpseller.connect(os.getenv("CONN")))
local limit = tonumber(os.getenv("REFRESHES") or "0")
local n = 0
while limit == 0 or n < limit do
  local token, err = client:token(true)
  if not token then
    io.stderr:write(tostring(err), "\n")
    os.exit(3)
  end
  n = n + 1
  if pause > 0 then require("system").sleep(pause) end
end
