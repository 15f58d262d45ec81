-- The client object a script holds: signed requests, JSON in and out,
-- pagination. The OAuth work (tokens, refresh, locking) is in the C core;
-- this file only turns Lua values into core calls and back.

local core = require "oauthconnect.core"
local json = require "oauthconnect.json"
local pagination = require "oauthconnect.pagination"
local nginx = require "oauthconnect.nginx"

local type, pcall, setmetatable, getmetatable, tostring, rawset, ipairs, pairs =
  type, pcall, setmetatable, getmetatable, tostring, rawset, ipairs, pairs
local encode, decode = json.encode, json.decode

local _M = {}
local mt = { __index = _M }

local JSON_HEADERS = { ["Content-Type"] = "application/json" }
-- Methods already in upper case (upper() per request costs more than a lookup).
local VERBS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true, HEAD = true, OPTIONS = true }

-- Wraps a core client. lua_opts: on_token (function), io ("curl", "nginx"
-- or nil to choose by where it runs), nginx_location.
function _M.wrap(handle, profile, lua_opts)
  local self = setmetatable({
    core = handle,
    profile = profile,
    on_token = lua_opts.on_token,
    io = lua_opts.io,
    location = lua_opts.nginx_location or nginx.location,
    generation = handle:generation(),
  }, mt)
  return self
end

-- The core's request, through the driver for where this runs: libcurl in
-- scripts, nginx subrequests in an nginx handler (see oauthconnect/nginx.lua).
-- Outside nginx the callers go to the core directly, without this.
local IN_NGINX = nginx.available()
local drive = nginx.drive

local function curl_request(self, ...) return self.core:request(...) end
local function nginx_request(self, ...) return nginx.request(self.core, self.location, ...) end
local function perform(self, method, path, query, headers, body, fail_on_http)
  return drive(self.io, curl_request, nginx_request, self, method, path, query, headers, body, fail_on_http)
end

-- res.headers is made from the core's raw block only when a caller reads
-- it: most callers never do, and a table of every header per response
-- costs more than the rest of the client's work.
local raw_headers = setmetatable({}, { __mode = "k" })
local headers_of = core.headers
local RES_MT = {
  __index = function(res, key)
    if key ~= "headers" then return nil end
    local h = headers_of(raw_headers[res] or "")
    raw_headers[res] = nil
    rawset(res, "headers", h)
    return h
  end,
}

-- {status, headers, body} from the core's answer (headers raw).
local function new_res(status, raw, body)
  local res = setmetatable({ status = status, body = body }, RES_MT)
  raw_headers[res] = raw
  return res
end

-- Reports new tokens to on_token once per change (login, refresh, another
-- process's refresh adopted).
local function notify(self)
  if not self.on_token then return end
  local g = self.core:generation()
  if g ~= self.generation then
    self.generation = g
    local token = self.core:token()
    if token then self.on_token(token) end
  end
end
_M.notify = notify

-- Pages at once: parallel libcurl transfers, or light threads in nginx.
local function curl_many(self, reqs) return self.core:request_many(reqs) end
local function nginx_many(self, reqs) return nginx.request_many(self.core, self.location, reqs) end
function _M:request_many(reqs)
  local results, err = drive(self.io, curl_many, nginx_many, self, reqs)
  notify(self)
  if results then
    for i, r in ipairs(results) do
      if getmetatable(r) ~= core.error_mt then results[i] = new_res(r.status, r.headers, r.body) end
    end
  end
  return results, err
end


-- client:request{method, path, query, json, body, headers} -> res | nil, err
-- res = {status, headers (case-insensitive), body}. Any HTTP status is a res.
function _M:request(req)
  if type(req) ~= "table" then error("client:request expects a table", 2) end
  local path = req.path or req.url
  if type(path) ~= "string" then error("client:request needs path (a string)", 2) end
  local headers, body = req.headers, req.body
  if req.json ~= nil and body ~= nil then error("client:request takes body or json, not both", 2) end
  if req.json ~= nil then
    body = encode(req.json)
    if headers then
      -- The caller's Content-Type wins, however it is spelled.
      local h, typed = {}, false
      for k, v in pairs(headers) do
        h[k] = v
        if type(k) == "string" and k:lower() == "content-type" then typed = true end
      end
      if not typed then h["Content-Type"] = "application/json" end
      headers = h
    else
      headers = JSON_HEADERS
    end
  end
  local method = req.method or "GET"
  if not VERBS[method] then
    if type(method) ~= "string" then error("client:request: method must be a string", 2) end
    method = method:upper()
  end
  if req.query ~= nil and type(req.query) ~= "table" then error("client:request: query must be a table", 2) end
  if headers ~= nil and type(headers) ~= "table" then error("client:request: headers must be a table", 2) end
  if body ~= nil and type(body) ~= "string" then error("client:request: body must be a string (or use json)", 2) end
  -- (the common case inline: this runs once per request)
  local status, res_headers, res_body
  if IN_NGINX then
    status, res_headers, res_body = perform(self, method, path, req.query, headers, body)
  else
    status, res_headers, res_body = self.core:request(method, path, req.query, headers, body)
  end
  if self.on_token then notify(self) end
  if not status then return nil, res_headers end
  local res = setmetatable({ status = status, body = res_body }, RES_MT)
  raw_headers[res] = res_headers
  return res
end

-- The verbs: decoded JSON (true for an empty body) and res; nil, err on an
-- HTTP error, a transport failure, or a body that is not JSON.
local function call(self, method, path, query, payload)
  if type(path) ~= "string" then error("path must be a string", 3) end
  if query ~= nil and type(query) ~= "table" then error("query must be a table", 3) end
  local headers
  if payload ~= nil then
    if type(payload) ~= "string" then
      local ok, text = pcall(encode, payload)
      if not ok then error("the body cannot be sent as JSON: " .. tostring(text), 3) end
      payload = text
    end
    headers = JSON_HEADERS
  end
  local status, res_headers, res_body
  if IN_NGINX then
    status, res_headers, res_body = perform(self, method, path, query, headers, payload, true)
  else
    status, res_headers, res_body = self.core:request(method, path, query, headers, payload, true)
  end
  if self.on_token then notify(self) end
  if not status then return nil, res_headers end
  local res = setmetatable({ status = status, body = res_body }, RES_MT)
  raw_headers[res] = res_headers
  if res_body == "" then return true, res end
  local ok, value = pcall(decode, res_body)
  if not ok then
    return nil, core.error("bad_response",
      ("%s: HTTP %d with a body that is not valid JSON"):format(self.core:describe(method, path), status),
      { status = status, body = res_body, headers = res.headers })
  end
  return value, res
end

function _M:get(path, query) return call(self, "GET", path, query) end
function _M:post(path, body, query) return call(self, "POST", path, query, body == nil and "" or body) end
function _M:put(path, body, query) return call(self, "PUT", path, query, body == nil and "" or body) end
function _M:patch(path, body, query) return call(self, "PATCH", path, query, body == nil and "" or body) end
function _M:delete(path, query) return call(self, "DELETE", path, query) end

-- Every item of a paged collection, in order, across pages. opts.in_flight
-- (default 1, at most 32) fetches that many pages at once; the items still
-- come in order, and pages past the last are discarded. opts.on_page(n) is
-- called with each page's item count as the walk reaches it.
function _M:each(path, query, opts)
  local style = pagination[self.profile.pagination or "page"]
  if not style then error("unknown pagination style " .. tostring(self.profile.pagination), 2) end
  if opts ~= nil and type(opts) ~= "table" then error("each: options must be a table", 2) end
  for k in pairs(opts or {}) do
    if k ~= "in_flight" and k ~= "on_page" then
      error("each: unknown option '" .. tostring(k) .. "' (in_flight, on_page; page size goes in the query)", 2)
    end
  end
  local in_flight = opts and opts.in_flight or 1
  if type(in_flight) ~= "number" or in_flight < 1 or in_flight > 32 or in_flight % 1 ~= 0 then
    error("in_flight must be a whole number from 1 to 32", 2)
  end
  if opts and opts.on_page ~= nil and type(opts.on_page) ~= "function" then
    error("on_page must be a function", 2)
  end
  return style(self, path, query, in_flight, opts and opts.on_page)
end

-- The current token table (refreshed first when due; always with force).
local function curl_token(self, force) return self.core:token(force) end
local function nginx_token(self, force) return nginx.token(self.core, self.location, force and "force" or "if_due") end
function _M:token(force)
  local token, err = drive(self.io, curl_token, nginx_token, self, force)
  notify(self)
  return token, err
end

function _M:api_url() return self.core:api_url() end

function _M:close()
  self.core:close()
end

mt.__close = _M.close
mt.__tostring = function(self) return tostring(self.core) end

return _M
