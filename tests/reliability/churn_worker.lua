-- One process of the churn run (tests/reliability/churn.lua): N requests,
-- INTERVAL seconds apart, through one client, then one line:
--   ok=<n> failed=<n> invalid_grant=<n> first_error=<message>
-- Env: CONN (connection string), N, INTERVAL, PROVIDER (module), RESOURCE
-- (path), CLIENT (request: client:get; send: the client signs requests
-- LuaSocket sends, through client:send).
-- Loaded with dofile, it returns { exchange = fn } for the first login.
local provider = require(os.getenv("PROVIDER") or "jumpseller")
local system = require "system"

-- The connection: CONN, plus a store kept in SQLite (STORE=sqlite, DB the
-- database; examples/sqlite_store.lua) or HTTP through a Lua transport made
-- with LuaSocket (TRANSPORT=luasocket).
local function options()
  local extra = {}
  if os.getenv("STORE") == "sqlite" then
    package.path = os.getenv("OC_ROOT") .. "/examples/?.lua;" .. package.path
    extra.store = require("sqlite_store").new(os.getenv("DB"), "churn")
  end
  if os.getenv("TRANSPORT") == "luasocket" then
    local http, ltn12 = require "socket.http", require "ltn12"
    extra.transport = function(req)
      local headers, chunks = {}, {}
      for _, h in ipairs(req.headers) do headers[h[1]] = h[2] end
      local _, status, rheaders = http.request { url = req.url, method = req.method, headers = headers,
        source = req.body and ltn12.source.string(req.body) or nil, sink = ltn12.sink.table(chunks) }
      if type(status) ~= "number" then return nil, { message = tostring(status), sent = true } end
      return { status = status, headers = rheaders, body = table.concat(chunks) }
    end
  end
  return os.getenv("CONN"), extra
end

local W = {}

-- A connection string and extra options as one options table (the web
-- flow takes no extra).
local function with_extra(conn, extra)
  if next(extra) == nil then return conn end
  local props = assert(require("oauthconnect.core").parse(conn))
  for k, v in pairs(extra) do props[k] = v end
  return props
end

-- The first tokens, from a code the sandbox issued.
function W.exchange(code)
  local conn, extra = options()
  local opts = with_extra(conn, extra)
  return provider.get_access_token(opts, code, { redirect_uri = "http://127.0.0.1:1/callback" })
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
