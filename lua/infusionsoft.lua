-- Keap (Infusionsoft): require "infusionsoft".connect("InitiateOAuth=GETANDREFRESH;...")
return require("oauthconnect.providers").module("infusionsoft")
