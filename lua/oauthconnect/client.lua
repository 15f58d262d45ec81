--- The client object: what `connect` returns, and its methods.
-- The client object a script holds: signed requests, JSON in and out,
-- pagination, and the auth plugin (authorize, rejected, send) for requests
-- the caller sends with its own HTTP client. The OAuth work (tokens,
-- refresh, locking) is the C engine's; this file turns Lua values into
-- core calls and picks who performs their I/O: the core itself (libcurl and
-- the C stores: the hot path, no Lua in between), or the Lua driver
-- (oauthconnect/driver.lua) with nginx's I/O, a user's transport or store.
--
-- Scripts use the @{client} methods; the functions before them are the
-- provider layer's (oauthconnect/provider.lua), not an application's.
-- @module oauthconnect.client

local core = require "oauthconnect.core"
local json = require "oauthconnect.json"
local pagination = require "oauthconnect.pagination"
local nginx = require "oauthconnect.nginx"
local driver = require "oauthconnect.driver"

local type, pcall, setmetatable, getmetatable, tostring, rawset, ipairs, pairs, error, select =
  type, pcall, setmetatable, getmetatable, tostring, rawset, ipairs, pairs, error, select
local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)
local encode, decode = json.encode, json.decode
local finish, choose = driver.finish, nginx.choose

local _M = {}
local mt = { __index = _M }

local JSON_HEADERS = { ["Content-Type"] = "application/json" }
-- Methods already in upper case (upper() per request costs more than a lookup).
local VERBS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true, HEAD = true, OPTIONS = true }

--- Wraps a core client handle in a @{client} (for oauthconnect.provider).
-- Wraps a core client. lua_opts: on_token (function), on_device_code
-- (function), io ("curl", "nginx" or nil to choose by where it runs),
-- nginx_location, transport (function), store (table); location:
-- OAuthSettingsLocation as given.
-- @param handle the core client (`oauthconnect.core.client`)
-- @tparam table profile the profile it runs
-- @tparam table lua_opts the Lua-only options (@{oauthconnect.connect_options})
-- @tparam ?string location OAuthSettingsLocation as given
-- @int timeout_ms the Timeout property, in milliseconds
-- @treturn client the client
function _M.wrap(handle, profile, lua_opts, location, timeout_ms)
  local self = setmetatable({
    core = handle,
    profile = profile,
    on_token = lua_opts.on_token,
    io_mode = lua_opts.io,
    location = lua_opts.nginx_location or nginx.location,
    transport = lua_opts.transport and driver.user_transport(lua_opts.transport),
    user_store = lua_opts.store,
    settings_location = location,
    timeout_ms = timeout_ms,
    generation = handle:generation(),
    ntlm = handle:is_ntlm(),
  }, mt)
  -- The performers of each driver, made once: false means the core's own
  -- (the blocking hot path).
  self.script_io = (self.transport or self.user_store or lua_opts.on_device_code
      or (location and location:match("^[sS][hH][mM]://")))
    and { http = self.transport, store = self.user_store, sleep = driver.sleep, prompt = lua_opts.on_device_code }
    or false
  -- the hot path: a script whose client the core runs alone
  self.fast = not self.script_io and (self.io_mode == "curl" or (not self.io_mode and not nginx.available()))
  -- authorize with a usable token runs in C alone; the rest is _M.authorize's
  -- (a driven client's may yield to nginx, so it keeps the Lua method)
  if self.fast then self.authorize = handle:bind_authorize(_M.authorize) end
  return self
end

-- The performers for this moment: false for the core's own (libcurl and
-- the C stores, blocking), a driver io table, or nil, err.
local function io_for(self)
  local how, why = choose(self.io_mode)
  if not how then return nil, core.error("unsupported", why) end
  if how == "curl" then
    local io = self.script_io
    if io and not io.store and nginx.available() and not self.user_store then
      -- shm:// is reachable in nginx's blocking phases too (init_worker)
      io.store = nginx.store(self.settings_location, self.timeout_ms)
    end
    return io
  end
  local io = self.nginx_io
  if not io then
    io = { http = self.transport or nginx.http(self.location),
      store = self.user_store or nginx.store(self.settings_location, self.timeout_ms),
      sleep = nginx.sleep }
    self.nginx_io = io
  end
  return io
end
--- The performers for this moment (for oauthconnect.provider).
-- @function io_for
-- @tparam client self the client
-- @treturn[1] table|false a driver io table `{http, store, sleep}`, or false for the core's own
-- @return[2] nil
-- @treturn[2] oauthconnect.err why no driver can run here (an nginx phase without subrequests)
_M.io_for = io_for

-- Reports new tokens to on_token once per change (login, refresh, another
-- process's refresh adopted).
local function notify(self)
  if not self.on_token then return end
  local g = self.core:generation()
  if g ~= self.generation then
    self.generation = g
    local token = self.core:current_token()
    if token then self.on_token(token) end
  end
end
--- Calls the client's `on_token` once per change of its tokens (for oauthconnect.provider).
-- @function notify
-- @tparam client self the client
_M.notify = notify

--- A token call through the driver for this moment (for oauthconnect.provider).
-- @function token_call
-- @tparam client self the client
-- @string need `"if_due"`, `"force"` or `"connect"`
-- @treturn[1] oauthconnect.token|true the token table (true for a scheme without tokens)
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not

--- An HTTP answer: what @{client:request} returns for any status, and
-- the second result of the verbs (@{client:get}...).
-- @table res
-- @tfield integer status the HTTP status
-- @tfield table headers the answer's headers, looked up case-insensitively
-- (`res.headers["content-type"]`); made when first read
-- @tfield string body the answer's body as received

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

-- The core's request through the driver for this moment.
local function perform(self, method, path, query, headers, body, fail_on_http)
  local io, err = io_for(self)
  if io == false then return self.core:request(method, path, query, headers, body, fail_on_http) end
  if not io then return nil, err end
  return finish(io, self.core:call_request(method, path, query, headers, body, fail_on_http))
end

--- A connection: signed requests to the API with JSON in and out, paging,
-- and the auth plugin for requests sent with your own HTTP client.
-- Made by `connect`; closed by @{client:close}, `__gc` or `<close>`.
-- @type client

--- Sends several requests at once.
-- client:request_many({ {method, path, query, fail_on_http}, ... }): each
-- request a call of its own, run together (curl multi in scripts, light
-- threads in nginx, one after another through a user's transport).
-- @tparam {table,...} reqs requests `{method, path, query, fail_on_http}`
-- @treturn[1] {res|oauthconnect.err,...} one @{res} or err per request, in order
-- @return[2] nil
-- @treturn[2] oauthconnect.err why none could be sent
function _M:request_many(reqs)
  if type(reqs) ~= "table" then error("request_many expects a table of requests", 2) end
  local io, err = io_for(self)
  local results
  if io == false then
    results, err = self.core:request_many(reqs)
  elseif not io then
    return nil, err
  else
    results = {}
    local threads = {}
    for i, r in ipairs(reqs) do
      if type(r) ~= "table" then error("each request must be a table", 2) end
      local method, path = r.method or "GET", r.path
      if type(method) ~= "string" or type(path) ~= "string" then
        error(("request %d: method and path must be strings"):format(i), 2)
      end
      if io.http and nginx.available() and choose(self.io_mode) == "nginx" then
        threads[i] = ngx.thread.spawn(function() -- luacheck: ignore (ngx)
          return finish(io, self.core:call_request(method, path, r.query, nil, nil, r.fail_on_http))
        end)
      else
        results[i] = { finish(io, self.core:call_request(method, path, r.query, nil, nil, r.fail_on_http)) }
      end
    end
    for i, t in pairs(threads) do
      results[i] = { select(2, assert(ngx.thread.wait(t))) } -- luacheck: ignore (ngx)
    end
    for i, r in ipairs(results) do
      if r[1] then results[i] = { status = r[1], headers = r[2], body = r[3] } else results[i] = r[2] end
    end
  end
  notify(self)
  if results then
    for i, r in ipairs(results) do
      if getmetatable(r) ~= core.error_mt then results[i] = new_res(r.status, r.headers, r.body) end
    end
  end
  return results, err
end

--- Sends one request; any HTTP status is an answer.
-- client:request{method, path, query, json, body, headers} -> res | nil, err
-- res = {status, headers (case-insensitive), body}. Any HTTP status is a res.
-- A redirect to another origin is never followed with the token.
-- @tparam table req `method` (default GET), `path` (or `url`: the API's origin
-- only), `query` (table), `headers` (table), and `body` (string) or `json` (a table sent as JSON)
-- @treturn[1] res the answer
-- @return[2] nil
-- @treturn[2] oauthconnect.err a transport failure, or a refused redirect
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
  if self.fast then
    status, res_headers, res_body = self.core:request(method, path, req.query, headers, body)
  else
    status, res_headers, res_body = perform(self, method, path, req.query, headers, body)
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
  if self.fast then
    status, res_headers, res_body = self.core:request(method, path, query, headers, payload, true)
  else
    status, res_headers, res_body = perform(self, method, path, query, headers, payload, true)
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

--- GET path: the decoded JSON answer.
-- An HTTP error status is `nil, err` (`not_found`, `unauthorized`...).
-- @string path relative to the API's URL (or an absolute URL of its origin)
-- @tparam[opt] table query query parameters
-- @return[1] the decoded JSON (true for an empty body)
-- @treturn[1] res the answer
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:get(path, query) return call(self, "GET", path, query) end
--- POST body (a table is sent as JSON, a string as is): the decoded JSON answer.
-- @string path relative to the API's URL
-- @tparam table|string body the body
-- @tparam[opt] table query query parameters
-- @return[1] the decoded JSON (true for an empty body)
-- @treturn[1] res the answer
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:post(path, body, query) return call(self, "POST", path, query, body == nil and "" or body) end
--- PUT body: as @{client:post}.
-- @string path relative to the API's URL
-- @tparam table|string body the body
-- @tparam[opt] table query query parameters
-- @return[1] the decoded JSON (true for an empty body)
-- @treturn[1] res the answer
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:put(path, body, query) return call(self, "PUT", path, query, body == nil and "" or body) end
--- PATCH body: as @{client:post}.
-- @string path relative to the API's URL
-- @tparam table|string body the body
-- @tparam[opt] table query query parameters
-- @return[1] the decoded JSON (true for an empty body)
-- @treturn[1] res the answer
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:patch(path, body, query) return call(self, "PATCH", path, query, body == nil and "" or body) end
--- DELETE path: as @{client:get}.
-- @string path relative to the API's URL
-- @tparam[opt] table query query parameters
-- @return[1] the decoded JSON (true for an empty body)
-- @treturn[1] res the answer
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:delete(path, query) return call(self, "DELETE", path, query) end

--- An iterator over every item of a paged collection.
-- Every item of a paged collection, in order, across pages. opts.in_flight
-- (default 1, at most 32) fetches that many pages at once; the items still
-- come in order, and pages past the last are discarded. opts.on_page(n) is
-- called with each page's item count as the walk reaches it.
-- The profile's `pagination` style says how pages are asked for and read
-- (@{oauthconnect.pagination}); a failed page raises its err.
-- @string path the collection
-- @tparam[opt] table query query parameters (a page size goes here: `limit`, `page_size`)
-- @tparam[opt] table opts `in_flight` (1 to 32) and `on_page` (`function(n)`)
-- @treturn function the iterator: `for item in client:each(path) do ... end`
function _M:each(path, query, opts)
  local style = pagination[self.profile.pagination or "page"]
  if not style then error("unknown pagination style " .. tostring(self.profile.pagination), 2) end
  if type(path) ~= "string" then error("each: path must be a string", 2) end
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

-- A token call through the driver for this moment: the token table (true
-- for a scheme without tokens), or nil, err. need: "if_due", "force", "connect".
local function token_call(self, need)
  local io, err = io_for(self)
  if io == false then
    if need == "connect" then
      local ok, cerr = self.core:connect()
      if not ok then return nil, cerr end
      return true
    end
    return self.core:token(need == "force")
  end
  if not io then return nil, err end
  local c, cerr = self.core:call_token(need)
  if c and need == "connect" and choose(self.io_mode) == "curl" then c:allow_login() end
  return finish(io, c, cerr)
end
_M.token_call = token_call

--- The current token table.
-- The current token table (refreshed first when due; always with force).
-- @bool[opt] force refresh now, even when not due
-- @treturn[1] oauthconnect.token|true the token table (true for a scheme without tokens)
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:token(force)
  local token, err = token_call(self, force and "force" or "if_due")
  notify(self)
  return token, err
end

-- ---- the auth plugin: requests sent by the caller's own HTTP client -------------------

-- headers, ticket = client:authorize([headers]): the header(s) that
-- authenticate a request now, set in headers (created when absent; a header
-- of the same name in any case is replaced), after a refresh when one is
-- due. ticket names the credentials, for client:rejected. With a usable
-- token this does no I/O and makes no string.
local authorize_now -- the core client's method, looked up once (this runs once per request)

--- The auth plugin: the headers that authenticate a request now.
-- For a request sent with your own HTTP client; refreshes first when due.
-- @tparam[opt] table headers the request's headers, to which the auth header is set
-- (a header of the same name in any case is replaced); a new table when nil
-- @treturn[1] table the headers
-- @treturn[1] integer the ticket naming these credentials, for @{client:rejected}
-- @return[2] nil
-- @treturn[2] oauthconnect.err why there are no usable credentials
function _M:authorize(headers)
  local handle = self.core
  if not authorize_now then authorize_now = handle.authorize_now end
  local h, ticket = authorize_now(handle, headers)
  if h then return h, ticket end
  if self.ntlm then
    return nil, core.error("unsupported", "AuthScheme=NTLM authenticates a connection, not a request: "
      .. "send with the client's own requests (client:get, client:request)")
  end
  local ok, err = token_call(self, "if_due")
  if not ok then return nil, err end
  notify(self)
  -- a due refresh that failed leaves a token that still works: it goes
  h, ticket = authorize_now(handle, headers, true)
  if not h then
    return nil, core.error("no_token", "no usable credentials: the token is due and could not be renewed")
  end
  return h, ticket
end

--- The auth plugin: a request signed with ticket got a 401.
-- ok, err = client:rejected(ticket): a request signed with ticket got a
-- 401. true when the next authorize() gives other credentials (newer ones
-- from the store, or one refresh's); nil, err when there is nothing better.
-- Once for many reports of one ticket: newer tokens from the store are
-- adopted, or one refresh runs.
-- @int ticket what @{client:authorize} returned
-- @treturn[1] boolean true: the next authorize() gives other credentials
-- @return[2] nil
-- @treturn[2] oauthconnect.err there is nothing better (the message says what to do)
function _M:rejected(ticket)
  if type(ticket) ~= "number" then error("rejected expects the ticket authorize returned", 2) end
  local io, err = io_for(self)
  local ok
  if io == false then
    ok, err = self.core:rejected(ticket)
  elseif not io then
    return nil, err
  else
    ok, err = finish(io, self.core:call_rejected(ticket))
  end
  notify(self)
  if not ok then return nil, err end
  return true
end

--- The auth plugin in one call: fn sends with fresh headers, once more after a 401.
-- ... = client:send(fn): calls fn(headers) with fresh auth headers; fn
-- sends the request with the caller's own client and returns the HTTP
-- status first (then anything); on 401, when rejected() says other
-- credentials are in place, fn is called once more. Returns what the last
-- fn call returned, or nil, err.
-- @tparam function fn `function(headers)` that sends the request with your own
-- client and returns the HTTP status first (then anything)
-- @return[1] what the last call of fn returned
-- @return[2] nil
-- @treturn[2] oauthconnect.err no credentials, or nothing better after a 401
function _M:send(fn)
  if type(fn) ~= "function" then error("send expects a function(headers)", 2) end
  local headers, ticket = self:authorize()
  if not headers then return nil, ticket end
  local r = { n = 0 }
  local function keep(...) r = { n = select("#", ...), ... } end
  keep(fn(headers))
  if r[1] == 401 then
    local ok, err = self:rejected(ticket)
    if not ok then return nil, err end
    headers, ticket = self:authorize()
    if not headers then return nil, ticket end
    keep(fn(headers))
  end
  return unpack(r, 1, r.n)
end

-- ---- logout ----------------------------------------------------------------------

-- Removes the stored tokens; with revoke, asks the server to revoke them
-- first (RFC 7009). true, or nil, err.
local function forget(self, revoke)
  local io, err = io_for(self)
  local ok
  if io == false then
    ok, err = self.core:forget(revoke)
  elseif not io then
    return nil, err
  else
    ok, err = finish(io, self.core:call_forget(revoke))
  end
  notify(self)
  if not ok then return nil, err end
  return true
end

--- Removes the stored tokens without asking the server.
-- ok, err = client:forget(): the stored tokens removed, nothing sent.
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M:forget() return forget(self, false) end

--- Revokes the stored tokens at the server (RFC 7009), then removes them.
-- ok, err = client:revoke(): the stored refresh token, then the access
-- token, revoked at the revocation endpoint (OAuthRevocationURL, the
-- discovery document's or the profile's), then removed. The removal
-- happens whatever the server answers; err.code "revocation_failed" says
-- the server did not confirm, "unsupported" that no endpoint is known.
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not (the tokens are removed all the same)
function _M:revoke() return forget(self, true) end

--- The API's base URL, `{StoreId}` filled in.
-- @treturn string the URL
function _M:api_url() return self.core:api_url() end

--- Closes the client; safe to call twice (also on `__gc` and `<close>`).
function _M:close()
  self.core:close()
end

mt.__close = _M.close
mt.__tostring = function(self) return tostring(self.core) end

return _M
