-- oauthconnect: OAuth 2 connections for Lua scripts.
--   require("oauthconnect").connect(options, profile)  -- any OAuth 2 server
-- Provider modules (jumpseller, ...) are the same functions bound to a profile.

local core = require "oauthconnect.core"
local provider = require "oauthconnect.provider"

local _M = { _VERSION = core._VERSION }

-- The profile for a server described by properties alone; a table passed by
-- the caller is used as given.
local CUSTOM = require "oauthconnect.profiles.custom"
_M.profile = CUSTOM

local function profile_or_custom(profile)
  if profile == nil then return CUSTOM end
  if type(profile) ~= "table" then error("profile must be a table", 3) end
  return profile
end

function _M.connect(options, profile, extra)
  return provider.connect(profile_or_custom(profile), options, extra)
end

function _M.login(options, profile, extra)
  return provider.login(profile_or_custom(profile), options, extra)
end

function _M.get_authorization_url(options, profile, extra)
  return provider.get_authorization_url(profile_or_custom(profile), options, extra)
end

function _M.get_access_token(options, code, params, profile)
  return provider.get_access_token(profile_or_custom(profile), options, code, params)
end

function _M.refresh_access_token(options, profile, extra)
  return provider.refresh_access_token(profile_or_custom(profile), options, extra)
end

-- Builds a provider module from a profile table (see lua/oauthconnect/profiles).
_M.provider = provider.module

-- err objects: tables with code, message, status, property, oauth_error.
function _M.is_error(v)
  return getmetatable(v) == core.error_mt
end

_M.properties = core.properties
_M.parse = core.parse

return _M
