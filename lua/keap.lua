--- Keap: the same module as `infusionsoft` (an alias in the registry).
-- Keap is Infusionsoft's current name (an alias in the registry): require "keap" is require "infusionsoft".
-- @module keap
-- @see infusionsoft
return require("oauthconnect.providers").module("keap")
