#include "oc_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_login.h"
#include "oc_oauth.h"
#include "oc_time.h"
#include "oc_url.h"
#include "oc_version.h"

enum { MAX_REDIRECTS = 5 };

typedef enum oc_mode { MODE_OFF, MODE_GETANDREFRESH, MODE_REFRESH } oc_mode;

struct oc_client {
    oc_config *cfg;
    oc_profile *profile;
    oc_store *store;                /* NULL: the token lives in this client only */
    oc_http *http;
    oc_flow flow;                   /* points into cfg and profile */
    oc_mode mode;
    const char *api_url;            /* URL or the profile's, no trailing '/' */
    char *api_url_owned;
    char seed[65];                  /* fingerprint of OAuthAccessToken/OAuthRefreshToken, or "" */
    int64_t leeway_s;
    int64_t timeout_ms;
    int64_t login_timeout_ms;
    oc_token token;
    int loaded;                     /* a token was adopted: connect has nothing to do */
    int unsaved;                    /* token is newer than the store (a save failed) */
    unsigned generation;
    struct curl_slist *auth_headers;/* Accept, the token header, Expect: (per token) */
    oc_response scratch;            /* token endpoint answers */
};

/* ---- set-up --------------------------------------------------------------- */

static const char *profile_title(const oc_client *c)
{
    return c->profile->title ? c->profile->title
                             : c->profile->name ? c->profile->name : "the provider";
}

static oc_code need(const oc_client *c, oc_prop p, const char *why, oc_error *err)
{
    const char *v = oc_config_get(c->cfg, p);
    if (v && *v)
        return OC_OK;
    return oc_fail_property(err, OC_E_MISSING_PROPERTY, oc_prop_name(p),
                            "%s is required %s", oc_prop_name(p), why);
}

/* An endpoint from its property or the profile; it must be https (or http
   to a loopback host) since tokens or secrets travel to it. */
static oc_code endpoint(const oc_client *c, oc_prop p, const char *fallback, const char **out,
                        oc_error *err)
{
    const char *v = oc_config_is_set(c->cfg, p) ? oc_config_get(c->cfg, p) : fallback;
    *out = v;
    if (!v || !*v)
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, oc_prop_name(p),
                                "%s is required: the %s profile has no default for it",
                                oc_prop_name(p), profile_title(c));
    return oc_url_check_secure(v, oc_prop_name(p), err);
}

static oc_code default_settings_path(const oc_client *c, char **out, oc_error *err)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    const char *name = c->profile->name ? c->profile->name : "oauth";
    oc_buf b;
    oc_buf_init(&b, 4096);
    if (xdg && *xdg == '/')
        oc_buf_printf(&b, "%s/oauthconnect/%s.json", xdg, name);
    else if (home && *home)
        oc_buf_printf(&b, "%s/.config/oauthconnect/%s.json", home, name);
    else
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, "OAuthSettingsLocation",
                                "OAuthSettingsLocation is required: neither XDG_CONFIG_HOME nor "
                                "HOME is set to put the default one under");
    if (!b.data)
        return oc_fail_nomem(err);
    *out = oc_buf_steal(&b, NULL);
    return OC_OK;
}

static oc_code open_store(oc_client *c, oc_store *given, oc_error *err)
{
    const char *loc = oc_config_get(c->cfg, OC_P_OAUTH_SETTINGS_LOCATION);
    char *path = NULL;
    oc_code rc;
    if (given) {
        c->store = oc_store_retain(given);
        return OC_OK;
    }
    if (loc && strncmp(loc, "memory://", 9) == 0)
        return oc_store_memory_new(loc + 9, &c->store, err);
    if (loc)
        return oc_store_file_new(loc, &c->store, err);
    if (c->mode == MODE_OFF)
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
    oc_buf_init(&b, 0);
    oc_buf_puts(&b, "oauthconnect-seed:");
    oc_buf_puts(&b, a ? a : "");
    oc_buf_append(&b, "\n", 1);
    oc_buf_puts(&b, r ? r : "");
    if (b.data)
        oc_sha256_hex(b.data, b.len, c->seed);
    oc_wipe(b.data, b.len);
    oc_buf_free(&b);
}

oc_code oc_client_new(const oc_config *cfg, const oc_profile *profile, oc_store *store,
                      oc_client **out, oc_error *err)
{
    oc_client *c;
    oc_http_options ho;
    char ua[64];
    oc_code rc;
    size_t n;

    *out = NULL;
    if (!(c = calloc(1, sizeof *c)))
        return oc_fail_nomem(err);
    oc_token_init(&c->token);
    oc_response_init(&c->scratch);
    if (!(c->cfg = oc_config_clone(cfg)) || !(c->profile = oc_profile_clone(profile))) {
        oc_client_free(c);
        return oc_fail_nomem(err);
    }
    cfg = c->cfg;
    c->mode = oc_config_is(cfg, OC_P_INITIATE_OAUTH, "GETANDREFRESH") ? MODE_GETANDREFRESH
              : oc_config_is(cfg, OC_P_INITIATE_OAUTH, "REFRESH")     ? MODE_REFRESH
                                                                      : MODE_OFF;
    c->leeway_s = oc_config_int(cfg, OC_P_REFRESH_LEEWAY, 60);
    c->timeout_ms = oc_config_int(cfg, OC_P_TIMEOUT, 60) * 1000;
    c->login_timeout_ms = oc_config_int(cfg, OC_P_LOGIN_TIMEOUT, 300) * 1000;

    if (c->mode != MODE_OFF &&
        ((rc = need(c, OC_P_OAUTH_CLIENT_ID, "with InitiateOAuth=GETANDREFRESH or REFRESH", err)) != OC_OK ||
         (rc = need(c, OC_P_OAUTH_CLIENT_SECRET, "with InitiateOAuth=GETANDREFRESH or REFRESH", err)) != OC_OK))
        goto fail;
    if ((rc = endpoint(c, OC_P_URL, c->profile->api_url, &c->api_url, err)) != OC_OK)
        goto fail;
    /* The token endpoint and authorization page are only needed by the
       OAuth flows; check them when they can be used. */
    c->flow.client_id = oc_config_get(cfg, OC_P_OAUTH_CLIENT_ID);
    c->flow.client_secret = oc_config_get(cfg, OC_P_OAUTH_CLIENT_SECRET);
    c->flow.scope = oc_config_is_set(cfg, OC_P_SCOPE) ? oc_config_get(cfg, OC_P_SCOPE)
                                                     : c->profile->scope;
    c->flow.code_auth = c->profile->code_auth;
    c->flow.refresh_auth = c->profile->refresh_auth;
    if (c->mode != MODE_OFF || oc_config_is_set(cfg, OC_P_OAUTH_ACCESS_TOKEN_URL)) {
        if ((rc = endpoint(c, OC_P_OAUTH_ACCESS_TOKEN_URL, c->profile->token_url,
                           &c->flow.token_url, err)) != OC_OK)
            goto fail;
    } else {
        c->flow.token_url = c->profile->token_url;
    }
    if (oc_config_is_set(cfg, OC_P_OAUTH_AUTHORIZATION_URL) &&
        (rc = endpoint(c, OC_P_OAUTH_AUTHORIZATION_URL, NULL, &c->flow.authorize_url, err)) != OC_OK)
        goto fail;
    if (!c->flow.authorize_url)
        c->flow.authorize_url = c->profile->authorize_url;

    /* Paths are appended to the base: keep it without a trailing slash. */
    n = strlen(c->api_url);
    if (n && c->api_url[n - 1] == '/') {
        if (!(c->api_url_owned = oc_strndup(c->api_url, n - 1))) {
            rc = oc_fail_nomem(err);
            goto fail;
        }
        c->api_url = c->api_url_owned;
    }
    compute_seed(c);
    if ((rc = open_store(c, store, err)) != OC_OK)
        goto fail;

    memset(&ho, 0, sizeof ho);
    ho.timeout_ms = (long)c->timeout_ms;
    ho.connect_timeout_ms = c->timeout_ms > 0 && c->timeout_ms < 30000 ? (long)c->timeout_ms : 30000;
    snprintf(ua, sizeof ua, "oauthconnect/%s", OC_VERSION);
    ho.user_agent = ua;
    if ((rc = oc_http_new(&ho, &c->http, err)) != OC_OK)
        goto fail;
    *out = c;
    return OC_OK;
fail:
    oc_client_free(c);
    return rc;
}

static void free_auth_headers(oc_client *c)
{
    struct curl_slist *h;
    for (h = c->auth_headers; h; h = h->next)
        oc_wipe(h->data, strlen(h->data));
    curl_slist_free_all(c->auth_headers);
    c->auth_headers = NULL;
}

void oc_client_free(oc_client *c)
{
    if (!c)
        return;
    free_auth_headers(c);
    oc_token_clear(&c->token);
    oc_response_free(&c->scratch);
    oc_http_free(c->http);
    oc_store_release(c->store);
    oc_profile_free(c->profile);
    oc_config_free(c->cfg);
    free(c->api_url_owned);
    free(c);
}

/* ---- the current token ----------------------------------------------------- */

/* Adopts t (moved in) and builds the header list every request reuses.
   changed: t is new to this program (issued, or refreshed by another
   process), not merely loaded at start-up; it bumps the generation. */
static oc_code adopt(oc_client *c, oc_token *t, int changed, oc_error *err)
{
    struct curl_slist *list = NULL, *n;
    oc_buf line;
    oc_buf_init(&line, 0);
    if (t->access_token &&
        oc_buf_printf(&line, "%s: %s%s", c->profile->token_header,
                      c->profile->token_prefix ? c->profile->token_prefix : "", t->access_token))
        return oc_fail_nomem(err);
    if (!(n = curl_slist_append(list, "Accept: application/json")) || !(list = n) ||
        (line.data && (!(n = curl_slist_append(list, line.data)) || !(list = n))) ||
        !(n = curl_slist_append(list, "Expect:")) || !(list = n)) {
        struct curl_slist *h;
        for (h = list; h; h = h->next)
            oc_wipe(h->data, strlen(h->data));
        curl_slist_free_all(list);
        oc_wipe(line.data, line.len);
        oc_buf_free(&line);
        return oc_fail_nomem(err);
    }
    oc_wipe(line.data, line.len);
    oc_buf_free(&line);
    free_auth_headers(c);
    c->auth_headers = list;
    oc_token_move(&c->token, t);
    if (changed)
        c->generation++;
    c->loaded = 1;
    return OC_OK;
}

static int same_access_token(const oc_token *a, const oc_token *b)
{
    return a->access_token && b->access_token && strcmp(a->access_token, b->access_token) == 0;
}

static oc_code token_from_properties(const oc_client *c, oc_token *t, oc_error *err)
{
    const char *a = oc_config_get(c->cfg, OC_P_OAUTH_ACCESS_TOKEN);
    const char *r = oc_config_get(c->cfg, OC_P_OAUTH_REFRESH_TOKEN);
    int64_t expires_in = oc_config_int(c->cfg, OC_P_OAUTH_EXPIRES_IN, -1);
    oc_token_init(t);
    if ((a && !(t->access_token = oc_strdup(a))) || (r && !(t->refresh_token = oc_strdup(r)))) {
        oc_token_clear(t);
        return oc_fail_nomem(err);
    }
    t->obtained_ms = oc_config_int(c->cfg, OC_P_OAUTH_TOKEN_TIMESTAMP, 0);
    if (t->obtained_ms == 0)
        t->obtained_ms = oc_now_ms();
    if (expires_in > 0) {
        t->expires_in = expires_in;
        t->expires_at_ms = t->obtained_ms + expires_in * 1000;
    }
    return OC_OK;
}

static int64_t lock_timeout(const oc_client *c, int with_login)
{
    int64_t t = c->timeout_ms > 0 ? 2 * c->timeout_ms + 10000 : 600000;
    return with_login ? t + c->login_timeout_ms : t;
}

static oc_code save(oc_client *c, const oc_token *t, oc_error *err)
{
    if (!c->store)
        return OC_OK;
    return oc_store_save(c->store, t, c->profile->name, c->seed[0] ? c->seed : NULL, err);
}

/* Performs a token endpoint request through the client's handle. */
static oc_code token_call(oc_client *c, oc_token_request *tr, const char *what,
                          const oc_token *previous, oc_token *out, oc_error *err)
{
    oc_request r;
    oc_code rc;
    memset(&r, 0, sizeof r);
    r.method = tr->method;
    r.url = tr->url;
    r.headers = tr->headers;
    r.body = tr->body;
    r.body_len = tr->body_len;
    r.max_body = OC_TOKEN_RESPONSE_MAX;
    rc = oc_http_perform(c->http, &r, &c->scratch, err);
    if (rc != OC_OK) {
        oc_error_prefix(err, "%s failed", what);
    } else {
        rc = oc_oauth_token_result(what, tr->url, c->scratch.status,
                                   oc_response_header(&c->scratch, "content-type"),
                                   c->scratch.body.data ? c->scratch.body.data : "",
                                   c->scratch.body.len, oc_now_ms(), previous, out, err);
    }
    /* The answer held tokens: do not keep them in the reused buffer. */
    oc_wipe(c->scratch.body.data, c->scratch.body.len);
    oc_response_reset(&c->scratch);
    return rc;
}

/*
 * The refresh, single-flight: under the store's lock, re-read the store; if
 * another client or process already refreshed (the stored access token is
 * not the one we saw rejected, or is no longer due), adopt it and send
 * nothing. Otherwise refresh with the newest stored refresh token and
 * persist the answer before anything uses it.
 * rejected: the access token a server just refused (after a 401), or NULL.
 */
static oc_code refresh(oc_client *c, const char *rejected, oc_error *err)
{
    oc_token base, fresh;
    oc_token_request tr;
    int locked = 0, found = 0;
    oc_code rc;

    oc_token_init(&base);
    oc_token_init(&fresh);
    memset(&tr, 0, sizeof tr);
    if (!c->profile->refreshable)
        return oc_fail(err, OC_E_NO_TOKEN,
                       "%s tokens cannot be refreshed; the app must be authorized again",
                       profile_title(c));
    if ((rc = endpoint(c, OC_P_OAUTH_ACCESS_TOKEN_URL, c->profile->token_url, &c->flow.token_url,
                       err)) != OC_OK)
        return rc;
    if (c->store) {
        if ((rc = oc_store_lock(c->store, lock_timeout(c, 0), err)) != OC_OK)
            return rc;
        locked = 1;
        if (!c->unsaved) {
            if ((rc = oc_store_load(c->store, &base, NULL, &found, err)) != OC_OK)
                goto out;
            if (found && base.access_token &&
                (rejected ? strcmp(base.access_token, rejected) != 0
                          : !same_access_token(&base, &c->token) &&
                                !oc_token_due(&base, oc_now_ms(), c->leeway_s))) {
                rc = adopt(c, &base, 1, err); /* another process refreshed already */
                goto out;
            }
        }
    }
    if (!found && (rc = oc_token_copy(&base, &c->token, err)) != OC_OK)
        goto out;
    if (!base.refresh_token) {
        rc = oc_fail(err, OC_E_NO_TOKEN,
                     "the %s access token %s and there is no refresh token to renew it; log in "
                     "again",
                     profile_title(c), rejected ? "was rejected" : "expired");
        goto out;
    }
    if ((rc = oc_oauth_refresh_request(&c->flow, base.refresh_token, &tr, err)) != OC_OK ||
        (rc = token_call(c, &tr, "the token refresh", &base, &fresh, err)) != OC_OK)
        goto out;
    /* Persist first: the old refresh token is spent now. */
    if ((rc = save(c, &fresh, err)) != OC_OK) {
        oc_error_prefix(err, "the token was refreshed but could not be saved (it is kept in memory "
                             "for this client)");
        c->unsaved = 1;
        if (adopt(c, &fresh, 1, NULL) != OC_OK)
            c->unsaved = 0;
        goto out;
    }
    c->unsaved = 0;
    rc = adopt(c, &fresh, 1, err);
out:
    if (locked)
        oc_store_unlock(c->store);
    oc_token_request_free(&tr);
    oc_token_clear(&base);
    oc_token_clear(&fresh);
    return rc;
}

/* Refreshes when due. A failed refresh is only an error once the current
   token cannot be used any more: a network blip within the leeway is not. */
static oc_code refresh_if_due(oc_client *c, oc_error *err)
{
    int64_t now = oc_now_ms();
    oc_error local;
    oc_code rc;
    if (c->mode == MODE_OFF || !oc_token_due(&c->token, now, c->leeway_s))
        return OC_OK;
    oc_error_clear(&local);
    rc = refresh(c, NULL, &local);
    if (rc == OC_OK || (c->token.access_token && !oc_token_expired(&c->token, now) &&
                        rc != OC_E_OAUTH && rc != OC_E_NO_TOKEN))
        return OC_OK;
    if (err)
        *err = local;
    return rc;
}

/* The callback parameters the profile says go along with the code. */
static oc_code code_params(const oc_client *c, const oc_kv *callback, oc_kv *out, oc_error *err)
{
    const char *list = c->profile->code_params;
    if (!callback || !list)
        return OC_OK;
    while (*list) {
        size_t n = strcspn(list, " ,");
        if (n) {
            char name[64];
            const char *v;
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), list);
            if ((v = oc_kv_get(callback, name)) && oc_kv_adds(out, name, v) != 0)
                return oc_fail_nomem(err);
        }
        list += n;
        list += strspn(list, " ,");
    }
    return OC_OK;
}

/* Exchanges a code, stores and adopts the tokens. */
static oc_code exchange(oc_client *c, const char *code, const oc_kv *callback, const char *verifier,
                        const char *redirect_uri, oc_error *err)
{
    oc_token_request tr;
    oc_token fresh;
    oc_kv extra = OC_KV_INIT;
    oc_code rc;
    memset(&tr, 0, sizeof tr);
    oc_token_init(&fresh);
    if ((rc = code_params(c, callback, &extra, err)) != OC_OK)
        goto out;
    if ((rc = need(c, OC_P_OAUTH_CLIENT_ID, "to exchange an authorization code", err)) != OC_OK ||
        (rc = endpoint(c, OC_P_OAUTH_ACCESS_TOKEN_URL, c->profile->token_url, &c->flow.token_url,
                       err)) != OC_OK ||
        (rc = oc_oauth_code_request(&c->flow, code, redirect_uri, verifier, &extra, &tr, err)) != OC_OK ||
        (rc = token_call(c, &tr, "the authorization code exchange", NULL, &fresh, err)) != OC_OK ||
        (rc = save(c, &fresh, err)) != OC_OK)
        goto out;
    c->unsaved = 0;
    rc = adopt(c, &fresh, 1, err);
out:
    oc_kv_free(&extra);
    oc_token_request_free(&tr);
    oc_token_clear(&fresh);
    return rc;
}

/* The login under the store's lock: processes started together log in once. */
static oc_code login_locked(oc_client *c, int force, oc_error *err)
{
    const char *verifier_prop = oc_config_get(c->cfg, OC_P_OAUTH_VERIFIER);
    const char *callback = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    oc_token stored;
    oc_kv params = OC_KV_INIT;
    char *verifier = NULL;
    int found = 0;
    oc_code rc;

    if (!verifier_prop &&
        (rc = need(c, OC_P_CALLBACK_URL, "for the browser login (the redirect URI registered for "
                                         "the app)", err)) != OC_OK)
        return rc;
    if (!verifier_prop &&
        (rc = endpoint(c, OC_P_OAUTH_AUTHORIZATION_URL, c->profile->authorize_url,
                       &c->flow.authorize_url, err)) != OC_OK)
        return rc;
    oc_token_init(&stored);
    if (c->store && (rc = oc_store_lock(c->store, lock_timeout(c, 1), err)) != OC_OK)
        return rc;
    if (c->store && !force) {
        if ((rc = oc_store_load(c->store, &stored, NULL, &found, err)) != OC_OK)
            goto out;
        if (found) { /* another process logged in while we waited */
            rc = adopt(c, &stored, 1, err);
            goto out;
        }
    }
    if (verifier_prop) {
        rc = exchange(c, verifier_prop, NULL, NULL, callback, err);
    } else {
        oc_login_request lr;
        lr.flow = &c->flow;
        lr.callback_url = callback;
        lr.title = profile_title(c);
        lr.pkce = c->profile->pkce;
        lr.timeout_ms = c->login_timeout_ms;
        if ((rc = oc_login_desktop(&lr, &params, &verifier, err)) == OC_OK)
            rc = exchange(c, oc_kv_get(&params, "code"), &params, verifier, callback, err);
    }
out:
    if (c->store)
        oc_store_unlock(c->store);
    oc_token_clear(&stored);
    oc_kv_free(&params);
    oc_free_secret(verifier);
    return rc;
}

/*
 * The token to start from: with InitiateOAuth=OFF, OAuthAccessToken as given;
 * else the stored set when it descends from the token properties (or none
 * were given); else the token properties, which replace what is stored.
 * *found = 0 when there is none.
 */
static oc_code load_initial(oc_client *c, int *found, oc_error *err)
{
    oc_token t;
    char *stored_seed = NULL;
    oc_code rc = OC_OK;

    *found = 0;
    oc_token_init(&t);
    if (c->mode == MODE_OFF && oc_config_is_set(c->cfg, OC_P_OAUTH_ACCESS_TOKEN)) {
        if ((rc = token_from_properties(c, &t, err)) == OC_OK)
            rc = adopt(c, &t, 0, err);
        *found = rc == OC_OK;
        return rc;
    }
    if (c->store && (rc = oc_store_load(c->store, &t, &stored_seed, found, err)) != OC_OK)
        return rc;
    if (*found && (!c->seed[0] || (stored_seed && strcmp(stored_seed, c->seed) == 0))) {
        rc = adopt(c, &t, 0, err);
    } else if (c->seed[0]) {
        oc_token_clear(&t);
        if ((rc = token_from_properties(c, &t, err)) == OC_OK && t.access_token)
            rc = save(c, &t, err);
        if (rc == OC_OK)
            rc = adopt(c, &t, 0, err);
        *found = rc == OC_OK;
    } else {
        *found = 0;
    }
    free(stored_seed);
    oc_token_clear(&t);
    return rc;
}

oc_code oc_client_connect(oc_client *c, oc_error *err)
{
    int found = 0;
    oc_code rc;

    if ((rc = load_initial(c, &found, err)) != OC_OK)
        return rc;
    if (c->mode == MODE_OFF && !c->token.access_token)
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, "OAuthAccessToken",
                                "OAuthAccessToken is required with InitiateOAuth=OFF (nothing is "
                                "stored%s%s); or use InitiateOAuth=GETANDREFRESH to log in",
                                c->store ? " in " : "", c->store ? oc_store_where(c->store) : "");
    if (!found) {
        if (c->mode == MODE_GETANDREFRESH)
            rc = login_locked(c, 0, err);
        else
            rc = oc_fail_property(err, OC_E_NO_TOKEN, "OAuthRefreshToken",
                                  "no token is stored%s%s and OAuthRefreshToken is not set; "
                                  "InitiateOAuth=REFRESH never opens a browser: set "
                                  "OAuthRefreshToken or log in once with InitiateOAuth=GETANDREFRESH",
                                  c->store ? " in " : "", c->store ? oc_store_where(c->store) : "");
        if (rc != OC_OK)
            return rc;
    }
    return refresh_if_due(c, err);
}

oc_code oc_client_login(oc_client *c, oc_error *err)
{
    return login_locked(c, 1, err);
}

oc_code oc_client_token(oc_client *c, int force_refresh, const oc_token **out, oc_error *err)
{
    oc_code rc;
    int found = 0;
    *out = NULL;
    /* Refreshing on request works from a refresh token alone, whatever the
       mode (CData's RefreshOAuthAccessToken). */
    if (!c->loaded && (rc = force_refresh ? load_initial(c, &found, err) : oc_client_connect(c, err)) != OC_OK)
        return rc;
    if (force_refresh && !c->loaded && !found)
        return oc_fail_property(err, OC_E_NO_TOKEN, "OAuthRefreshToken",
                                "there is no refresh token: set OAuthRefreshToken%s%s",
                                c->store ? " or store tokens in " : "",
                                c->store ? oc_store_where(c->store) : "");
    if (force_refresh)
        rc = refresh(c, c->token.access_token ? c->token.access_token : "", err);
    else if (!c->token.access_token)
        rc = refresh(c, NULL, err);
    else
        rc = refresh_if_due(c, err);
    if (rc == OC_OK)
        *out = &c->token;
    return rc;
}

oc_code oc_client_authorization_url(oc_client *c, const char *redirect_uri, char **url,
                                    char **state, char **verifier, oc_error *err)
{
    char *challenge = NULL;
    oc_code rc;
    *url = *state = *verifier = NULL;
    if (!redirect_uri)
        redirect_uri = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    if ((rc = need(c, OC_P_OAUTH_CLIENT_ID, "to build the authorization URL", err)) != OC_OK ||
        (!redirect_uri &&
         (rc = need(c, OC_P_CALLBACK_URL, "to build the authorization URL", err)) != OC_OK) ||
        (rc = endpoint(c, OC_P_OAUTH_AUTHORIZATION_URL, c->profile->authorize_url,
                       &c->flow.authorize_url, err)) != OC_OK ||
        (rc = oc_random_urlsafe(32, state, err)) != OC_OK)
        goto fail;
    if (c->profile->pkce && ((rc = oc_random_urlsafe(32, verifier, err)) != OC_OK ||
                             (rc = oc_pkce_s256(*verifier, &challenge, err)) != OC_OK))
        goto fail;
    rc = oc_oauth_authorize_url(&c->flow, redirect_uri, *state, challenge, NULL, url, err);
    free(challenge);
    if (rc == OC_OK)
        return OC_OK;
fail:
    free(challenge);
    free(*state);
    oc_free_secret(*verifier);
    *state = *verifier = NULL;
    return rc;
}

oc_code oc_client_exchange_code(oc_client *c, const char *code, const oc_kv *callback_params,
                                const char *verifier, const char *redirect_uri, oc_error *err)
{
    if (!code || !*code)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "the authorization code is empty");
    if (!redirect_uri)
        redirect_uri = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    return exchange(c, code, callback_params, verifier, redirect_uri, err);
}

unsigned oc_client_generation(const oc_client *c)
{
    return c->generation;
}

oc_code oc_client_forget(oc_client *c, oc_error *err)
{
    oc_code rc = OC_OK;
    if (c->store) {
        if ((rc = oc_store_lock(c->store, lock_timeout(c, 0), err)) != OC_OK)
            return rc;
        rc = oc_store_remove(c->store, err);
        oc_store_unlock(c->store);
    }
    return rc;
}

const char *oc_client_api_url(const oc_client *c)
{
    return c->api_url;
}

const oc_profile *oc_client_profile(const oc_client *c)
{
    return c->profile;
}

/* ---- requests ---------------------------------------------------------------- */

static int has_forbidden_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* The absolute URL for target; tokens go only to the API's origin. */
static oc_code build_url(const oc_client *c, const char *target, const oc_kv *query, oc_buf *url,
                         oc_error *err)
{
    int absolute = strncasecmp(target, "https://", 8) == 0 || strncasecmp(target, "http://", 7) == 0;
    char shown[300];
    if (has_forbidden_chars(target)) {
        oc_copy_printable(shown, sizeof shown, target, strlen(target));
        return oc_fail(err, OC_E_INVALID_ARGUMENT,
                       "the request path '%s' holds a space or control character; encode it",
                       shown);
    }
    if (absolute) {
        if (!oc_url_same_origin(target, c->api_url)) {
            oc_copy_printable(shown, sizeof shown, target, strcspn(target, "?#"));
            return oc_fail(err, OC_E_ORIGIN,
                           "refusing to send the %s token to %s: it goes only to the API origin "
                           "of %s (URL)",
                           profile_title(c), shown, c->api_url);
        }
        if (oc_buf_puts(url, target))
            return oc_fail_nomem(err);
    } else if (oc_buf_puts(url, c->api_url) || (target[0] != '/' && oc_buf_puts(url, "/")) ||
               oc_buf_puts(url, target)) {
        return oc_fail_nomem(err);
    }
    if (query && query->n) {
        oc_buf q;
        int bad;
        oc_buf_init(&q, 0);
        bad = oc_form_append_all(&q, query) ||
              oc_buf_puts(url, strchr(url->data, '?') ? "&" : "?") ||
              oc_buf_append(url, q.data ? q.data : "", q.len);
        oc_buf_free(&q);
        if (bad)
            return oc_fail_nomem(err);
    }
    return OC_OK;
}

/* Header name of a "Name: value" line equals name (case-insensitive). */
static int header_is(const char *line, const char *name, size_t nlen)
{
    return strncasecmp(line, name, nlen) == 0 && line[nlen] == ':';
}

/* The client's lines, minus those the caller overrides, then the caller's. */
static oc_code merge_headers(const oc_client *c, const struct curl_slist *extra,
                             struct curl_slist **out, oc_error *err)
{
    struct curl_slist *list = NULL, *n;
    const struct curl_slist *h, *e;
    for (e = extra; e; e = e->next) {
        if (strchr(e->data, '\r') || strchr(e->data, '\n') || !strchr(e->data, ':'))
            return oc_fail(err, OC_E_INVALID_ARGUMENT,
                           "a request header must be one 'Name: value' line");
    }
    for (h = c->auth_headers; h; h = h->next) {
        size_t nlen = strcspn(h->data, ":");
        int overridden = 0;
        for (e = extra; e && !overridden; e = e->next)
            overridden = header_is(e->data, h->data, nlen);
        if (overridden)
            continue;
        if (!(n = curl_slist_append(list, h->data)))
            goto nomem;
        list = n;
    }
    for (e = extra; e; e = e->next) {
        if (!(n = curl_slist_append(list, e->data)))
            goto nomem;
        list = n;
    }
    *out = list;
    return OC_OK;
nomem:
    for (n = list; n; n = n->next)
        oc_wipe(n->data, strlen(n->data));
    curl_slist_free_all(list);
    return oc_fail_nomem(err);
}

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

oc_code oc_client_request(oc_client *c, const oc_api_request *req, oc_response *resp,
                          oc_error *err)
{
    oc_buf url;
    oc_request r;
    struct curl_slist *merged = NULL, *h;
    char *rejected = NULL, *next_url = NULL;
    int redirects = 0, retried = 0;
    oc_code rc;

    if (!c->loaded && (rc = oc_client_connect(c, err)) != OC_OK)
        return rc;
    if (!c->token.access_token && (rc = refresh(c, NULL, err)) != OC_OK)
        return rc;
    if ((rc = refresh_if_due(c, err)) != OC_OK)
        return rc;
    oc_buf_init(&url, 0);
    if ((rc = build_url(c, req->target, req->query, &url, err)) != OC_OK)
        goto out;

    memset(&r, 0, sizeof r);
    r.method = req->method;
    r.url = url.data;
    r.body = req->body;
    r.body_len = req->body_len;
    r.max_body = req->max_body ? req->max_body : OC_API_RESPONSE_MAX;
    for (;;) {
        if (req->headers && (rc = merge_headers(c, req->headers, &merged, err)) != OC_OK)
            goto out;
        r.headers = merged ? merged : c->auth_headers;
        rc = oc_http_perform(c->http, &r, resp, err);
        for (h = merged; h; h = h->next)
            oc_wipe(h->data, strlen(h->data));
        curl_slist_free_all(merged);
        merged = NULL;
        if (rc != OC_OK)
            goto out;

        if (resp->status == 401 && !retried && c->mode != MODE_OFF && c->profile->refreshable) {
            /* Refresh once (unless another process already did) and retry. */
            retried = 1;
            free(rejected);
            if (!(rejected = oc_strdup(c->token.access_token ? c->token.access_token : ""))) {
                rc = oc_fail_nomem(err);
                goto out;
            }
            if ((rc = refresh(c, rejected, err)) != OC_OK) {
                char what[480];
                oc_describe_request(what, sizeof what, r.method, r.url);
                oc_error_prefix(err, "%s was rejected with HTTP 401 and", what);
                goto out;
            }
            continue;
        }
        if (is_redirect(resp->status) && oc_response_header(resp, "location")) {
            char *target = oc_url_resolve(r.url, oc_response_header(resp, "location"));
            char what[480];
            oc_describe_request(what, sizeof what, r.method, r.url);
            if (!target) {
                rc = oc_fail(err, OC_E_BAD_RESPONSE, "%s redirected to an invalid location", what);
                goto out;
            }
            if (!oc_url_same_origin(target, c->api_url)) {
                char shown[300];
                oc_copy_printable(shown, sizeof shown, target, strcspn(target, "?#"));
                free(target);
                if (err)
                    err->status = resp->status;
                rc = oc_fail(err, OC_E_ORIGIN,
                             "%s redirected to %s, another origin; not followed, so the token "
                             "stays with %s",
                             what, shown, c->api_url);
                goto out;
            }
            if (++redirects > MAX_REDIRECTS) {
                free(target);
                rc = oc_fail(err, OC_E_BAD_RESPONSE, "%s: more than %d redirects", what,
                             MAX_REDIRECTS);
                goto out;
            }
            free(next_url);
            next_url = target;
            r.url = next_url;
            if (resp->status == 303 || ((resp->status == 301 || resp->status == 302) &&
                                        strcmp(r.method, "POST") == 0)) {
                r.method = "GET";
                r.body = NULL;
                r.body_len = 0;
            }
            continue;
        }
        break;
    }
out:
    oc_free_secret(rejected);
    free(next_url);
    oc_buf_free(&url);
    return rc;
}

/* ---- errors for HTTP answers ------------------------------------------------ */

static const char *reason_phrase(long status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

static oc_code code_for_status(long status)
{
    switch (status) {
    case 400: return OC_E_BAD_REQUEST;
    case 401: return OC_E_UNAUTHORIZED;
    case 403: return OC_E_FORBIDDEN;
    case 404: return OC_E_NOT_FOUND;
    case 409: return OC_E_CONFLICT;
    case 422: return OC_E_UNPROCESSABLE;
    case 429: return OC_E_RATE_LIMITED;
    default: return status >= 500 ? OC_E_SERVER_ERROR : OC_E_HTTP;
    }
}

static void append_text(oc_buf *out, const char *s, size_t len)
{
    char shown[300];
    oc_copy_printable(shown, sizeof shown, s, len);
    if (out->len)
        oc_buf_puts(out, "; ");
    oc_buf_puts(out, shown);
}

/* Collects the human message from the error bodies the providers send:
   {"message"}, {"error", "error_description"}, {"errors": [..] or {field: [..]}},
   {"title", "detail"}, [{"message"}], {"fault": {"faultstring"}}. */
static void describe_body(json_t *v, oc_buf *out, int depth)
{
    const char *key;
    json_t *m;
    size_t i;
    if (depth > 3 || out->len > 400)
        return;
    if (json_is_string(v)) {
        append_text(out, json_string_value(v), json_string_length(v));
        return;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            describe_body(m, out, depth + 1);
        return;
    }
    if (!json_is_object(v))
        return;
    if ((m = json_object_get(v, "message")) && json_is_string(m))
        { describe_body(m, out, depth + 1); return; }
    if ((m = json_object_get(v, "error_description")) && json_is_string(m))
        { describe_body(m, out, depth + 1); return; }
    if ((m = json_object_get(v, "title")) && json_is_string(m)) {
        describe_body(m, out, depth + 1);
        if ((m = json_object_get(v, "detail")) && json_is_string(m))
            describe_body(m, out, depth + 1);
        if ((m = json_object_get(v, "errors")) && json_is_object(m))
            describe_body(m, out, depth + 1);
        return;
    }
    if ((m = json_object_get(v, "fault")) && json_is_object(m) &&
        (m = json_object_get(m, "faultstring")) && json_is_string(m))
        { describe_body(m, out, depth + 1); return; }
    if ((m = json_object_get(v, "errors")))
        { describe_body(m, out, depth + 1); return; }
    if ((m = json_object_get(v, "error")) && json_is_string(m))
        { describe_body(m, out, depth + 1); return; }
    if (depth > 0) { /* {field: ["can't be blank"]} */
        json_object_foreach(v, key, m) {
            oc_buf item;
            oc_buf_init(&item, 0);
            describe_body(m, &item, depth + 1);
            if (item.len) {
                char line[360];
                snprintf(line, sizeof line, "%s %s", key, item.data);
                append_text(out, line, strlen(line));
            }
            oc_buf_free(&item);
        }
    }
}

oc_code oc_client_http_error(const oc_client *c, const char *method, const char *target,
                             const oc_response *resp, oc_error *err)
{
    char what[480], hint[300] = "";
    oc_buf detail;
    json_t *body = NULL;
    long status = resp->status;
    oc_code rc;

    oc_buf_init(&detail, 0);
    if (resp->body.len && resp->body.len <= 1024 * 1024)
        body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    if (body)
        describe_body(body, &detail, 0);
    json_decref(body);
    if (strncasecmp(target, "http", 4) == 0) {
        oc_describe_request(what, sizeof what, method, target);
    } else {
        char full[600];
        snprintf(full, sizeof full, "%s%s%s", c->api_url, target[0] == '/' ? "" : "/", target);
        oc_describe_request(what, sizeof what, method, full);
    }
    if (status == 401) {
        if (c->mode == MODE_OFF)
            snprintf(hint, sizeof hint,
                     "the access token was rejected (expired or revoked); with InitiateOAuth=OFF "
                     "it is not refreshed");
        else if (!c->profile->refreshable)
            snprintf(hint, sizeof hint,
                     "the access token was rejected; %s tokens cannot be refreshed, so the app "
                     "must be authorized again",
                     profile_title(c));
        else
            snprintf(hint, sizeof hint,
                     "the access token was rejected even after a refresh (revoked?); log in again");
    }
    if (err)
        err->status = status;
    rc = oc_fail(err, code_for_status(status), "%s: HTTP %ld%s%s%s%s%s%s", what, status,
                 reason_phrase(status)[0] ? " " : "", reason_phrase(status),
                 detail.len ? ": " : "", detail.len ? detail.data : "", hint[0] ? "; " : "", hint);
    oc_buf_free(&detail);
    return rc;
}
