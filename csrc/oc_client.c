/*
 * The client's set-up: properties checked against the profile and the
 * chosen AuthScheme, the store, the transport and the log.
 */
#include "oc_client_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_login.h"
#include "oc_time.h"
#include "oc_url.h"
#include "oc_version.h"

#define STORE_ID_PLACEHOLDER "{StoreId}"

static const char *const scheme_names[] = { "OAUTH", "OAUTH_CLIENT", "BASIC", "APIKEY", "NONE", "NTLM" };

const char *oc_client_title(const oc_client *c)
{
    return c->profile->title ? c->profile->title
                             : c->profile->name ? c->profile->name : "unnamed provider";
}

int oc_client_uses_tokens(const oc_client *c)
{
    return c->scheme == OC_SCHEME_OAUTH || c->scheme == OC_SCHEME_OAUTH_CLIENT;
}

oc_code oc_client_need(const oc_client *c, oc_prop p, const char *why, oc_error *err)
{
    const char *v = oc_config_get(c->cfg, p);
    if (v && *v)
        return OC_OK;
    return oc_fail_property(err, OC_E_MISSING_PROPERTY, oc_prop_name(p), "%s is required %s",
                            oc_prop_name(p), why);
}

oc_code oc_client_endpoint(const oc_client *c, oc_prop p, const char *fallback, const char **out,
                           oc_error *err)
{
    const char *v = oc_config_is_set(c->cfg, p) ? oc_config_get(c->cfg, p) : fallback;
    *out = v;
    if (!v || !*v)
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, oc_prop_name(p),
                                "%s is required: the %s profile has no default for it",
                                oc_prop_name(p), oc_client_title(c));
    return oc_url_check_secure(v, oc_prop_name(p), err);
}

/* What each OAuth endpoint is called: its property, the discovery member,
   and where it lives in the flow and the profile. */
static const struct endpoint_info {
    oc_prop prop;
    const char *member;
} endpoints[] = {
    [OC_EP_AUTHORIZE] = { OC_P_OAUTH_AUTHORIZATION_URL, "authorization_endpoint" },
    [OC_EP_TOKEN] = { OC_P_OAUTH_ACCESS_TOKEN_URL, "token_endpoint" },
    [OC_EP_DEVICE] = { OC_P_OAUTH_DEVICE_AUTHORIZATION_URL, "device_authorization_endpoint" },
    [OC_EP_REVOKE] = { OC_P_OAUTH_REVOCATION_URL, "revocation_endpoint" },
};

/* The flow's slot for an endpoint, the profile's and the document's values. */
static const char **endpoint_slot(oc_client *c, oc_endpoint which, const char **profile_v,
                                  const char **discovered_v)
{
    switch (which) {
    case OC_EP_AUTHORIZE:
        *profile_v = c->profile->authorize_url;
        *discovered_v = c->disc.authorization_endpoint;
        return &c->flow.authorize_url;
    case OC_EP_TOKEN:
        *profile_v = c->profile->token_url;
        *discovered_v = c->disc.token_endpoint;
        return &c->flow.token_url;
    case OC_EP_DEVICE:
        *profile_v = c->profile->device_authorization_url;
        *discovered_v = c->disc.device_authorization_endpoint;
        return &c->flow.device_url;
    case OC_EP_REVOKE:
    default:
        *profile_v = c->profile->revocation_url;
        *discovered_v = c->disc.revocation_endpoint;
        return &c->flow.revocation_url;
    }
}

oc_code oc_client_oauth_endpoint(oc_client *c, oc_endpoint which, oc_error *err)
{
    const char *profile_v, *discovered_v, *name = oc_prop_name(endpoints[which].prop);
    const char **slot = endpoint_slot(c, which, &profile_v, &discovered_v);
    if (oc_config_is_set(c->cfg, endpoints[which].prop))
        *slot = oc_config_get(c->cfg, endpoints[which].prop);
    else
        *slot = discovered_v && *discovered_v ? discovered_v : profile_v;
    if (*slot && **slot)
        return oc_url_check_secure(*slot, name, err);
    *slot = NULL;
    if (c->discovery_url && c->disc.url) {
        char shown[400];
        oc_url_shown(shown, sizeof shown, c->disc.url);
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, name,
                                "%s is required: the discovery document at %s names no %s", name,
                                shown, endpoints[which].member);
    }
    return oc_fail_property(err, OC_E_MISSING_PROPERTY, name,
                            "%s is required: the %s profile has no default for it%s", name,
                            oc_client_title(c), c->discovery_url ? "" : " (or set OAuthDiscoveryURL)");
}

int oc_client_endpoint_discovered(const oc_client *c, oc_endpoint which)
{
    const char *profile_v, *discovered_v;
    const char **slot = endpoint_slot((oc_client *)c, which, &profile_v, &discovered_v);
    return *slot && discovered_v && *slot == discovered_v;
}

int oc_client_discovery_due(const oc_client *c, int64_t now_ms)
{
    return c->discovery_url && (!c->disc.url || (oc_discovery_stale(&c->disc, now_ms) &&
                                                 now_ms >= c->disc.next_fetch_ms));
}

void oc_client_adopt_discovery(oc_client *c, oc_discovery *d)
{
    int basic, post;
    /* the flow points into the document it replaces */
    if (c->flow.authorize_url && c->flow.authorize_url == c->disc.authorization_endpoint)
        c->flow.authorize_url = NULL;
    if (c->flow.token_url && c->flow.token_url == c->disc.token_endpoint)
        c->flow.token_url = NULL;
    if (c->flow.device_url && c->flow.device_url == c->disc.device_authorization_endpoint)
        c->flow.device_url = NULL;
    if (c->flow.revocation_url && c->flow.revocation_url == c->disc.revocation_endpoint)
        c->flow.revocation_url = NULL;
    oc_discovery_clear(&c->disc);
    c->disc = *d;
    oc_discovery_init(d);
    /* A server's client authentication methods are taken at its word when
       the profile's way is not among them; a document that states none
       means client_secret_basic (RFC 8414 2). A public client sends its
       id in the body whatever the server lists. */
    basic = c->disc.auth_basic == OC_SAID_NOT ? 1 : c->disc.auth_basic;
    post = c->disc.auth_basic == OC_SAID_NOT ? 0 : c->disc.auth_post;
    if (!c->flow.client_secret || !*c->flow.client_secret)
        return;
    if (c->flow.code_auth == OC_CLIENT_AUTH_BODY && !post && basic)
        c->flow.code_auth = c->flow.refresh_auth = OC_CLIENT_AUTH_BASIC;
    else if ((c->flow.code_auth == OC_CLIENT_AUTH_BASIC || c->flow.code_auth == OC_CLIENT_AUTH_BASIC_RAW) &&
             !basic && post)
        c->flow.code_auth = c->flow.refresh_auth = OC_CLIENT_AUTH_BODY;
}

int oc_client_pkce(const oc_client *c)
{
    return c->profile->pkce || c->disc.pkce_s256 == 1;
}

void oc_client_warn(const oc_client *c, const char *fmt, ...)
{
    char line[OC_MESSAGE_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (c->log)
        oc_logf(c->log, 1, "warning: %s", line);
    else
        fprintf(stderr, "oauthconnect: warning: %s\n", line);
}

oc_header_lines *oc_client_hold_lines(oc_client *c)
{
    if (c->lines)
        c->lines->refs++;
    return c->lines;
}

void oc_client_release_lines(oc_header_lines *lines)
{
    if (lines && --lines->refs == 0) {
        oc_http_free_headers(lines->plain);
        oc_http_free_headers(lines->body);
        free(lines);
    }
}

void oc_client_free_auth_headers(oc_client *c)
{
    oc_client_release_lines(c->lines);
    c->lines = NULL;
    c->credentials_line = NULL;
}

/* The common lines, then "Expect:" when with_expect: a body is sent at once,
   without waiting on "100 Continue" (which some API gateways never send). */
static struct curl_slist *header_list(const char *credentials, int with_expect)
{
    struct curl_slist *list = NULL, *n;
    if (!(n = curl_slist_append(list, "Accept: application/json")) || !(list = n) ||
        !(n = curl_slist_append(list, OC_USER_AGENT_HEADER)) || !(list = n) ||
        (credentials && (!(n = curl_slist_append(list, credentials)) || !(list = n))) ||
        (with_expect && (!(n = curl_slist_append(list, "Expect:")) || !(list = n)))) {
        oc_http_free_headers(list);
        return NULL;
    }
    return list;
}

oc_code oc_client_set_auth_headers(oc_client *c, const char *credentials, oc_error *err)
{
    oc_header_lines *lines = calloc(1, sizeof *lines);
    if (!lines || !(lines->plain = header_list(credentials, 0)) ||
        !(lines->body = header_list(credentials, 1))) {
        if (lines)
            oc_http_free_headers(lines->plain);
        free(lines);
        return oc_fail_nomem(err);
    }
    lines->refs = 1;
    oc_client_free_auth_headers(c);
    c->lines = lines;
    /* the third line of the list (see header_list), for oc_client_ready_credentials */
    c->credentials_line = credentials ? lines->plain->next->next->data : NULL;
    return OC_OK;
}

const struct curl_slist *oc_client_base_headers(const oc_client *c, int has_body)
{
    return c->lines ? (has_body ? c->lines->body : c->lines->plain) : NULL;
}

/* The store a token was issued for: the member the profile names
   (BigCommerce's "context": "stores/abc123"), in buf; NULL when it has none. */
const char *oc_client_token_store_id(const oc_client *c, const oc_token *t, char *buf, size_t max)
{
    const char *v;
    json_t *m;
    if (!c->profile->store_id_member || !t->extra)
        return NULL;
    m = json_object_get(t->extra, c->profile->store_id_member);
    if (!json_is_string(m))
        return NULL;
    v = json_string_value(m);
    if (c->profile->store_id_prefix &&
        strncmp(v, c->profile->store_id_prefix, strlen(c->profile->store_id_prefix)) == 0)
        v += strlen(c->profile->store_id_prefix);
    snprintf(buf, max, "%s", v);
    return buf;
}

/* The store the URL names: StoreId, or the token's. NULL when neither has it. */
static const char *store_id(const oc_client *c, char *buf, size_t max)
{
    const char *v = oc_config_get(c->cfg, OC_P_STORE_ID);
    if (v && *v)
        return v;
    return oc_client_token_store_id(c, &c->token, buf, max);
}

static int valid_store_id(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return n > 0 && n <= 64;
}

oc_code oc_client_resolve_api_url(oc_client *c, oc_error *err)
{
    const char *t = c->api_template, *at = strstr(t, STORE_ID_PLACEHOLDER), *id = NULL;
    char idbuf[128];
    oc_buf url;
    oc_code rc;

    oc_buf_init(&url, 0);
    if (at) {
        id = store_id(c, idbuf, sizeof idbuf);
        if (!id) {
            free(c->api_url);
            c->api_url = NULL;
            return oc_fail_property(err, OC_E_MISSING_PROPERTY, "StoreId",
                                    "StoreId is required: the %s API URL names the store (it is "
                                    "also taken from the token after a login)",
                                    oc_client_title(c));
        }
        if (!valid_store_id(id)) {
            char shown[80];
            oc_copy_printable(shown, sizeof shown, id, strlen(id));
            return oc_fail_property(err, OC_E_BAD_VALUE, "StoreId",
                                    "StoreId: '%s' is not a store id (letters, digits, - and _)",
                                    shown);
        }
        oc_buf_append(&url, t, (size_t)(at - t));
        oc_buf_puts(&url, id);
        oc_buf_puts(&url, at + strlen(STORE_ID_PLACEHOLDER));
    } else {
        oc_buf_puts(&url, t);
    }
    if (!url.data)
        return oc_fail_nomem(err);
    /* Paths are appended to the base: keep it without a trailing slash. */
    while (url.len && url.data[url.len - 1] == '/')
        url.data[--url.len] = '\0';
    if ((rc = oc_url_check_secure(url.data, "URL", err)) != OC_OK) {
        oc_buf_free(&url);
        return rc;
    }
    free(c->api_url);
    c->api_url = oc_buf_steal(&url, NULL);
    return OC_OK;
}

/* The scheme, refused with the provider's list when it cannot take it. */
static oc_code choose_scheme(oc_client *c, oc_error *err)
{
    const char *v = oc_config_get(c->cfg, OC_P_AUTH_SCHEME);
    const char *allowed = c->profile->auth_schemes ? c->profile->auth_schemes : "OAUTH";
    size_t i, vlen = strlen(v);
    const char *s;
    int listed = 0;
    for (i = 0; i < sizeof scheme_names / sizeof *scheme_names; i++)
        if (strcmp(v, scheme_names[i]) == 0)
            c->scheme = (oc_scheme)i;
    for (s = allowed; *s;) {
        size_t n = strcspn(s, "|");
        if (n == vlen && strncasecmp(s, v, n) == 0)
            listed = 1;
        s += n + (s[n] == '|');
    }
    if (!listed) {
        char list[200];
        size_t k;
        snprintf(list, sizeof list, "%s", allowed);
        for (k = 0; list[k]; k++)
            if (list[k] == '|')
                list[k] = ',';
        return oc_fail_property(err, OC_E_UNSUPPORTED, "AuthScheme",
                                "AuthScheme: %s cannot use %s; it takes %s", oc_client_title(c), v,
                                list);
    }
    return OC_OK;
}

/* The properties each scheme needs, up front. */
static oc_code check_scheme_properties(oc_client *c, oc_error *err)
{
    static const char refresh_modes[] = "with InitiateOAuth=GETANDREFRESH or REFRESH";
    oc_code rc = OC_OK;
    switch (c->scheme) {
    case OC_SCHEME_OAUTH:
        if (c->mode != OC_MODE_OFF &&
            ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, refresh_modes, err)) != OC_OK ||
             (!c->profile->secret_optional &&
              (rc = oc_client_need(c, OC_P_OAUTH_CLIENT_SECRET, refresh_modes, err)) != OC_OK)))
            return rc;
        break;
    case OC_SCHEME_OAUTH_CLIENT:
        if ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, "with AuthScheme=OAUTH_CLIENT", err)) != OC_OK ||
            (rc = oc_client_need(c, OC_P_OAUTH_CLIENT_SECRET, "with AuthScheme=OAUTH_CLIENT", err)) != OC_OK ||
            (!c->discovery_url && (rc = oc_client_oauth_endpoint(c, OC_EP_TOKEN, err)) != OC_OK))
            return rc;
        break;
    case OC_SCHEME_BASIC:
    case OC_SCHEME_NTLM: {
        const char *why = c->scheme == OC_SCHEME_BASIC ? "with AuthScheme=BASIC" : "with AuthScheme=NTLM";
        if ((rc = oc_client_need(c, OC_P_USER, why, err)) != OC_OK ||
            (rc = oc_client_need(c, OC_P_PASSWORD, why, err)) != OC_OK)
            return rc;
        break;
    }
    case OC_SCHEME_APIKEY:
        return oc_client_need(c, OC_P_API_KEY, "with AuthScheme=APIKEY", err);
    case OC_SCHEME_NONE:
        break;
    }
    return rc;
}

/* The header line for the static schemes, built once. */
static oc_code static_credentials(oc_client *c, oc_error *err)
{
    oc_buf line, cred;
    char *b64 = NULL;
    oc_code rc;
    oc_buf_init_secret(&line, 0);
    oc_buf_init_secret(&cred, 0);
    if (c->scheme == OC_SCHEME_BASIC) {
        oc_buf_printf(&cred, "%s:%s", oc_config_get(c->cfg, OC_P_USER),
                      oc_config_get(c->cfg, OC_P_PASSWORD));
        if (cred.data && (b64 = oc_base64(cred.data, cred.len)) != NULL) {
            oc_buf_printf(&line, "Authorization: Basic %s", b64);
            oc_log_secret(c->log, b64);
        }
    } else if (c->scheme == OC_SCHEME_APIKEY) {
        oc_buf_printf(&line, "%s: %s%s", c->profile->apikey_header,
                      c->profile->apikey_prefix ? c->profile->apikey_prefix : "",
                      oc_config_get(c->cfg, OC_P_API_KEY));
    }
    rc = (line.data || c->scheme == OC_SCHEME_NONE || c->scheme == OC_SCHEME_NTLM)
             ? oc_client_set_auth_headers(c, line.data, err)
             : oc_fail_nomem(err);
    oc_free_secret(b64);
    oc_wipe(cred.data, cred.len);
    oc_wipe(line.data, line.len);
    oc_buf_free(&cred);
    oc_buf_free(&line);
    return rc;
}

/* The authorization server a stored set belongs to: its token endpoint as
   the properties or the profile name it, else the discovery URL that will. */
static const char *server_id(const oc_client *c)
{
    if (oc_config_is_set(c->cfg, OC_P_OAUTH_ACCESS_TOKEN_URL) || !c->discovery_url)
        return c->flow.token_url;
    return c->discovery_url;
}

/*
 * $XDG_CONFIG_HOME/oauthconnect/<provider>.json; when URL points somewhere
 * the profile does not (a sandbox, a proxy, a custom server), the name
 * carries a short hash of the endpoints, so their tokens never share a file.
 */
static oc_code default_settings_path(const oc_client *c, char **out, oc_error *err)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    const char *name = c->profile->name ? c->profile->name : "oauth";
    char suffix[16] = "";
    oc_buf b;
    if (!c->profile->api_url || strcmp(c->api_template, c->profile->api_url) != 0 ||
        (server_id(c) && c->profile->token_url && strcmp(server_id(c), c->profile->token_url) != 0)) {
        char hex[65];
        oc_buf_init(&b, 0);
        oc_buf_printf(&b, "%s\n%s", c->api_template, server_id(c) ? server_id(c) : "");
        if (!b.data)
            return oc_fail_nomem(err);
        oc_sha256_hex(b.data, b.len, hex);
        oc_buf_free(&b);
        snprintf(suffix, sizeof suffix, "-%.8s", hex);
    }
    oc_buf_init(&b, 4096);
    if (xdg && *xdg == '/')
        oc_buf_printf(&b, "%s/oauthconnect/%s%s.json", xdg, name, suffix);
    else if (home && *home)
        oc_buf_printf(&b, "%s/.config/oauthconnect/%s%s.json", home, name, suffix);
    else
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, "OAuthSettingsLocation",
                                "OAuthSettingsLocation is required: neither XDG_CONFIG_HOME nor "
                                "HOME is set to put the default one under");
    if (!b.data)
        return oc_fail_nomem(err);
    *out = oc_buf_steal(&b, NULL);
    return OC_OK;
}

/* Whether loc starts with scheme:// (schemes ignore case, RFC 3986 3.1). */
static int has_scheme(const char *loc, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(loc, scheme, n) == 0 && strncmp(loc + n, "://", 3) == 0;
}

/* "name:" followed by '/' looks like a URL: one of a store this client
   does not know (file:, a typo of redis:) must not become a relative path,
   or each machine would keep its own copy of a set meant to be shared. */
static oc_code unknown_store(const char *loc, oc_error *err)
{
    size_t n = strspn(loc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (n == 0 || !isalpha((unsigned char)loc[0]) || loc[n] != ':' || loc[n + 1] != '/')
        return OC_OK;
    return oc_fail_property(err, OC_E_BAD_VALUE, "OAuthSettingsLocation",
                            "OAuthSettingsLocation: '%.*s:' names no store this client knows; give a "
                            "file path, file:///path, memory://NAME, redis://..., rediss://... or (in nginx) shm://DICT",
                            (int)(n > 20 ? 20 : n), loc);
}

static oc_code open_store(oc_client *c, oc_store *given, oc_error *err)
{
    const char *loc = oc_config_get(c->cfg, OC_P_OAUTH_SETTINGS_LOCATION);
    char *path = NULL;
    oc_code rc;
    if (!oc_client_uses_tokens(c))
        return OC_OK;
    if (given) {
        c->store = oc_store_retain(given);
        return OC_OK;
    }
    if (loc && has_scheme(loc, "memory"))
        return oc_store_memory_open(loc + 9, &c->store, err);
    if (loc && has_scheme(loc, "shm")) /* nginx's shared dicts: only the nginx driver reaches them */
        return oc_store_external_new(loc, &c->store, err);
    if (loc && (has_scheme(loc, "redis") || has_scheme(loc, "rediss"))) {
        const char *cert = oc_config_get(c->cfg, OC_P_SSL_SERVER_CERT);
        int pem = cert && strstr(cert, "-----BEGIN ") != NULL;
        return oc_store_redis_new(loc, pem ? NULL : cert, pem ? cert : NULL, c->timeout_ms, &c->store, err);
    }
    if (loc && has_scheme(loc, "file")) {
        if (loc[7] != '/') /* file://host/path names another machine */
            return oc_fail_property(err, OC_E_BAD_VALUE, "OAuthSettingsLocation",
                                    "OAuthSettingsLocation: a file:// location must be file:///path on "
                                    "this machine");
        return oc_store_file_new(loc + 7, &c->store, err);
    }
    if (loc && (rc = unknown_store(loc, err)) != OC_OK)
        return rc;
    if (loc)
        return oc_store_file_new(loc, &c->store, err);
    if (c->mode == OC_MODE_OFF)
        return OC_OK; /* nothing to keep: tokens come from the properties */
    if ((rc = default_settings_path(c, &path, err)) != OC_OK)
        return rc;
    rc = oc_store_file_new(path, &c->store, err);
    free(path);
    return rc;
}

static void compute_seed(oc_client *c)
{
    const char *a = oc_config_get(c->cfg, OC_P_OAUTH_ACCESS_TOKEN);
    const char *r = oc_config_get(c->cfg, OC_P_OAUTH_REFRESH_TOKEN);
    oc_buf b;
    c->seed[0] = '\0';
    if (!a && !r)
        return;
    oc_buf_init_secret(&b, 0);
    oc_buf_puts(&b, "oauthconnect-seed:");
    oc_buf_puts(&b, a ? a : "");
    oc_buf_append(&b, "\n", 1);
    oc_buf_puts(&b, r ? r : "");
    if (b.data)
        oc_sha256_hex(b.data, b.len, c->seed);
    oc_wipe(b.data, b.len);
    oc_buf_free(&b);
}

/* Trust settings: a PEM file or PEM text; "*" (CData's accept-anything) is refused. */
/* Certificates are checked now: libcurl would refuse a bad one on every
   request, each failing as a TLS error that says little. */
static oc_code trust(const oc_client *c, oc_http_options *ho, oc_error *err)
{
    const char *v = oc_config_get(c->cfg, OC_P_SSL_SERVER_CERT);
    FILE *f;
    if (!v)
        return OC_OK;
    if (strcmp(v, "*") == 0)
        return oc_fail_property(err, OC_E_BAD_VALUE, "SSLServerCert",
                                "SSLServerCert: '*' would accept any certificate; oauthconnect "
                                "always verifies TLS. Give the CA or server certificate (PEM)");
    if (strstr(v, "-----BEGIN ")) {
        if (!oc_pem_has_certificate(v, strlen(v)))
            return oc_fail_property(err, OC_E_BAD_VALUE, "SSLServerCert",
                                    "SSLServerCert: the PEM text holds no certificate OpenSSL can read");
        ho->ca_pem = v;
        return OC_OK;
    }
    if (!(f = fopen(v, "r")))
        return oc_fail_property(err, OC_E_BAD_VALUE, "SSLServerCert",
                                "SSLServerCert: cannot read the certificate file %s", v);
    fclose(f);
    if (!oc_pem_file_has_certificate(v))
        return oc_fail_property(err, OC_E_BAD_VALUE, "SSLServerCert",
                                "SSLServerCert: %s holds no PEM certificate OpenSSL can read", v);
    ho->ca_file = v;
    return OC_OK;
}

static long proxy_auth_bits(const oc_config *cfg)
{
    if (oc_config_is(cfg, OC_P_PROXY_AUTH_SCHEME, "DIGEST"))
        return (long)CURLAUTH_DIGEST;
    if (oc_config_is(cfg, OC_P_PROXY_AUTH_SCHEME, "NTLM"))
        return (long)CURLAUTH_NTLM;
    if (oc_config_is(cfg, OC_P_PROXY_AUTH_SCHEME, "NONE"))
        return 0;
    return (long)CURLAUTH_BASIC;
}

/* The log, told every secret this client knows of from its properties. */
static oc_code open_log(oc_client *c, oc_error *err)
{
    const char *path = oc_config_get(c->cfg, OC_P_LOGFILE);
    oc_secrets known;
    oc_code rc;
    size_t i;
    if (!path || !*path)
        return OC_OK;
    if ((rc = oc_log_open(path, (int)(oc_config_get(c->cfg, OC_P_VERBOSITY)[0] - '0'), &c->log,
                          err)) != OC_OK)
        return rc;
    memset(&known, 0, sizeof known);
    oc_client_property_secrets(c->cfg, &known);
    for (i = 0; i < known.n; i++)
        oc_log_secret(c->log, known.value[i]);
    oc_log_open_value(c->log, known.open);
    oc_secrets_free(&known);
    oc_log_pin_secrets(c->log);
    return OC_OK;
}

/* ProxyServer as libcurl takes it: host, host:port or scheme://host:port,
   credentials allowed. Checked here, for libcurl would fail each request
   (retried as a network error) and quote the address whole. */
static oc_code check_proxy(const char *proxy, oc_error *err)
{
    CURLU *u = curl_url();
    CURLUcode uc;
    if (!u)
        return oc_fail_nomem(err);
    uc = curl_url_set(u, CURLUPART_URL, proxy, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK)
        return oc_fail_property(err, OC_E_BAD_VALUE, "ProxyServer",
                                "ProxyServer is not a proxy address (%s); give host, host:port or "
                                "scheme://host:port",
                                curl_url_strerror(uc));
    return OC_OK;
}

static oc_code open_transport(oc_client *c, oc_error *err)
{
    const oc_config *cfg = c->cfg;
    oc_http_options ho;
    oc_code rc;
    memset(&ho, 0, sizeof ho);
    ho.timeout_ms = (long)c->timeout_ms;
    ho.connect_timeout_ms = c->timeout_ms > 0 && c->timeout_ms < 30000 ? (long)c->timeout_ms : 30000;
    ho.proxy_from_env = oc_config_bool(cfg, OC_P_PROXY_AUTO_DETECT);
    ho.proxy = oc_config_get(cfg, OC_P_PROXY_SERVER);
    if (ho.proxy && *ho.proxy && (rc = check_proxy(ho.proxy, err)) != OC_OK)
        return rc;
    if (ho.proxy && oc_config_is_set(cfg, OC_P_PROXY_PORT))
        ho.proxy_port = (long)oc_config_int(cfg, OC_P_PROXY_PORT);
    else if (ho.proxy && !strchr(strstr(ho.proxy, "://") ? strstr(ho.proxy, "://") + 3 : ho.proxy, ':'))
        ho.proxy_port = (long)oc_config_int(cfg, OC_P_PROXY_PORT);
    ho.proxy_auth = proxy_auth_bits(cfg);
    ho.proxy_user = oc_config_get(cfg, OC_P_PROXY_USER);
    ho.proxy_password = oc_config_get(cfg, OC_P_PROXY_PASSWORD);
    if (c->scheme == OC_SCHEME_NTLM) {
        ho.http_auth = (long)CURLAUTH_NTLM;
        ho.user = oc_config_get(cfg, OC_P_USER);
        ho.password = oc_config_get(cfg, OC_P_PASSWORD);
    }
    ho.log = c->log;
    if ((rc = trust(c, &ho, err)) != OC_OK)
        return rc;
    return oc_http_new(&ho, &c->http, err);
}

oc_code oc_client_new(const oc_config *cfg, const oc_profile *profile, oc_store *store,
                      oc_client **out, oc_error *err)
{
    oc_client *c;
    oc_code rc;

    *out = NULL;
    if (!(c = calloc(1, sizeof *c)))
        return oc_fail_nomem(err);
    oc_token_init(&c->token);
    oc_discovery_init(&c->disc);
    if (!(c->cfg = oc_config_clone(cfg)) || !(c->profile = oc_profile_clone(profile))) {
        oc_client_free(c);
        return oc_fail_nomem(err);
    }
    cfg = c->cfg;
    c->mode = oc_config_is(cfg, OC_P_INITIATE_OAUTH, "GETANDREFRESH") ? OC_MODE_GETANDREFRESH
              : oc_config_is(cfg, OC_P_INITIATE_OAUTH, "REFRESH")     ? OC_MODE_REFRESH
                                                                      : OC_MODE_OFF;
    c->leeway_s = oc_config_int(cfg, OC_P_REFRESH_LEEWAY);
    c->timeout_ms = oc_config_int(cfg, OC_P_TIMEOUT) * 1000;
    /* 0: no limit, as for Timeout; the login then ends on Ctrl-C */
    c->login_timeout_ms = oc_config_int(cfg, OC_P_LOGIN_TIMEOUT) > 0
                              ? oc_config_int(cfg, OC_P_LOGIN_TIMEOUT) * 1000
                              : OC_LOGIN_NO_LIMIT_MS;
    c->flow.client_id = oc_config_get(cfg, OC_P_OAUTH_CLIENT_ID);
    c->flow.client_secret = oc_config_get(cfg, OC_P_OAUTH_CLIENT_SECRET);
    c->flow.scope = oc_config_is_set(cfg, OC_P_SCOPE) ? oc_config_get(cfg, OC_P_SCOPE) : c->profile->scope;
    c->flow.code_auth = c->profile->code_auth;
    c->flow.refresh_auth = c->profile->refresh_auth;
    c->flow.token_url = oc_config_is_set(cfg, OC_P_OAUTH_ACCESS_TOKEN_URL)
                            ? oc_config_get(cfg, OC_P_OAUTH_ACCESS_TOKEN_URL) : c->profile->token_url;
    c->flow.authorize_url = oc_config_is_set(cfg, OC_P_OAUTH_AUTHORIZATION_URL)
                                ? oc_config_get(cfg, OC_P_OAUTH_AUTHORIZATION_URL)
                                : c->profile->authorize_url;
    c->discovery_url = oc_config_is_set(cfg, OC_P_OAUTH_DISCOVERY_URL)
                           ? oc_config_get(cfg, OC_P_OAUTH_DISCOVERY_URL)
                           : c->profile->discovery_url && *c->profile->discovery_url ? c->profile->discovery_url
                                                                                     : NULL;
    c->device_grant = oc_config_is(cfg, OC_P_OAUTH_GRANT_TYPE, "DEVICE_CODE");

    if ((rc = choose_scheme(c, err)) != OC_OK || (rc = check_scheme_properties(c, err)) != OC_OK)
        goto fail;
    if (c->device_grant && c->scheme != OC_SCHEME_OAUTH) {
        rc = oc_fail_property(err, OC_E_BAD_VALUE, "OAuthGrantType",
                              "OAuthGrantType=DEVICE_CODE is a way to log in with AuthScheme=OAUTH, not %s",
                              scheme_names[c->scheme]);
        goto fail;
    }
    /* Every URL that may receive a token or a secret is checked now, the
       ones the flows need only later also when they are given. */
    if ((rc = oc_client_endpoint(c, OC_P_URL, c->profile->api_url, &c->api_template, err)) != OC_OK)
        goto fail;
    /* With a discovery document the endpoints are known at the first use. */
    if (oc_client_uses_tokens(c) && c->mode != OC_MODE_OFF && !c->discovery_url &&
        (rc = oc_client_oauth_endpoint(c, OC_EP_TOKEN, err)) != OC_OK)
        goto fail;
    {
        static const oc_prop given[] = { OC_P_OAUTH_ACCESS_TOKEN_URL, OC_P_OAUTH_AUTHORIZATION_URL,
                                         OC_P_OAUTH_DEVICE_AUTHORIZATION_URL, OC_P_OAUTH_REVOCATION_URL,
                                         OC_P_OAUTH_DISCOVERY_URL };
        size_t i;
        for (i = 0; i < sizeof given / sizeof given[0]; i++)
            if (oc_config_is_set(cfg, given[i]) &&
                (rc = oc_url_check_secure(oc_config_get(cfg, given[i]), oc_prop_name(given[i]), err)) != OC_OK)
                goto fail;
    }
    /* A missing StoreId may still come with an OAuth token, never with an
       API key or a password: then it is missing now, not at the first request. */
    if ((rc = oc_client_resolve_api_url(c, err)) != OC_OK &&
        (rc != OC_E_MISSING_PROPERTY || !oc_client_uses_tokens(c)))
        goto fail;
    compute_seed(c);
    if (!(c->meta.provider = oc_strdup(c->profile->name ? c->profile->name : "custom")) ||
        !(c->meta.api_url = oc_strdup(c->api_template)) ||
        (server_id(c) && !(c->meta.token_url = oc_strdup(server_id(c)))) ||
        (c->flow.client_id && !(c->meta.client_id = oc_strdup(c->flow.client_id))) ||
        (c->seed[0] && !(c->meta.seed = oc_strdup(c->seed)))) {
        rc = oc_fail_nomem(err);
        goto fail;
    }
    if ((rc = open_log(c, err)) != OC_OK || (rc = open_store(c, store, err)) != OC_OK ||
        (rc = open_transport(c, err)) != OC_OK)
        goto fail;
    if (!oc_client_uses_tokens(c)) {
        if ((rc = static_credentials(c, err)) != OC_OK)
            goto fail;
        c->loaded = c->found = 1; /* nothing to load: the credentials are the properties */
    }
    c->store_where = c->store ? oc_store_where(c->store) : NULL;
    oc_logf(c->log, 1, "client for %s: AuthScheme=%s, InitiateOAuth=%s, store %s", oc_client_title(c),
            scheme_names[c->scheme], oc_config_get(cfg, OC_P_INITIATE_OAUTH),
            c->store ? oc_store_where(c->store) : "none");
    *out = c;
    return OC_OK;
fail:
    oc_client_free(c);
    return rc;
}

void oc_client_free(oc_client *c)
{
    if (!c)
        return;
    oc_client_free_auth_headers(c);
    oc_token_clear(&c->token);
    oc_http_free(c->http);
    oc_store_release(c->store);
    oc_log_close(c->log);
    oc_profile_free(c->profile);
    oc_config_free(c->cfg);
    oc_token_meta_clear(&c->meta);
    oc_discovery_clear(&c->disc);
    free(c->api_url);
    free(c);
}

unsigned oc_client_generation(const oc_client *c)
{
    return c->generation;
}

oc_http *oc_client_http(const oc_client *c)
{
    return c->http;
}

oc_store *oc_client_store(const oc_client *c)
{
    return c->store;
}

int oc_client_is_ntlm(const oc_client *c)
{
    return c->scheme == OC_SCHEME_NTLM;
}

const char *oc_client_api_url(const oc_client *c)
{
    return c->api_url ? c->api_url : c->api_template;
}
