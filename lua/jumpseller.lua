-- Jumpseller: require "jumpseller".connect("InitiateOAuth=GETANDREFRESH;...")
return require("oauthconnect.provider").module(require "oauthconnect.profiles.jumpseller")
