-- Stores inside nginx without blocking a worker: tokens in an nginx shared
-- dict (shm://) every worker shares, and Redis over cosockets; and the
-- properties the nginx driver cannot honour, refused by name.
local H = require "helpers"
local json = require "oauthconnect.json"

local CPATH = os.getenv("OC_LUAJIT_CPATH") or (H.ROOT .. "/build-luajit/lua/?.so")

local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
user @USER@ @GROUP@;
worker_processes 2;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/error.log notice;
env OC_TEST_CONN;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path @PREFIX@/tmp; proxy_temp_path @PREFIX@/tmp; fastcgi_temp_path @PREFIX@/tmp;
    uwsgi_temp_path @PREFIX@/tmp; scgi_temp_path @PREFIX@/tmp;
    lua_package_path "@ROOT@/spec/nginx/?.lua;@ROOT@/lua/?.lua;;";
    lua_package_cpath "@CPATH@;;";
    lua_shared_dict oauthconnect_tokens 1m;
    server {
        listen 127.0.0.1:@PORT@ reuseport;
        default_type application/json;
        include @ROOT@/examples/openresty/oauthconnect.conf;
        location = /exchange { content_by_lua_block { require("stores_app").exchange() } }
        location = /store { content_by_lua_block { require("stores_app").store() } }
        location = /refused { content_by_lua_block { require("stores_app").refused() } }
    }
}
]]

local function start_nginx(conn)
  local prefix, port = H.tmpdir(), H.free_port()
  os.execute("mkdir -p " .. H.q(prefix .. "/tmp"))
  local user, group = H.capture("id -un"):gsub("%s+$", ""), H.capture("id -gn"):gsub("%s+$", "")
  local conf = CONF:gsub("@(%u+)@", { PREFIX = prefix, ROOT = H.ROOT, CPATH = CPATH, PORT = tostring(port),
    USER = user, GROUP = group })
  H.write_file(prefix .. "/nginx.conf", conf)
  local out, code = H.capture("OC_TEST_CONN=" .. H.q(conn) .. " nginx -p " .. H.q(prefix) .. " -c "
    .. H.q(prefix .. "/nginx.conf") .. " 2>&1")
  assert(code == 0, "nginx did not start: " .. out)
  return { prefix = prefix, base = "http://127.0.0.1:" .. port,
    log = function() return H.read_file(prefix .. "/error.log") or "" end }
end

-- n requests to url at once (curl's parallel mode): the statuses and bodies.
local function parallel_get(url, n)
  local dir = H.tmpdir()
  local cmd = { "curl", "-s", "--parallel", "--parallel-max", tostring(n) }
  for i = 1, n do
    cmd[#cmd + 1] = "-o " .. H.q(dir .. "/" .. i) .. " -w '%{http_code}\\n' " .. H.q(url)
  end
  local codes = H.capture(table.concat(cmd, " "))
  local statuses, bodies = {}, {}
  for c in codes:gmatch("%d+") do statuses[#statuses + 1] = tonumber(c) end
  for i = 1, n do bodies[i] = H.read_file(dir .. "/" .. i) end
  return statuses, bodies
end

for _, kind in ipairs({ "shm", "redis" }) do
  describe("nginx with " .. kind .. ":// tokens", function()
    local sandbox, ng, redis, location

    setup(function()
      sandbox = H.sandbox("jumpseller", { "--access-ttl", "4" })
      if kind == "redis" then
        redis = H.redis()
        location = redis:url("nginx:tokens")
      else
        location = "shm://oauthconnect_tokens"
      end
      local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = location,
        CallbackURL = "http://127.0.0.1:1/callback" })
      ng = start_nginx(H.connstr(props))
    end)
    teardown(function()
      H.stop_nginx(ng.prefix)
      sandbox:stop()
      if redis then redis:stop() end
      H.cleanup()
    end)

    it("keeps the web flow's tokens where every worker finds them, and refreshes once when they expire", function()
      local code = sandbox:authorize({ redirect_uri = "http://127.0.0.1:1/callback" })
      local status, body = H.http("GET", ng.base .. "/exchange?code=" .. code)
      assert.equal(200, status, tostring(body) .. ng.log())
      if kind == "redis" then
        assert.matches("refresh_token", redis:cli("GET nginx:tokens"), 1, true)
      end
      sandbox:reset()
      local statuses, bodies = parallel_get(ng.base .. "/store", 40)
      local pids = {}
      assert.equal(40, #statuses)
      for i, s in ipairs(statuses) do
        assert.equal(200, s, tostring(bodies[i]) .. ng.log())
        pids[json.decode(bodies[i]).pid] = true
      end
      assert.equal(0, sandbox:stats().refreshes)
      H.sleep(3.3) -- both workers' tokens are due
      statuses, bodies = parallel_get(ng.base .. "/store", 40)
      for i, s in ipairs(statuses) do assert.equal(200, s, tostring(bodies[i]) .. ng.log()) end
      assert.equal(1, sandbox:stats().refreshes)
      assert.equal(0, sandbox:stats().invalid_grant)
      local workers = 0
      for _ in pairs(pids) do workers = workers + 1 end
      assert.is_true(workers >= 1)
    end)
  end)
end

describe("nginx's refusals", function()
  local sandbox, ng
  setup(function()
    sandbox = H.sandbox("jumpseller")
    local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = "shm://oauthconnect_tokens",
      OAuthRefreshToken = "r" })
    ng = start_nginx(H.connstr(props))
  end)
  teardown(function()
    H.stop_nginx(ng.prefix)
    sandbox:stop()
    H.cleanup()
  end)

  it("names a property the nginx driver cannot honour and what to use instead", function()
    for property, directive in pairs({ ProxyServer = "forward proxy", SSLServerCert = "proxy_ssl_trusted_certificate" }) do
      local status, body = H.http("GET", ng.base .. "/refused?property=" .. property .. "&value=x")
      assert.equal(200, status, body)
      local r = json.decode(body)
      assert.equal("unsupported", r.code)
      assert.equal(property, r.property)
      assert.matches(directive, r.message, 1, true)
    end
  end)
end)
