-- Any OAuth 2 server, described by properties alone (OAuthAuthorizationURL,
-- OAuthAccessTokenURL, URL): RFC 6749 defaults, PKCE (RFC 7636) always.
return {
  name = "custom",
  title = "custom OAuth server",
  code_auth = "body",
  refresh_auth = "body",
  pkce = true,
  refreshable = true,
  pagination = "page",
}
