/*
 * The provider-profile fields the core reads, one line each:
 *   OC_FIELD(member, kind, "description")
 * kind is STRING, BOOL or CLIENT_AUTH ("body", "basic", "basic_raw" or "json").
 * The fields only the Lua layer reads (pagination, whoami, webhook, ...) are
 * listed, with their types, in lua/oauthconnect/profile_fields.lua, which
 * takes these through core.profile_fields(): the two lists together are every
 * field a profile may hold, and lua/oauthconnect/profile.lua checks profiles
 * against them. Profiles themselves are data: lua/oauthconnect/profiles/<name>.json.
 */
#define OC_PROFILE_FIELD_LIST(OC_FIELD) \
    OC_FIELD(name,           STRING,      "short name: settings file name, messages") \
    OC_FIELD(title,          STRING,      "human name, e.g. \"Jumpseller\"") \
    OC_FIELD(authorize_url,  STRING,      "authorization endpoint") \
    OC_FIELD(token_url,      STRING,      "token endpoint") \
    OC_FIELD(api_url,        STRING,      "API base URL") \
    OC_FIELD(device_authorization_url, STRING, "device authorization endpoint (RFC 8628)") \
    OC_FIELD(revocation_url, STRING,      "token revocation endpoint (RFC 7009)") \
    OC_FIELD(discovery_url,  STRING,      "authorization server metadata URL (RFC 8414, OpenID Connect)") \
    OC_FIELD(scope,          STRING,      "scope requested when the Scope property is unset") \
    OC_FIELD(code_auth,      CLIENT_AUTH, "how the client authenticates when exchanging a code") \
    OC_FIELD(refresh_auth,   CLIENT_AUTH, "how the client authenticates when refreshing") \
    OC_FIELD(token_header,   STRING,      "request header that carries the access token") \
    OC_FIELD(token_prefix,   STRING,      "text before the token in that header, e.g. \"Bearer \"") \
    OC_FIELD(pkce,           BOOL,        "the server takes RFC 7636 PKCE (S256)") \
    OC_FIELD(refreshable,    BOOL,        "the server issues refresh tokens") \
    OC_FIELD(code_params,    STRING,      "callback parameters sent on with the code, e.g. \"context scope\"") \
    OC_FIELD(auth_schemes,   STRING,      "the AuthScheme values the provider takes, e.g. \"OAUTH|APIKEY\"") \
    OC_FIELD(apikey_header,  STRING,      "request header for AuthScheme=APIKEY") \
    OC_FIELD(apikey_prefix,  STRING,      "text before the key in that header") \
    OC_FIELD(store_id_member,STRING,      "token response member that names the store, e.g. \"context\"") \
    OC_FIELD(store_id_prefix,STRING,      "prefix to strip from it, e.g. \"stores/\"") \
    OC_FIELD(wait_headers,   STRING,      "headers naming a wait before retrying: \"Name=ms|s|date,...\"") \
    OC_FIELD(quota_headers,  STRING,      "remaining-quota headers: \"Name=window_ms\" or \"Name=@ResetMsHeader\", ...") \
    OC_FIELD(rate_limit_403, BOOL,        "the server may signal a spent rate limit with 403") \
    OC_FIELD(secret_optional, BOOL,       "a public client (RFC 6749 2.1, with PKCE) may leave OAuthClientSecret out") \
    OC_FIELD(stateless_callback, BOOL,    "the redirect back never carries state (BigCommerce's app callback); one that does must match")
