-- oauthconnect, sequential signed GETs over one kept-alive connection.
--   lua5.4 bench/seq.lua URL TOKEN N request|get|core|table
-- Prints requests=<n> seconds=<wall> cpu=<user+sys seconds>
local oauthconnect = require "oauthconnect"
local system = require "system"

local base, token, n, mode = arg[1], arg[2], tonumber(arg[3]), arg[4] or "request"
local client = assert(oauthconnect.connect({ OAuthAccessToken = token, URL = base }))
local path = "/v1/store/info.json"
local req = { path = path }

local cpu0, t0 = os.clock(), system.monotime()
if mode == "request" then
  for _ = 1, n do
    local res = client:request(req)
    if not res or res.status ~= 200 then error("request failed") end
  end
elseif mode == "core" then -- the C path alone, without the Lua client around it
  local core = client.core
  for _ = 1, n do
    if core:request("GET", path) ~= 200 then error("request failed") end
  end
elseif mode == "table" then
  -- the C path and one result table: the least any Lua API that hands each
  -- answer back as a table can cost, whatever it does besides
  local core, res_mt = client.core, { __index = function() end }
  for _ = 1, n do
    local status, _, body = core:request("GET", path)
    local res = setmetatable({ status = status, body = body }, res_mt)
    if res.status ~= 200 then error("request failed") end
  end
else
  for _ = 1, n do
    local body = client:get(path)
    if not body or not body.store then error("get failed") end
  end
end
print(("requests=%d seconds=%.6f cpu=%.6f"):format(n, system.monotime() - t0, os.clock() - cpu0))
client:close()
