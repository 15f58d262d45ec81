-- Keeping oauthconnect's tokens in your own database: a store for
-- connect's `store` option, here in SQLite through Debian's lua-sql-sqlite3
-- (LuaSQL). The same four functions over PostgreSQL or MySQL work alike.
--
--   local store = require("sqlite_store").new("/var/lib/shop/tokens.db", "jumpseller")
--   local client = assert(jumpseller.connect(conn, { store = store }))
--
-- The contract (README, "Keeping tokens yourself"): the library keeps one
-- opaque text per connection and asks for
--   load()                -> text, or nil when nothing is stored (nil, err on failure)
--   save(text, expected)  -> true; false when the stored text is no longer
--                            `expected` (nil: nothing stored); nil, err on failure
--   lock(timeout_ms)      -> true; false while another holds it; nil, err
--   unlock()
-- save is a compare-and-set (one UPDATE ... WHERE doc = expected, or an
-- INSERT that fails on an existing row), and the lock a row with an expiry,
-- so several processes and machines on one database refresh once.

local luasql = require "luasql.sqlite3"

local _M = {}

local env

-- A store for the connection `name` in the SQLite database at path.
function _M.new(path, name)
  env = env or luasql.sqlite3()
  local conn, err = env:connect(path)
  if not conn then error("cannot open " .. path .. ": " .. tostring(err), 2) end
  -- concurrent writers wait for each other instead of failing at once
  conn:execute("PRAGMA busy_timeout = 10000")
  conn:execute("PRAGMA journal_mode = WAL")
  assert(conn:execute([[CREATE TABLE IF NOT EXISTS oauth_settings
    (name TEXT PRIMARY KEY, doc TEXT NOT NULL)]]))
  assert(conn:execute([[CREATE TABLE IF NOT EXISTS oauth_locks
    (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL)]]))

  local function q(s) return "'" .. conn:escape(s) .. "'" end
  local key = q(name)
  local holder
  local counter = 0

  -- Runs one statement: the number of rows it changed, or nil, err.
  local function exec(sql)
    local n, e = conn:execute(sql)
    if n == nil then return nil, path .. ": " .. tostring(e) end
    return n
  end

  local store = {}

  function store.load()
    local cur, e = conn:execute("SELECT doc FROM oauth_settings WHERE name = " .. key)
    if not cur then return nil, path .. ": " .. tostring(e) end
    local doc = cur:fetch()
    cur:close()
    return doc
  end

  function store.save(text, expected)
    local n, e
    if expected == nil then
      n, e = exec("INSERT OR IGNORE INTO oauth_settings (name, doc) VALUES (" .. key .. ", " .. q(text) .. ")")
    else
      n, e = exec("UPDATE oauth_settings SET doc = " .. q(text) .. " WHERE name = " .. key
        .. " AND doc = " .. q(expected))
    end
    if n == nil then return nil, e end
    return n == 1
  end

  function store.remove(expected)
    local n, e = exec("DELETE FROM oauth_settings WHERE name = " .. key .. " AND doc = " .. q(expected))
    if n == nil then return nil, e end
    return n == 1
  end

  -- One attempt; a holder that died lets go when its expiry passes.
  function store.lock(timeout_ms)
    counter = counter + 1
    local me = ("%d:%d:%d"):format(os.time(), counter, math.random(1e9))
    local now = os.time()
    local lease = math.max(10, (timeout_ms or 0) / 1000)
    local n, e = exec("BEGIN IMMEDIATE")
    if n == nil then return nil, e end
    exec("DELETE FROM oauth_locks WHERE name = " .. key .. " AND expires < " .. now)
    n, e = exec("INSERT OR IGNORE INTO oauth_locks (name, holder, expires) VALUES (" .. key .. ", "
      .. q(me) .. ", " .. (now + lease) .. ")")
    exec("COMMIT")
    if n == nil then return nil, e end
    if n == 1 then holder = me end
    return n == 1
  end

  function store.unlock()
    if holder then
      exec("DELETE FROM oauth_locks WHERE name = " .. key .. " AND holder = " .. q(holder))
      holder = nil
    end
  end

  return store
end

return _M
