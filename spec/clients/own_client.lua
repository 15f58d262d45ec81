-- One script per HTTP library a user may already have: it signs each
-- request with client:send and sends it with that library, N times,
-- INTERVAL seconds apart, then prints "ok=<n> failed=<n> first_error=...".
-- Env: CONN, PROVIDER (module), URL (absolute), N, INTERVAL, LIB
-- (luasocket, luasec, luacurl, luahttp), CAFILE (luasec).
local provider = require(os.getenv("PROVIDER"))
local lib, url = os.getenv("LIB"), os.getenv("URL")
local n, interval = tonumber(os.getenv("N")), tonumber(os.getenv("INTERVAL"))

local senders = {}

function senders.luasocket(headers)
  local http, ltn12 = require "socket.http", require "ltn12"
  local chunks = {}
  local _, status = http.request { url = url, headers = headers, sink = ltn12.sink.table(chunks) }
  return status, table.concat(chunks)
end

function senders.luasec(headers)
  local https, ltn12 = require "ssl.https", require "ltn12"
  local chunks = {}
  local _, status = https.request { url = url, headers = headers, sink = ltn12.sink.table(chunks),
    cafile = os.getenv("CAFILE"), verify = "peer", protocol = "any", options = { "all", "no_sslv2", "no_sslv3" } }
  return status, table.concat(chunks)
end

-- Debian's lua-curl (the 5.1 module "curl"): an easy handle's HTTPHEADER.
function senders.luacurl(headers)
  local curl = require "curl"
  local e = curl.easy_init()
  local list, chunks = {}, {}
  for k, v in pairs(headers) do list[#list + 1] = k .. ": " .. v end
  e:setopt(curl.OPT_URL, url)
  e:setopt(curl.OPT_HTTPHEADER, list)
  e:setopt(curl.OPT_WRITEFUNCTION, function(s, len) chunks[#chunks + 1] = s return len end)
  local status -- this binding has no getinfo: the status line says it
  e:setopt(curl.OPT_HEADERFUNCTION, function(s, len)
    status = tonumber(s:match("^HTTP/[%d.]+ (%d%d%d)")) or status
    return len
  end)
  local ok, err = e:perform()
  if not ok then return nil, err end
  return status, table.concat(chunks)
end

-- lua-http (cqueues).
function senders.luahttp(headers)
  local request = require "http.request"
  local req = request.new_from_uri(url)
  for k, v in pairs(headers) do req.headers:upsert(k:lower(), v) end
  local h, stream = req:go(10)
  if not h then return nil, tostring(stream) end
  local body = stream:get_body_as_string()
  return tonumber(h:get(":status")), body
end

local send = assert(senders[lib], "unknown LIB " .. tostring(lib))
local client, err = provider.connect(os.getenv("CONN"))
if not client then
  print("ok=0 failed=" .. n .. " first_error=" .. tostring(err))
  os.exit(1)
end
local ok, failed, first = 0, 0, ""
for _ = 1, n do
  local status, body = client:send(send)
  if status == 200 then
    ok = ok + 1
  else
    failed = failed + 1
    if first == "" then first = tostring(status) .. " " .. tostring(body) end
  end
  if interval > 0 then os.execute("sleep " .. interval) end
end
client:close()
print(("ok=%d failed=%d first_error=%s"):format(ok, failed, first))
