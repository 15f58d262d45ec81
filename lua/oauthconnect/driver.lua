--- The Lua driver: an engine call's steps run by Lua performers (a transport, a store, nginx).
-- The Lua driver: runs an engine call (a core call userdata, see
-- csrc/oc_call.h) with performers for its steps. The decisions stay in the
-- core; this file only moves bytes between the call and
--   http(method, url, lines, body, timeout_ms, max_body)
--        -> status, headers, body | nil, message, sent, timed_out, too_large
--        (nil: libcurl, in C)
--   store = { load, save, remove, lock, unlock } as below (nil: the client's
--        C store: file, memory://, Redis)
--   sleep(seconds)
--   prompt(info) shows the device login's {title, verification_uri,
--        user_code, verification_uri_complete, expires_in} (nil: stderr)
-- Users plug in with connect's `transport` and `store` options, adapted
-- here to those shapes.
-- @module oauthconnect.driver

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
    elseif kind == "prompt" then
      if io.prompt then io.prompt(a) else call:show_prompt() end
    end
  end
end

--- Runs an engine call to its end with performers.
-- Runs a started call (or passes nil, err through) to its end and returns
-- its result; the call is closed, and a Lua store's lock released, even
-- when a performer raises.
-- @tparam table io the performers `{http, store, sleep}` (nil http or store: the core's own)
-- @param call a started core call, or nil
-- @param[opt] err the error to pass through when call is nil
-- @return the call's results, or nil, err
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

--- Adapts a user's `transport` option (see @{oauthconnect.connect_options}) to the driver.
-- transport(req) -> {status, headers = {[lower-case name] = value}, body}
-- | nil, err (a string, or a table with message and sent), as the README's
-- "Use your own HTTP client" describes.
--
-- The transport is called with `req`: `method` (a string), `url` (absolute),
-- `headers` (an array of `{name, value}` pairs, the Authorization header
-- among them), `body` (a string, or nil) and `timeout_ms`. It returns a
-- table `{status = number, headers = {name = value}, body = string}` for any
-- HTTP answer, or `nil, err` when nothing came back: err a string, or a
-- table `{message, sent = false}` when the request certainly did not leave
-- (a GET that was not sent is tried again; a POST that may have been is
-- never repeated) and `timed_out = true` for a timeout. A transport that
-- raises fails the request with its message.
-- @tparam function transport the user's function(req)
-- @treturn function the driver's http performer
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
    local status = res.status -- math.tointeger is not in LuaJIT, which runs this in nginx
    if status ~= status or status % 1 ~= 0 or status < 100 or status > 599 then
      return nil, ("the transport's status %s is not an HTTP status (100 to 599)"):format(tostring(res.status)), true
    end
    local rbody = res.body or ""
    if type(rbody) ~= "string" then return nil, "the transport's body is not a string", true end
    if max_body and max_body > 0 and #rbody > max_body then
      return nil, ("the answer is larger than the limit of %d bytes"):format(max_body), true, false, true
    end
    local rheaders = res.headers or {}
    if type(rheaders) ~= "table" then return nil, "the transport's headers are not a {name = value} table", true end
    local headers = {}
    for k, v in pairs(rheaders) do
      if type(k) == "string" then
        if type(v) == "number" then v = tostring(v) end
        if type(v) ~= "string" then
          return nil, ("the transport's header '%s' is not a string"):format(k), true
        end
        headers[k:lower()] = v
      end
    end
    return status, headers, rbody
  end
end

-- ---- a user's store -----------------------------------------------------------------

local STORE_FUNCTIONS = { load = true, save = true, lock = true, unlock = true }

--- Checks a user's `store` option (see @{oauthconnect.connect_options}).
-- Checks a store table (load, save, lock, unlock; remove optional) and
-- returns it; raises naming what is missing.
--
-- The library keeps one opaque text per connection (its settings document)
-- and asks the store for it:
--
--  * `load()` -> the text, or nil when nothing is stored (nil, err on failure)
--  * `save(text, expected)` -> true; false when the stored text is no longer
--    `expected` (nil: nothing stored): a compare-and-set; nil, err on failure
--  * `lock(timeout_ms)` -> true; false while another holds it; nil, err
--  * `unlock()`
--  * `remove(expected)` (optional) -> as save, deleting; without it an empty text is saved
--
-- The refresh runs under the lock and re-reads the store after taking it, so
-- processes (and machines) sharing a store refresh once. examples/sqlite_store.lua
-- is one over SQLite.
-- @tparam table store the store
-- @int level the level error() raises at
-- @treturn table the store
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

--- Sleeps, blocking (in scripts).
-- Sleeps in scripts (the core's nanosleep).
-- @function sleep
-- @number seconds how long
_M.sleep = core.sleep

setmetatable(_M, { __index = function(_, k) error("oauthconnect.driver has no " .. tostring(k), 2) end })
return _M
