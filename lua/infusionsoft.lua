-- Keap (Infusionsoft): require "infusionsoft".connect("InitiateOAuth=GETANDREFRESH;...")
return require("oauthconnect.provider").module(require "oauthconnect.profiles.keap")
