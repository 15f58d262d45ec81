-- Keap is Infusionsoft's current name: require "keap" is require "infusionsoft".
return require "infusionsoft"
