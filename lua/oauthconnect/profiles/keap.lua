-- Keap (Infusionsoft), as developer.infusionsoft.com and its PHP SDK describe
-- it: the code exchange carries the client secret in the body, the refresh
-- authenticates with HTTP Basic; refresh tokens rotate and are single-use.
return {
  name = "infusionsoft",
  title = "Keap",
  authorize_url = "https://accounts.infusionsoft.com/app/oauth/authorize",
  token_url = "https://api.infusionsoft.com/token",
  api_url = "https://api.infusionsoft.com/crm/rest/v1",
  scope = "full",
  code_auth = "body",
  refresh_auth = "basic_raw",   -- Authorization: Basic base64(client_id:client_secret), as they are
  token_header = "Authorization",
  token_prefix = "Bearer ",
  pkce = false,
  refreshable = true,
  auth_schemes = "OAUTH|APIKEY",
  apikey_header = "X-Keap-API-Key", -- personal access token or service account key
  apikey_prefix = "",
  -- Throttles are per minute (x-keap-*-throttle-time-unit: minute); a 429
  -- carries Retry-After.
  quota_headers = "x-keap-product-throttle-available=60000,x-keap-tenant-throttle-available=60000",

  -- read by the Lua client and the oauthconnect command
  whoami = { path = "/account/profile", show = { "name", "email" } },
  pagination = "offset",        -- v1 limit/offset (+ next); v2 page_size/page_token
  page_size = 1000,
  page_size_max = 1000,
  token_paging_prefix = "/v2/", -- v2 pages by page_token, v1 by offset
}
