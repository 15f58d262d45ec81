-- BigCommerce: require "bigcommerce".connect("InitiateOAuth=GETANDREFRESH;StoreId=...;...")
return require("oauthconnect.providers").module("bigcommerce")
