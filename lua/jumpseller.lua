--- Jumpseller: a @{oauthconnect.provider.ProviderModule} for the profile jumpseller.json.
-- Jumpseller: require "jumpseller".connect("InitiateOAuth=GETANDREFRESH;...")
-- connect, login, get_authorization_url, get_access_token, refresh_access_token,
-- verify_webhook (Jumpseller-Hmac-Sha256).
-- @module jumpseller
-- @see oauthconnect.provider.ProviderModule
return require("oauthconnect.providers").module("jumpseller")
