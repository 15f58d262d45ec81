--- A store in an nginx shared dict: `OAuthSettingsLocation=shm://DICT[/KEY]`.
-- The settings document in an nginx shared dict, for every worker of one
-- nginx: OAuthSettingsLocation=shm://DICT (or shm://DICT/KEY, several
-- connections in one dict). The dict is declared in nginx.conf:
--   lua_shared_dict DICT 1m;
-- A store table in the shape the Lua driver takes (oauthconnect/driver.lua).
-- The lock is an add with an expiry (a worker that dies holding it frees it
-- when it lapses); every write happens under it, so the compare and the set
-- of a save cannot interleave with another worker's.
-- @module oauthconnect.store.shm

local ngx = ngx -- luacheck: ignore (nil outside nginx)
local tostring, error = tostring, error

local _M = {}

local counter = 0

--- A store (the shape of @{oauthconnect.driver.check_store}) for a location.
-- A store for location, or raises naming the directive that is missing.
-- @string location `shm://DICT` or `shm://DICT/KEY`
-- @treturn table the store
function _M.new(location)
  local name, key = location:match("^[sS][hH][mM]://([^/]+)/?(.*)$")
  if not name then
    error(("OAuthSettingsLocation %s is not shm://DICT or shm://DICT/KEY"):format(location), 0)
  end
  local dict = ngx.shared[name]
  if not dict then
    error(("OAuthSettingsLocation shm://%s: nginx has no such shared dict; add "
      .. "`lua_shared_dict %s 1m;` to the http block"):format(name, name), 0)
  end
  if key == "" then key = "oauthconnect" end
  local lock_key, held = key .. ":lock", nil
  local where = "shm://" .. name .. "/" .. key

  local store = {}
  function store.load()
    return dict:get(key)
  end
  function store.save(text, expected)
    if dict:get(key) ~= expected then return false end
    -- safe_set: a full dict refuses the write instead of evicting (the lock, or tokens)
    local ok, err = dict:safe_set(key, text)
    if not ok then return nil, where .. ": " .. tostring(err) end
    return true
  end
  function store.remove(expected)
    if dict:get(key) ~= expected then return false end
    dict:delete(key)
    return true
  end
  function store.lock(wait_ms)
    counter = counter + 1
    local value = ngx.worker.pid() .. ":" .. ngx.now() .. ":" .. counter
    -- held as long as a refresh may take (the engine's whole wait), then lapses
    local lease = (wait_ms and wait_ms > 10000 and wait_ms or 10000) / 1000
    local ok, err = dict:add(lock_key, value, lease)
    if ok then
      held = value
      return true
    end
    if err == "exists" then return false end
    return nil, where .. ": cannot take the lock: " .. tostring(err)
  end
  function store.unlock()
    if held and dict:get(lock_key) == held then dict:delete(lock_key) end
    held = nil
  end
  return store
end

return _M
