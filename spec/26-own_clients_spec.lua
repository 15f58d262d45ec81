-- Users' own HTTP clients, signed by client:send, against each provider
-- whose tokens expire during the run: LuaSocket, LuaSec, Debian's lua-curl
-- and lua-http (the last two are built for LuaJIT on Debian, so they run in
-- a LuaJIT child with the LuaJIT module), and an OpenResty handler with its
-- own cosocket code.
local H = require "helpers"
local json = require "oauthconnect.json"

local LUAJIT_CPATH = os.getenv("OC_LUAJIT_CPATH") or (H.ROOT .. "/build-luajit/lua/?.so")
local LUAJIT_ENV = "LUA_PATH=" .. H.q(H.ROOT .. "/lua/?.lua;" .. H.ROOT .. "/spec/?.lua;;")
  .. " LUA_CPATH=" .. H.q(LUAJIT_CPATH .. ";;")

local PATHS = { jumpseller = "/v1/store/info.json", keap = "/crm/rest/v1/contacts/1",
  bigcommerce = "/stores/sbx123abc/v3/catalog/products" }
local MODULES = { jumpseller = "jumpseller", keap = "infusionsoft", bigcommerce = "bigcommerce" }

describe("users' own HTTP clients", function()
  local sandbox
  after_each(function()
    if sandbox then sandbox:stop() end
    sandbox = nil
    H.cleanup()
  end)

  -- A logged-in connection to provider's sandbox (access tokens living ttl
  -- seconds), its properties and its settings file.
  local function logged_in(provider, flags, extra, cacert)
    -- BigCommerce's tokens never expire (nor refresh): its sandbox keeps them
    local args = provider == "bigcommerce" and {} or { "--access-ttl", "3" }
    for _, f in ipairs(flags or {}) do args[#args + 1] = f end
    sandbox = H.sandbox(provider, args)
    sandbox.cacert = cacert
    local base = { InitiateOAuth = "REFRESH", OAuthSettingsLocation = H.tmpdir() .. "/s.json",
      CallbackURL = "http://127.0.0.1:1/callback" }
    for k, v in pairs(extra or {}) do base[k] = v end
    local props = provider == "keap" and sandbox:keap_props(base)
      or provider == "bigcommerce" and sandbox:bigcommerce_props(base) or sandbox:jumpseller_props(base)
    local code, cb = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert(require(MODULES[provider]).get_access_token(props, provider == "bigcommerce" and cb or code,
      provider == "bigcommerce" and { redirect_uri = props.CallbackURL } or nil))
    sandbox:reset()
    return props
  end

  -- Runs spec/clients/own_client.lua with lib: ok, failed, first error.
  local function run(lib, provider, props, lua, env, extra_env)
    local cmd = env .. " CONN=" .. H.q(H.connstr(props)) .. " PROVIDER=" .. MODULES[provider]
      .. " URL=" .. H.q(sandbox.url .. PATHS[provider]) .. " N=8 INTERVAL=1 LIB=" .. lib
      .. " " .. (extra_env or "") .. " " .. lua .. " " .. H.q(H.ROOT .. "/spec/clients/own_client.lua") .. " 2>&1"
    local out = H.capture(cmd)
    local ok, failed, first = out:match("ok=(%d+) failed=(%d+) first_error=([^\n]*)")
    assert(ok, out)
    return tonumber(ok), tonumber(failed), first
  end

  for _, provider in ipairs({ "jumpseller", "keap", "bigcommerce" }) do
    it("LuaSocket sends " .. provider .. "'s requests across token lifetimes", function()
      local props = logged_in(provider)
      local ok, failed, first = run("luasocket", provider, props, H.LUA, H.LUA_ENV)
      assert.equal(0, failed, first)
      assert.equal(8, ok)
      if provider ~= "bigcommerce" then -- its tokens never expire
        assert.is_true(sandbox:stats().refreshes >= 2)
      end
      assert.equal(0, sandbox:stats().invalid_grant)
    end)
  end

  it("LuaSec sends over verified TLS", function()
    local ca, cert, key = H.make_ca(H.tmpdir())
    local props = logged_in("jumpseller", { "--tls-cert", cert, "--tls-key", key }, { SSLServerCert = ca }, ca)
    local ok, failed, first = run("luasec", "jumpseller", props, H.LUA, H.LUA_ENV, "CAFILE=" .. H.q(ca))
    assert.equal(0, failed, first)
    assert.equal(8, ok)
    assert.is_true(sandbox:stats().refreshes >= 2)
  end)

  it("Debian's lua-curl (an easy handle's HTTPHEADER) and lua-http send them too", function()
    for _, lib in ipairs({ "luacurl", "luahttp" }) do
      local props = logged_in("keap")
      local ok, failed, first = run(lib, "keap", props, "luajit", LUAJIT_ENV)
      assert.equal(0, failed, lib .. ": " .. first)
      assert.equal(8, ok, lib)
      assert.is_true(sandbox:stats().refreshes >= 2, lib)
      sandbox:stop()
    end
  end)

  it("an OpenResty handler sends with its own cosocket code", function()
    local props = logged_in("jumpseller")
    local prefix, port = H.tmpdir(), H.free_port()
    os.execute("mkdir -p " .. H.q(prefix .. "/tmp"))
    local user, group = H.capture("id -un"):gsub("%s+$", ""), H.capture("id -gn"):gsub("%s+$", "")
    local conf = ([[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
user %s %s;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log notice;
env CONN;
env TARGET;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;
  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;
  lua_package_path "%s/spec/clients/?.lua;%s/lua/?.lua;;";
  lua_package_cpath "%s;;";
  server {
    listen 127.0.0.1:%d;
    include %s/examples/openresty/oauthconnect.conf; # the library's own token requests
    location = /t { content_by_lua_block { require("cosocket_client").run() } }
  }
}]]):format(user, group, prefix, prefix, prefix, prefix, prefix, prefix, prefix, H.ROOT, H.ROOT,
      LUAJIT_CPATH, port, H.ROOT)
    H.write_file(prefix .. "/nginx.conf", conf)
    local out, code = H.capture("CONN=" .. H.q(H.connstr(props)) .. " TARGET=" .. H.q(sandbox.url .. PATHS.jumpseller)
      .. " nginx -p " .. H.q(prefix) .. " -c " .. H.q(prefix .. "/nginx.conf") .. " 2>&1")
    assert(code == 0, out)
    for _ = 1, 8 do
      local status, body = H.http("GET", "http://127.0.0.1:" .. port .. "/t")
      assert.equal(200, status, tostring(body) .. (H.read_file(prefix .. "/error.log") or ""))
      assert.equal("Sandbox Store", json.decode(body).store.name)
      H.sleep(1)
    end
    H.stop_nginx(prefix)
    assert.is_true(sandbox:stats().refreshes >= 2)
    assert.equal(0, sandbox:stats().invalid_grant)
  end)
end)
