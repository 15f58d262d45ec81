/*
 * The engine's logins: a code exchanged (the caller's, or the one a
 * callback carries), the login (OAuthVerifier's code, the desktop login,
 * the device login), and the web flow's authorization URL with its pending
 * login. Each runs under the store's lock and reads the store first, so
 * processes started together log in once; the answer goes through the same
 * token request and save as a refresh (oc_call_token.c).
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_login.h"
#include "oc_mem.h"
#include "oc_pending.h"
#include "oc_time.h"
#include "oc_url.h"

/* ---- exchanging a code, logging in -------------------------------------------------------- */

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

/* The fingerprint of this app, naming its logins in the process's table. */
static void app_key(const oc_client *c, char out[65])
{
    oc_buf b;
    oc_buf_init(&b, 0);
    oc_buf_printf(&b, "%s\n%s", c->flow.client_id ? c->flow.client_id : "",
                  c->flow.token_url ? c->flow.token_url : "");
    oc_sha256_hex(b.data ? b.data : "", b.len, out);
    oc_buf_free(&b);
}

/* The verifier and redirect URI a login this library started recorded:
   by the callback's state, or the only login pending for the redirect URI.
   The caller's own win; a callback's query never chooses either. */
static oc_code find_pending(oc_call *call)
{
    oc_client *c = call->c;
    const char *redirect = call->redirect_uri ? call->redirect_uri : oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    char *verifier = NULL, *recorded = NULL;
    int index = -1, found = 0;
    oc_code rc = OC_OK;

    if (call->verifier)
        return OC_OK;
    if (!c->store) {
        char app[65];
        app_key(c, app);
        rc = oc_pending_take(app, call->state, redirect, oc_now_ms(), &verifier, &recorded, &found,
                             &call->err);
    } else {
        oc_settings_prune(&call->doc, oc_now_ms());
        if (call->state)
            index = oc_settings_find_pending(&call->doc, call->state);
        else if (redirect && oc_settings_count_pending(&call->doc, redirect, &index) > 1)
            rc = OC_E_CONFLICT;
        if (rc == OC_OK && index >= 0) {
            const oc_pending *p = &call->doc.pending[index];
            found = 1;
            call->pending_index = index;
            verifier = p->verifier ? oc_strdup(p->verifier) : NULL;
            recorded = p->redirect_uri ? oc_strdup(p->redirect_uri) : NULL;
            if ((p->verifier && !verifier) || (p->redirect_uri && !recorded))
                rc = oc_fail_nomem(&call->err);
        }
    }
    if (rc == OC_E_CONFLICT) {
        char shown[300];
        oc_url_shown(shown, sizeof shown, redirect ? redirect : "");
        rc = oc_fail(&call->err, OC_E_INVALID_ARGUMENT,
                     "several logins started by get_authorization_url are waiting for %s: pass the "
                     "callback's query (its state says which login this code ends) or the "
                     "code_verifier",
                     shown);
    }
    if (rc != OC_OK || !found) {
        oc_free_secret(verifier);
        free(recorded);
        return rc;
    }
    call->verifier = verifier;
    if (!call->redirect_uri)
        call->redirect_uri = recorded;
    else
        free(recorded);
    oc_logf(c->log, 1, "the code ends a login started here: its recorded PKCE verifier goes along");
    return OC_OK;
}

static void exchange_reserved(oc_call *call)
{
    oc_client *c = call->c;
    oc_kv extra = OC_KV_INIT;
    const char *redirect = call->redirect_uri ? call->redirect_uri : oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    oc_code rc;
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    oc_log_secret(c->log, call->code);
    oc_log_secret(c->log, call->verifier);
    oc_token_request_free(&call->tr);
    if ((rc = code_params(c, &call->callback, &extra, &call->err)) != OC_OK ||
        (rc = oc_oauth_code_request(&c->flow, call->code, redirect, call->verifier, &extra, &call->tr,
                                    &call->err)) != OC_OK) {
        oc_kv_free(&extra);
        oc_call_finish(call, rc);
        return;
    }
    oc_kv_free(&extra);
    call->token_what = "the authorization code exchange";
    call->token_attempt = 1;
    oc_call_send_token_request(call);
}

/* Under the lock, with the store read: the store must be this app's (or
   empty) before a code is spent, for the new set replaces what is there
   and another app's live refresh token with it. */
static void exchange_discovered(oc_call *call);

static void exchange_loaded(oc_call *call)
{
    oc_client *c = call->c;
    int lineage = 0;
    oc_code rc;
    if ((rc = oc_client_check_stored(c, &call->doc, &lineage, &call->err)) != OC_OK ||
        (rc = find_pending(call)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    oc_call_discover(call, exchange_discovered);
}

static void exchange_locked(oc_call *call)
{
    oc_call_load(call, exchange_loaded);
}


/* What any code exchange needs: the client id and a token endpoint. */
static oc_code endpoint_checks(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc;
    if ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, "to exchange an authorization code", &call->err)) != OC_OK)
        return rc;
    return oc_client_oauth_endpoint(c, OC_EP_TOKEN, &call->err);
}

/* Under the lock, the discovery document read when due: the token
   endpoint, then room for the answer. */
static void exchange_discovered(oc_call *call)
{
    oc_code rc;
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    if ((rc = endpoint_checks(call)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    call->exchanging = 1;
    oc_call_reserve(call, exchange_reserved);
}

static void exchange_start(oc_call *call)
{
    oc_code rc;
    if (!call->code || !*call->code)
        rc = oc_fail(&call->err, OC_E_INVALID_ARGUMENT, "the authorization code is empty");
    else
        rc = oc_client_need(call->c, OC_P_OAUTH_CLIENT_ID, "to exchange an authorization code", &call->err);
    if (rc != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    call->after_exchange = oc_call_finish_ok;
    oc_call_lock(call, oc_client_lock_timeout(call->c, 0), exchange_locked);
}

static char *dup_or_null(const char *s, int *bad)
{
    char *d = s ? oc_strdup(s) : NULL;
    if (s && !d)
        *bad = 1;
    return d;
}

oc_code oc_call_exchange(oc_client *c, const oc_exchange *x, oc_call **out, oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_EXCHANGE, err);
    int bad = 0;
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->code = dup_or_null(x->code, &bad);
    call->state = dup_or_null(x->state, &bad);
    call->verifier = dup_or_null(x->verifier, &bad);
    call->redirect_uri = dup_or_null(x->redirect_uri, &bad);
    if (bad || (x->callback && oc_kv_copy(&call->callback, x->callback) != 0)) {
        oc_call_free(call);
        *out = NULL;
        return oc_fail_nomem(err);
    }
    call->then = exchange_start;
    return OC_OK;
}

/* The login step's outcome: a code to exchange, under the lock still held. */
static void login_returned(oc_call *call)
{
    oc_client *c = call->c;
    const char *code;
    if (call->step_rc != OC_OK) {
        oc_logf(c->log, 1, "the browser login failed: %s", call->step_err.message);
        oc_call_fail(call, &call->step_err);
        return;
    }
    code = oc_kv_get(&call->callback, "code");
    oc_free_secret(call->code);
    if (!(call->code = code ? oc_strdup(code) : NULL)) {
        oc_call_finish(call, code ? oc_fail_nomem(&call->err)
                                  : oc_fail(&call->err, OC_E_LOGIN, "the login ended without a code"));
        return;
    }
    call->exchanging = 1;
    oc_call_reserve(call, exchange_reserved);
}

/* The device login's tokens: stored and adopted as an exchange's are. */
static void device_approved(oc_call *call)
{
    oc_call_store_fresh(call);
}

static void device_reserved(oc_call *call)
{
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    call->token_what = "the device login";
    oc_call_device_login(call, device_approved);
}

/* The endpoints a login needs, the discovery document read (under the
   lock, with the store) when it is due. */
static oc_code login_endpoints(oc_call *call)
{
    oc_client *c = call->c;
    const char *verifier_prop = call->force ? NULL : oc_config_get(c->cfg, OC_P_OAUTH_VERIFIER);
    oc_code rc;
    if (call->step_rc != OC_OK) {
        call->err = call->step_err;
        return call->err.code;
    }
    if (c->device_grant && !verifier_prop &&
        (rc = oc_client_oauth_endpoint(c, OC_EP_DEVICE, &call->err)) != OC_OK)
        return rc;
    if (!c->device_grant && !verifier_prop &&
        (rc = oc_client_oauth_endpoint(c, OC_EP_AUTHORIZE, &call->err)) != OC_OK)
        return rc;
    return endpoint_checks(call);
}

/* The login itself: OAuthVerifier's code, the device login or the desktop
   login. */
static void login_discovered(oc_call *call)
{
    oc_client *c = call->c;
    const char *verifier_prop = call->force ? NULL : oc_config_get(c->cfg, OC_P_OAUTH_VERIFIER);
    oc_code rc;
    if ((rc = login_endpoints(call)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (verifier_prop) {
        /* The login happened elsewhere: its state is not ours to check, but
           the PKCE verifier that went with its challenge must go along. */
        oc_kv_free(&call->callback);
        if ((rc = oc_login_take_code(verifier_prop, NULL, OC_STATE_UNCHECKED, &call->callback,
                                     &call->err)) != OC_OK) {
            oc_error_prefix(&call->err, "OAuthVerifier");
            snprintf(call->err.property, sizeof call->err.property, "OAuthVerifier");
            oc_call_finish(call, rc);
            return;
        }
        oc_free_secret(call->verifier);
        call->verifier = NULL;
        if (oc_config_get(c->cfg, OC_P_PKCE_VERIFIER) &&
            !(call->verifier = oc_strdup(oc_config_get(c->cfg, OC_P_PKCE_VERIFIER)))) {
            oc_call_finish(call, oc_fail_nomem(&call->err));
            return;
        }
        /* A login get_authorization_url started with this store: its state
           names it, and its verifier was kept. */
        free(call->state);
        call->state = oc_kv_get(&call->callback, "state") ? oc_strdup(oc_kv_get(&call->callback, "state")) : NULL;
        if (call->state && (rc = find_pending(call)) != OC_OK) {
            oc_call_finish(call, rc);
            return;
        }
        call->step_rc = OC_OK;
        login_returned(call);
        return;
    }
    if (!call->allow_login) {
        oc_call_finish(call, oc_fail(&call->err, OC_E_UNSUPPORTED,
                                     c->device_grant
                                         ? "the device login cannot run here (it waits minutes for the "
                                           "user); log in with the command or a script first"
                                         : "the browser login cannot run here; in nginx use the web flow "
                                           "(get_authorization_url, then get_access_token)"));
        return;
    }
    if (c->device_grant) {
        /* the answer must have somewhere to go before the user approves */
        call->exchanging = 1;
        oc_call_reserve(call, device_reserved);
        return;
    }
    call->login.flow = &c->flow;
    call->login.callback_url = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    call->login.title = oc_client_title(c);
    call->login.pkce = oc_client_pkce(c);
    call->login.state_rule = c->profile->stateless_callback ? OC_STATE_IF_SENT : OC_STATE_REQUIRED;
    call->login.timeout_ms = c->login_timeout_ms;
    oc_logf(c->log, 1, "starting the browser login; callback %s", call->login.callback_url);
    memset(&call->out, 0, sizeof call->out);
    call->out.kind = OC_STEP_LOGIN;
    call->out.login = &call->login;
    call->has_out = 1;
    call->then = login_returned;
}

/* Under the lock, with the store read: the set another process's login
   stored meanwhile is taken; else the login. */
static void login_loaded(oc_call *call)
{
    oc_client *c = call->c;
    int lineage = 0;
    oc_code rc;
    if ((rc = oc_client_check_stored(c, &call->doc, &lineage, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (!call->force && call->doc.has_token && lineage) { /* another process logged in meanwhile */
        if (oc_call_adopt_copy(call, &call->doc.token, 1) != OC_OK)
            oc_call_finish(call, call->err.code);
        else
            oc_call_unlock(call, call->after_exchange);
        return;
    }
    oc_call_discover(call, login_discovered);
}

static void login_locked(oc_call *call)
{
    oc_call_load(call, login_loaded);
}

/* The checks a login makes before the lock (those of the endpoints wait
   for the discovery document, under it); the login then runs under it, so
   processes started together log in once. */
void oc_call_login_start(oc_call *call, oc_cont then)
{
    oc_client *c = call->c;
    const char *verifier_prop = call->force ? NULL : oc_config_get(c->cfg, OC_P_OAUTH_VERIFIER);
    const char *callback = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    const char *what = c->device_grant ? "for the device login" : "for the browser login";
    oc_code rc;
    call->after_exchange = then;
    if (c->scheme != OC_SCHEME_OAUTH) {
        oc_call_finish(call, oc_fail(&call->err, OC_E_UNSUPPORTED, "the login is for AuthScheme=OAUTH"));
        return;
    }
    if ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, verifier_prop ? "to exchange an authorization code" : what,
                             &call->err)) != OC_OK ||
        (!verifier_prop && !c->device_grant &&
         ((rc = oc_client_need(c, OC_P_CALLBACK_URL, "for the browser login (the redirect URI "
                                                     "registered for the app)", &call->err)) != OC_OK ||
          (rc = oc_url_check_no_fragment(callback, "CallbackURL", &call->err)) != OC_OK))) {
        oc_call_finish(call, rc);
        return;
    }
    oc_call_lock(call, oc_client_lock_timeout(c, 1), login_locked);
}

static void login_call_start(oc_call *call)
{
    oc_call_login_start(call, oc_call_finish_ok);
}

oc_code oc_call_login(oc_client *c, int force, oc_call **out, oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_LOGIN, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->force = force;
    call->then = login_call_start;
    return OC_OK;
}

/* ---- web flow: the authorization URL and its pending login --------------------------------- */

/* A newer document: the login is recorded in it too. */
static int merge_pending(oc_call *call, oc_settings *fresh)
{
    return oc_settings_add_pending(fresh, call->state, call->verifier, call->redirect_uri, oc_now_ms(),
                                   NULL) == OC_OK;
}

static void authorization_saved(oc_call *call)
{
    if (call->step_rc != OC_OK) {
        oc_error_prefix(&call->step_err, "the login's PKCE verifier could not be kept");
        oc_call_fail(call, &call->step_err);
        return;
    }
    oc_call_unlock(call, oc_call_finish_ok);
}

static void authorization_loaded(oc_call *call)
{
    oc_code rc = oc_settings_add_pending(&call->doc, call->state, call->verifier, call->redirect_uri,
                                         oc_now_ms(), &call->err);
    if (rc != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    call->merge = merge_pending;
    oc_call_save(call, authorization_saved);
}

static void authorization_locked(oc_call *call)
{
    oc_call_load(call, authorization_loaded);
}

static void authorization_discovered(oc_call *call)
{
    oc_client *c = call->c;
    char *challenge = NULL;
    oc_code rc;
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    if (!call->redirect_uri && oc_config_get(c->cfg, OC_P_CALLBACK_URL) &&
        !(call->redirect_uri = oc_strdup(oc_config_get(c->cfg, OC_P_CALLBACK_URL)))) {
        oc_call_finish(call, oc_fail_nomem(&call->err));
        return;
    }
    if ((rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, "to build the authorization URL", &call->err)) != OC_OK ||
        (!call->redirect_uri &&
         (rc = oc_client_need(c, OC_P_CALLBACK_URL, "to build the authorization URL", &call->err)) != OC_OK) ||
        (rc = oc_url_check_no_fragment(call->redirect_uri, "CallbackURL", &call->err)) != OC_OK ||
        (rc = oc_client_oauth_endpoint(c, OC_EP_AUTHORIZE, &call->err)) != OC_OK ||
        (rc = oc_random_urlsafe(32, &call->state, &call->err)) != OC_OK ||
        (oc_client_pkce(c) && ((rc = oc_random_urlsafe(32, &call->verifier, &call->err)) != OC_OK ||
                              (rc = oc_pkce_s256(call->verifier, &challenge, &call->err)) != OC_OK)) ||
        (rc = oc_oauth_authorize_url(&c->flow, call->redirect_uri, call->state, challenge, NULL,
                                     &call->auth_url, &call->err)) != OC_OK) {
        free(challenge);
        oc_call_finish(call, rc);
        return;
    }
    free(challenge);
    if (!c->store) {
        char app[65];
        app_key(c, app);
        rc = oc_pending_put(app, call->state, call->verifier, call->redirect_uri, oc_now_ms(), &call->err);
        oc_call_finish(call, rc);
        return;
    }
    oc_call_lock(call, oc_client_lock_timeout(c, 0), authorization_locked);
}

static void authorization_start(oc_call *call)
{
    oc_call_discover(call, authorization_discovered);
}

oc_code oc_call_authorization(oc_client *c, const char *redirect_uri, oc_call **out, oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_AUTHORIZATION, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    if (redirect_uri && !(call->redirect_uri = oc_strdup(redirect_uri))) {
        oc_call_free(call);
        *out = NULL;
        return oc_fail_nomem(err);
    }
    call->then = authorization_start;
    return OC_OK;
}
