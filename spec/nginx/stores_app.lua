-- Handlers for spec/28-nginx_stores_spec.lua: one client per worker on the
-- store CONN names (shm://, redis://), the API through it, the web flow's
-- exchange, and the refusals nginx makes at connect.
local jumpseller = require "jumpseller"
local cjson = require "cjson.safe"

local _M = {}
local client

local function conn() return os.getenv("OC_TEST_CONN") end

local function reply(status, t)
  ngx.status = status
  ngx.say(cjson.encode(t))
end

-- /exchange?code=...: the web flow's exchange, the tokens kept in the store
function _M.exchange()
  local token, err = jumpseller.get_access_token(conn(), ngx.var.arg_code,
    { redirect_uri = "http://127.0.0.1:1/callback" })
  if not token then return reply(500, { message = tostring(err), code = err.code }) end
  reply(200, { ok = true })
end

-- /store: the API with this worker's client
function _M.store()
  if not client then
    local err
    client, err = jumpseller.connect(conn())
    if not client then return reply(500, { message = tostring(err), code = err.code }) end
  end
  local info, err = client:get("/store/info.json")
  if not info then return reply(err.status or 500, { message = tostring(err), code = err.code }) end
  reply(200, { name = info.store.name, pid = ngx.worker.pid() })
end

-- /refused?property=...: connect with a property nginx cannot honour
function _M.refused()
  local c, err = jumpseller.connect(conn(), { [ngx.var.arg_property] = ngx.var.arg_value })
  if c then return reply(200, { ok = true }) end
  reply(200, { code = err.code, property = err.property, message = tostring(err) })
end

return _M
