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

-- The fields a profile may hold: the core's, and those the Lua layer reads.
local PROFILE_FIELDS = { page_size = true, page_size_max = true, pagination = true,
  signed_payload = true, token_paging_prefix = true, unwrap_envelope = true, webhook = true,
  whoami = true }
for _, name in ipairs(core.profile_fields()) do PROFILE_FIELDS[name] = true end

-- A caller's profile goes over the custom one, so what it leaves out keeps
-- the safe default (PKCE on, above all); a key no profile has is refused,
-- for a call's options given in the profile's place ({redirect_uri = ...}
-- where the provider modules take extra) would otherwise turn PKCE off.
local function profile_or_custom(profile)
  if profile == nil then return CUSTOM end
  if type(profile) ~= "table" then error("profile must be a table", 3) end
  local merged = {}
  for k, v in pairs(CUSTOM) do merged[k] = v end
  for k, v in pairs(profile) do
    if not PROFILE_FIELDS[k] then
      error(("profile field '%s' is unknown: the second argument of the oauthconnect module's "
        .. "functions is a server profile; a call's options (redirect_uri...) go in extra, the "
        .. "third"):format(tostring(k)), 3)
    end
    merged[k] = v
  end
  return merged
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
