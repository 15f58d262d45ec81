-- One process of the refresh race: makes N requests INTERVAL seconds apart
-- through one client on a shared settings file, and prints one line:
--   ok=<n> failed=<n> invalid_grant=<n> first_error=<message>
-- Env: CONN (connection string), N, INTERVAL, PROVIDER (module, default
-- jumpseller), RESOURCE (path, default /store/info.json), TIMES (print a
-- req_at=<epoch> line as each request starts and a fail_at=<epoch> line per
-- failed request).
local provider = require(os.getenv("PROVIDER") or "jumpseller")
local system = require "system"
local resource = os.getenv("RESOURCE") or "/store/info.json"

local n, interval = tonumber(os.getenv("N") or "50"), tonumber(os.getenv("INTERVAL") or "0.25")
local ok, failed, invalid_grant, first = 0, 0, 0, ""
local client, err = provider.connect(os.getenv("CONN"))
if not client then
  print(("ok=0 failed=%d invalid_grant=%d first_error=%s"):format(n,
    err.oauth_error == "invalid_grant" and 1 or 0, tostring(err)))
  os.exit(1)
end
for _ = 1, n do
  if os.getenv("TIMES") then print(("req_at=%.3f"):format(system.gettime())) end
  local body, e = client:get(resource)
  if body then
    ok = ok + 1
  else
    failed = failed + 1
    if e.oauth_error == "invalid_grant" then invalid_grant = invalid_grant + 1 end
    if first == "" then first = tostring(e) end
    if os.getenv("TIMES") then print(("fail_at=%.3f %s"):format(system.gettime(), tostring(e))) end
  end
  system.sleep(interval)
end
client:close()
print(("ok=%d failed=%d invalid_grant=%d first_error=%s"):format(ok, failed, invalid_grant, first))
