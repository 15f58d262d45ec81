--- Keap (Infusionsoft): a @{oauthconnect.provider.ProviderModule} for the profile infusionsoft.json.
-- Keap (Infusionsoft): require "infusionsoft".connect("InitiateOAuth=GETANDREFRESH;...")
-- connect, login, get_authorization_url, get_access_token, refresh_access_token.
-- @module infusionsoft
-- @see oauthconnect.provider.ProviderModule
return require("oauthconnect.providers").module("infusionsoft")
