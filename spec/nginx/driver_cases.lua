-- Cases for spec/20-nginx_driver_spec.lua: each runs inside an nginx handler
-- and answers JSON describing what the client returned.
local jumpseller = require "jumpseller"
local cjson = require "cjson.safe"

local CONN = os.getenv("OC_TEST_CONN")
local _M = {}

local function result(v, err)
  if v == nil then
    return { ok = false, code = err and err.code, status = err and err.status, message = tostring(err) }
  end
  return { ok = true, value = v }
end

local function connect(extra)
  return assert(jumpseller.connect(CONN, extra))
end

function _M.get() return result(connect():get("/store/info.json")) end

function _M.post()
  local c = connect()
  local v, err = c:post("/products.json", { product = { name = "Tee", price = 10 } })
  return result(v and v.product and v.product.name, err)
end

function _M.missing_location()
  local c, err = jumpseller.connect(CONN, { nginx_location = "/_not_configured" })
  if not c then return result(nil, err) end
  return result(c:get("/store/info.json"))
end

function _M.slow_location() return result(connect({ nginx_location = "/_oauthconnect_1s" }):get("/store/info.json")) end

function _M.curl_in_content()
  local v, err = connect({ io = "curl" }):get("/store/info.json")
  return result(v and v.store.name, err)
end

function _M.paging()
  local c, n, pages = connect(), 0, 0
  local ok, err = pcall(function()
    for _ in c:each("/orders.json", nil, { in_flight = 4, on_page = function() pages = pages + 1 end }) do
      n = n + 1
    end
  end)
  if not ok then return result(nil, err) end
  local count = assert(c:get("/orders/count.json")).count
  return result({ items = n, pages = pages, count = count })
end

-- A batch whose pages the server refuses: the first page's own error.
function _M.paging_error()
  local ok, err = pcall(function()
    for _ in connect():each("/orders.json", nil, { in_flight = 4 }) do end
  end)
  if ok then return result(true) end
  return result(nil, err)
end

function _M.force_refresh()
  local c = connect()
  local before = assert(c:token()).access_token
  local t, err = c:token(true)
  if not t then return result(nil, err) end
  return result(t.access_token ~= before)
end

function _M.timer()
  local done = false
  local out
  local ok, err = ngx.timer.at(0, function()
    local c, cerr = jumpseller.connect(CONN)
    out = c and result(c:get("/store/info.json")) or result(nil, cerr)
    done = true
  end)
  if not ok then return result(nil, { code = "timer", message = err }) end
  for _ = 1, 200 do
    if done then break end
    ngx.sleep(0.01)
  end
  return out or result(nil, { code = "timer_never_ran" })
end

function _M.run()
  local case = _M[ngx.var.arg_case]
  if not case then return ngx.exit(404) end
  ngx.say(cjson.encode(case()))
end

return _M
