--- BigCommerce: a @{oauthconnect.provider.ProviderModule} for the profile bigcommerce.json.
-- BigCommerce: require "bigcommerce".connect("InitiateOAuth=GETANDREFRESH;StoreId=...;...")
-- connect, login, get_authorization_url, get_access_token, refresh_access_token,
-- verify_signed_payload (signed_payload_jwt).
-- @module bigcommerce
-- @see oauthconnect.provider.ProviderModule
return require("oauthconnect.providers").module("bigcommerce")
