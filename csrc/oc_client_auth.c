/*
 * The token a client holds: adopting one (and the header lines it makes),
 * when it is due, whether a stored set may be used, and what a rejected
 * token leaves to do. No I/O: the engine (oc_call*.c) decides with these.
 */
#include "oc_client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_time.h"
#include "oc_url.h"

/* When the token in use becomes due (INT64_MAX: never), for
   oc_client_ready_credentials: oc_client_refresh_due, solved for the time. */
static int64_t ready_until(const oc_client *c)
{
    if (!oc_client_uses_tokens(c) || (c->scheme == OC_SCHEME_OAUTH && c->mode == OC_MODE_OFF))
        return INT64_MAX;
    return oc_token_due_at(&c->token, c->leeway_s);
}

oc_code oc_client_adopt(oc_client *c, oc_token *t, int changed, oc_error *err)
{
    oc_buf line;
    oc_code rc;
    oc_buf_init_secret(&line, 0);
    if (t->access_token &&
        oc_buf_printf(&line, "%s: %s%s", c->profile->token_header,
                      c->profile->token_prefix ? c->profile->token_prefix : "", t->access_token))
        return oc_fail_nomem(err);
    rc = oc_client_set_auth_headers(c, line.data, err);
    oc_wipe(line.data, line.len);
    oc_buf_free(&line);
    if (rc != OC_OK)
        return rc;
    oc_log_secret(c->log, t->access_token);
    oc_log_secret(c->log, t->refresh_token);
    oc_token_move(&c->token, t);
    /* once per token, not once per request */
    if (c->token.access_token)
        oc_sha256_hex(c->token.access_token, strlen(c->token.access_token), c->token_hash);
    else
        c->token_hash[0] = '\0';
    c->ready_until_ms = ready_until(c);
    if (changed)
        c->generation++;
    c->loaded = c->found = 1;
    /* The token may name the store the API URL needs (BigCommerce's context). */
    if (!c->api_url)
        oc_client_resolve_api_url(c, NULL);
    return OC_OK;
}

oc_code oc_client_token_from_properties(const oc_client *c, oc_token *t, oc_error *err)
{
    const char *a = oc_config_get(c->cfg, OC_P_OAUTH_ACCESS_TOKEN);
    const char *r = oc_config_get(c->cfg, OC_P_OAUTH_REFRESH_TOKEN);
    int64_t expires_in = oc_config_int(c->cfg, OC_P_OAUTH_EXPIRES_IN);
    oc_token_init(t);
    if ((a && !(t->access_token = oc_strdup(a))) || (r && !(t->refresh_token = oc_strdup(r)))) {
        oc_token_clear(t);
        return oc_fail_nomem(err);
    }
    t->obtained_ms = oc_config_int(c->cfg, OC_P_OAUTH_TOKEN_TIMESTAMP);
    if (t->obtained_ms <= 0)
        t->obtained_ms = oc_now_ms();
    if (expires_in > 0) {
        t->expires_in = expires_in;
        t->expires_at_ms = t->obtained_ms + expires_in * 1000;
    }
    return OC_OK;
}

int64_t oc_client_lock_timeout(const oc_client *c, int with_login)
{
    int64_t t = c->timeout_ms > 0 ? 2 * c->timeout_ms + 10000 : 600000;
    return with_login ? t + c->login_timeout_ms : t;
}

int oc_client_refresh_due(const oc_client *c, int64_t now_ms)
{
    return oc_client_uses_tokens(c) && !(c->scheme == OC_SCHEME_OAUTH && c->mode == OC_MODE_OFF) &&
           oc_token_due(&c->token, now_ms, c->leeway_s);
}

int oc_client_can_outlive(const oc_client *c, oc_code refresh_rc, int64_t now_ms)
{
    return c->token.access_token && !oc_token_expired(&c->token, now_ms) &&
           refresh_rc != OC_E_OAUTH && refresh_rc != OC_E_NO_TOKEN;
}

int oc_client_can_renew(const oc_client *c)
{
    return c->scheme == OC_SCHEME_OAUTH_CLIENT ||
           (c->scheme == OC_SCHEME_OAUTH && c->mode != OC_MODE_OFF && c->profile->refreshable);
}

void oc_client_unrenewable_advice(const oc_client *c, oc_error *err)
{
    if (c->scheme == OC_SCHEME_OAUTH && !c->profile->refreshable)
        oc_fail(err, OC_E_UNAUTHORIZED,
                "the access token was rejected (revoked, or the app uninstalled); %s tokens cannot "
                "be refreshed, so the app must be authorized (installed) again",
                oc_client_title(c));
    else if (c->scheme == OC_SCHEME_OAUTH)
        oc_fail(err, OC_E_UNAUTHORIZED,
                "the access token was rejected (expired or revoked); with InitiateOAuth=OFF it is "
                "not refreshed: give a new OAuthAccessToken, or use InitiateOAuth=GETANDREFRESH");
    else if (c->scheme == OC_SCHEME_NONE)
        oc_fail(err, OC_E_UNAUTHORIZED, "the server wants credentials and AuthScheme=NONE sends none");
    else
        oc_fail(err, OC_E_UNAUTHORIZED, "the server rejected the %s credentials; check them",
                oc_config_get(c->cfg, OC_P_AUTH_SCHEME));
    if (err)
        err->status = 401;
}

/* Two optional strings are equal (NULL only equals NULL). */
static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A stored set made for something else ("issued to the client 'a', not
   to OAuthClientId 'b'"): never used, and the error names both. */
static oc_code refuse_stored(const oc_client *c, const char *property, const char *theirs_what,
                             const char *theirs, const char *ours_what, const char *ours,
                             const char *remedy, oc_error *err)
{
    char a[80], b[80];
    oc_copy_printable(a, sizeof a, theirs, strlen(theirs));
    oc_copy_printable(b, sizeof b, ours, strlen(ours));
    return oc_fail_property(err, OC_E_SETTINGS, property, "%s holds tokens %s '%s', not %s '%s'; %s",
                            c->store_where, theirs_what, a, ours_what, b, remedy);
}

oc_code oc_client_check_stored(const oc_client *c, const oc_settings *doc, int *lineage,
                               oc_error *err)
{
    const oc_token_meta *stored = &doc->meta;
    const char *wanted_store = oc_config_get(c->cfg, OC_P_STORE_ID), *issued_store;
    char store_buf[128];
    *lineage = 0;
    if (!doc->has_token)
        return OC_OK;
    if (!same(stored->provider, c->meta.provider) || !same(stored->api_url, c->meta.api_url) ||
        (stored->token_url && c->meta.token_url && !same(stored->token_url, c->meta.token_url))) {
        /* Named by what differs: the API, or only the authorization server
           (its token endpoint, or the discovery URL that names it). */
        int api_same = same(stored->provider, c->meta.provider) && same(stored->api_url, c->meta.api_url);
        const char *theirs_url = api_same ? stored->token_url : stored->api_url;
        const char *ours_url = api_same ? c->meta.token_url : c->meta.api_url;
        char api[200], ours[200];
        oc_url_shown(api, sizeof api, theirs_url ? theirs_url : "(unknown)");
        oc_url_shown(ours, sizeof ours, ours_url ? ours_url : "(unknown)");
        return oc_fail_property(err, OC_E_SETTINGS, "OAuthSettingsLocation",
                                "%s holds tokens for %s %s %s, not for %s %s %s; they are not sent "
                                "elsewhere. Use another OAuthSettingsLocation, or remove the file to "
                                "log in again",
                                c->store_where, stored->provider ? stored->provider : "(unknown)",
                                api_same ? "from the authorization server" : "at", api, c->meta.provider,
                                api_same ? "from the authorization server" : "at", ours);
    }
    /* A refresh token is bound to the client it was issued to (RFC 6749
       6): another app's tokens are refused, not used and then broken. */
    if (stored->client_id && c->meta.client_id && !same(stored->client_id, c->meta.client_id))
        return refuse_stored(c, "OAuthSettingsLocation", "issued to the client", stored->client_id,
                             "to OAuthClientId", c->meta.client_id,
                             "use another OAuthSettingsLocation for this app, or remove the file to "
                             "log in again",
                             err);
    /* A store's token (BigCommerce) is good for that store only: sent to
       another it would come back 401 with a misleading "authorize again". */
    issued_store = oc_client_token_store_id(c, &doc->token, store_buf, sizeof store_buf);
    if (wanted_store && *wanted_store && issued_store && strcmp(wanted_store, issued_store) != 0)
        return refuse_stored(c, "StoreId", "for the store", issued_store, "for StoreId", wanted_store,
                             "use another OAuthSettingsLocation for each store, or remove the file "
                             "to authorize this one",
                             err);
    *lineage = !c->seed[0] || same(stored->seed, c->seed);
    return OC_OK;
}

const oc_token *oc_client_current_token(const oc_client *c)
{
    return c->token.access_token ? &c->token : NULL;
}

int oc_client_ready_credentials(const oc_client *c, int64_t now_ms, int due_ok, const char **line)
{
    if (!c->loaded || (c->unsaved && !due_ok))
        return 0;
    /* ready_until_ms is the due time, worked out once per token */
    if (oc_client_uses_tokens(c) &&
        (!c->token.access_token ||
         (due_ok ? oc_token_expired(&c->token, now_ms) : now_ms >= c->ready_until_ms)))
        return 0;
    *line = c->credentials_line;
    return 1;
}
