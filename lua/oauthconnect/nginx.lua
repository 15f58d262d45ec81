-- The nginx driver: inside an nginx request handler (OpenResty, or Debian's
-- libnginx-mod-http-lua) the core's HTTP steps go out as subrequests to an
-- internal location that proxies them (nginx does the I/O, so the worker
-- keeps serving other requests) and its waits are ngx.sleep. The OAuth
-- decisions stay in the C core (see csrc/oc_call.h).
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

local core = require "oauthconnect.core"

local ngx = ngx -- luacheck: ignore (nil outside nginx)
local pcall, error, ipairs, pairs = pcall, error, ipairs, pairs

local _M = { location = "/_oauthconnect" }

local SUBREQUEST_PHASES = { rewrite = true, access = true, content = true }
local BLOCKING_PHASES = { init = true, init_worker = true }

-- Whether this runs inside nginx's Lua module.
function _M.available()
  return ngx ~= nil and ngx.get_phase ~= nil
end

-- The driver for this moment: "nginx", "curl", or nil, why.
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

-- curl_fn(...) where blocking is right, nginx_fn(...) in a handler that can
-- make subrequests, or nil, err (code "unsupported") where neither can run.
function _M.drive(mode, curl_fn, nginx_fn, ...)
  local how, why = _M.choose(mode)
  if how == "curl" then return curl_fn(...) end
  if not how then return nil, core.error("unsupported", why) end
  return nginx_fn(...)
end

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

-- In the internal location's header filter: what nginx knows of the
-- exchange with the server, for the driver to read after the capture.
function _M.subrequest_answered()
  local ctx, var = ngx.ctx, ngx.var
  if not ctx.oauthconnect_headers then return end
  ctx.oauthconnect_answer = {
    header_time = var.upstream_header_time, -- "-" or empty: no answer came
    bytes_sent = var.upstream_bytes_sent,
  }
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

-- One HTTP step as a subrequest: status, headers, body, or nil, message,
-- sent, timed_out.
local function perform(location, method, url, lines, body)
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
  local ctx = { oauthconnect_url = url, oauthconnect_headers = headers, oauthconnect_body = body ~= nil }
  local res = ngx.location.capture(location, {
    method = code,
    body = body,
    ctx = ctx,
  })
  local shown = method .. " " .. url:match("^[^?#]*")
  local answer = ctx.oauthconnect_answer
  if not answer then
    return nil, ("%s: the nginx location %s is missing or not set up as in "
      .. "examples/openresty/oauthconnect.conf (HTTP %d)"):format(shown, location, res.status), false
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

local function run(call, location)
  while true do
    local step, a, b, c, d = call:next()
    if step == "done" then return end
    if step == "wait" then
      ngx.sleep(a)
    else
      local status, headers, body, timed_out = perform(location, a, b, c, d)
      if status then
        call:feed(status, headers, body)
      else
        call:fail(headers, body, timed_out)
      end
    end
  end
end

-- Runs a started call to its end and returns its result; the call is
-- closed (its locks released) even when something raises.
local function finish(location, call, err)
  if not call then return nil, err end
  local ok, e = pcall(run, call, location)
  if not ok then
    call:close()
    error(e, 0)
  end
  local a, b, c = call:result()
  call:close()
  return a, b, c
end

function _M.request(handle, location, method, path, query, headers, body, fail_on_http)
  return finish(location, handle:call_request(method, path, query, headers, body, fail_on_http))
end

-- need: "if_due", "force" or "connect" (see csrc/oc_call.h)
function _M.token(handle, location, need)
  return finish(location, handle:call_token(need))
end

function _M.exchange_code(handle, location, code, params, verifier, redirect_uri)
  return finish(location, handle:call_exchange(code, params, verifier, redirect_uri))
end

-- request_many's shape ({ res_or_err, ... }) from light threads, one per
-- request; they share one refresh through the core.
function _M.request_many(handle, location, reqs)
  local threads, results = {}, {}
  for i, r in ipairs(reqs) do
    threads[i] = ngx.thread.spawn(_M.request, handle, location, r.method or "GET", r.path, r.query,
      nil, nil, r.fail_on_http)
  end
  for i, t in ipairs(threads) do
    local ok, status, headers, body = ngx.thread.wait(t)
    if not ok then error(status, 0) end
    if status then
      results[i] = { status = status, headers = headers, body = body } -- headers raw
    else
      results[i] = headers
    end
  end
  return results
end

return _M
