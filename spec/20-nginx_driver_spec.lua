-- The nginx driver (lua/oauthconnect/nginx.lua) case by case, inside a
-- minimal nginx: transport failures told apart from a server's own 502,
-- timeouts, a missing proxy location, the phases without subrequests,
-- paging with light threads, a forced refresh.
local H = require "helpers"
local json = require "oauthconnect.json"

local CPATH = os.getenv("OC_LUAJIT_CPATH") or (H.ROOT .. "/build-luajit/lua/?.so")

local q = H.q

local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
user @USER@ @GROUP@;
worker_processes 1;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/error.log notice;
env OC_TEST_CONN;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path @PREFIX@/tmp; proxy_temp_path @PREFIX@/tmp; fastcgi_temp_path @PREFIX@/tmp;
    uwsgi_temp_path @PREFIX@/tmp; scgi_temp_path @PREFIX@/tmp;
    lua_package_path "@ROOT@/spec/nginx/?.lua;@ROOT@/lua/?.lua;;";
    lua_package_cpath "@CPATH@;;";
    server {
        listen 127.0.0.1:@PORT@;
        default_type application/json;
        include @ROOT@/examples/openresty/oauthconnect.conf;
        # The same with a 1 s read timeout, for the timeout case.
        location = /_oauthconnect_1s {
            internal;
            set $oauthconnect_url "";
            rewrite_by_lua_block { require("oauthconnect.nginx").subrequest() }
            proxy_pass $oauthconnect_url;
            proxy_read_timeout 1s;
            header_filter_by_lua_block { require("oauthconnect.nginx").subrequest_answered() }
        }
        location = /t {
            content_by_lua_block { require("driver_cases").run() }
        }
    }
}
]]

local function start_nginx(conn)
  local prefix, port = H.tmpdir(), H.free_port()
  os.execute("mkdir -p " .. q(prefix .. "/tmp"))
  local user, group = H.capture("id -un"):gsub("%s+$", ""), H.capture("id -gn"):gsub("%s+$", "")
  local conf = CONF:gsub("@(%u+)@", { PREFIX = prefix, ROOT = H.ROOT, CPATH = CPATH, PORT = tostring(port),
    USER = user, GROUP = group })
  H.write_file(prefix .. "/nginx.conf", conf)
  local out, code = H.capture("OC_TEST_CONN=" .. q(conn) .. " nginx -p " .. q(prefix) .. " -c "
    .. q(prefix .. "/nginx.conf") .. " 2>&1")
  assert(code == 0, "nginx did not start: " .. out)
  local ng = { prefix = prefix, base = "http://127.0.0.1:" .. port }
  function ng.case(name)
    local status, body = H.http("GET", ng.base .. "/t?case=" .. name)
    assert(status == 200, "case " .. name .. ": HTTP " .. tostring(status) .. " " .. tostring(body)
      .. (H.read_file(prefix .. "/error.log") or ""))
    return json.decode(body)
  end
  function ng.stop() H.stop_nginx(prefix) end
  return ng
end

describe("the nginx driver", function()
  local sandbox, ng

  setup(function()
    sandbox = H.sandbox("jumpseller")
    local code = sandbox:authorize()
    local props = sandbox:jumpseller_props { InitiateOAuth = "REFRESH", OAuthSettingsLocation = H.tmpdir() .. "/t.json" }
    -- tokens for the store, obtained outside nginx
    local jumpseller = require "jumpseller"
    assert(jumpseller.get_access_token(H.connstr(props), code,
      { redirect_uri = "http://127.0.0.1:1/callback" }))
    ng = start_nginx(H.connstr(props))
  end)
  teardown(function()
    if ng then ng.stop() end
    if sandbox then sandbox:stop() end
  end)
  before_each(function() sandbox:reset() end)

  it("makes a signed GET through a subrequest", function()
    local r = ng.case("get")
    assert.is_true(r.ok, r.message)
    assert.equal("Sandbox Store", r.value.store.name)
  end)

  it("does not resend a POST whose connection was closed without an answer", function()
    sandbox:inject { path = "/v1/products.json", method = "POST", action = "close" }
    local r = ng.case("post")
    assert.is_false(r.ok)
    assert.equal("network_error", r.code)
    assert.matches("POST http://127.0.0.1:%d+/v1/products.json: nginx could not get an answer", r.message)
    assert.equal(1, #sandbox:requests("/v1/products.json"))
  end)

  it("tells the server's own 502 from a lost connection", function()
    sandbox:inject { path = "/v1/products.json", method = "POST", status = 502,
      body = '{"message":"upstream exploded"}', headers = { ["Content-Type"] = "application/json" } }
    local r = ng.case("post")
    assert.is_false(r.ok)
    assert.equal("server_error", r.code)
    assert.equal(502, r.status)
    assert.matches("upstream exploded", r.message, 1, true)
  end)

  it("reports a timeout when the server does not answer in time", function()
    sandbox:inject { path = "/v1/store/info.json", action = "hang", count = 3 }
    local r = ng.case("slow_location")
    assert.is_false(r.ok)
    assert.equal("timeout", r.code)
  end)

  it("names a proxy location that is not configured", function()
    local r = ng.case("missing_location")
    assert.is_false(r.ok)
    assert.matches("the nginx location /_not_configured is missing", r.message, 1, true)
  end)

  it("refuses to work in a timer, where nginx has no subrequests, and says why", function()
    local r = ng.case("timer")
    assert.is_false(r.ok)
    assert.equal("unsupported", r.code)
    assert.matches("timer phase", r.message, 1, true)
  end)

  it("uses libcurl in a handler when asked (io = \"curl\")", function()
    local r = ng.case("curl_in_content")
    assert.is_true(r.ok, r.message)
    assert.equal("Sandbox Store", r.value)
  end)

  it("fetches pages with light threads, in order, stopping after the last", function()
    local r = ng.case("paging")
    assert.is_true(r.ok, r.message)
    assert.is_true(r.value.count > 100) -- more than one page
    assert.equal(r.value.count, r.value.items)
    -- pages of 100; a full last page needs one more (empty) page to end on
    assert.equal(math.floor(r.value.count / 100) + 1, r.value.pages)
  end)

  it("raises a page's HTTP error without asking for the page again", function()
    sandbox:inject { path = "/v1/orders.json", status = 422, count = 4,
      body = '{"message":"page refused"}', headers = { ["Content-Type"] = "application/json" } }
    local r = ng.case("paging_error")
    assert.is_false(r.ok)
    assert.equal("unprocessable", r.code)
    assert.equal(422, r.status)
    assert.matches("GET http://127.0.0.1:%d+/v1/orders.json: HTTP 422", r.message)
    assert.matches("page refused", r.message, 1, true)
    assert.equal(4, #sandbox:requests("/v1/orders.json"))
  end)

  it("forces a refresh through the token endpoint", function()
    local r = ng.case("force_refresh")
    assert.is_true(r.ok, r.message)
    assert.is_true(r.value)
    assert.equal(1, sandbox:stats().refreshes)
  end)
end)
