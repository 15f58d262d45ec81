-- Builds a provider module (jumpseller, bigcommerce, infusionsoft, ...) from a
-- profile: connect, login, and the web-flow helpers CData exposes as stored
-- procedures (GetOAuthAuthorizationURL, GetOAuthAccessToken,
-- RefreshOAuthAccessToken).

local core = require "oauthconnect.core"
local client = require "oauthconnect.client"
local nginx = require "oauthconnect.nginx"

local type, pairs, error = type, pairs, error

local _M = {}

-- Options only the Lua layer reads; everything else is a connection property.
local LUA_OPTIONS = { on_token = true, io = true, nginx_location = true }
local IO_MODES = { curl = true, nginx = true }

-- Splits options (a connection string or a table) and extra (a table) into
-- the properties for the core and the Lua-only options.
local function split(options, extra)
  local props, lua_opts = {}, {}
  if type(options) == "string" then
    local parsed, err = core.parse(options)
    if not parsed then return nil, nil, err end
    props = parsed
  elseif type(options) == "table" then
    for k, v in pairs(options) do
      if LUA_OPTIONS[k] then lua_opts[k] = v else props[k] = v end
    end
  else
    error("options must be a connection string or a table", 4)
  end
  if extra ~= nil then
    if type(extra) ~= "table" then error("extra options must be a table", 4) end
    for k, v in pairs(extra) do
      if LUA_OPTIONS[k] then
        lua_opts[k] = v
      else
        -- extra wins over options however either spells the name
        if type(k) == "string" then
          local lk = k:lower()
          for pk in pairs(props) do
            if pk ~= k and type(pk) == "string" and pk:lower() == lk then props[pk] = nil end
          end
        end
        props[k] = v
      end
    end
  end
  if lua_opts.on_token ~= nil and type(lua_opts.on_token) ~= "function" then
    error("on_token must be a function", 4)
  end
  if lua_opts.io ~= nil and not IO_MODES[lua_opts.io] then
    error("io must be \"curl\" or \"nginx\"", 4)
  end
  if lua_opts.nginx_location ~= nil and type(lua_opts.nginx_location) ~= "string" then
    error("nginx_location must be a string (an internal location's URI)", 4)
  end
  return props, lua_opts
end

local function new_handle(profile, options, extra)
  local props, lua_opts, err = split(options, extra)
  if not props then return nil, err end
  local handle, herr = core.client(props, profile)
  if not handle then return nil, herr end
  return handle, lua_opts
end

-- The token work of connect, refresh and exchange goes through
-- nginx.drive: libcurl in scripts, subrequests in an nginx handler.
local function connect_curl(handle) return handle:connect() end
local function connect_nginx(handle, location)
  local ok, err = handle:prepare()
  if not ok then return nil, err end
  return nginx.token(handle, location, "connect")
end

-- A client ready for requests, or nil, err.
function _M.connect(profile, options, extra)
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  local c = client.wrap(handle, profile, lua_opts)
  local ok, err = nginx.drive(lua_opts.io, connect_curl, connect_nginx, handle, c.location)
  if not ok then
    handle:close()
    return nil, err
  end
  client.notify(c)
  return c
end

-- Runs the browser login now, whatever is stored; returns the token table.
function _M.login(profile, options, extra)
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  if nginx.choose(lua_opts.io) ~= "curl" then
    handle:close()
    return nil, core.error("unsupported", "the browser login is for scripts; in nginx use the web "
      .. "flow (get_authorization_url, then get_access_token in the callback handler)")
  end
  local ok, err = handle:login()
  local token
  if ok then token, err = handle:token() end
  handle:close()
  if token and lua_opts.on_token then lua_opts.on_token(token) end
  return token, err
end

-- url, state, code_verifier (nil unless the provider takes PKCE) | nil, err.
-- The caller keeps state and code_verifier until the browser comes back.
-- extra.redirect_uri replaces CallbackURL for this login (an app registered
-- with several); get_access_token then needs the same in its params.
function _M.get_authorization_url(profile, options, extra)
  local redirect_uri
  if type(extra) == "table" and extra.redirect_uri ~= nil then
    redirect_uri = extra.redirect_uri
    if type(redirect_uri) ~= "string" then error("redirect_uri must be a string", 2) end
    local rest = {}
    for k, v in pairs(extra) do
      if k ~= "redirect_uri" then rest[k] = v end
    end
    extra = rest
  end
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  local url, state, verifier = handle:authorization_url(redirect_uri)
  handle:close()
  return url, state, verifier
end

-- Exchanges the code from the callback for tokens (stored when
-- OAuthSettingsLocation is set). code may be the callback's whole query table;
-- params may carry code_verifier, redirect_uri and provider extras (context, scope).
-- The error a callback carries instead of a code (RFC 6749 4.1.2.1): the
-- user said no, or the server refused. Judged by the core as the desktop
-- login's callback is, so the server's words are redacted of the options'
-- secrets before they are cut.
local function callback_error(query, options)
  local props, _, err = split(options)
  if not props then return err end
  local _, refused = core.check_callback(query, props) -- it carries no code: refused
  return refused
end

function _M.get_access_token(profile, options, code, params)
  if params ~= nil and type(params) ~= "table" then error("params must be a table", 2) end
  if type(code) == "table" then
    if code.error ~= nil and code.code == nil then return nil, callback_error(code, options) end
    -- The callback's query, and params (code_verifier, redirect_uri,
    -- on_token) beside it: both count, params winning.
    local merged = {}
    for k, v in pairs(code) do merged[k] = v end
    for k, v in pairs(params or {}) do merged[k] = v end
    params, code = merged, code.code
  end
  if type(code) ~= "string" then error("the authorization code must be a string", 2) end
  params = params or {}
  local handle, lua_opts = new_handle(profile, options)
  if not handle then return nil, lua_opts end
  local callback = {}
  for k, v in pairs(params) do
    if type(v) == "string" and k ~= "code_verifier" and k ~= "redirect_uri" then callback[k] = v end
  end
  if params.on_token ~= nil then
    if type(params.on_token) ~= "function" then error("on_token must be a function", 2) end
    lua_opts.on_token = params.on_token
  end
  local token, err = nginx.drive(lua_opts.io,
    function() return handle:exchange_code(code, callback, params.code_verifier, params.redirect_uri) end,
    function()
      return nginx.exchange_code(handle, lua_opts.nginx_location or nginx.location, code, callback,
        params.code_verifier, params.redirect_uri)
    end)
  handle:close()
  if token and lua_opts.on_token then lua_opts.on_token(token) end
  return token, err
end

-- Refreshes now from OAuthRefreshToken or the stored refresh token.
function _M.refresh_access_token(profile, options, extra)
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  local token, err = nginx.drive(lua_opts.io,
    function() return handle:token(true) end,
    function() return nginx.token(handle, lua_opts.nginx_location or nginx.location, "force") end)
  handle:close()
  if token and lua_opts.on_token then lua_opts.on_token(token) end
  return token, err
end

-- verify_webhook(raw_body, signature_or_headers, key) for a profile with
-- webhook = { header = ... }: true, or nil, err (code "bad_signature").
local function webhook_verifier(spec)
  return function(body, signature, key)
    if type(body) ~= "string" then error("the raw body must be a string", 2) end
    if type(key) ~= "string" then error("the " .. (spec.key_name or "key") .. " must be a string", 2) end
    -- anyone can sign with an empty key: a configuration error, never a pass
    if key == "" then error("the " .. (spec.key_name or "key") .. " is empty", 2) end
    if type(signature) == "table" then
      -- nginx's ngx.req.get_headers() and this client's headers look names
      -- up case-insensitively; a plain table may use any case.
      local headers, wanted = signature, spec.header:lower()
      signature = headers[spec.header] or headers[wanted]
      if signature == nil then
        for name, value in pairs(headers) do
          if type(name) == "string" and name:lower() == wanted then signature = value break end
        end
      end
      if type(signature) == "table" then -- repeated: not one signature
        return nil, core.error("bad_signature", "the request carries the " .. spec.header
          .. " header more than once")
      end
      if signature == nil then
        return nil, core.error("bad_signature", "the request has no " .. spec.header .. " header")
      end
    elseif type(signature) ~= "string" then
      error("the signature must be a string or a headers table", 2)
    end
    return core.verify_hmac_sha256(body, signature, key)
  end
end

-- verify_signed_payload(jwt, client_secret, client_id [, leeway_s]) for a
-- profile with signed_payload: the claims, with store_hash from sub.
local function payload_verifier(spec)
  return function(jwt, secret, client_id, leeway)
    if type(jwt) ~= "string" then error("the signed payload must be a string", 2) end
    if type(secret) ~= "string" then error("the client secret must be a string", 2) end
    if type(client_id) ~= "string" then error("the client id must be a string", 2) end
    if secret == "" then error("the client secret is empty", 2) end
    if client_id == "" then error("the client id is empty", 2) end
    if leeway ~= nil and (type(leeway) ~= "number" or leeway % 1 ~= 0 or leeway < 0 or leeway > 3600) then
      error("leeway must be a whole number of seconds from 0 to 3600", 2)
    end
    local claims, err = core.verify_jwt_hs256(jwt, secret, client_id, leeway)
    if not claims then return nil, err end
    local from = claims[spec.store_from]
    if type(from) == "string" and from:sub(1, #spec.store_prefix) == spec.store_prefix
        and #from > #spec.store_prefix then
      claims.store_hash = from:sub(#spec.store_prefix + 1)
      return claims
    end
    -- signed with our secret, but not a store's payload: nothing to act on
    return nil, core.error("bad_signature", ("the signed payload names no store (%s is not %s{hash})"):format(
      spec.store_from, spec.store_prefix))
  end
end

-- The module a provider file returns: the functions above bound to profile.
function _M.module(profile)
  local m = { profile = profile, _VERSION = core._VERSION }
  if profile.webhook then m.verify_webhook = webhook_verifier(profile.webhook) end
  if profile.signed_payload then m.verify_signed_payload = payload_verifier(profile.signed_payload) end
  function m.connect(options, extra) return _M.connect(profile, options, extra) end
  function m.login(options, extra) return _M.login(profile, options, extra) end
  function m.get_authorization_url(options, extra) return _M.get_authorization_url(profile, options, extra) end
  function m.get_access_token(options, code, params) return _M.get_access_token(profile, options, code, params) end
  function m.refresh_access_token(options, extra) return _M.refresh_access_token(profile, options, extra) end
  return m
end

return _M
