-- One process of the churn run (tests/reliability/churn.lua): N requests,
-- INTERVAL seconds apart, through one client, then one line:
--   ok=<n> failed=<n> invalid_grant=<n> first_error=<message>
-- Env: CONN (connection string), N, INTERVAL, PROVIDER (module), RESOURCE
-- (path), CLIENT (request: client:get; send: the client signs requests
-- LuaSocket sends, through client:send).
-- Loaded with dofile, it returns { exchange = fn } for the first login.
local provider = require(os.getenv("PROVIDER") or "jumpseller")
local system = require "system"

local function options()
  return os.getenv("CONN")
end

local W = {}

-- The first tokens, from a code the sandbox issued.
function W.exchange(code)
  return provider.get_access_token(options(), code, { redirect_uri = "http://127.0.0.1:1/callback" })
end

-- One GET of resource: the decoded body, or nil, err.
local function get_with_client(client, resource)
  return client:get(resource)
end

-- The same, sent by LuaSocket with the headers client:send gives.
local function get_with_socket(client, resource)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local url = client:api_url() .. resource
  local status, err = client:send(function(headers)
    local chunks = {}
    local _, code = http.request { url = url, headers = headers, sink = ltn12.sink.table(chunks) }
    if type(code) ~= "number" then return nil, tostring(code) end
    return code, table.concat(chunks)
  end)
  if status == 200 then return true end
  if not status then return nil, err end
  return nil, { oauth_error = "", message = "HTTP " .. tostring(status) }
end

function W.run()
  local resource = os.getenv("RESOURCE") or "/store/info.json"
  local n, interval = tonumber(os.getenv("N") or "20"), tonumber(os.getenv("INTERVAL") or "0.25")
  local get = os.getenv("CLIENT") == "send" and get_with_socket or get_with_client
  local ok, failed, invalid_grant, first = 0, 0, 0, ""
  local client, err = provider.connect(options())
  if not client then
    print(("ok=0 failed=%d invalid_grant=%d first_error=%s"):format(n,
      err.oauth_error == "invalid_grant" and 1 or 0, tostring(err)))
    os.exit(1)
  end
  for _ = 1, n do
    local body, e = get(client, resource)
    if body then
      ok = ok + 1
    else
      failed = failed + 1
      if type(e) == "table" and e.oauth_error == "invalid_grant" then invalid_grant = invalid_grant + 1 end
      if first == "" then first = tostring(e.message or e) end
    end
    system.sleep(interval)
  end
  client:close()
  print(("ok=%d failed=%d invalid_grant=%d first_error=%s"):format(ok, failed, invalid_grant, first))
end

if ... == nil and arg and arg[0] and arg[0]:match("churn_worker%.lua$") then
  W.run()
end
return W
