--- A Redis store over nginx cosockets: `OAuthSettingsLocation=redis://...` inside nginx.
-- The Redis store over nginx cosockets: the same keys, lock and scripts as
-- the C store (csrc/oc_store_redis.c), but every byte goes through nginx, so
-- a worker never blocks on Redis. The core formats the commands and parses
-- the replies (hiredis); this file moves them. TLS (rediss://) is verified
-- against lua_ssl_trusted_certificate, which nginx.conf must set.
-- A store table in the shape the Lua driver takes (oauthconnect/driver.lua).
-- @module oauthconnect.store.redis

local core = require "oauthconnect.core"

local ngx = ngx -- luacheck: ignore (nil outside nginx)
local tostring, type, error, random = tostring, type, error, math.random

local _M = {}

-- Each command waits at most this long (Redis answers in well under a
-- millisecond; a hung one must not hold a request longer).
local COMMAND_TIMEOUT_MS = 5000
local KEEPALIVE_MS, POOL = 60000, 16

local counter = 0

-- Error replies of a server that cannot serve yet (loading after a restart,
-- busy in a script, a replica without its master), not of a refusal.
local NOT_READY = { LOADING = true, BUSY = true, MASTERDOWN = true, TRYAGAIN = true, CLUSTERDOWN = true }

-- One command's reply on sock: the value, or nil, message.
local function command(sock, reader, ...)
  local ok, err = sock:send(core.redis_format(...))
  if not ok then return nil, "cannot send to Redis: " .. tostring(err) end
  while true do
    local got, value = reader:reply()
    if got == nil then return nil, value end
    if got then
      if type(value) == "table" and value.error then return nil, "Redis answered " .. value.error end
      return value == nil and ngx.null or value
    end
    -- what has arrived, however little: a reply's length is the parser's to know
    local data, rerr = sock:receiveany(16384)
    if not data or data == "" then return nil, "Redis did not answer: " .. tostring(rerr) end
    reader:feed(data)
  end
end

--- A store (the shape of @{oauthconnect.driver.check_store}) for a location.
-- A store for location (redis://... or rediss://...), or nil, err.
-- @string location `redis://[user:password@]host[:port][/db]/key` (or `rediss://`)
-- @int[opt] timeout_ms each command's limit (at most 5000)
-- @treturn[1] table the store
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not (a malformed location)
function _M.new(location, timeout_ms)
  local t, err = core.redis_target(location)
  if not t then return nil, err end
  local where = t.shown
  local timeout = timeout_ms and timeout_ms > 0 and timeout_ms < COMMAND_TIMEOUT_MS and timeout_ms
    or COMMAND_TIMEOUT_MS
  local lock_value, renewing

  -- A connection from nginx's pool (authenticated once), and its reader.
  local function connect()
    local sock = ngx.socket.tcp()
    sock:settimeouts(timeout, timeout, timeout)
    local ok, cerr = sock:connect(t.host, t.port)
    if not ok then return nil, nil, where .. ": cannot connect: " .. tostring(cerr) end
    local reader = core.redis_reader()
    if sock:getreusedtimes() == 0 then
      if t.tls then
        local sess, herr = sock:sslhandshake(nil, t.host, true)
        if not sess then
          sock:close()
          return nil, nil, where .. ": TLS failed (" .. tostring(herr) .. "); nginx verifies against "
            .. "lua_ssl_trusted_certificate"
        end
      end
      local res, aerr
      if t.password then
        if t.user then res, aerr = command(sock, reader, "AUTH", t.user, t.password)
        else res, aerr = command(sock, reader, "AUTH", t.password) end
        if not res then
          sock:close()
          return nil, nil, where .. ": the password was refused (" .. tostring(aerr) .. ")"
        end
      end
      if t.db ~= 0 then
        res, aerr = command(sock, reader, "SELECT", tostring(t.db))
        if not res then sock:close() return nil, nil, where .. ": " .. tostring(aerr) end
      end
      -- the renewed set is saved by a script: find out now, not after the refresh spent the old token
      res, aerr = command(sock, reader, "EVAL", "return 1", "0")
      if not res and NOT_READY[tostring(aerr):match("^Redis answered ([A-Z]+)") or ""] then
        sock:close()
        return nil, nil, where .. " is not ready (" .. tostring(aerr) .. "); try again shortly"
      elseif not res then
        sock:close()
        return nil, nil, where .. ": the Redis user must be allowed EVAL, GET, SET, DEL and PEXPIRE "
          .. "on the key and KEY:lock (" .. tostring(aerr) .. ")"
      end
    end
    return sock, reader
  end

  -- Runs one command on a pooled connection: its value, or nil, err.
  local function run(...)
    local sock, reader, cerr = connect()
    if not sock then return nil, cerr end
    local value, rerr = command(sock, reader, ...)
    if value == nil then
      sock:close()
      return nil, where .. ": " .. tostring(rerr)
    end
    sock:setkeepalive(KEEPALIVE_MS, POOL)
    return value
  end

  local store = {}
  function store.load()
    local v, e = run("GET", t.key)
    if v == nil then return nil, e end
    if v == ngx.null then return nil end
    if type(v) ~= "string" then return nil, where .. " holds something that is not a settings document" end
    return v
  end
  local function cas(script, ...)
    local v, e = run("EVAL", t.scripts[script], "1", t.key, ...)
    if v == nil then return nil, e end
    return v == 1
  end
  function store.save(text, expected)
    local ok, serr = cas("save", text, expected or "", expected and "1" or "0")
    if ok == nil then
      -- the reply was lost (a timeout, a closed connection): the script may
      -- have run; what Redis holds says (as the C store does)
      local now = store.load()
      if now == text then return true end
      if now == expected then return cas("save", text, expected or "", expected and "1" or "0") end
    end
    return ok, serr
  end
  function store.remove(expected)
    return cas("remove", expected or "", expected and "1" or "0")
  end

  -- The lease is renewed from a timer while held: a slow refresh keeps it,
  -- a dead worker's lapses.
  local function renew(premature, value)
    if premature or renewing ~= value then return end
    run("EVAL", t.scripts.renew, "1", t.lock_key, value, tostring(t.lease_ms))
    ngx.timer.at(t.renew_ms / 1000, renew, value)
  end
  function store.lock()
    counter = counter + 1
    local value = ngx.worker.pid() .. ":" .. ngx.now() .. ":" .. counter .. ":" .. random(1e9)
    local v, e = run("SET", t.lock_key, value, "NX", "PX", tostring(t.lease_ms))
    if v == nil then return nil, e end
    if v == ngx.null then return false end
    lock_value, renewing = value, value
    ngx.timer.at(t.renew_ms / 1000, renew, value)
    return true
  end
  function store.unlock()
    local value = lock_value
    lock_value, renewing = nil, nil
    if value then run("EVAL", t.scripts.unlock, "1", t.lock_key, value) end
  end
  return store
end

setmetatable(_M, { __index = function(_, k) error("oauthconnect.store.redis has no " .. tostring(k), 2) end })
return _M
