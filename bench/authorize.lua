-- client:authorize(), the auth plugin's hot path (a usable token: the header
-- set in the caller's table, no I/O), against the least a Lua auth plugin
-- can do: a function setting a cached header in the table. Lua 5.4 and
-- LuaJIT (no // here).
--   lua5.4 bench/authorize.lua N authorize|floor|call
-- (call: the caller's loop and a method call to a C function that does
-- nothing, to take off authorize's count)
-- Prints calls=<n> seconds=<cpu seconds>
local oauthconnect = require "oauthconnect"

local n, mode = tonumber(arg[1]), arg[2] or "authorize"
local client = assert(oauthconnect.connect({ OAuthAccessToken = "bench-token", URL = "http://127.0.0.1:1/v1" }))
local headers = { Accept = "application/json" }

-- the floor: the header from a table lookup, as a cache in Lua would give it
local cached = { name = "Authorization", value = "Bearer bench-token", ticket = 1 }
local function lua_authorize(_, h)
  h = h or {}
  h[cached.name] = cached.value
  return h, cached.ticket
end

local t0 = os.clock()
if mode == "authorize" then
  for _ = 1, n do
    local h = client:authorize(headers)
    if not h then error("authorize failed") end
  end
elseif mode == "call" then
  local plugin = { authorize = type } -- a C function, returning at once (a string)
  for _ = 1, n do
    local h = plugin:authorize(headers)
    if not h then error("authorize failed") end
  end
  headers.Authorization = "Bearer bench-token"
else
  local plugin = { authorize = lua_authorize }
  for _ = 1, n do
    local h = plugin:authorize(headers)
    if not h then error("authorize failed") end
  end
end
local cpu = os.clock() - t0
assert(headers.Authorization == "Bearer bench-token")
print(("calls=%d seconds=%.6f"):format(n, cpu))
client:close()
