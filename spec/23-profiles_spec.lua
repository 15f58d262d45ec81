-- Provider profiles as data: the built-in JSON files, the loader that checks
-- them and a Profile= file, and the registry the modules and the command read.
local H = require "helpers"
local json = require "oauthconnect.json"
local oauthconnect = require "oauthconnect"
local profile = require "oauthconnect.profile"
local providers = require "oauthconnect.providers"

local CLI = H.ROOT .. "/bin/oauthconnect"
local PROFILES_DIR = H.ROOT .. "/lua/oauthconnect/profiles"

-- The JSON files of the built-in profiles, by name.
local function builtin_files()
  local out = {}
  for line in H.capture("ls " .. H.q(PROFILES_DIR)):gmatch("[^\n]+") do
    local name = line:match("^(.+)%.json$")
    if name then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

-- A profile for the generic sandbox, as a user would write one.
local function acme(sandbox, extra)
  local t = {
    name = "acme", title = "Acme",
    description = "the sandbox's plain RFC 6749 server",
    authorize_url = sandbox.url .. "/oauth2/authorize",
    token_url = sandbox.url .. "/oauth2/token",
    api_url = sandbox.url .. "/api",
    scope = "api",
    code_auth = "basic", refresh_auth = "basic",
    pkce = true,
    pagination = "page_number", page_size = 50, page_size_max = 100,
    whoami = { path = "/me", show = { "client_id", "grant" } },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

describe("the built-in profiles", function()
  it("are JSON files that the loader takes, each named as its file", function()
    local names = builtin_files()
    assert.same({ "bigcommerce", "custom", "infusionsoft", "jumpseller" }, names)
    for _, name in ipairs(names) do
      local path = PROFILES_DIR .. "/" .. name .. ".json"
      local p = assert(profile.load_file(path))
      assert.equal(name, p.name, path)
      assert.is_string(p.title, path)
      assert.same(p, assert(profile.builtin(name)))
    end
    assert.equal("meta_pagination", profile.builtin("bigcommerce").pagination)
    assert.equal("offset_limit", profile.builtin("infusionsoft").pagination)
    assert.equal("page_number", profile.builtin("jumpseller").pagination)
  end)

  it("form the registry: names, aliases, one module per provider", function()
    local listed = {}
    for i, p in ipairs(providers.list()) do listed[i] = p.name end
    assert.same(builtin_files(), listed)
    assert.equal("infusionsoft", providers.resolve("keap"))
    assert.equal("infusionsoft", providers.resolve("KEAP"))
    assert.equal("jumpseller", providers.resolve("Jumpseller"))
    assert.is_nil(providers.resolve("nosuch"))
    assert.is_nil(providers.resolve("../jumpseller"))
    assert.equal(require "keap", require "infusionsoft")
    assert.equal(require "keap", providers.module("keap"))
    assert.equal(require "jumpseller", providers.module("jumpseller"))
    assert.equal("Keap", require("keap").profile.title)
    assert.equal("bigcommerce, custom, infusionsoft (keap), jumpseller", providers.help())
    local ok, msg = pcall(providers.module, "nosuch")
    assert.is_false(ok)
    assert.matches("unknown provider 'nosuch': bigcommerce, custom, infusionsoft (keap), jumpseller", msg, 1, true)
    assert.equal(oauthconnect.profile, profile.builtin("custom"))
  end)

  it("every field is in the one list, with its type", function()
    local fields = require "oauthconnect.profile_fields"
    local core_names = require("oauthconnect.core").profile_fields()
    for _, name in ipairs(core_names) do assert.is_truthy(fields.by_name[name], name) end
    for _, name in ipairs({ "pagination", "page_size", "page_size_max", "signed_payload", "token_paging_prefix",
        "unwrap_envelope", "webhook", "whoami", "aliases", "description" }) do
      assert.is_truthy(fields.by_name[name], name)
      assert.is_nil(fields.by_name[name].core)
    end
    for _, f in ipairs(fields.list) do assert.is_string(f.type, f.name) end
    for _, name in ipairs(builtin_files()) do
      for k in pairs(profile.builtin(name)) do assert.is_truthy(fields.by_name[k], name .. "." .. k) end
    end
  end)
end)

describe("a profile file", function()
  local dir

  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.cleanup() end)

  -- Connects with Profile=path; returns the error.
  local function refused(path)
    local c, err = oauthconnect.connect("Profile=" .. path .. ";OAuthAccessToken=x;URL=https://api.example.com")
    assert.is_nil(c)
    assert.equal("bad_value", err.code)
    assert.equal("Profile", err.property)
    assert.matches(path, tostring(err), 1, true)
    return err
  end

  local function write(name, t)
    local path = dir .. "/" .. name
    H.write_file(path, type(t) == "string" and t or json.encode(t))
    return path
  end

  it("with a field no profile has is refused, naming the file and the field", function()
    local err = refused(write("unknown.json", { name = "acme", tokn_url = "https://auth.example.com/token" }))
    assert.equal("tokn_url", err.field)
    assert.matches("field 'tokn_url' is unknown", tostring(err), 1, true)
    err = refused(write("sub.json", { webhook = { header = "X-Sig", secret = "no" } }))
    assert.equal("webhook.secret", err.field)
  end)

  it("with a value of the wrong type is refused, naming the file and the field", function()
    local cases = {
      { { pkce = "yes" }, "pkce", "field 'pkce' must be true or false, not string" },
      { { scope = 5 }, "scope", "field 'scope' must be a string, not number" },
      { { page_size = "50" }, "page_size", "field 'page_size' must be a number, not string" },
      { { page_size = 2.5 }, "page_size", "field 'page_size' must be a whole number" },
      { { code_auth = "form" }, "code_auth", "field 'code_auth' must be \"body\", \"basic\", \"basic_raw\" or \"json\", not \"form\"" },
      { { refresh_auth = true }, "refresh_auth", "field 'refresh_auth' must be a string, not boolean" },
      { { pagination = "pages" }, "pagination", "field 'pagination': 'pages' is not a pagination style (page_number, meta_pagination, offset_limit, page_token)" },
      { { whoami = { path = "/me" } }, "whoami.show", "field 'whoami.show' is required" },
      { { whoami = "/me" }, "whoami", "field 'whoami' must be an object, not string" },
      { { aliases = "keap" }, "aliases", "field 'aliases' must be an array of strings, not string" },
      { { name = "../etc/acme" }, "name", "field 'name': '../etc/acme' is not a provider name" },
      { '{"token_prefix": null}', "token_prefix", "field 'token_prefix' must be a string, not null" },
    }
    for i, case in ipairs(cases) do
      local path = write("type" .. i .. ".json", case[1])
      local err = refused(path)
      assert.equal(case[2], err.field, path)
      assert.matches("profile file " .. path .. ": " .. case[3], tostring(err), 1, true)
    end
  end)

  it("with an endpoint the core would not send a token to is refused, naming the file and the field", function()
    local path = write("http.json", { token_url = "http://auth.example.com/token" })
    local err = refused(path)
    assert.equal("token_url", err.field)
    assert.matches("profile file " .. path .. ": field 'token_url': 'http://auth.example.com/token' uses plain "
      .. "http; only https is allowed, except to a loopback host", tostring(err), 1, true)
    err = refused(write("fragment.json", { authorize_url = "https://auth.example.com/authorize#x" }))
    assert.equal("authorize_url", err.field)
    assert.matches("fragment", tostring(err), 1, true)
    err = refused(write("relative.json", { api_url = "/v1" }))
    assert.equal("api_url", err.field)
    assert.matches("is not an absolute URL", tostring(err), 1, true)
    -- the store placeholder BigCommerce's API URL has is taken, and http to loopback
    assert(profile.load_file(write("store.json", { api_url = "https://api.example.com/stores/{StoreId}/v3",
      token_url = "http://127.0.0.1:9/token" })))
  end)

  it("that is not a JSON object, missing or not a file is refused, naming the file and Profile", function()
    local err = refused(write("yaml.json", "name: acme\n"))
    assert.matches("Profile: the profile file " .. dir .. "/yaml.json is not JSON", tostring(err), 1, true)
    err = refused(write("array.json", "[1, 2]"))
    assert.matches("is not a JSON object", tostring(err), 1, true)
    err = refused(dir .. "/absent.json")
    assert.equal("Profile: the profile file " .. dir .. "/absent.json does not exist", tostring(err))
    err = refused(dir)
    assert.matches("it is not a regular file", tostring(err), 1, true)
    -- a FIFO is refused at once, never waited on
    os.execute("mkfifo " .. H.q(dir .. "/fifo.json"))
    local t0 = H.now()
    err = refused(dir .. "/fifo.json")
    assert.matches("it is not a regular file", tostring(err), 1, true)
    assert.is_true(H.now() - t0 < 2)
    H.write_file(dir .. "/big.json", '{"description": "' .. ("x"):rep(300 * 1024) .. '"}')
    err = refused(dir .. "/big.json")
    assert.matches("is larger than", tostring(err), 1, true)
  end)

  it("replaces a provider module's own profile, and its errors are the module's too", function()
    local path = write("acme.json", { name = "acme", title = "Acme", api_url = "https://api.acme.example",
      pagination = "offset" })
    local c = assert(require("jumpseller").connect("Profile=" .. path .. ";OAuthAccessToken=x;"
      .. "OAuthSettingsLocation=memory://profiles-spec"))
    assert.equal("Acme", c.profile.title)
    assert.equal("offset_limit", c.profile.pagination) -- the old name, taken
    assert.equal("https://api.acme.example", c:api_url())
    assert.is_true(c.profile.pkce) -- laid over the custom profile
    c:close()
    local _, err = require("bigcommerce").connect({ Profile = dir .. "/none.json", OAuthAccessToken = "x" })
    assert.equal("Profile", err.property)
    -- a file without a name is named after itself
    c = assert(oauthconnect.connect({ profile = write("nameless.json", { api_url = "https://api.acme.example" }),
      OAuthAccessToken = "x", OAuthSettingsLocation = "memory://profiles-spec" }))
    assert.equal("nameless", c.profile.name)
    assert.equal("nameless", c.profile.title)
    c:close()
  end)

  it("is checked as a profile table is, which raises for the caller's mistakes", function()
    local ok, msg = pcall(oauthconnect.connect, { OAuthAccessToken = "x", URL = "https://api.example.com" },
      { pkce = "yes" })
    assert.is_false(ok)
    assert.matches("profile field 'pkce' must be true or false, not string", msg, 1, true)
    local c = assert(oauthconnect.connect({ OAuthAccessToken = "x", URL = "https://api.example.com",
      OAuthSettingsLocation = "memory://profiles-spec" }, { pagination = "bigcommerce" }))
    assert.equal("meta_pagination", c.profile.pagination)
    c:close()
    local _, err = oauthconnect.connect({ OAuthAccessToken = "x", URL = "https://api.example.com" },
      { token_url = "http://auth.example.com/token" })
    assert.equal("insecure_url", err.code)
    assert.equal("token_url", err.field)
  end)
end)

describe("a new provider as one JSON file", function()
  local sandbox, dir

  before_each(function()
    sandbox = H.sandbox("generic")
    dir = H.tmpdir()
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function base_props(extra)
    local p = { OAuthClientId = "sandbox-client-id", OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW",
      CallbackURL = "http://127.0.0.1:1/cb", OAuthSettingsLocation = dir .. "/acme-tokens.json" }
    for k, v in pairs(extra or {}) do p[k] = v end
    return p
  end

  it("works end to end from Profile= in a connection string: web flow, GET, pages", function()
    local path = dir .. "/acme.json"
    H.write_file(path, json.encode(acme(sandbox)))
    local conn = H.connstr(base_props({ Profile = path }))
    local url, state = assert(oauthconnect.get_authorization_url(conn))
    assert.matches("^" .. sandbox.url:gsub("%p", "%%%0") .. "/oauth2/authorize%?", url)
    assert.matches("code_challenge_method=S256", url, 1, true)
    assert.matches("scope=api", url, 1, true)
    local callback = H.follow(url)
    assert.equal(state, callback.state)
    assert(oauthconnect.get_access_token(conn, callback)) -- the verifier found by the state
    local sent = sandbox:requests("/oauth2/token")
    assert.equal(1, #sent)
    assert.matches("^Basic ", sent[1].headers.authorization) -- the file's code_auth
    local c = assert(oauthconnect.connect(conn))
    assert.equal("Acme", c.profile.title)
    assert.equal("authorization_code", assert(c:get("/me")).grant)
    local n = 0
    for _ in c:each("/items") do n = n + 1 end
    assert.equal(250, n)
    assert.equal("50", sandbox:requests("/api/items")[1].query.limit) -- the file's page_size
    c:close()
  end)

  it("works from Profile= in a Lua options table, ~ expanded", function()
    H.write_file(dir .. "/acme.json", json.encode(acme(sandbox)))
    local out, err, code = H.run_lua([[
      local oauthconnect = require "oauthconnect"
      local props = ]] .. ("%q"):format(json.encode(base_props({ Profile = "~/acme.json" }))) .. [[
      props = require("oauthconnect.json").decode(props)
      local url = assert(oauthconnect.get_authorization_url(props))
      local redirect = io.popen("curl -s -o /dev/null -w '%{redirect_url}' '" .. url .. "'"):read("a")
      local q = {}
      for k, v in redirect:match("%?(.*)$"):gmatch("([^&=]+)=([^&]*)") do q[k] = v end
      assert(oauthconnect.get_access_token(props, q))
      local c = assert(oauthconnect.connect(props))
      print(c.profile.title, assert(c:get("/me")).grant)
    ]], { HOME = dir })
    assert.equal(0, code, err)
    assert.equal("Acme\tauthorization_code\n", out)
  end)

  -- The command, with HOME and the config in dir.
  local function run(args, extra_env)
    local e = { HOME = dir, XDG_CONFIG_HOME = dir .. "/config", BROWSER = H.BROWSER }
    for k, v in pairs(extra_env or {}) do e[k] = v end
    local parts = { "env", H.LUA_ENV }
    for k, v in pairs(e) do parts[#parts + 1] = k .. "=" .. H.q(v) end
    parts[#parts + 1] = H.LUA .. " " .. H.q(CLI) .. " " .. args
    local errfile = dir .. "/stderr"
    local out, code = H.capture(table.concat(parts, " ") .. " 2>" .. H.q(errfile) .. " </dev/null")
    return out, H.read_file(errfile) or "", code
  end

  it("works through the command: a connection with Profile=, under any name", function()
    H.write_file(dir .. "/acme.json", json.encode(acme(sandbox)))
    local props = base_props({ Profile = "~/acme.json", LoginTimeout = 5,
      CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/cb" })
    os.execute("mkdir -p " .. H.q(dir .. "/config/oauthconnect"))
    H.write_file(dir .. "/config/oauthconnect/connections.json", json.encode({ acme = { connection = props } }), "600")
    local out, err, code = run("login acme")
    assert.equal(0, code, err)
    assert.matches("Logged in to Acme", err, 1, true)
    out, err, code = run("status acme")
    assert.equal(0, code, err)
    assert.matches("provider: Acme (" .. sandbox.url .. "/api)", out, 1, true)
    assert.matches("logged in as: sandbox-client-id, authorization_code", out, 1, true)
    out, err, code = run("get acme /me")
    assert.equal(0, code, err)
    assert.equal("authorization_code", json.decode(out).grant)
    out, err, code = run("export acme /items --format json")
    assert.equal(0, code, err)
    assert.equal(250, #json.decode(out))
    -- the custom provider's name takes it too, from --connection
    out, err, code = run("get custom /me -c " .. H.q(H.connstr(props)))
    assert.equal(0, code, err)
    out, err, code = run("logout acme")
    assert.equal(0, code, err)
    assert.matches("Logged out of Acme", err, 1, true)
    -- a broken file is a usage error naming it and the field
    H.write_file(dir .. "/acme.json", json.encode(acme(sandbox, { pkce = "no" })))
    out, err, code = run("get acme /me")
    assert.equal(2, code, err)
    assert.matches("Profile: profile file " .. dir .. "/acme.json: field 'pkce' must be true or false", err, 1, true)
    os.remove(dir .. "/acme.json")
    out, err, code = run("status acme")
    assert.equal(2, code, err)
    assert.matches("Profile: the profile file " .. dir .. "/acme.json does not exist", err, 1, true)
    -- a name that is neither a provider nor given a Profile= is still unknown
    out, err, code = run("get nosuch /me -c " .. H.q("OAuthAccessToken=x;URL=" .. sandbox.url .. "/api"))
    assert.equal(2, code, err)
    assert.matches("unknown provider or profile 'nosuch': use bigcommerce, custom, infusionsoft (keap), jumpseller",
      err, 1, true)
  end)

  it("joins the registry, the command and its help when dropped beside the built-in ones", function()
    local tree = dir .. "/tree"
    os.execute("mkdir -p " .. H.q(tree .. "/oauthconnect/profiles"))
    H.write_file(tree .. "/oauthconnect/profiles/acme.json", json.encode(acme(sandbox, { aliases = { "acmecorp" } })))
    local env = { LUA_PATH = tree .. "/?.lua;" .. H.LPATH .. ";;" }
    -- the help lists exactly the registry's providers, the new one among them
    local out, err, code = run("get --help", env)
    assert.equal(0, code, err)
    local help = out:gsub("%s+", " ")
    assert.matches("acme (acmecorp), bigcommerce, custom, infusionsoft (keap), jumpseller, or a name in "
      .. "connections.json", help, 1, true)
    assert.matches("OAuth 2 connections to Acme, BigCommerce, Keap, Jumpseller and any OAuth 2 server",
      (run("--help", env):gsub("%s+", " ")), 1, true)
    -- and the command runs it by its name or alias, with no Profile=
    local props = base_props({ LoginTimeout = 5, CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/cb" })
    out, err, code = run("login acmecorp -c " .. H.q(H.connstr(props)), env)
    assert.equal(0, code, err)
    assert.matches("Logged in to Acme", err, 1, true)
    out, err, code = run("get acme /me -c " .. H.q(H.connstr(props)), env)
    assert.equal(0, code, err)
    assert.equal("authorization_code", json.decode(out).grant)
    -- as does the library, with no module file
    out, err, code = H.run_lua([[
      local providers = require "oauthconnect.providers"
      print(providers.resolve("acmecorp"), providers.module("acmecorp").profile.title)
    ]], env)
    assert.equal(0, code, err)
    assert.equal("acme\tAcme\n", out)
    -- two files claiming one name break the registry, by name
    H.write_file(tree .. "/oauthconnect/profiles/keap2.json", json.encode({ name = "keap2", aliases = { "keap" } }))
    out, err, code = H.run_lua([[print(pcall(require("oauthconnect.providers").list))]], env)
    assert.equal(0, code, err)
    assert.matches("the built-in profiles infusionsoft and keap2 both claim the name 'keap'", out, 1, true)
  end)
end)
