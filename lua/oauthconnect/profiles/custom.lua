-- Any OAuth 2 server, described by properties alone (OAuthAuthorizationURL,
-- OAuthAccessTokenURL, URL): RFC 6749 defaults, PKCE (RFC 7636) always, and
-- public clients (no secret: native apps, RFC 8252 8.4) allowed.
return {
  name = "custom",
  title = "custom OAuth server",
  code_auth = "body",
  refresh_auth = "body",
  pkce = true,
  secret_optional = true,
  refreshable = true,
  pagination = "page",
}
