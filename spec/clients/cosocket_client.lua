-- An OpenResty handler that sends its API requests with its own cosocket
-- code (as a user with an HTTP stack of their own would), signed by
-- client:send. One client per worker.
local jumpseller = require "jumpseller"

local _M = {}
local client

-- GET url over a cosocket with headers: status, body.
local function cosocket_get(url, headers)
  local host, port, path = url:match("^http://([^:/]+):(%d+)(/.*)$")
  local sock = ngx.socket.tcp()
  sock:settimeouts(5000, 5000, 5000)
  local ok, err = sock:connect(host, tonumber(port))
  if not ok then return nil, err end
  local lines = { "GET " .. path .. " HTTP/1.1", "Host: " .. host .. ":" .. port, "Connection: close" }
  for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. v end
  sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n")
  local status_line = sock:receive("*l")
  local status = tonumber(status_line and status_line:match("^HTTP/%d%.%d (%d+)"))
  local length
  repeat
    local line = sock:receive("*l")
    if line and line:lower():match("^content%-length:") then length = tonumber(line:match(":%s*(%d+)")) end
  until not line or line == ""
  local body = length and sock:receive(length) or sock:receive("*a")
  sock:close()
  return status, body
end

function _M.run()
  if not client then client = assert(jumpseller.connect(os.getenv("CONN"))) end
  local target = os.getenv("TARGET")
  local status, body = client:send(function(headers) return cosocket_get(target, headers) end)
  if not status then
    ngx.status = 500
    ngx.say(tostring(body))
    return
  end
  ngx.status = status
  ngx.print(body)
end

return _M
