--- The nginx driver: the engine's I/O as nginx subrequests, shared dicts, cosockets and ngx.sleep.
-- The nginx driver: inside an nginx request handler (OpenResty, or Debian's
-- libnginx-mod-http-lua) the engine's HTTP steps go out as subrequests to an
-- internal location that proxies them, its store steps go to nginx's shared
-- dicts (shm://) or to Redis over cosockets (redis://), and its waits are
-- ngx.sleep: the worker keeps serving other requests. The decisions stay in
-- the C core (csrc/oc_call.h); the loop is oauthconnect/driver.lua's.
--
-- The location, in the server block (examples/openresty/oauthconnect.conf):
--
--   include /path/to/oauthconnect.conf;   -- location = /_oauthconnect { internal; ... }
--
-- Phases: rewrite, access and content use subrequests. init and
-- init_worker (no request is being served yet) use the blocking libcurl
-- path. Elsewhere (timer, log, header/body filters, balancer, ssl_*, set)
-- nginx cannot make subrequests and a call fails with code "unsupported",
-- unless the client was made with io = "curl" (which blocks the worker).
-- @module oauthconnect.nginx

local core = require "oauthconnect.core"

local ngx = ngx -- luacheck: ignore (nil outside nginx)
local ipairs, pairs, tonumber, error = ipairs, pairs, tonumber, error

local _M = { location = "/_oauthconnect" }

local SUBREQUEST_PHASES = { rewrite = true, access = true, content = true }
local BLOCKING_PHASES = { init = true, init_worker = true }

--- Inside nginx?
-- Whether this runs inside nginx's Lua module.
-- @treturn boolean
function _M.available()
  return ngx ~= nil and ngx.get_phase ~= nil
end

--- The driver for this moment.
-- The driver for this moment: "nginx", "curl", or nil, why.
-- @tparam ?string mode the client's `io` option (`"curl"`, `"nginx"` or nil)
-- @treturn[1] string `"nginx"` or `"curl"`
-- @return[2] nil
-- @treturn[2] string why neither can run in this phase
function _M.choose(mode)
  if mode == "curl" then return "curl" end
  if not (ngx and ngx.get_phase) then
    if mode == "nginx" then return nil, "io = \"nginx\" needs nginx's Lua module (ngx is not defined)" end
    return "curl"
  end
  local phase = ngx.get_phase()
  if SUBREQUEST_PHASES[phase] then return "nginx" end
  if BLOCKING_PHASES[phase] and mode ~= "nginx" then return "curl" end
  return nil, ("nginx cannot make subrequests in the %s phase: call from rewrite, access or "
    .. "content handlers, or make the client with io = \"curl\" (which blocks the worker)"):format(phase)
end

-- ---- properties nginx cannot honour --------------------------------------------------

-- What the subrequest location cannot do, and what to do instead.
local NOT_HONOURED = {
  ProxyServer = "nginx's proxy module cannot send through a forward proxy: reach the provider "
    .. "directly, or make the client with io = \"curl\" (which blocks the worker)",
  ProxyPort = "set with ProxyServer, which the nginx driver cannot honour",
  ProxyUser = "set with ProxyServer, which the nginx driver cannot honour",
  ProxyPassword = "set with ProxyServer, which the nginx driver cannot honour",
  ProxyAuthScheme = "set with ProxyServer, which the nginx driver cannot honour",
  SSLServerCert = "in nginx the trusted certificates are the location's: set "
    .. "proxy_ssl_trusted_certificate in oauthconnect.conf (and lua_ssl_trusted_certificate for rediss://)",
}

--- The property the nginx driver cannot honour, as an error.
-- nil, or the error naming the first property in props (a table of
-- canonical names) the nginx driver cannot honour.
-- @tparam table props the properties given, as a set of canonical names
-- @string scheme the AuthScheme, upper case
-- @treturn ?oauthconnect.err the error (code `unsupported`), or nil
function _M.refused_property(props, scheme)
  for name in pairs(props) do
    local why = NOT_HONOURED[name]
    if why then
      return core.error("unsupported", ("%s cannot be honoured inside nginx: %s"):format(name, why),
        { property = name })
    end
  end
  if scheme == "NTLM" then
    return core.error("unsupported", "AuthScheme=NTLM cannot be honoured inside nginx: NTLM "
      .. "authenticates a connection, and the nginx driver's subrequests share nginx's; make the "
      .. "client with io = \"curl\" (which blocks the worker)", { property = "AuthScheme" })
  end
  return nil
end

-- ---- HTTP through the internal location ----------------------------------------------

--- In the internal location's rewrite phase (oauthconnect.conf): sets the subrequest up.
-- In the internal location: the subrequest carries exactly the headers the
-- core built (a subrequest starts with a copy of its parent's, which may
-- hold the browser's cookies; they are not the provider's business).
function _M.subrequest()
  local ctx = ngx.ctx
  local want = ctx.oauthconnect_headers
  if not want then return ngx.exit(403) end -- not one of ours
  ngx.var.oauthconnect_url = ctx.oauthconnect_url
  local req = ngx.req
  for name in pairs(req.get_headers(0, true)) do
    -- Content-Length is the capture's own when it carries a body.
    if not (ctx.oauthconnect_body and name:lower() == "content-length") then req.clear_header(name) end
  end
  for _, h in ipairs(want) do req.set_header(h[1], h[2]) end
end

--- In the internal location's header filter (oauthconnect.conf).
-- In the internal location's header filter: what nginx knows of the
-- exchange with the server, for the driver to read after the capture; an
-- answer announcing more than the limit is not read into memory at all.
function _M.subrequest_answered()
  local ctx, var = ngx.ctx, ngx.var
  if not ctx.oauthconnect_headers then return end
  ctx.oauthconnect_answer = {
    header_time = var.upstream_header_time, -- "-" or empty: no answer came
    bytes_sent = var.upstream_bytes_sent,
  }
  local length = tonumber(ngx.header["Content-Length"] or "")
  if length and ctx.oauthconnect_max and ctx.oauthconnect_max > 0 and length > ctx.oauthconnect_max then
    ctx.oauthconnect_too_large = true
  end
end

--- In the internal location's body filter (oauthconnect.conf).
-- In the internal location's body filter: the answer is counted as it
-- arrives, and what passes the limit is dropped there, so a huge answer
-- never grows the worker (the capture keeps only what this lets through).
function _M.subrequest_body()
  local ctx = ngx.ctx
  local max = ctx.oauthconnect_max
  if not ctx.oauthconnect_headers or not max or max <= 0 then return end
  if ctx.oauthconnect_too_large then
    ngx.arg[1] = ""
    return
  end
  local chunk = ngx.arg[1]
  local seen = (ctx.oauthconnect_seen or 0) + (chunk and #chunk or 0)
  ctx.oauthconnect_seen = seen
  if seen > max then
    ctx.oauthconnect_too_large = true
    ngx.arg[1] = ""
  end
end

local METHODS
local function method_code(m)
  if not METHODS then
    METHODS = { GET = ngx.HTTP_GET, POST = ngx.HTTP_POST, PUT = ngx.HTTP_PUT,
      PATCH = ngx.HTTP_PATCH, DELETE = ngx.HTTP_DELETE, HEAD = ngx.HTTP_HEAD,
      OPTIONS = ngx.HTTP_OPTIONS }
  end
  return METHODS[m]
end

--- The HTTP performer for the driver.
-- The HTTP performer for the driver: one step as a subrequest to location.
-- @string location the internal location (default `/_oauthconnect`)
-- @treturn function the performer
function _M.http(location)
  return function(method, url, lines, body, _, max_body)
    local code = method_code(method)
    if not code then return nil, method .. " cannot be sent through an nginx subrequest", false end
    local headers = {}
    for i, line in ipairs(lines) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      headers[i] = { name, value }
    end
    -- Without a body of its own a POST or PUT subrequest would forward the
    -- parent's (the request nginx is serving).
    if body == nil and method ~= "GET" and method ~= "HEAD" and method ~= "DELETE" then body = "" end
    local ctx = { oauthconnect_url = url, oauthconnect_headers = headers, oauthconnect_body = body ~= nil,
      oauthconnect_max = max_body }
    local res = ngx.location.capture(location, { method = code, body = body, ctx = ctx })
    local shown = method .. " " .. url:match("^[^?#]*")
    local answer = ctx.oauthconnect_answer
    if not answer then
      return nil, ("%s: the nginx location %s is missing or not set up as in "
        .. "examples/openresty/oauthconnect.conf (HTTP %d)"):format(shown, location, res.status), false
    end
    if ctx.oauthconnect_too_large then
      return nil, ("%s: the answer is larger than the limit of %d bytes"):format(shown, max_body), true,
        false, true
    end
    local header_time = answer.header_time
    if header_time == nil or header_time == "" or header_time:find("^%-") then
      local timed_out = res.status == 504
      return nil, ("%s: %s (nginx's error log says why)"):format(shown,
        timed_out and "the server did not answer in time" or "nginx could not get an answer from the server"),
        (answer.bytes_sent or ""):find("[1-9]") ~= nil, timed_out
    end
    if res.truncated then
      return nil, shown .. ": the answer was cut short", true
    end
    return res.status, res.header, res.body or ""
  end
end

-- ---- stores ----------------------------------------------------------------------------

--- The Lua store for an OAuthSettingsLocation inside nginx.
-- The Lua store the nginx driver keeps for OAuthSettingsLocation, or nil
-- when the client's C store serves (files, memory://); raises on a bad one.
-- @tparam ?string location OAuthSettingsLocation (`shm://...`, `redis://...`, a file...)
-- @int timeout_ms the Timeout property, in milliseconds
-- @treturn ?table a store (@{oauthconnect.store.shm}, @{oauthconnect.store.redis}), or nil
function _M.store(location, timeout_ms)
  if not location then return nil end
  local scheme = location:match("^(%a[%w+.-]*)://")
  scheme = scheme and scheme:lower()
  if scheme == "shm" then
    return require("oauthconnect.store.shm").new(location)
  end
  if scheme == "redis" or scheme == "rediss" then
    local store, err = require("oauthconnect.store.redis").new(location, timeout_ms)
    if not store then error(err, 0) end
    return store
  end
  return nil
end

--- Sleeps without blocking the worker (ngx.sleep).
-- @function sleep
-- @number s seconds
_M.sleep = function(s) return ngx.sleep(s) end

return _M
