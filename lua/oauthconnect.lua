-- oauthconnect: OAuth 2 connections for Lua scripts.
--   require("oauthconnect").connect(options, profile)  -- any OAuth 2 server
--   require("oauthconnect").connect("Profile=~/acme.json;...")  -- a profile file
-- Provider modules (jumpseller, ...) are the same functions bound to a
-- built-in profile (oauthconnect.providers, the registry).

local core = require "oauthconnect.core"
local provider = require "oauthconnect.provider"
local profile = require "oauthconnect.profile"

local _M = { _VERSION = core._VERSION }

-- The profile for a server described by properties alone
-- (lua/oauthconnect/profiles/custom.json); a table passed by the caller is
-- laid over it.
local CUSTOM = assert(profile.builtin("custom"))
_M.profile = CUSTOM

-- The registry of built-in providers (names, aliases, their modules).
_M.providers = require "oauthconnect.providers"

-- A caller's profile goes over the custom one, so what it leaves out keeps
-- the safe default (PKCE on, above all). It is checked as a profile file is
-- (profile_fields.lua): a field no profile has, or a value of the wrong
-- type, raises at the caller, for a call's options given in the profile's
-- place ({redirect_uri = ...} where the provider modules take extra) would
-- otherwise turn PKCE off; an endpoint the core would refuse is nil, err.
local function profile_or_custom(p)
  if p == nil then return CUSTOM end
  if type(p) ~= "table" then error("profile must be a table", 3) end
  local checked, problem = profile.check(p)
  if checked then return profile.over_custom(checked) end
  if problem.code ~= "invalid_argument" then
    return nil, core.error(problem.code, "profile " .. problem.message, { field = problem.field })
  end
  if problem.unknown then
    error(("profile field '%s' is unknown: the second argument of the oauthconnect module's "
      .. "functions is a server profile; a call's options (redirect_uri...) go in extra, the "
      .. "third"):format(tostring(problem.field)), 3)
  end
  error("profile " .. problem.message, 3)
end

function _M.connect(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.connect(resolved, options, extra)
end

function _M.login(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.login(resolved, options, extra)
end

function _M.get_authorization_url(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.get_authorization_url(resolved, options, extra)
end

function _M.get_access_token(options, code, params, p)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.get_access_token(resolved, options, code, params)
end

function _M.refresh_access_token(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.refresh_access_token(resolved, options, extra)
end

-- Builds a provider module from a profile table, checked as a profile file
-- is (raises on a field no profile has or a value it cannot take). The
-- built-in providers' modules come from the registry: _M.providers.module(name).
function _M.provider(p)
  if type(p) ~= "table" then error("profile must be a table", 2) end
  local checked, problem = profile.check(p)
  if not checked then error("profile " .. problem.message, 2) end
  return provider.module(checked)
end

-- err objects: tables with code, message, status, property, oauth_error.
function _M.is_error(v)
  return getmetatable(v) == core.error_mt
end

_M.properties = core.properties
_M.parse = core.parse

return _M
