-- The Lua driver: runs an engine call (a core call userdata, see
-- csrc/oc_call.h) with performers for its steps. The decisions stay in the
-- core; this file only moves bytes between the call and
--   http(method, url, lines, body, timeout_ms, max_body)
--        -> status, headers, body | nil, message, sent, timed_out, too_large
--        (nil: libcurl, in C)
--   store = { load, save, remove, lock, unlock } as below (nil: the client's
--        C store: file, memory://, Redis)
--   sleep(seconds)
-- Users plug in with connect's `transport` and `store` options, adapted
-- here to those shapes.

local core = require "oauthconnect.core"

local type, pcall, error, tostring, pairs, ipairs, setmetatable =
  type, pcall, error, tostring, pairs, ipairs, setmetatable

local _M = {}

-- One store step on a Lua store; feeds the outcome.
local function store_step(call, store, op, text, expected, n)
  local ok, a, b
  if op == "load" then
    ok, a, b = pcall(store.load)
    if not ok then return call:feed_store(nil, tostring(a)) end
    if a == nil and b ~= nil then return call:feed_store(nil, tostring(b)) end
    if a ~= nil and type(a) ~= "string" then
      return call:feed_store(nil, "load returned a " .. type(a) .. ", not the stored text or nil")
    end
    return call:feed_store(true, a)
  elseif op == "save" or op == "remove" then
    if op == "remove" and store.remove then
      ok, a, b = pcall(store.remove, expected)
    else
      ok, a, b = pcall(store.save, op == "save" and text or "", expected)
    end
  elseif op == "lock" then
    ok, a, b = pcall(store.lock, n)
  elseif op == "unlock" then
    pcall(store.unlock)
    return call:feed_store(true)
  else -- reserve: a Lua store has nothing to set aside
    return call:feed_store(true)
  end
  if not ok then return call:feed_store(nil, tostring(a)) end
  if a == true then return call:feed_store(true) end
  if a == false then return call:feed_store(false) end
  return call:feed_store(nil, tostring(b or (op .. " returned " .. tostring(a))))
end

local function run(call, io)
  local http, store, sleep = io.http, io.store, io.sleep
  while true do
    local kind, a, b, c, d, e, f = call:next()
    if kind == "done" then return end
    if kind == "http" then
      if http then
        -- status, headers, body | nil, message, sent, timed_out, too_large
        local status, r2, r3, r4, r5 = http(a, b, c, d, e, f)
        if type(status) == "number" then
          call:feed(status, r2, r3)
        else
          call:fail(tostring(r2 or "the request failed"), r3 ~= false, r4, r5)
        end
      else
        call:perform_http()
      end
    elseif kind == "store" then
      if store then store_step(call, store, a, b, c, d) else call:perform_store() end
    elseif kind == "wait" then
      sleep(a)
    elseif kind == "login" then
      call:perform_login()
    end
  end
end

-- Runs a started call (or passes nil, err through) to its end and returns
-- its result; the call is closed, and a Lua store's lock released, even
-- when a performer raises.
function _M.finish(io, call, err)
  if not call then return nil, err end
  local ok, e = pcall(run, call, io)
  if not ok then
    if io.store and call:holds_lock() then pcall(io.store.unlock) end
    call:close()
    error(e, 0)
  end
  local r1, r2, r3 = call:result()
  call:close()
  return r1, r2, r3
end

-- ---- a user's transport ------------------------------------------------------------

-- "Name: value" lines as {{name, value}, ...}.
local function header_pairs(lines)
  local out = {}
  for i, line in ipairs(lines) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    out[i] = { name, value }
  end
  return out
end

-- transport(req) -> {status, headers = {[lower-case name] = value}, body}
-- | nil, err (a string, or a table with message and sent), as the README's
-- "Use your own HTTP client" describes.
function _M.user_transport(transport)
  return function(method, url, lines, body, timeout_ms, max_body)
    local ok, res, err = pcall(transport, { method = method, url = url, headers = header_pairs(lines),
      body = body, timeout_ms = timeout_ms })
    if not ok then return nil, "the transport raised: " .. tostring(res), true end
    if res == nil then
      if type(err) == "table" then
        return nil, tostring(err.message or err[1] or "the transport failed"), err.sent ~= false, err.timed_out
      end
      return nil, tostring(err or "the transport failed"), true
    end
    if type(res) ~= "table" or type(res.status) ~= "number" then
      return nil, "the transport returned no {status = number, ...} table", true
    end
    local rbody = res.body or ""
    if type(rbody) ~= "string" then return nil, "the transport's body is not a string", true end
    if max_body and max_body > 0 and #rbody > max_body then
      return nil, ("the answer is larger than the limit of %d bytes"):format(max_body), true, false, true
    end
    local headers = {}
    for k, v in pairs(res.headers or {}) do
      if type(k) == "string" then headers[k:lower()] = v end
    end
    return res.status, headers, rbody
  end
end

-- ---- a user's store -----------------------------------------------------------------

local STORE_FUNCTIONS = { load = true, save = true, lock = true, unlock = true }

-- Checks a store table (load, save, lock, unlock; remove optional) and
-- returns it; raises naming what is missing.
function _M.check_store(store, level)
  if type(store) ~= "table" then error("store must be a table of functions (load, save, lock, unlock)", level) end
  for name in pairs(STORE_FUNCTIONS) do
    if type(store[name]) ~= "function" then
      error(("store.%s must be a function (load, save, lock and unlock are needed)"):format(name), level)
    end
  end
  if store.remove ~= nil and type(store.remove) ~= "function" then
    error("store.remove must be a function when given", level)
  end
  return store
end

-- Sleeps in scripts (the core's nanosleep).
_M.sleep = core.sleep

setmetatable(_M, { __index = function(_, k) error("oauthconnect.driver has no " .. tostring(k), 2) end })
return _M
