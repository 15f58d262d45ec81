-- Builds a provider module (jumpseller, bigcommerce, infusionsoft, ...) from a
-- profile: connect, login, and the web-flow helpers CData exposes as stored
-- procedures (GetOAuthAuthorizationURL, GetOAuthAccessToken,
-- RefreshOAuthAccessToken).

local core = require "oauthconnect.core"
local client = require "oauthconnect.client"

local type, pairs, error = type, pairs, error

local _M = {}

-- Options only the Lua layer reads; everything else is a connection property.
local LUA_OPTIONS = { on_token = true }

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
    error("options must be a connection string or a table", 3)
  end
  if extra ~= nil then
    if type(extra) ~= "table" then error("extra options must be a table", 3) end
    for k, v in pairs(extra) do
      if LUA_OPTIONS[k] then lua_opts[k] = v else props[k] = v end
    end
  end
  if lua_opts.on_token ~= nil and type(lua_opts.on_token) ~= "function" then
    error("on_token must be a function", 3)
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

-- A client ready for requests, or nil, err.
function _M.connect(profile, options, extra)
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  local c = client.wrap(handle, profile, lua_opts.on_token)
  local ok, err = handle:connect()
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
  local ok, err = handle:login()
  local token
  if ok then token, err = handle:token() end
  handle:close()
  if token and lua_opts.on_token then lua_opts.on_token(token) end
  return token, err
end

-- url, state, code_verifier (nil unless the provider takes PKCE) | nil, err.
-- The caller keeps state and code_verifier until the browser comes back.
function _M.get_authorization_url(profile, options, extra)
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  local url, state, verifier = handle:authorization_url(type(extra) == "table" and extra.redirect_uri or nil)
  handle:close()
  return url, state, verifier
end

-- Exchanges the code from the callback for tokens (stored when
-- OAuthSettingsLocation is set). code may be the callback's whole query table;
-- params may carry code_verifier, redirect_uri and provider extras (context, scope).
function _M.get_access_token(profile, options, code, params)
  if type(code) == "table" then
    params, code = code, code.code
  end
  if type(code) ~= "string" then error("the authorization code must be a string", 2) end
  params = params or {}
  local handle, lua_opts = new_handle(profile, options)
  if not handle then return nil, lua_opts end
  local callback = {}
  for k, v in pairs(params) do
    if type(v) == "string" and k ~= "code_verifier" and k ~= "redirect_uri" then callback[k] = v end
  end
  local token, err = handle:exchange_code(code, callback, params.code_verifier, params.redirect_uri)
  handle:close()
  if token and lua_opts.on_token then lua_opts.on_token(token) end
  return token, err
end

-- Refreshes now from OAuthRefreshToken or the stored refresh token.
function _M.refresh_access_token(profile, options, extra)
  local handle, lua_opts = new_handle(profile, options, extra)
  if not handle then return nil, lua_opts end
  local token, err = handle:token(true)
  handle:close()
  if token and lua_opts.on_token then lua_opts.on_token(token) end
  return token, err
end

-- The module a provider file returns: the functions above bound to profile.
function _M.module(profile)
  local m = { profile = profile, _VERSION = core._VERSION }
  function m.connect(options, extra) return _M.connect(profile, options, extra) end
  function m.login(options, extra) return _M.login(profile, options, extra) end
  function m.get_authorization_url(options, extra) return _M.get_authorization_url(profile, options, extra) end
  function m.get_access_token(options, code, params) return _M.get_access_token(profile, options, code, params) end
  function m.refresh_access_token(options, extra) return _M.refresh_access_token(profile, options, extra) end
  return m
end

return _M
