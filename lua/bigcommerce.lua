-- BigCommerce: require "bigcommerce".connect("InitiateOAuth=GETANDREFRESH;StoreId=...;...")
return require("oauthconnect.provider").module(require "oauthconnect.profiles.bigcommerce")
