/*
 * The client's tokens: where they come from (the properties, the store, the
 * browser login, the client-credentials grant) and how they are renewed.
 *
 * The rules that keep tokens from being lost: a refresh or login runs under
 * the store's lock and re-reads the store first (another client or process
 * may have done it already); a rotated refresh token is saved before the new
 * access token is used; a failed refresh leaves the store as it was.
 */
#include "oc_client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_buf.h"
#include "oc_call.h"
#include "oc_crypto.h"
#include "oc_login.h"
#include "oc_time.h"
#include "oc_url.h"

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
    if (changed)
        c->generation++;
    c->loaded = 1;
    /* The token may name the store the API URL needs (BigCommerce's context). */
    if (!c->api_url)
        oc_client_resolve_api_url(c, NULL);
    return OC_OK;
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

int64_t oc_client_lock_timeout(const oc_client *c, int with_login)
{
    int64_t t = c->timeout_ms > 0 ? 2 * c->timeout_ms + 10000 : 600000;
    return with_login ? t + c->login_timeout_ms : t;
}

/*
 * Refreshes now (rejected: the access token a server refused, "" for any),
 * or, with rejected NULL, unless the store holds a newer token that is not
 * due: the oc_call state machine, driven by libcurl.
 */
oc_code oc_client_refresh(oc_client *c, const char *rejected, oc_error *err)
{
    oc_call *call;
    oc_code rc = oc_call_refresh(c, rejected, &call, err);
    if (rc == OC_OK)
        rc = oc_client_run(c, call, err);
    oc_call_free(call);
    return rc;
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

oc_code oc_client_refresh_if_due(oc_client *c, oc_error *err)
{
    int64_t now = oc_now_ms();
    oc_error local;
    oc_code rc;
    if (!oc_client_refresh_due(c, now))
        return OC_OK;
    oc_error_clear(&local);
    rc = oc_client_refresh(c, NULL, &local);
    /* A failed refresh is only an error once the current token cannot be
       used any more: a network blip within the leeway is not. */
    if (rc == OC_OK || oc_client_can_outlive(c, rc, now))
        return OC_OK;
    if (err)
        *err = local;
    return rc;
}

/* Exchanges a code, stores and adopts the tokens. */
static oc_code exchange(oc_client *c, const char *code, const oc_kv *callback, const char *verifier,
                        const char *redirect_uri, oc_error *err)
{
    oc_call *call;
    oc_code rc = oc_call_exchange(c, code, callback, verifier, redirect_uri, &call, err);
    if (rc == OC_OK)
        rc = oc_client_run(c, call, err);
    oc_call_free(call);
    return rc;
}

/* The login under the store's lock: processes started together log in once. */
static oc_code login_locked(oc_client *c, int force, oc_error *err)
{
    const char *verifier_prop = oc_config_get(c->cfg, OC_P_OAUTH_VERIFIER);
    const char *callback = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    oc_token stored;
    oc_kv params = OC_KV_INIT;
    char *verifier = NULL, *redirect = NULL;
    int found = 0, lineage = 0;
    oc_code rc;

    if (force)
        verifier_prop = NULL; /* a forced login is a browser login: the code was spent */
    if (c->scheme != OC_SCHEME_OAUTH)
        return oc_fail(err, OC_E_UNSUPPORTED, "the browser login is for AuthScheme=OAUTH");
    if (!verifier_prop &&
        ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, "for the browser login", err)) != OC_OK ||
         (rc = oc_client_need(c, OC_P_CALLBACK_URL, "for the browser login (the redirect URI "
                                                    "registered for the app)", err)) != OC_OK ||
         (rc = oc_url_check_no_fragment(callback, "CallbackURL", err)) != OC_OK ||
         (rc = oc_client_endpoint(c, OC_P_OAUTH_AUTHORIZATION_URL, c->profile->authorize_url,
                                  &c->flow.authorize_url, err)) != OC_OK))
        return rc;
    oc_token_init(&stored);
    if (c->store && (rc = oc_store_lock(c->store, oc_client_lock_timeout(c, 1), err)) != OC_OK)
        return rc;
    if (c->store && !force) {
        if ((rc = oc_client_load_store(c, &stored, &found, &lineage, err)) != OC_OK)
            goto out;
        if (found) { /* another process logged in while we waited */
            rc = oc_client_adopt(c, &stored, 1, err);
            goto out;
        }
    }
    if (verifier_prop) {
        /* The login happened elsewhere: its state is not ours to check, but
           the PKCE verifier that went with its challenge must go along. */
        rc = oc_login_take_code(verifier_prop, NULL, OC_STATE_UNCHECKED, &params, err);
        if (rc == OC_OK)
            rc = exchange(c, oc_kv_get(&params, "code"), &params,
                          oc_config_get(c->cfg, OC_P_PKCE_VERIFIER), callback, err);
        else if (err) {
            oc_error_prefix(err, "OAuthVerifier");
            snprintf(err->property, sizeof err->property, "OAuthVerifier");
        }
    } else {
        oc_login_request lr;
        lr.flow = &c->flow;
        lr.callback_url = callback;
        lr.title = oc_client_title(c);
        lr.pkce = c->profile->pkce;
        lr.state_rule = c->profile->stateless_callback ? OC_STATE_IF_SENT : OC_STATE_REQUIRED;
        lr.timeout_ms = c->login_timeout_ms;
        oc_logf(c->log, 1, "starting the browser login; callback %s", callback);
        if ((rc = oc_login_desktop(&lr, &params, &verifier, &redirect, err)) == OC_OK)
            rc = exchange(c, oc_kv_get(&params, "code"), &params, verifier, redirect, err);
        else if (err)
            oc_logf(c->log, 1, "the browser login failed: %s", err->message);
    }
out:
    if (c->store)
        oc_store_unlock(c->store);
    oc_token_clear(&stored);
    oc_kv_free(&params);
    oc_free_secret(verifier);
    free(redirect);
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
    int lineage = 0, locked = 0;
    oc_code rc = OC_OK;

    *found = 0;
    oc_token_init(&t);
    if (c->mode == OC_MODE_OFF && c->scheme == OC_SCHEME_OAUTH &&
        oc_config_is_set(c->cfg, OC_P_OAUTH_ACCESS_TOKEN)) {
        if ((rc = token_from_properties(c, &t, err)) == OC_OK)
            rc = oc_client_adopt(c, &t, 0, err);
        *found = rc == OC_OK;
        return rc;
    }
    /* Token properties may replace what is stored: compare and replace
       under the lock, or a process could write back a spent refresh token
       another one just rotated. */
    if (c->seed[0] && c->store) {
        if ((rc = oc_store_lock(c->store, oc_client_lock_timeout(c, 0), err)) != OC_OK)
            return rc;
        locked = 1;
    }
    if ((rc = oc_client_load_store(c, &t, found, &lineage, err)) != OC_OK)
        goto out;
    if (*found && lineage) {
        rc = oc_client_adopt(c, &t, 0, err);
    } else if (c->seed[0]) {
        oc_token_clear(&t);
        if ((rc = token_from_properties(c, &t, err)) == OC_OK && t.access_token)
            rc = oc_client_save(c, &t, NULL, err);
        if (rc == OC_OK)
            rc = oc_client_adopt(c, &t, 0, err);
        *found = rc == OC_OK;
    } else {
        *found = 0;
    }
out:
    if (locked)
        oc_store_unlock(c->store);
    oc_token_clear(&t);
    return rc;
}

oc_code oc_client_load(oc_client *c, int allow_login, oc_error *err)
{
    int found = 0;
    oc_code rc;

    if (!oc_client_uses_tokens(c)) {
        c->loaded = 1;
        return OC_OK;
    }
    if ((rc = load_initial(c, &found, err)) != OC_OK)
        return rc;
    if (c->scheme == OC_SCHEME_OAUTH_CLIENT)
        return OC_OK; /* a missing or due token is fetched by the refresh */
    if (c->mode == OC_MODE_OFF && !c->token.access_token)
        return oc_fail_property(err, OC_E_MISSING_PROPERTY, "OAuthAccessToken",
                                "OAuthAccessToken is required with InitiateOAuth=OFF (nothing is "
                                "stored%s%s); or use InitiateOAuth=GETANDREFRESH to log in",
                                c->store ? " in " : "", c->store ? oc_store_where(c->store) : "");
    if (found)
        return OC_OK;
    if (c->mode == OC_MODE_GETANDREFRESH && allow_login)
        return login_locked(c, 0, err);
    if (c->mode == OC_MODE_GETANDREFRESH)
        return oc_fail(err, OC_E_NO_TOKEN,
                       "no token is stored%s%s; log in first (the browser login, or the web flow's "
                       "get_access_token)",
                       c->store ? " in " : "", c->store ? oc_store_where(c->store) : "");
    return oc_fail_property(err, OC_E_NO_TOKEN, "OAuthRefreshToken",
                            "no token is stored%s%s and OAuthRefreshToken is not set; "
                            "InitiateOAuth=REFRESH never opens a browser: set "
                            "OAuthRefreshToken or log in once with InitiateOAuth=GETANDREFRESH",
                            c->store ? " in " : "", c->store ? oc_store_where(c->store) : "");
}

oc_code oc_client_connect(oc_client *c, oc_error *err)
{
    oc_code rc;
    if ((rc = oc_client_load(c, 1, err)) != OC_OK || !oc_client_uses_tokens(c))
        return rc;
    if (!c->token.access_token || (c->scheme == OC_SCHEME_OAUTH_CLIENT &&
                                   oc_token_due(&c->token, oc_now_ms(), c->leeway_s)))
        return oc_client_refresh(c, NULL, err);
    return oc_client_refresh_if_due(c, err);
}

oc_code oc_client_prepare(oc_client *c, oc_error *err)
{
    return c->loaded ? OC_OK : oc_client_load(c, 0, err);
}

const oc_token *oc_client_current_token(const oc_client *c)
{
    return c->token.access_token ? &c->token : NULL;
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
    if (!oc_client_uses_tokens(c))
        return oc_fail(err, OC_E_UNSUPPORTED, "AuthScheme=%s uses no OAuth token",
                       oc_config_get(c->cfg, OC_P_AUTH_SCHEME));
    /* Refreshing on request works from a refresh token alone, whatever the
       mode (CData's RefreshOAuthAccessToken). */
    if (!c->loaded &&
        (rc = force_refresh ? load_initial(c, &found, err) : oc_client_connect(c, err)) != OC_OK)
        return rc;
    if (force_refresh && !c->loaded && !found && c->scheme == OC_SCHEME_OAUTH)
        return oc_fail_property(err, OC_E_NO_TOKEN, "OAuthRefreshToken",
                                "there is no refresh token: set OAuthRefreshToken%s%s",
                                c->store ? " or store tokens in " : "",
                                c->store ? oc_store_where(c->store) : "");
    if (force_refresh)
        rc = oc_client_refresh(c, c->token.access_token ? c->token.access_token : "", err);
    else if (!c->token.access_token)
        rc = oc_client_refresh(c, NULL, err);
    else
        rc = oc_client_refresh_if_due(c, err);
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
    if ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, "to build the authorization URL", err)) != OC_OK ||
        (!redirect_uri &&
         (rc = oc_client_need(c, OC_P_CALLBACK_URL, "to build the authorization URL", err)) != OC_OK) ||
        (rc = oc_url_check_no_fragment(redirect_uri, "CallbackURL", err)) != OC_OK ||
        (rc = oc_client_endpoint(c, OC_P_OAUTH_AUTHORIZATION_URL, c->profile->authorize_url,
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
    return exchange(c, code, callback_params, verifier, redirect_uri, err);
}

oc_code oc_client_forget(oc_client *c, oc_error *err)
{
    oc_code rc = OC_OK;
    if (c->store) {
        if ((rc = oc_store_lock(c->store, oc_client_lock_timeout(c, 0), err)) != OC_OK)
            return rc;
        rc = oc_store_remove(c->store, err);
        oc_store_unlock(c->store);
    }
    return rc;
}
