-- BigCommerce, as its docs describe it (the bigcommerce/docs repository):
-- app installs come back with code, scope and context; the token exchange
-- takes a JSON body; tokens never expire and cannot be refreshed.
return {
  name = "bigcommerce",
  title = "BigCommerce",
  authorize_url = "https://login.bigcommerce.com/oauth2/authorize",
  token_url = "https://login.bigcommerce.com/oauth2/token",
  api_url = "https://api.bigcommerce.com/stores/{StoreId}/v3",
  scope = "store_v2_default store_v2_products_read_only store_v2_orders_read_only store_v2_customers_read_only",
  code_auth = "json",          -- {client_id, client_secret, code, context, scope, grant_type, redirect_uri}
  refresh_auth = "json",
  code_params = "context scope", -- sent on from the callback with the code
  token_header = "X-Auth-Token",
  token_prefix = "",
  pkce = false,
  stateless_callback = true,   -- the app callback carries code, scope, context; no state
  refreshable = false,         -- no refresh token, no expiry: a 401 means re-authorize
  auth_schemes = "OAUTH|APIKEY",
  apikey_header = "X-Auth-Token", -- a store-level API account token
  apikey_prefix = "",
  store_id_member = "context",  -- "stores/{hash}" in the token response
  store_id_prefix = "stores/",
  -- Rate limits: the window resets after X-Rate-Limit-Time-Reset-Ms; a 429
  -- without headers means overload (backoff).
  quota_headers = "X-Rate-Limit-Requests-Left=@X-Rate-Limit-Time-Reset-Ms",
  wait_headers = "X-Rate-Limit-Time-Reset-Ms=ms",

  -- read by the Lua client and the oauthconnect command
  whoami = { path = "/v2/store", show = { "name", "domain", "admin_email" } },
  pagination = "bigcommerce",  -- v3: meta.pagination; v2: page/limit until short or 204
  page_size = 250,             -- the most v3 takes (more gives 413)
  page_size_max = 250,
  -- The load, uninstall and remove_user callbacks carry signed_payload_jwt:
  -- HS256 under the client secret, aud = the client id, sub = "stores/{hash}".
  signed_payload = { store_from = "sub", store_prefix = "stores/" },
}
