-- The examples in examples/ run as README shows them, against the sandbox:
-- each child process gets a logged-in connection (the web flow, run here
-- first, as an app's install or `oauthconnect login` would) and its output
-- is checked.
local H = require "helpers"
local json = require "oauthconnect.json"

local EXAMPLES = H.ROOT .. "/examples/"

-- Logs in to a fresh sandbox of provider through the web flow, the tokens in
-- a settings file; returns the sandbox and the connection properties.
local function logged_in(provider)
  local sandbox = H.sandbox(provider)
  local base = { InitiateOAuth = "REFRESH", OAuthSettingsLocation = H.tmpdir() .. "/tokens.json",
    CallbackURL = "http://127.0.0.1:1/callback" }
  local props, module
  if provider == "bigcommerce" then
    props, module = sandbox:bigcommerce_props(base), require "bigcommerce"
  elseif provider == "keap" then
    props, module = sandbox:keap_props(base), require "keap"
  else
    base.Scope = "read_store read_orders"
    props, module = sandbox:jumpseller_props(base), require "jumpseller"
  end
  local code, callback = sandbox:authorize({ redirect_uri = props.CallbackURL })
  -- BigCommerce's callback carries context and scope too: its whole query goes
  assert(module.get_access_token(props, provider == "bigcommerce" and callback or code,
    provider == "bigcommerce" and { redirect_uri = props.CallbackURL } or nil))
  sandbox:reset()
  return sandbox, props
end

-- Runs cmd with env (a table) and this checkout's modules; stdout, stderr,
-- exit code. The environment goes through a file the shell reads, never a
-- command line: the connections hold the client secret, and
-- spec/25-cli_plugin_spec.lua looks for it in every process's command line.
local function run(cmd, env)
  local dir = H.tmpdir()
  local lines = { "export " .. H.LUA_ENV }
  for k, v in pairs(env or {}) do lines[#lines + 1] = "export " .. k .. "=" .. H.q(v) end
  H.write_file(dir .. "/env", table.concat(lines, "\n") .. "\n", "600")
  local out, code = H.capture("cd " .. H.q(dir) .. " && . ./env && " .. cmd .. " 2>" .. H.q(dir .. "/stderr")
    .. " </dev/null")
  return out, H.read_file(dir .. "/stderr") or "", code
end

-- The CSV text (RFC 4180: CRLF lines, "..." fields with "" inside) as rows of fields.
local function csv_rows(text)
  local rows, row, i = {}, {}, 1
  while i <= #text do
    local field
    if text:sub(i, i) == '"' then
      local j, parts = i + 1, {}
      while true do
        local q = assert(text:find('"', j, true), "unterminated quoted field")
        parts[#parts + 1] = text:sub(j, q - 1)
        if text:sub(q + 1, q + 1) == '"' then
          parts[#parts + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      field = table.concat(parts)
    else
      local e = text:find("[,\r]", i) or #text + 1
      field, i = text:sub(i, e - 1), e
    end
    row[#row + 1] = field
    if text:sub(i, i) == "," then
      i = i + 1
    else -- CRLF: the row ends
      rows[#rows + 1], row = row, {}
      i = i + 2
    end
  end
  return rows
end

describe("README's Examples section", function()
  it("links every example in examples/", function()
    local readme = H.read_file(H.ROOT .. "/README.md")
    local section = assert(readme:match("\n## Examples\n(.-)\n## "), "README.md has no Examples section")
    local listed = 0
    for f in H.capture("cd " .. H.q(EXAMPLES) .. " && ls"):gmatch("[^\n]+") do
      if f:match("%.lua$") or f:match("%.sh$") or f == "openresty" then
        listed = listed + 1
        assert(section:find("](examples/" .. f, 1, true), "README's Examples section does not link examples/" .. f)
      end
    end
    assert.is_true(listed >= 6)
  end)
end)

describe("examples/", function()
  local sandbox
  after_each(function()
    if sandbox then sandbox:stop() end
    sandbox = nil
    H.cleanup()
  end)

  it("bigcommerce_catalog_export.lua writes every product, four pages of 100", function()
    local props
    sandbox, props = logged_in("bigcommerce")
    local file = H.tmpdir() .. "/products.csv"
    local _, err, code = run(H.LUA .. " " .. H.q(EXAMPLES .. "bigcommerce_catalog_export.lua") .. " " .. H.q(file),
      { OAUTHCONNECT_BIGCOMMERCE = H.connstr(props) })
    assert.equal(0, code, err)
    assert.equal("exported 320 products from 4 pages\n", err)
    local rows = csv_rows(assert(H.read_file(file)))
    assert.same({ "id", "sku", "name", "type", "price", "inventory_level", "is_visible" }, rows[1])
    assert.equal(321, #rows)
    assert.same({ "101", "SBX-0001", "Sandbox Product 1", "digital" }, { rows[2][1], rows[2][2], rows[2][3], rows[2][4] })
    assert.equal("420", rows[321][1])
    assert.is_nil(H.read_file(file .. ".part"))
    -- what it asked for: pages 1 to 4 of 100 (in_flight 2 may ask for a 5th, past the end)
    local asked = {}
    for _, r in ipairs(sandbox:requests("/stores/")) do
      if r.path:match("/v3/catalog/products$") then
        assert.equal("100", r.query.limit)
        asked[tonumber(r.query.page)] = true
      end
    end
    for page = 1, 4 do assert.is_true(asked[page], "page " .. page) end
  end)

  it("bigcommerce_catalog_export.lua leaves no file when a page fails", function()
    local props
    sandbox, props = logged_in("bigcommerce")
    sandbox:inject({ path = "/stores/sbx123abc/v3/catalog/products", status = 500, count = 20,
      body = json.encode({ status = 500, title = "down" }) })
    local file = H.tmpdir() .. "/products.csv"
    local _, err, code = run(H.LUA .. " " .. H.q(EXAMPLES .. "bigcommerce_catalog_export.lua") .. " " .. H.q(file),
      { OAUTHCONNECT_BIGCOMMERCE = H.connstr(props) })
    assert.equal(1, code, err)
    assert.matches("^export failed: ", err)
    assert.matches("HTTP 500", err, 1, true)
    assert.is_nil(H.read_file(file))
    assert.is_nil(H.read_file(file .. ".part"))
  end)

  it("keap_contacts.lua lists contacts and PATCHes one", function()
    local props
    sandbox, props = logged_in("keap")
    local env = { OAUTHCONNECT_KEAP = H.connstr(props) }
    local out, err, code = run(H.LUA .. " " .. H.q(EXAMPLES .. "keap_contacts.lua") .. " 7 Jones", env)
    assert.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal("300 contacts; the first 3:", lines[1])
    assert.equal("  1  Alice Smith  alice.smith.1@sandbox.example", lines[2])
    assert.equal("contact 7: Grace Smith -> Grace Jones", lines[5])
    assert.matches("^read back: Grace Jones, last updated %d%d%d%d%-", lines[6])
    -- the PATCH went out once, as JSON, with the one field
    local patches = {}
    for _, r in ipairs(sandbox:requests("/crm/rest/v1/contacts/7")) do
      if r.method == "PATCH" then patches[#patches + 1] = r end
    end
    assert.equal(1, #patches)
    assert.same({ family_name = "Jones" }, json.decode(patches[1].body))
    -- a contact that does not exist: err.code, and exit 1
    out, err, code = run(H.LUA .. " " .. H.q(EXAMPLES .. "keap_contacts.lua") .. " 99999 Jones", env)
    assert.equal(1, code, out)
    assert.matches("contact 99999: .*HTTP 404.* %(not_found%)", err)
  end)

  it("cron_export.sh exports with the command, and says when the login is gone", function()
    local props
    sandbox, props = logged_in("jumpseller")
    -- the command as installed: `oauthconnect` on PATH
    local bin = H.tmpdir()
    H.write_file(bin .. "/oauthconnect", ("#!/bin/sh\nexec %s %s \"$@\"\n"):format(H.LUA,
      H.q(H.ROOT .. "/bin/oauthconnect")), "755")
    local home, exports = H.tmpdir(), H.tmpdir()
    props.InitiateOAuth = nil -- the command's default, GETANDREFRESH: cron has no terminal
    local env = { PATH = bin .. ":" .. os.getenv("PATH"), HOME = home, XDG_CONFIG_HOME = home .. "/config",
      OAUTHCONNECT_JUMPSELLER = H.connstr(props) }
    local out, err, code = run("sh " .. H.q(EXAMPLES .. "cron_export.sh") .. " " .. H.q(exports), env)
    assert.equal(0, code, err)
    local file = exports .. "/paid-orders-" .. os.date("!%Y-%m-%d") .. ".csv"
    assert.equal("exported 75 paid orders to " .. file .. "\n", out)
    local rows = csv_rows(assert(H.read_file(file)))
    assert.equal(76, #rows)
    local status_column
    for i, name in ipairs(rows[1]) do if name == "status" then status_column = i end end
    assert.is_number(status_column)
    for i = 2, #rows do assert.equal("paid", rows[i][status_column]:lower()) end
    -- nothing stored: exit 3 at once, and the script says what to do
    props.OAuthSettingsLocation = H.tmpdir() .. "/none.json"
    env.OAUTHCONNECT_JUMPSELLER = H.connstr(props)
    out, err, code = run("sh " .. H.q(EXAMPLES .. "cron_export.sh") .. " " .. H.q(exports), env)
    assert.equal(3, code, err)
    assert.equal("", out)
    assert.matches("run 'oauthconnect login jumpseller' at a terminal", err, 1, true)
  end)

  it("sqlite_store.lua keeps the tokens in a database, as its header shows", function()
    local props
    sandbox, props = logged_in("jumpseller")
    local db = H.tmpdir() .. "/tokens.db"
    -- the header's two lines, in a process of their own
    local script = H.tmpdir() .. "/use.lua"
    H.write_file(script, [[
      package.path = os.getenv("EXAMPLES") .. "?.lua;" .. package.path
      local jumpseller = require "jumpseller"
      local conn = os.getenv("CONN")
      local store = require("sqlite_store").new(os.getenv("DB"), "jumpseller")
      local client = assert(jumpseller.connect(conn, { store = store }))
      print(assert(client:get("/store/info.json")).store.name)
      client:close()
    ]])
    -- the first run is given a refresh token (the seed); the store keeps what follows
    local seeded = {}
    for k, v in pairs(props) do seeded[k] = v end
    seeded.OAuthSettingsLocation = nil
    seeded.OAuthRefreshToken = H.settings(props.OAuthSettingsLocation).refresh_token
    local env = { EXAMPLES = EXAMPLES, DB = db, CONN = H.connstr(seeded) }
    local out, err, code = run(H.LUA .. " " .. H.q(script), env)
    assert.equal(0, code, err)
    assert.equal("Sandbox Store\n", out)
    assert.equal(1, sandbox:stats().refreshes)
    -- the next process finds the tokens in the database: no refresh
    seeded.OAuthRefreshToken = nil
    env.CONN = H.connstr(seeded)
    out, err, code = run(H.LUA .. " " .. H.q(script), env)
    assert.equal(0, code, err)
    assert.equal("Sandbox Store\n", out)
    assert.equal(1, sandbox:stats().refreshes)
  end)
end)
