-- Jumpseller, as its public docs describe it (jumpseller.com/support/oauth-2,
-- api.jumpseller.com/v1 openapi.json). Data only: the core and the client read it.
return {
  name = "jumpseller",
  title = "Jumpseller",
  authorize_url = "https://accounts.jumpseller.com/oauth/authorize",
  token_url = "https://accounts.jumpseller.com/oauth/token",
  api_url = "https://api.jumpseller.com/v1",
  -- CData's Jumpseller default: every read scope a reporting script needs.
  scope = "read_orders read_products read_customers read_promotions read_jsapps read_settings "
    .. "read_categories read_payment_methods read_checkout_custom_fields read_countries "
    .. "read_customer_categories read_hooks read_store",
  code_auth = "body",      -- client_id and client_secret in the form body
  refresh_auth = "body",
  token_header = "Authorization",
  token_prefix = "Bearer ",
  -- Jumpseller runs Doorkeeper, which takes RFC 7636 challenges; a server
  -- without PKCE ignores the extra parameters (RFC 6749 3.1).
  pkce = true,
  refreshable = true,
  -- BASIC is the store login and its authtoken (Jumpseller's older API auth).
  auth_schemes = "OAUTH|BASIC",
  -- Rate limits: 20 a second and 800 a minute per IP and store; a spent
  -- quota is waited out before sending. Older docs answer 403, newer 429;
  -- after 2000 rejected hits a ban lasts until BannedByRateLimit-Reset.
  quota_headers = "Jumpseller-PerSecondRateLimit-Remaining=1000,Jumpseller-PerMinuteRateLimit-Remaining=60000",
  wait_headers = "Jumpseller-BannedByRateLimit-Reset=date",
  rate_limit_403 = true,

  -- read by the Lua client and the oauthconnect command
  whoami = { path = "/store/info.json", show = { "store.name", "store.code", "store.email" } },
  pagination = "page",     -- ?page=N&limit=M, a short page is the last
  page_size = 100,         -- the most Jumpseller returns per page
  page_size_max = 100,
  unwrap_envelope = true,  -- [{"order": {...}}] -> {...}
  -- Webhooks: Base64(HMAC-SHA256(raw body, the store's hooks token)).
  webhook = { header = "Jumpseller-Hmac-Sha256", key_name = "hooks token" },
}
