-- Start-up: load the module and connect with a stored token (no request).
--   lua5.4 bench/startup.lua SETTINGS_FILE
local jumpseller = require "jumpseller"
local client = assert(jumpseller.connect({ InitiateOAuth = "REFRESH", OAuthClientId = "id",
  OAuthClientSecret = "secret", OAuthSettingsLocation = arg[1], URL = "http://127.0.0.1:1/v1",
  OAuthAccessTokenURL = "http://127.0.0.1:1/oauth/token" }))
client:close()
