-- The oauthconnect command, end to end against the sandbox.
local H = require "helpers"
local json = require "oauthconnect.json"

local CLI = H.ROOT .. "/bin/oauthconnect"

describe("the oauthconnect command", function()
  local sandbox, dir, conn, env

  -- Runs the command; returns stdout, stderr, exit code.
  local function run(args, extra_env)
    local e = { HOME = dir, XDG_CONFIG_HOME = dir .. "/config", BROWSER = H.BROWSER }
    for k, v in pairs(env or {}) do e[k] = v end
    for k, v in pairs(extra_env or {}) do e[k] = v end
    local parts = { "env", H.LUA_ENV }
    for k, v in pairs(e) do parts[#parts + 1] = k .. "=" .. H.q(v) end
    parts[#parts + 1] = H.LUA .. " " .. H.q(CLI) .. " " .. args
    local errfile = dir .. "/stderr"
    local out, code = H.capture(table.concat(parts, " ") .. " 2>" .. H.q(errfile) .. " </dev/null")
    return out, H.read_file(errfile) or "", code
  end

  -- Runs the command under a pseudo-terminal (script(1)); returns what it showed.
  local function on_terminal(args)
    return H.capture("script -qec " .. H.q("env " .. H.LUA_ENV .. " " .. H.LUA .. " " .. H.q(CLI) .. " " .. args)
      .. " /dev/null")
  end

  setup(function()
    sandbox = H.sandbox("jumpseller")
    dir = H.tmpdir()
    conn = H.connstr(sandbox:jumpseller_props({ CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/cb",
      OAuthSettingsLocation = dir .. "/tokens.json", LoginTimeout = 5,
      Scope = "read_store read_orders read_products write_products" }))
    env = {}
  end)
  teardown(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("logs in through the browser and stores the tokens", function()
    local out, err, code = run("login jumpseller -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.equal("", out)
    assert.matches("Logged in to Jumpseller", err)
    assert.is_string(H.settings(dir .. "/tokens.json").refresh_token)
  end)

  it("prints a valid access token, for curl -H \"Authorization: Bearer $(...)\"", function()
    local out, err, code = run("token jumpseller -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.equal(H.settings(dir .. "/tokens.json").access_token .. "\n", out)
    local status = H.capture("curl -s -o /dev/null -w '%{http_code}' -H " .. H.q("Authorization: Bearer "
      .. out:gsub("%s+$", "")) .. " " .. H.q(sandbox.url .. "/v1/store/info.json"))
    assert.equal("200", status)
  end)

  it("gets, posts, puts and deletes, printing compact JSON off a terminal", function()
    local out, err, code = run("get jumpseller /store/info.json -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.equal("Sandbox Store", json.decode(out).store.name)
    assert.not_matches("\n.", out) -- one line
    out, err, code = run("get jumpseller /orders/count.json -q status=paid -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.equal(75, json.decode(out).count)
    out, err, code = run("post jumpseller /products.json --data '{\"product\":{\"name\":\"CLI\"}}' -c " .. H.q(conn))
    assert.equal(0, code, err)
    local id = json.decode(out).product.id
    H.write_file(dir .. "/body.json", '{"product":{"name":"CLI 2"}}')
    out, err, code = run(("put jumpseller /products/%d.json --data @%s -c %s"):format(id, H.q(dir .. "/body.json"), H.q(conn)))
    assert.equal(0, code, err)
    assert.equal("CLI 2", json.decode(out).product.name)
    out, err, code = run(("delete jumpseller /products/%d.json -c %s"):format(id, H.q(conn)))
    assert.equal(0, code, err)
    -- an empty object stays an object, an empty array an array
    sandbox:inject({ path = "/v1/store/info.json", status = 200, body = '{"empty":{},"list":[],"n":null}',
      headers = { ["Content-Type"] = "application/json" } })
    out, err, code = run("get jumpseller /store/info.json -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.matches('"empty":{}', out, 1, true)
    assert.matches('"list":[]', out, 1, true)
    assert.matches('"n":null', out, 1, true)
  end)

  it("pretty-prints on a terminal", function()
    local out = on_terminal("get jumpseller /store/info.json -c " .. H.q(conn))
    assert.matches('\n +"store": *{', out)
  end)

  it("exports every page as ndjson, json and csv", function()
    local out, err, code = run("export jumpseller /orders.json -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.equal("", err) -- no progress line when stderr is not a terminal
    local n = 0
    for line in out:gmatch("[^\n]+") do
      n = n + 1
      assert.is_number(json.decode(line).id)
    end
    assert.equal(300, n)
    out, err, code = run("export jumpseller /orders.json --format json --in-flight 4 -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.equal(300, #json.decode(out))
    out, err, code = run("export jumpseller /orders.json -q status=paid --format csv -o " .. H.q(dir .. "/o.csv")
      .. " -c " .. H.q(conn))
    assert.equal(0, code, err)
    local csv = H.read_file(dir .. "/o.csv")
    local lines = {}
    for line in csv:gmatch("([^\r\n]*)\r\n") do lines[#lines + 1] = line end
    assert.equal(76, #lines) -- header and 75 paid orders
    assert.matches("^[^\n]*id[,\r]", lines[1] .. "\r")
    -- an export that fails leaves the file as it was, and no part file
    sandbox:inject({ path = "/v1/orders.json", status = 500, body = '{"message":"down"}', count = 10 })
    err, code = select(2, run("export jumpseller /orders.json --format json -o " .. H.q(dir .. "/o.csv")
      .. " -c " .. H.q(conn)))
    assert.equal(1, code, err)
    assert.equal(csv, H.read_file(dir .. "/o.csv"))
    assert.is_nil(H.read_file(dir .. "/o.csv.part"))
    sandbox:reset()
  end)

  it("shows progress on a terminal, and none without one", function()
    local out = on_terminal("export jumpseller /orders.json -o /dev/null -c " .. H.q(conn))
    assert.matches("300 items, 4 pages, %d+ items/s", out)
  end)

  it("shows who is logged in and when the token expires, never the token", function()
    local out, err, code = run("status jumpseller -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.matches("provider: Jumpseller", out)
    assert.matches("token expires: %d%d%d%d%-", out)
    assert.matches("logged in as: Sandbox Store, sandboxstore", out)
    local settings = H.settings(dir .. "/tokens.json")
    assert.is_nil(out:find(settings.access_token, 1, true))
    assert.is_nil(out:find(settings.refresh_token, 1, true))
    -- the check failing (the API down) is an API error, not a success
    sandbox:inject({ path = "/v1/store/info.json", status = 500, body = "{}",
      headers = { ["Content-Type"] = "application/json" } })
    out, err, code = run("status jumpseller -c " .. H.q(conn .. ";MaxAttempts=1"))
    assert.equal(1, code, err)
    assert.matches("logged in as: unknown (the error follows)", out, 1, true)
    assert.matches("HTTP 500", err, 1, true)
  end)

  it("status shows what is stored when the token expired and its refresh fails", function()
    local settings = dir .. "/expired.json"
    local props = sandbox:jumpseller_props({ CallbackURL = "http://127.0.0.1:1/cb", OAuthSettingsLocation = settings,
      Scope = "read_store" })
    sandbox:config({ access_ttl = 1 })
    assert(require("jumpseller").get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL,
      scope = "read_store" })))
    sandbox:config({ defaults = true })
    H.sleep(2.1)
    local stored = H.settings(settings)
    sandbox:inject({ path = "/oauth/token", status = 400, headers = { ["Content-Type"] = "application/json" },
      body = '{"error":"invalid_grant","error_description":"the refresh token was revoked"}' })
    local out, err, code = run("status jumpseller -c " .. H.q(H.connstr(props)))
    assert.equal(3, code, err)
    assert.matches("provider: Jumpseller", out, 1, true)
    local expired = os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(stored.expires_at_ms / 1000))
    assert.matches("token expired: " .. expired:gsub("%p", "%%%0") .. " %(%d+ s ago%)", out)
    assert.matches("scope: read_store", out, 1, true)
    assert.matches("logged in as: unknown (the token could not be refreshed; the error follows)", out, 1, true)
    assert.matches("invalid_grant: the refresh token was revoked", err, 1, true)
    assert.is_nil(out:find(stored.access_token, 1, true))
    assert.is_nil(out:find(stored.refresh_token, 1, true))
  end)

  it("takes the connection from the environment, then the config file", function()
    local out, err, code = run("get jumpseller /store/info.json", { OAUTHCONNECT_JUMPSELLER = conn })
    assert.equal(0, code, err)
    os.execute("mkdir -p " .. H.q(dir .. "/config/oauthconnect"))
    local file = dir .. "/config/oauthconnect/connections.json"
    -- it holds the client secret: a file others can read is refused, as ssh does
    H.write_file(file, json.encode({ myshop = { provider = "jumpseller", connection = conn } }), "644")
    out, err, code = run("get myshop /store/info.json")
    assert.equal(2, code, err)
    assert.matches("refusing the connections file " .. file .. ": group or others can access it "
      .. "(mode 0644); run chmod 600 " .. file, err, 1, true)
    assert.not_matches("sbx%-s3cr3t%-Zq7RkA9dW", err)
    os.execute("chmod 600 " .. H.q(file))
    out, err, code = run("get myshop /store/info.json")
    assert.equal(0, code, err)
    assert.equal("Sandbox Store", json.decode(out).store.name)
    -- --connection wins over the environment
    out, err, code = run("get jumpseller /store/info.json -c " .. H.q(conn),
      { OAUTHCONNECT_JUMPSELLER = "Bogus=1" })
    assert.equal(0, code, err)
  end)

  it("status never opens a browser, however the connection object spells InitiateOAuth", function()
    local props = sandbox:jumpseller_props({ CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/cb",
      OAuthSettingsLocation = dir .. "/nobody.json", LoginTimeout = 5 })
    props.initiateoauth = "GETANDREFRESH"
    os.execute("mkdir -p " .. H.q(dir .. "/config/oauthconnect"))
    local file = dir .. "/config/oauthconnect/connections.json"
    local saved = H.read_file(file)
    H.write_file(file, json.encode({ nobody = { provider = "jumpseller", connection = props } }), "600")
    local _, err, code = run("status nobody", { BROWSER = "false" })
    assert.equal(3, code, err)
    assert.matches("not logged in to Jumpseller: nothing is stored for this connection; "
      .. "run `oauthconnect login nobody` once at a terminal", err, 1, true)
    assert.is_nil(err:find("open this address", 1, true))
    -- off a terminal, no command waits for a browser: cron fails at once
    local logins = sandbox:stats().authorize
    for _, cmd in ipairs({ "token nobody", "get nobody /store/info.json", "export nobody /orders.json" }) do
      local t0 = H.now()
      _, err, code = run(cmd, { BROWSER = "false" })
      assert.equal(3, code, err)
      assert.matches("not logged in to Jumpseller", err, 1, true)
      assert.is_true(H.now() - t0 < 4, cmd)
    end
    assert.equal(logins, sandbox:stats().authorize)
    -- a value of the wrong type is a usage error too
    H.write_file(file, json.encode({ nobody = { provider = "jumpseller",
      connection = { OAuthClientId = true, OAuthAccessToken = "x" } } }), "600")
    _, err, code = run("get nobody /store/info.json")
    assert.equal(2, code, err)
    assert.matches("option 'OAuthClientId' must be a string or number, not a boolean", err, 1, true)
    H.write_file(file, json.encode({ nobody = { provider = "jumpseller", connection = props } }), "600")
    -- the same property twice, in two spellings, is refused by name
    props.InitiateOAuth = "GET"
    H.write_file(file, json.encode({ nobody = { provider = "jumpseller", connection = props } }), "600")
    _, err, code = run("status nobody")
    assert.equal(2, code, err)
    assert.matches("the connection gives InitiateOAuth twice", err, 1, true)
    -- a login into a store that ends with the command is refused, no browser opened
    _, err, code = run("login jumpseller -c " .. H.q(H.connstr(sandbox:jumpseller_props({
      OAuthSettingsLocation = "memory://cli", CallbackURL = "http://127.0.0.1:1/cb" }))), { BROWSER = "false" })
    assert.equal(2, code, err)
    assert.matches("login keeps nothing with OAuthSettingsLocation=memory://cli", err, 1, true)
    -- a profile naming a provider that does not exist is named by that provider
    H.write_file(file, json.encode({ nobody = { provider = "nosuch", connection = props } }), "600")
    _, err, code = run("status nobody")
    assert.equal(2, code, err)
    assert.matches("profile 'nobody' of " .. file .. " names the unknown provider 'nosuch'", err, 1, true)
    if saved then H.write_file(file, saved) else os.remove(file) end
  end)

  it("exits 2 on usage errors, 1 on API errors, 3 on authentication errors, one line each", function()
    local _, err, code = run("frobnicate jumpseller")
    assert.equal(2, code)
    -- a command missing an argument shows that command's usage
    _, err, code = run("token")
    assert.equal(2, code)
    assert.matches("Usage: oauthconnect token ", err, 1, true)
    assert.matches("missing argument 'provider'", err, 1, true)
    _, err, code = run("get nosuchprovider /x -c " .. H.q(conn))
    assert.equal(2, code)
    assert.matches("unknown provider or profile 'nosuchprovider'", err)
    _, err, code = run("get jumpseller /store/info.json")
    assert.equal(2, code)
    assert.matches("no connection for jumpseller", err)
    _, err, code = run("post jumpseller /products.json --data '{bad' -c " .. H.q(conn))
    assert.equal(2, code)
    -- a configuration the provider cannot take is a usage error too
    _, err, code = run("get jumpseller /store/info.json -c " .. H.q(conn .. ";AuthScheme=NTLM"))
    assert.equal(2, code, err)
    assert.matches("AuthScheme", err)
    _, err, code = run("get jumpseller /orders/999999.json -c " .. H.q(conn))
    assert.equal(1, code)
    assert.matches("^oauthconnect: GET [^\n]*404 Not Found: Order not found\n$", err)
    sandbox:revoke()
    _, err, code = run("get jumpseller /store/info.json -c " .. H.q(conn))
    assert.equal(3, code)
    assert.matches("invalid_grant", err)
  end)

  it("logs out, removing the stored tokens", function()
    local _, err, code = run("logout jumpseller -c " .. H.q(conn))
    assert.equal(0, code, err)
    assert.is_nil(H.read_file(dir .. "/tokens.json"))
    assert.matches("Logged out of Jumpseller", err)
  end)

  it("logs out with nothing stored: no browser, no refresh", function()
    local fresh = H.connstr(sandbox:jumpseller_props({ CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/cb",
      OAuthSettingsLocation = dir .. "/never-logged-in.json", LoginTimeout = 5 }))
    local _, err, code = run("logout jumpseller -c " .. H.q(fresh), { BROWSER = "false" })
    assert.equal(0, code, err)
    assert.is_nil(err:find("open this address", 1, true))
    assert.equal(0, sandbox:stats().refreshes)
  end)

  it("runs the custom provider from properties alone: login, status, get, logout", function()
    local generic = H.sandbox("generic")
    local props = generic:generic_props({ CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/cb",
      OAuthSettingsLocation = dir .. "/custom.json", Scope = "api", LoginTimeout = 5 })
    local c = H.connstr(props)
    local out, err, code = run("login custom -c " .. H.q(c))
    assert.equal(0, code, err)
    assert.matches("Logged in to custom OAuth server", err)
    out, err, code = run("status custom -c " .. H.q(c))
    assert.equal(0, code, err)
    assert.matches("provider: custom OAuth server", out)
    out, err, code = run("get custom /me -c " .. H.q(c))
    assert.equal(0, code, err)
    assert.equal("authorization_code", json.decode(out).grant)
    err, code = select(2, run("logout custom -c " .. H.q(c)))
    assert.equal(0, code, err)
    assert.is_nil(H.read_file(dir .. "/custom.json"))
    generic:stop()
  end)

  it("has --help for each command", function()
    for _, c in ipairs({ "login", "token", "get", "post", "put", "delete", "export", "logout", "status" }) do
      local out, _, code = run(c .. " --help")
      assert.equal(0, code)
      assert.matches("Usage: oauthconnect " .. c, out)
    end
  end)
end)
