--- Provider modules: connect, login and the web flow, bound to a profile.
-- Builds a provider module (jumpseller, bigcommerce, infusionsoft, ...) from a
-- profile: connect, login, and the web-flow helpers CData exposes as stored
-- procedures (GetOAuthAuthorizationURL, GetOAuthAccessToken,
-- RefreshOAuthAccessToken).
--
-- The functions here take the profile first; a @{ProviderModule} (what
-- `require "jumpseller"` returns) binds them to its profile.
-- @module oauthconnect.provider

local core = require "oauthconnect.core"
local client = require "oauthconnect.client"
local nginx = require "oauthconnect.nginx"
local driver = require "oauthconnect.driver"
local profile_file = require "oauthconnect.profile"

local type, pairs, error, tostring, tonumber = type, pairs, error, tostring, tonumber

local _M = {}

-- Options only the Lua layer reads; everything else is a connection property.
local LUA_OPTIONS = { on_token = true, on_device_code = true, io = true, nginx_location = true,
  transport = true, store = true }
local IO_MODES = { curl = true, nginx = true }

-- Splits options (a connection string or a table) and extra (a table) into
-- the properties for the core and the Lua-only options.
-- Splits options (a connection string or a table) and extra (a table) into
-- the properties for the core and the Lua-only options. Raises at the
-- caller of the public function (split <- new_handle <- one_off <- it).
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
    error("options must be a connection string or a table", 5)
  end
  if extra ~= nil then
    if type(extra) ~= "table" then error("extra options must be a table", 5) end
    for k, v in pairs(extra) do
      if LUA_OPTIONS[k] then
        lua_opts[k] = v -- extra wins, as for properties
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
    error("on_token must be a function", 5)
  end
  if lua_opts.on_device_code ~= nil and type(lua_opts.on_device_code) ~= "function" then
    error("on_device_code must be a function", 5)
  end
  if lua_opts.io ~= nil and not IO_MODES[lua_opts.io] then
    error("io must be \"curl\" or \"nginx\"", 5)
  end
  if lua_opts.nginx_location ~= nil and type(lua_opts.nginx_location) ~= "string" then
    error("nginx_location must be a string (an internal location's URI)", 5)
  end
  if lua_opts.transport ~= nil and type(lua_opts.transport) ~= "function" then
    error("transport must be a function(req) returning {status, headers, body}", 5)
  end
  if lua_opts.store ~= nil then driver.check_store(lua_opts.store, 6) end
  return props, lua_opts
end

-- The value of a property in props, whatever the spelling of its name.
local function prop(props, name)
  for k, v in pairs(props) do
    if type(k) == "string" and core.property_name(k) == name then return v end
  end
  return nil
end

-- The properties named as core.property_name spells them.
local function canonical(props)
  local out = {}
  for k in pairs(props) do
    local name = type(k) == "string" and core.property_name(k)
    if name then out[name] = true end
  end
  return out
end

-- What the driver that will run the client's I/O cannot honour: nil, or the error.
local function refused(props, lua_opts)
  local scheme = tostring(prop(props, "AuthScheme") or ""):upper()
  if lua_opts.transport then
    for _, name in pairs({ "ProxyServer", "SSLServerCert" }) do
      if prop(props, name) then
        return core.error("unsupported", ("%s cannot be honoured with a transport function: the "
          .. "transport sends every request, so its own settings decide that"):format(name), { property = name })
      end
    end
    if scheme == "NTLM" then
      return core.error("unsupported", "AuthScheme=NTLM cannot be honoured with a transport function: "
        .. "NTLM authenticates the connection libcurl keeps", { property = "AuthScheme" })
    end
  end
  if nginx.available() and lua_opts.io ~= "curl" and not lua_opts.transport then
    return nginx.refused_property(canonical(props), scheme)
  end
  return nil
end

-- The handle, the Lua options, the settings location, the timeout in ms and
-- the profile used: the one given, or the file a Profile property names,
-- which replaces it (laid over the custom profile, as the oauthconnect
-- module lays a caller's table).
local function new_handle(profile, options, extra)
  local props, lua_opts, err = split(options, extra)
  if not props then return nil, err end
  local path = prop(props, "Profile")
  if path ~= nil then
    local loaded, perr = profile_file.from_property(path)
    if not loaded then return nil, perr end
    profile = loaded
  end
  local refusal = refused(props, lua_opts)
  if refusal then return nil, refusal end
  -- a user's store: the core keeps none of its own, the Lua driver asks it
  local handle, herr = core.client(props, profile, lua_opts.store and "the store given to connect" or nil)
  if not handle then return nil, herr end
  local timeout = tonumber(prop(props, "Timeout") or "")
  return handle, lua_opts, prop(props, "OAuthSettingsLocation"), timeout and timeout * 1000 or 60000, profile
end

-- A client for a one-off call (the web flow), through the driver for now.
local function one_off(profile, options, extra)
  local handle, lua_opts, location, timeout, used = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  return client.wrap(handle, used, lua_opts, location, timeout)
end

--- A client ready for requests.
-- A client ready for requests, or nil, err.
-- @tparam table profile the provider's profile
-- @tparam string|table options a connection string or a table of properties (and
-- @{oauthconnect.connect_options})
-- @tparam[opt] table extra more properties and Lua options, which win
-- @treturn[1] oauthconnect.client the client
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M.connect(profile, options, extra)
  local c, err = one_off(profile, options, extra)
  if not c then return nil, err end
  local ok, cerr = client.token_call(c, "connect")
  if not ok then
    c:close()
    return nil, cerr
  end
  client.notify(c)
  return c
end

--- Runs the browser login now.
-- Runs the browser login now, whatever is stored; returns the token table.
-- @tparam table profile the provider's profile
-- @tparam string|table options connection properties
-- @tparam[opt] table extra more properties and Lua options
-- @treturn[1] oauthconnect.token the token table
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not (`unsupported` inside nginx: use the web flow)
function _M.login(profile, options, extra)
  local c, err = one_off(profile, options, extra)
  if not c then return nil, err end
  if nginx.choose(c.io_mode) ~= "curl" then
    c:close()
    return nil, core.error("unsupported", "the browser login is for scripts; in nginx use the web "
      .. "flow (get_authorization_url, then get_access_token in the callback handler)")
  end
  local io = client.io_for(c)
  local token, lerr
  if io == false then
    token, lerr = c.core:login()
  else
    local call, cerr = c.core:call_login(true)
    if call then call:allow_login() end
    token, lerr = driver.finish(io, call, cerr)
  end
  c:close()
  if token and c.on_token then c.on_token(token) end
  return token, lerr
end

--- The authorization URL for the web flow.
-- url, state, code_verifier (nil unless the provider takes PKCE) | nil, err.
-- The verifier is also kept (in the store, else in this process) for ten
-- minutes, for get_access_token to find by the callback's state.
-- extra.redirect_uri replaces CallbackURL for this login (an app registered
-- with several).
-- @tparam table profile the provider's profile
-- @tparam string|table options connection properties
-- @tparam[opt] table extra more properties; `redirect_uri` for this login
-- @treturn[1] string the URL
-- @treturn[1] string the state
-- @treturn[1] ?string the PKCE code verifier
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
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
  local c, err = one_off(profile, options, extra)
  if not c then return nil, err end
  local io, ierr = client.io_for(c)
  local url, state, verifier
  if io == false then
    url, state, verifier = c.core:authorization_url(redirect_uri)
  elseif not io then
    url, state = nil, ierr
  else
    url, state, verifier = driver.finish(io, c.core:call_authorization(redirect_uri))
  end
  c:close()
  return url, state, verifier
end

-- The error a callback carries instead of a code (RFC 6749 4.1.2.1): the
-- user said no, or the server refused. Judged by the core as the desktop
-- login's callback is, so the server's words are redacted of the options'
-- secrets before they are cut.
local function callback_error(query, options)
  local props, _, err = split(options)
  if not props then return err end
  local _, refusal = core.check_callback(query, props) -- it carries no code: refused
  return refusal
end

--- Exchanges the callback's code for tokens.
-- Exchanges the code from the callback for tokens (stored when
-- OAuthSettingsLocation is set). code may be the callback's whole query
-- table: its state then names the login get_authorization_url started,
-- whose PKCE verifier goes along. params may carry code_verifier,
-- redirect_uri, on_token and provider extras (context, scope); only params
-- and the library's own records choose the verifier and redirect URI, never
-- the callback's query.
-- @tparam table profile the provider's profile
-- @tparam string|table options connection properties
-- @tparam string|table code the code, or the callback's whole query
-- @tparam[opt] table params code_verifier, redirect_uri, on_token, provider extras
-- @treturn[1] oauthconnect.token the token table
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M.get_access_token(profile, options, code, params)
  if params ~= nil and type(params) ~= "table" then error("params must be a table", 2) end
  params = params or {}
  local callback, state = {}, nil
  if type(code) == "table" then
    if code.error ~= nil and code.code == nil then return nil, callback_error(code, options) end
    for k, v in pairs(code) do
      if type(v) == "string" and k ~= "code" and k ~= "state" and k ~= "code_verifier" and k ~= "redirect_uri" then
        callback[k] = v
      end
    end
    state = type(code.state) == "string" and code.state or nil
    code = code.code
  end
  if type(code) ~= "string" then error("the authorization code must be a string", 2) end
  for k, v in pairs(params) do
    if type(v) == "string" and k ~= "code_verifier" and k ~= "redirect_uri" then callback[k] = v end
  end
  if params.code_verifier ~= nil and type(params.code_verifier) ~= "string" then
    error("code_verifier must be a string", 2)
  end
  if params.redirect_uri ~= nil and type(params.redirect_uri) ~= "string" then
    error("redirect_uri must be a string", 2)
  end
  if params.on_token ~= nil and type(params.on_token) ~= "function" then error("on_token must be a function", 2) end
  local c, err = one_off(profile, options)
  if not c then return nil, err end
  if params.on_token then c.on_token = params.on_token end
  local io, ierr = client.io_for(c)
  local token
  if io == false then
    token, err = c.core:exchange_code(code, state, callback, params.code_verifier, params.redirect_uri)
  elseif not io then
    err = ierr
  else
    token, err = driver.finish(io, c.core:call_exchange(code, state, callback, params.code_verifier,
      params.redirect_uri))
  end
  c:close()
  if token and c.on_token then c.on_token(token) end
  return token, err
end

--- Refreshes now.
-- Refreshes now from OAuthRefreshToken or the stored refresh token.
-- @tparam table profile the provider's profile
-- @tparam string|table options connection properties
-- @tparam[opt] table extra more properties and Lua options
-- @treturn[1] oauthconnect.token the new token table
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M.refresh_access_token(profile, options, extra)
  local c, err = one_off(profile, options, extra)
  if not c then return nil, err end
  local token, terr = client.token_call(c, "force")
  c:close()
  if token and c.on_token then c.on_token(token) end
  return token, terr
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

--- The provider module for a profile.
-- The module a provider file returns: the functions above bound to profile.
-- @tparam table profile a checked profile
-- @treturn ProviderModule the module
function _M.module(profile)
  local m = { profile = profile, _VERSION = core._VERSION }
  if profile.webhook then m.verify_webhook = webhook_verifier(profile.webhook) end
  if profile.signed_payload then m.verify_signed_payload = payload_verifier(profile.signed_payload) end

  --- A provider module: what `require "jumpseller"` (`"bigcommerce"`,
  -- `"infusionsoft"`, `"keap"`) and @{oauthconnect.provider} return: the functions
  -- above bound to one profile, and the signature checks the profile names.
  -- @type ProviderModule

  --- The profile the module is bound to (a table).
  -- @table ProviderModule.profile

  --- Connects: a client ready for requests.
  -- @function ProviderModule.connect
  -- @tparam string|table options a connection string or a table of properties (and
  -- @{oauthconnect.connect_options})
  -- @tparam[opt] table extra more properties and Lua options, which win
  -- @treturn[1] oauthconnect.client the client
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err why not
  function m.connect(options, extra) return _M.connect(profile, options, extra) end
  --- Runs the browser login now, whatever is stored.
  -- @function ProviderModule.login
  -- @tparam string|table options connection properties
  -- @tparam[opt] table extra more properties and Lua options
  -- @treturn[1] oauthconnect.token the token table
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err why not
  function m.login(options, extra) return _M.login(profile, options, extra) end
  --- The web flow's authorization URL (CData's GetOAuthAuthorizationURL).
  -- @function ProviderModule.get_authorization_url
  -- @tparam string|table options connection properties
  -- @tparam[opt] table extra more properties; `redirect_uri` for this login
  -- @treturn[1] string the URL
  -- @treturn[1] string the state
  -- @treturn[1] ?string the PKCE code verifier
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err why not
  function m.get_authorization_url(options, extra) return _M.get_authorization_url(profile, options, extra) end
  --- Exchanges the callback's code for tokens (CData's GetOAuthAccessToken).
  -- @function ProviderModule.get_access_token
  -- @tparam string|table options connection properties
  -- @tparam string|table code the code, or the callback's whole query
  -- (BigCommerce: `ngx.req.get_uri_args()`, whose context and scope go along)
  -- @tparam[opt] table params code_verifier, redirect_uri, on_token, provider extras
  -- @treturn[1] oauthconnect.token the token table
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err why not
  function m.get_access_token(options, code, params) return _M.get_access_token(profile, options, code, params) end
  --- Refreshes now (CData's RefreshOAuthAccessToken).
  -- @function ProviderModule.refresh_access_token
  -- @tparam string|table options connection properties
  -- @tparam[opt] table extra more properties and Lua options
  -- @treturn[1] oauthconnect.token the new token table
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err why not
  function m.refresh_access_token(options, extra) return _M.refresh_access_token(profile, options, extra) end
  --- Verifies a webhook's signature (profiles with `webhook`: Jumpseller).
  -- Base64(HMAC-SHA256(raw body, key)) in the profile's header, compared in constant time.
  -- @function ProviderModule.verify_webhook
  -- @string raw_body the body exactly as received
  -- @tparam string|table signature the header's value, or the request's headers
  -- @string key the key (Jumpseller: the store's hooks token); an empty one raises
  -- @treturn[1] boolean true
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err code `bad_signature`, saying which check failed

  --- Verifies a signed payload (profiles with `signed_payload`: BigCommerce's
  -- load, uninstall and remove_user callbacks): an HS256 JWT under the client secret.
  -- @function ProviderModule.verify_signed_payload
  -- @string jwt the `signed_payload_jwt`
  -- @string client_secret the app's client secret
  -- @string client_id the app's client id (the JWT's `aud`)
  -- @int[opt=60] leeway seconds of clock skew for exp and nbf (0 to 3600)
  -- @treturn[1] table the claims, with `store_hash` taken from `sub`
  -- @return[2] nil
  -- @treturn[2] oauthconnect.err code `bad_signature`, saying which check failed
  return m
end

return _M
