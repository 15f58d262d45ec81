--- OAuth 2 connections to any OAuth 2 server, and the provider modules' common ground.
-- oauthconnect: OAuth 2 connections for Lua scripts.
--   require("oauthconnect").connect(options, profile)  -- any OAuth 2 server
--   require("oauthconnect").connect("Profile=~/acme.json;...")  -- a profile file
-- Provider modules (jumpseller, ...) are the same functions bound to a
-- built-in profile (oauthconnect.providers, the registry).
--
-- Runtime failures return `nil, err` (an @{err}); wrong argument types raise.
-- @module oauthconnect

local core = require "oauthconnect.core"
local provider = require "oauthconnect.provider"
local profile = require "oauthconnect.profile"

local _M = { _VERSION = core._VERSION }

-- The profile for a server described by properties alone
-- (lua/oauthconnect/profiles/custom.json); a table passed by the caller is
-- laid over it.
local CUSTOM = assert(profile.builtin("custom"))
--- The custom profile (lua/oauthconnect/profiles/custom.json), which a caller's profile is laid over.
-- @table profile
_M.profile = CUSTOM

--- The registry of built-in providers: the module @{oauthconnect.providers}.
-- The registry of built-in providers (names, aliases, their modules).
-- @table providers
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

--- Connects to any OAuth 2 server: a client ready for requests.
-- With `InitiateOAuth=GETANDREFRESH` and nothing stored this runs the
-- desktop login first; with a stored token it sends nothing.
-- @tparam string|table options a connection string or a table of connection
-- properties (case-insensitive names); the table may also hold the Lua-only
-- options of @{connect_options}
-- @tparam[opt] table p a profile laid over the custom one (fields as in README's
-- profile table); a field no profile has raises
-- @tparam[opt] table extra more properties and @{connect_options}, which win over options
-- @treturn[1] oauthconnect.client the client
-- @return[2] nil
-- @treturn[2] err why not
function _M.connect(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.connect(resolved, options, extra)
end

--- Runs the desktop (browser) login now, whatever is stored.
-- @tparam string|table options connection properties, as for @{connect}
-- @tparam[opt] table p a profile, as for @{connect}
-- @tparam[opt] table extra more properties and Lua options
-- @treturn[1] token the new token table
-- @return[2] nil
-- @treturn[2] err why not
function _M.login(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.login(resolved, options, extra)
end

--- The web flow's first step: the authorization URL to send a browser to.
-- The PKCE verifier is also kept for ten minutes (in the store, else in this
-- process), for @{get_access_token} to find by the callback's state.
-- @tparam string|table options connection properties, as for @{connect}
-- @tparam[opt] table p a profile, as for @{connect}
-- @tparam[opt] table extra more properties; `redirect_uri` replaces CallbackURL for this login
-- @treturn[1] string the URL
-- @treturn[1] string the state the callback must carry
-- @treturn[1] ?string the PKCE code verifier (nil unless the profile takes PKCE)
-- @return[2] nil
-- @treturn[2] err why not
function _M.get_authorization_url(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.get_authorization_url(resolved, options, extra)
end

--- The web flow's second step: exchanges the callback's code for tokens.
-- The tokens are stored when OAuthSettingsLocation (or a `store`) is given.
-- @tparam string|table options connection properties, as for @{connect}
-- @tparam string|table code the code, or the callback's whole query table
-- (its `state` then finds the login's PKCE verifier; an `error` in it is returned as err)
-- @tparam[opt] table params `code_verifier`, `redirect_uri`, `on_token`, and
-- provider extras (`context`, `scope`)
-- @tparam[opt] table p a profile, as for @{connect}
-- @treturn[1] token the token table
-- @return[2] nil
-- @treturn[2] err why not (`access_denied` when the user said no)
function _M.get_access_token(options, code, params, p)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.get_access_token(resolved, options, code, params)
end

--- Refreshes now, from OAuthRefreshToken or the stored refresh token.
-- @tparam string|table options connection properties, as for @{connect}
-- @tparam[opt] table p a profile, as for @{connect}
-- @tparam[opt] table extra more properties and Lua options
-- @treturn[1] token the new token table
-- @return[2] nil
-- @treturn[2] err why not
function _M.refresh_access_token(options, p, extra)
  local resolved, err = profile_or_custom(p)
  if not resolved then return nil, err end
  return provider.refresh_access_token(resolved, options, extra)
end

--- A provider module (@{oauthconnect.provider.ProviderModule}) for a profile table.
-- Builds a provider module from a profile table, checked as a profile file
-- is (raises on a field no profile has or a value it cannot take). The
-- built-in providers' modules come from the registry: _M.providers.module(name).
-- @tparam table p the profile
-- @treturn oauthconnect.provider.ProviderModule its module
function _M.provider(p)
  if type(p) ~= "table" then error("profile must be a table", 2) end
  local checked, problem = profile.check(p)
  if not checked then error("profile " .. problem.message, 2) end
  return provider.module(checked)
end

--- Whether v is an @{err} object.
-- err objects: tables with code, message, status, property, oauth_error.
-- @param v any value
-- @treturn boolean
function _M.is_error(v)
  return getmetatable(v) == core.error_mt
end

--- Every connection property the core knows (its table, in C).
-- @function properties
-- @treturn table the properties, each with its name, type, default and allowed values
-- (docs/connection-properties.md is generated from it)
_M.properties = core.properties
--- Parses a connection string (`Name=Value;...`, as CData's) into a table.
-- @function parse
-- @string text the connection string
-- @treturn[1] table the properties, by the names they were given
-- @return[2] nil
-- @treturn[2] err `syntax_error` or `unknown_property`, naming it
_M.parse = core.parse

--- Options only the Lua layer reads, taken by every `connect` (in the options
-- table or in extra) beside the connection properties.
-- @table connect_options
-- @tfield[opt] function on_token `function(token)`, called whenever the tokens change
-- (login, refresh, another process's refresh adopted): keep them in your own database
-- @tfield[opt] function on_device_code `function(info)`: shows the device login's prompt
-- (`OAuthGrantType=DEVICE_CODE`): `info.verification_uri`, `info.user_code`,
-- `info.verification_uri_complete`, `info.expires_in`, `info.title` (default: stderr)
-- @tfield[opt] string io `"curl"` or `"nginx"`: the driver, chosen yourself (default: by where it runs)
-- @tfield[opt] string nginx_location the internal location nginx subrequests go to
-- (default `/_oauthconnect`)
-- @tfield[opt] function transport `function(req)` that sends every request the engine needs
-- (API and token endpoint) with your own HTTP client: see @{oauthconnect.driver.user_transport}
-- @tfield[opt] table store `{load, save, lock, unlock [, remove]}`: the tokens kept in your own
-- storage instead of OAuthSettingsLocation; see @{oauthconnect.driver.check_store}

--- An error object: every runtime failure is `nil, err`.
-- It prints as one sentence (`tostring(err)`, and `"failed: " .. err` joins
-- its message) and never holds a secret.
-- @table err
-- @tfield string code stable and machine-readable: one of README's list of `err.code`
-- (`unauthorized`, `not_found`, `rate_limited`, `oauth_error`, `settings_error`, ...)
-- @tfield string message the sentence, naming the property, value or endpoint at fault
-- @tfield[opt] integer status the HTTP status, for HTTP errors
-- @tfield[opt] string property the connection property at fault
-- @tfield[opt] string oauth_error the server's OAuth error (e.g. `invalid_grant`)
-- @tfield[opt] string body the answer's body, for HTTP errors (secrets redacted)
-- @tfield[opt] table headers the answer's headers, for HTTP errors
-- @tfield[opt] string field the profile field at fault (a profile's errors)
-- @tfield[opt] string path the profile file at fault

--- A token table, as the core returns it (never printed by the library).
-- @table token
-- @tfield string access_token
-- @tfield[opt] string refresh_token
-- @tfield[opt] string token_type
-- @tfield[opt] string scope
-- @tfield[opt] integer expires_in seconds the access token lives
-- @tfield[opt] integer expires_at when it expires (seconds since the epoch)
-- @tfield integer obtained_at_ms when it was obtained (milliseconds since the epoch)
-- @tfield[opt] integer created_at the server's own `created_at`
-- @tfield[opt] table extra the token response's other members (BigCommerce's `context`, `user`...)

return _M
