-- Keap is Infusionsoft's current name (an alias in the registry): require "keap" is require "infusionsoft".
return require("oauthconnect.providers").module("keap")
