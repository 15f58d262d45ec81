-- Jumpseller: require "jumpseller".connect("InitiateOAuth=GETANDREFRESH;...")
return require("oauthconnect.providers").module("jumpseller")
