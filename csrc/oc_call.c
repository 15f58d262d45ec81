#include "oc_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_buf.h"
#include "oc_client_internal.h"
#include "oc_crypto.h"
#include "oc_retry.h"
#include "oc_time.h"
#include "oc_url.h"

enum { MAX_REDIRECTS = 5, LOCK_PAUSE_MAX_MS = 16 };

typedef enum { KIND_API, KIND_TOKEN, KIND_REFRESH, KIND_EXCHANGE } call_kind;

typedef enum {
    ST_START,      /* API, token: is a refresh due first? */
    ST_LOCK,       /* refresh: take the store's lock, re-read, maybe adopt */
    ST_TOKEN_SEND, /* refresh, exchange: send the token request */
    ST_TOKEN_WAIT, /* ... and read its answer */
    ST_SEND,       /* API: send the request */
    ST_API_WAIT,   /* ... and read its answer */
    ST_PAUSE,      /* wait, then go to `after` */
    ST_DONE
} call_state;

/* Why a refresh runs: it decides what a failure means. */
typedef enum { WHY_DUE, WHY_NEEDED, WHY_REJECTED } refresh_why;

/* Room made for a token set before asking for one: sets are 1 to 4 KB. */
enum { OC_TOKEN_SET_RESERVE = 16 * 1024 };

struct oc_call {
    oc_client *c;
    call_kind kind;
    call_state state, after;
    int64_t pause_ms;
    int64_t deadline_ms; /* monotonic end of Timeout, from the first send; 0: none yet */
    oc_code result;
    oc_error err;

    /* API */
    const oc_api_request *api;
    oc_response *resp;
    oc_buf url;
    char *next_url;
    struct curl_slist *merged;
    oc_request http;
    unsigned sent_generation; /* the client's token generation when last sent */
    int attempt, redirects, retried_401, paced;

    /* refresh and exchange */
    refresh_why why;
    oc_token_need need;
    char *rejected;
    int locked, found, lock_started;
    unsigned failed_refreshes; /* the client's count when this refresh began */
    int64_t lock_deadline, lock_pause;
    oc_token base, fresh;
    oc_token_request tr;
    oc_request token_http;
    int token_attempt;
    int auth_switched; /* the client's credentials went the other way once */
    const char *token_what;
    oc_response token_resp;
};

static oc_call *new_call(oc_client *c, call_kind kind, oc_error *err)
{
    oc_call *call = calloc(1, sizeof *call);
    if (!call) {
        oc_fail_nomem(err);
        return NULL;
    }
    call->c = c;
    call->kind = kind;
    call->state = ST_START;
    call->attempt = call->token_attempt = 1;
    oc_buf_init(&call->url, 0);
    oc_token_init(&call->base);
    oc_token_init(&call->fresh);
    oc_response_init(&call->token_resp);
    return call;
}

static void free_merged(oc_call *call)
{
    oc_http_free_headers(call->merged);
    call->merged = NULL;
}

static void unlock(oc_call *call)
{
    if (call->locked) {
        oc_store_unlock(call->c->store);
        call->locked = 0;
    }
    if (call->c->refreshing == call)
        call->c->refreshing = NULL;
}

void oc_call_free(oc_call *call)
{
    if (!call)
        return;
    unlock(call);
    oc_buf_free(&call->url);
    free(call->next_url);
    free_merged(call);
    oc_free_secret(call->rejected);
    oc_token_clear(&call->base);
    oc_token_clear(&call->fresh);
    oc_token_request_free(&call->tr);
    oc_wipe(call->token_resp.body.data, call->token_resp.body.len);
    oc_response_free(&call->token_resp);
    free(call);
}

static void finish(oc_call *call, oc_code rc)
{
    unlock(call);
    if (rc != OC_OK) /* a server may have quoted what it was sent */
        oc_client_scrub_error(call->c, &call->base, &call->err);
    call->result = rc;
    call->state = ST_DONE;
}

static void fail_with(oc_call *call, const oc_error *e)
{
    call->err = *e;
    finish(call, e->code);
}

static void pause_then(oc_call *call, int64_t ms, call_state after)
{
    call->pause_ms = ms;
    call->after = after;
    call->state = ST_PAUSE;
}

/* ---- Timeout, for the whole call ---------------------------------------------------
 * Timeout bounds a call from its first send to its answer, retries and a
 * refresh in between included, not each attempt: Timeout=10 gives up after
 * about 10 s, not 3 x 10. Waiting out a spent quota before the first send
 * is the client's own pacing and does not count. The token request is the
 * exception (arm_token_timeout). */

/* The ms of Timeout left for an HTTP step (starting the clock on the
   first), -1 without a limit, 0 when spent. */
static int64_t time_left(oc_call *call)
{
    int64_t now = oc_monotonic_ms(), limit = call->c->timeout_ms;
    if (limit <= 0)
        return -1;
    if (!call->deadline_ms)
        call->deadline_ms = now + limit;
    return call->deadline_ms > now ? call->deadline_ms - now : 0;
}

/* Whether a retry after wait ms can still start within Timeout. */
static int retry_fits(const oc_call *call, int64_t wait)
{
    return !call->deadline_ms || oc_monotonic_ms() + wait < call->deadline_ms;
}

/* Gives the HTTP step what is left of Timeout, or ends the call when
   nothing is. Returns 1 when the step may go. */
static int arm_timeout(oc_call *call, oc_request *http)
{
    int64_t left = time_left(call);
    if (left == 0) {
        finish(call, oc_fail(&call->err, OC_E_TIMEOUT,
                             "%s took longer than Timeout (%lld s) in all, retries included",
                             call->kind == KIND_API ? "the request" : call->token_what,
                             (long long)(call->c->timeout_ms / 1000)));
        return 0;
    }
    http->timeout_ms = left > 0 ? (long)left : 0;
    return 1;
}

/* A token request always gets the whole Timeout, not what the request
   around it has left: one cut short may still be completed by the server,
   which then rotates a refresh token (or spends a code) this client never
   learns of. A 401 after a slow API call left a refresh 299 ms. */
static void arm_token_timeout(oc_call *call, oc_request *http)
{
    http->timeout_ms = call->c->timeout_ms > 0 ? (long)call->c->timeout_ms : 0;
}

/* ---- starting ---------------------------------------------------------------- */

/* Begins a refresh for the reason why: the lock comes first. */
static void start_refresh(oc_call *call, refresh_why why, const char *rejected)
{
    oc_client *c = call->c;
    call->why = why;
    oc_free_secret(call->rejected);
    call->rejected = rejected ? oc_strdup(rejected) : NULL;
    if (rejected && !call->rejected) {
        finish(call, oc_fail_nomem(&call->err));
        return;
    }
    if (!oc_client_uses_tokens(c)) {
        finish(call, oc_fail(&call->err, OC_E_UNSUPPORTED, "AuthScheme=%s uses no OAuth token",
                             oc_config_get(c->cfg, OC_P_AUTH_SCHEME)));
        return;
    }
    if (c->scheme == OC_SCHEME_OAUTH && !c->profile->refreshable) {
        finish(call, oc_fail(&call->err, OC_E_NO_TOKEN,
                             "%s tokens cannot be refreshed; the app must be authorized again",
                             oc_client_title(c)));
        return;
    }
    call->lock_started = 0;
    call->failed_refreshes = c->failed_refreshes;
    call->state = ST_LOCK;
}

oc_code oc_call_refresh(oc_client *c, const char *rejected, oc_call **out, oc_error *err)
{
    oc_call *call = new_call(c, KIND_REFRESH, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    start_refresh(call, rejected ? WHY_REJECTED : WHY_NEEDED, rejected);
    return OC_OK;
}

oc_code oc_call_api(oc_client *c, const oc_api_request *req, oc_response *resp, oc_call **out,
                    oc_error *err)
{
    oc_call *call = new_call(c, KIND_API, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->api = req;
    call->resp = resp;
    return OC_OK;
}

oc_code oc_call_token(oc_client *c, oc_token_need need, oc_call **out, oc_error *err)
{
    oc_call *call = new_call(c, KIND_TOKEN, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->need = need;
    return OC_OK;
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

/* The store must be this app's (or empty) before a code is spent: the new
   set would replace another app's tokens there, and its live refresh token
   with them. The same check as a connect makes. */
static oc_code store_is_ours(oc_client *c, oc_error *err)
{
    oc_token stored;
    int found = 0, lineage = 0;
    oc_code rc;
    oc_token_init(&stored);
    rc = oc_client_load_store(c, &stored, &found, &lineage, err);
    oc_token_clear(&stored);
    return rc;
}

oc_code oc_call_exchange(oc_client *c, const char *code, const oc_kv *callback_params,
                         const char *verifier, const char *redirect_uri, oc_call **out,
                         oc_error *err)
{
    oc_call *call = new_call(c, KIND_EXCHANGE, err);
    oc_kv extra = OC_KV_INIT;
    oc_code rc;
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->token_what = "the authorization code exchange";
    if (!code || !*code) {
        finish(call, oc_fail(&call->err, OC_E_INVALID_ARGUMENT, "the authorization code is empty"));
        return OC_OK;
    }
    oc_log_secret(c->log, code);
    oc_log_secret(c->log, verifier);
    if (!redirect_uri)
        redirect_uri = oc_config_get(c->cfg, OC_P_CALLBACK_URL);
    if ((rc = code_params(c, callback_params, &extra, &call->err)) != OC_OK ||
        (rc = oc_client_need(c, OC_P_OAUTH_CLIENT_ID, "to exchange an authorization code", &call->err)) != OC_OK ||
        (rc = oc_client_endpoint(c, OC_P_OAUTH_ACCESS_TOKEN_URL, c->profile->token_url,
                                 &c->flow.token_url, &call->err)) != OC_OK ||
        (rc = oc_oauth_code_request(&c->flow, code, redirect_uri, verifier, &extra, &call->tr,
                                    &call->err)) != OC_OK ||
        (rc = store_is_ours(c, &call->err)) != OC_OK ||
        (c->store && (rc = oc_store_reserve(c->store, OC_TOKEN_SET_RESERVE, &call->err)) != OC_OK))
        finish(call, rc);
    else
        call->state = ST_TOKEN_SEND;
    oc_kv_free(&extra);
    return OC_OK;
}

/* ---- the refresh ----------------------------------------------------------------- */

static int same_access_token(const oc_token *a, const oc_token *b)
{
    return a->access_token && b->access_token && strcmp(a->access_token, b->access_token) == 0;
}

/* After the refresh (or adopting another's): on to the request, or done. */
static void refresh_done(oc_call *call)
{
    unlock(call);
    if (call->kind == KIND_API)
        call->state = ST_SEND;
    else
        finish(call, OC_OK);
}

static int is_token_user(const oc_call *call)
{
    return call->kind == KIND_API || call->kind == KIND_TOKEN;
}

/*
 * A failed refresh. With nothing else to go on it is the call's error; but
 * a refresh that was only due (the token still works) does not fail the
 * request on a network blip.
 */
static void refresh_failed(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc = call->err.code;
    unlock(call);
    if (is_token_user(call) && call->why == WHY_DUE && oc_client_can_outlive(c, rc, oc_now_ms())) {
        oc_error_clear(&call->err);
        refresh_done(call);
        return;
    }
    if (call->kind == KIND_API && call->why == WHY_REJECTED) {
        char what[480];
        oc_describe_request(what, sizeof what, call->http.method, call->http.url);
        oc_error_prefix(&call->err, "%s was rejected with HTTP 401 and", what);
    }
    finish(call, rc);
}

/*
 * Single flight: under the store's lock, re-read the store; if another
 * client or process already renewed (the stored access token is not the one
 * seen rejected, or is no longer due), adopt it and send nothing. Otherwise
 * renew from the newest stored refresh token.
 */
static void step_lock(oc_call *call)
{
    oc_client *c = call->c;
    int lineage = 0;
    char shown[400];
    oc_code rc;

    if ((rc = oc_client_endpoint(c, OC_P_OAUTH_ACCESS_TOKEN_URL, c->profile->token_url,
                                 &c->flow.token_url, &call->err)) != OC_OK) {
        refresh_failed(call);
        return;
    }
    if (!call->lock_started) {
        call->lock_started = 1;
        call->lock_deadline = oc_monotonic_ms() + oc_client_lock_timeout(c, 0);
        call->lock_pause = 1;
    }
    /* Another call of this client (a coroutine in OpenResty) is refreshing. */
    if (c->refreshing && c->refreshing != call) {
        if (oc_monotonic_ms() >= call->lock_deadline) {
            oc_fail(&call->err, OC_E_LOCK, "timed out waiting for another request's refresh");
            refresh_failed(call);
            return;
        }
        pause_then(call, call->lock_pause, ST_LOCK);
        call->lock_pause = call->lock_pause < LOCK_PAUSE_MAX_MS ? call->lock_pause * 2 : LOCK_PAUSE_MAX_MS;
        return;
    }
    c->refreshing = call;
    if (c->store && !call->locked) {
        oc_error e;
        oc_error_clear(&e);
        /* One attempt: OC_E_LOCK means someone else holds it; the wait is
           the driver's (a sleep, or ngx.sleep in OpenResty). */
        if ((rc = oc_store_lock(c->store, 0, &e)) != OC_OK) {
            if (rc == OC_E_LOCK && oc_monotonic_ms() < call->lock_deadline) {
                pause_then(call, call->lock_pause, ST_LOCK);
                call->lock_pause = call->lock_pause < LOCK_PAUSE_MAX_MS ? call->lock_pause * 2
                                                                        : LOCK_PAUSE_MAX_MS;
                return;
            }
            if (rc == OC_E_LOCK)
                oc_fail(&e, OC_E_LOCK,
                        "timed out after %lld ms waiting for the lock on %s (another process is "
                        "refreshing or logging in)",
                        (long long)oc_client_lock_timeout(c, 0), oc_store_where(c->store));
            call->err = e;
            refresh_failed(call);
            return;
        }
        call->locked = 1;
    }
    oc_token_clear(&call->base);
    call->found = 0;
    if (c->store && !c->unsaved) {
        if ((rc = oc_client_load_store(c, &call->base, &call->found, &lineage, &call->err)) != OC_OK) {
            refresh_failed(call);
            return;
        }
        if (call->found && !lineage) { /* newer token properties replace it */
            call->found = 0;
            oc_token_clear(&call->base);
        }
        if (call->found && call->base.access_token &&
            (call->rejected ? strcmp(call->base.access_token, call->rejected) != 0
                            : !same_access_token(&call->base, &c->token) &&
                                  !oc_token_due(&call->base, oc_now_ms(), c->leeway_s))) {
            oc_logf(c->log, 1, "using the token another client or process just renewed");
            if ((rc = oc_client_adopt(c, &call->base, 1, &call->err)) != OC_OK)
                refresh_failed(call);
            else
                refresh_done(call);
            return;
        }
    }
    /* Another call of this client renewed while this one waited its turn. */
    if (c->token.access_token &&
        (call->rejected ? strcmp(c->token.access_token, call->rejected) != 0
                        : call->why == WHY_DUE && !oc_token_due(&c->token, oc_now_ms(), c->leeway_s))) {
        refresh_done(call);
        return;
    }
    if (!call->found && (rc = oc_token_copy(&call->base, &c->token, &call->err)) != OC_OK) {
        refresh_failed(call);
        return;
    }
    if (c->scheme == OC_SCHEME_OAUTH && !call->base.refresh_token) {
        oc_fail(&call->err, OC_E_NO_TOKEN,
                "the %s access token %s and there is no refresh token to renew it; log in again",
                oc_client_title(c), call->rejected ? "was rejected" : "expired");
        refresh_failed(call);
        return;
    }
    /* A refresh token the server called invalid is not sent again: it will
       not become valid, and servers count (and may lock out) replays. A
       newer one another process stored has been read above. */
    if (c->scheme == OC_SCHEME_OAUTH && c->spent_refresh[0]) {
        char hex[65];
        oc_sha256_hex(call->base.refresh_token, strlen(call->base.refresh_token), hex);
        if (strcmp(hex, c->spent_refresh) == 0) {
            call->err = c->spent_err;
            refresh_failed(call);
            return;
        }
    }
    /* A refresh of this client failed while this call waited its turn (in
       OpenResty, every request of the worker queues behind one): it shares
       that answer instead of asking again, or an unavailable token endpoint
       would get one refresh per queued request. Later calls do ask. */
    if (call->failed_refreshes != c->failed_refreshes) {
        call->err = c->failed_refresh_err;
        oc_error_append(&call->err, " (the refresh this request waited for)");
        refresh_failed(call);
        return;
    }
    /* The answer must have somewhere to go before the question is asked: a
       rotated refresh token that cannot be saved dies with a short-lived
       process (a full disk, cron). Not refreshed, the old one still works. */
    if (c->scheme == OC_SCHEME_OAUTH && c->store && !c->unsaved &&
        (rc = oc_store_reserve(c->store, OC_TOKEN_SET_RESERVE, &call->err)) != OC_OK) {
        oc_error_prefix(&call->err, "the token was not refreshed, for its answer could not be kept");
        refresh_failed(call);
        return;
    }
    oc_token_request_free(&call->tr);
    oc_url_shown(shown, sizeof shown, c->flow.token_url);
    if (c->scheme == OC_SCHEME_OAUTH_CLIENT) {
        oc_logf(c->log, 1, "requesting a token (client credentials) from %s", shown);
        call->token_what = "the client-credentials token request";
        rc = oc_oauth_client_credentials_request(&c->flow, &call->tr, &call->err);
    } else {
        oc_logf(c->log, 1, "refreshing the token at %s", shown);
        call->token_what = "the token refresh";
        rc = oc_oauth_refresh_request(&c->flow, call->base.refresh_token, &call->tr, &call->err);
    }
    if (rc != OC_OK) {
        refresh_failed(call);
        return;
    }
    call->token_attempt = 1;
    call->state = ST_TOKEN_SEND;
}

/*
 * A server that refused the client's credentials (invalid_client) may take
 * them the other way: RFC 6749 2.3.1 makes HTTP Basic the one every server
 * must support and the form body optional, and servers differ. The grant
 * was not looked at (client authentication comes first), so the same code
 * or refresh token is sent once more, with the credentials moved. Returns
 * 1 when the request goes again.
 */
static int switch_client_auth(oc_call *call)
{
    oc_client *c = call->c;
    oc_client_auth to;
    if (call->auth_switched || !c->flow.client_secret ||
        strcmp(call->err.oauth_error, "invalid_client") != 0)
        return 0;
    if (call->tr.auth == OC_CLIENT_AUTH_BODY)
        to = OC_CLIENT_AUTH_BASIC;
    else if (call->tr.auth == OC_CLIENT_AUTH_BASIC || call->tr.auth == OC_CLIENT_AUTH_BASIC_RAW)
        to = OC_CLIENT_AUTH_BODY;
    else
        return 0;
    if (oc_token_request_reauth(&c->flow, &call->tr, to, NULL) != OC_OK)
        return 0;
    oc_logf(c->log, 1, "%s: the server refused the client's credentials %s; sending them %s",
            call->token_what, to == OC_CLIENT_AUTH_BASIC ? "in the body" : "as HTTP Basic",
            to == OC_CLIENT_AUTH_BASIC ? "as HTTP Basic" : "in the body");
    call->auth_switched = 1;
    oc_error_clear(&call->err);
    call->state = ST_TOKEN_SEND;
    return 1;
}

/* A refresh answer refused for its shape (a scope of another type, a token
   type this client cannot use...) after the server rotated the refresh
   token: the old one is spent, so the new one is stored beside the current
   access token rather than lost with the answer. The call still fails. */
static void keep_rotated_refresh_token(oc_call *call, const oc_response *r)
{
    oc_client *c = call->c;
    oc_token kept;
    oc_code rc;
    oc_token_init(&kept);
    if (oc_token_salvage_refresh(r->body.data ? r->body.data : "", r->body.len, &call->base, &kept) != OC_OK)
        return;
    oc_log_secret(c->log, kept.refresh_token);
    rc = oc_client_save(c, &kept, call->found ? call->base.refresh_token : NULL, NULL);
    /* as for any renewed set: a newer stored one wins, a shared store that
       cannot take it must not fork, a local file is retried later */
    if (rc == OC_E_CONFLICT || (rc != OC_OK && c->store && c->store->strict) ||
        oc_client_adopt(c, &kept, 1, NULL) != OC_OK) {
        oc_token_clear(&kept);
        return;
    }
    if (rc != OC_OK)
        c->unsaved = 1;
    oc_error_append(&call->err, "; the new refresh token in that answer was kept");
    oc_token_clear(&kept);
}

/* What the user can do about a failed token request, said where the answer
   is known: advice in the message, the property at fault. */
static void advise(oc_call *call, oc_code rc, int sent)
{
    const oc_client *c = call->c;
    const char *oauth_error = call->err.oauth_error;
    int refreshing = call->kind != KIND_EXCHANGE && c->scheme == OC_SCHEME_OAUTH;
    if (refreshing && strcmp(oauth_error, "invalid_grant") == 0)
        oc_error_append(&call->err, "; the refresh token is no longer accepted: log in again");
    else if (refreshing && strcmp(oauth_error, "invalid_request") == 0)
        oc_error_append(&call->err,
                        "; if the refresh token is what it refuses (Keap says so this way), log in again");
    else if (refreshing && sent && (rc == OC_E_TIMEOUT || rc == OC_E_NETWORK))
        /* a single-use refresh token the server received may be spent */
        oc_error_append(&call->err, "; the server may have taken the refresh token: if the next "
                                    "refresh is refused, log in again");
    if (strcmp(oauth_error, "invalid_client") == 0)
        snprintf(call->err.property, sizeof call->err.property, "%s",
                 c->flow.client_secret && *c->flow.client_secret ? "OAuthClientSecret" : "OAuthClientId");
    else if (strcmp(oauth_error, "unauthorized_client") == 0)
        snprintf(call->err.property, sizeof call->err.property, "%s", "OAuthClientId");
}

/* The token endpoint's answer: retried only when the server cannot have
   acted on the request (never sent, or a 429); then parsed, persisted
   first (the old refresh token is spent), adopted. */
static void token_answer(oc_call *call, oc_code rc, int sent, const oc_error *terr)
{
    oc_client *c = call->c;
    int64_t max_attempts = oc_config_int(c->cfg, OC_P_MAX_ATTEMPTS, 3);
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT, 60) * 1000, wait = -1;
    oc_response *r = &call->token_resp;
    const oc_token *previous = call->kind == KIND_EXCHANGE ? NULL : &call->base;

    if (call->token_attempt < max_attempts) {
        if (rc != OC_OK && rc == OC_E_NETWORK && !sent)
            wait = oc_retry_backoff_ms(0, call->token_attempt, max_wait);
        else if (rc == OC_OK && r->status == 429 &&
                 (wait = oc_retry_wait_ms(r, c->profile, oc_now_ms())) < 0)
            wait = oc_retry_backoff_ms(429, call->token_attempt, max_wait);
        if (wait >= 0 && wait <= max_wait && retry_fits(call, wait)) {
            oc_logf(c->log, 1, "%s: attempt %d %s; retrying in %lld ms", call->token_what,
                    call->token_attempt, rc == OC_OK ? "was rate limited" : "could not connect",
                    (long long)wait);
            call->token_attempt++;
            pause_then(call, wait, ST_TOKEN_SEND);
            return;
        }
    }
    if (rc != OC_OK) {
        call->err = *terr;
        oc_error_prefix(&call->err, "%s failed", call->token_what);
    } else {
        oc_secrets known; /* the server's words are redacted before they are cut */
        oc_client_secrets(c, &call->base, &known);
        rc = oc_oauth_token_result(call->token_what, call->tr.url, r->status,
                                   oc_response_header(r, "content-type"), r->body.data ? r->body.data : "",
                                   r->body.len, oc_now_ms(), previous, &known, &call->fresh, &call->err);
        oc_secrets_free(&known);
        if (rc != OC_OK && previous && r->status >= 200 && r->status < 300)
            keep_rotated_refresh_token(call, r);
    }
    /* The answer held tokens: do not keep them in the reused buffer. */
    oc_wipe(r->body.data, r->body.len);
    oc_response_reset(r);
    if (rc != OC_OK && switch_client_auth(call))
        return;
    if (rc == OC_OK && call->auth_switched) /* this server's way, for the client's next requests */
        c->flow.code_auth = c->flow.refresh_auth = call->tr.auth;
    if (rc != OC_OK) {
        oc_logf(c->log, 1, "%s", call->err.message);
        advise(call, rc, sent);
        if (call->kind != KIND_EXCHANGE && c->scheme == OC_SCHEME_OAUTH && call->base.refresh_token &&
            strcmp(call->err.oauth_error, "invalid_grant") == 0) {
            oc_sha256_hex(call->base.refresh_token, strlen(call->base.refresh_token),
                          c->spent_refresh);
            c->spent_err = call->err;
            oc_error_prefix(&c->spent_err, "the refresh token was refused before and is not sent again");
        }
        if (call->kind == KIND_EXCHANGE) {
            finish(call, rc);
        } else {
            c->failed_refreshes++;
            c->failed_refresh_err = call->err;
            refresh_failed(call);
        }
        return;
    }
    oc_log_secret(c->log, call->fresh.access_token);
    oc_log_secret(c->log, call->fresh.refresh_token);

    rc = oc_client_save(c, &call->fresh,
                        call->kind != KIND_EXCHANGE && call->found ? call->base.refresh_token : NULL,
                        &call->err);
    if (rc != OC_OK) {
        if (c->store && c->store->strict) {
            /* A shared store: a set only this process knows would fork the
               connection between machines; it is dropped, and the error says so. */
            oc_error_prefix(&call->err, "%s", call->kind == KIND_EXCHANGE
                                                  ? "the code was exchanged but the tokens could not be saved, so they are not used"
                                                  : "the token was renewed but could not be saved, so it is not used");
            finish(call, rc);
            return;
        }
        if (rc == OC_E_CONFLICT) {
            /* Another client of the process stored a newer set meanwhile:
               this one serves this client, the store keeps the newer. */
            oc_client_adopt(c, &call->fresh, 1, NULL);
            finish(call, rc);
            return;
        }
        /* A file that cannot be written (a full disk, a read-only
           directory): the grant is spent and the new set exists only here.
           Failing would drop it and break the connection for good; it is
           used, said loudly, and saved before each later request until the
           store takes it. */
        oc_error_prefix(&call->err, "%s", call->kind == KIND_EXCHANGE
                                              ? "the code was exchanged but the tokens could not be saved"
                                              : "the token was renewed but could not be saved");
        if (oc_client_adopt(c, &call->fresh, 1, NULL) != OC_OK) {
            finish(call, rc);
            return;
        }
        c->unsaved = 1;
        oc_client_warn(c, "%s; it is kept in memory and saving is retried before each request",
                       call->err.message);
        oc_error_clear(&call->err);
        if (call->kind == KIND_EXCHANGE)
            finish(call, OC_OK);
        else
            refresh_done(call);
        return;
    }
    if (call->kind == KIND_EXCHANGE)
        oc_logf(c->log, 1, "exchanged the authorization code for tokens%s%s",
                c->store ? "; stored in " : "", c->store ? oc_store_where(c->store) : "");
    c->unsaved = 0;
    if ((rc = oc_client_adopt(c, &call->fresh, 1, &call->err)) != OC_OK) {
        finish(call, rc);
        return;
    }
    if (call->kind == KIND_EXCHANGE)
        finish(call, OC_OK);
    else
        refresh_done(call);
}

/* ---- the request --------------------------------------------------------------------- */

/* A renewed set the store refused earlier: saved now if it can be. */
static void save_unsaved(oc_client *c)
{
    oc_error e;
    oc_error_clear(&e);
    if (oc_client_save(c, &c->token, NULL, &e) == OC_OK) {
        c->unsaved = 0;
        oc_logf(c->log, 1, "the renewed token is saved now in %s", oc_store_where(c->store));
    }
}

static void step_start(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc;
    if (c->unsaved && c->store)
        save_unsaved(c);
    if (!c->loaded && (rc = oc_client_load(c, 0, &call->err)) != OC_OK) {
        finish(call, rc);
        return;
    }
    if (call->kind == KIND_TOKEN && call->need == OC_TOKEN_FORCE) {
        start_refresh(call, WHY_REJECTED, c->token.access_token ? c->token.access_token : "");
        return;
    }
    if (call->kind == KIND_TOKEN && !oc_client_uses_tokens(c)) {
        if (call->need == OC_TOKEN_CONNECT)
            finish(call, OC_OK); /* nothing to fetch for this scheme */
        else
            start_refresh(call, WHY_NEEDED, NULL); /* says why there is none */
        return;
    }
    if (oc_client_uses_tokens(c) && !c->token.access_token) {
        start_refresh(call, WHY_NEEDED, NULL);
        return;
    }
    if (oc_client_refresh_due(c, oc_now_ms())) {
        start_refresh(call, WHY_DUE, NULL);
        return;
    }
    if (call->kind == KIND_TOKEN)
        finish(call, OC_OK);
    else
        call->state = ST_SEND;
}

/* Fills step with the request to send and returns 1, or moves the call on
   (a wait, or done) and returns 0. */
static int step_send(oc_call *call, oc_step *step)
{
    oc_client *c = call->c;
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT, 60) * 1000, wait;
    oc_code rc;

    if (!c->api_url && (rc = oc_client_resolve_api_url(c, &call->err)) != OC_OK) {
        finish(call, rc);
        return 0;
    }
    if (!call->url.data && (rc = oc_client_build_url(c, call->api->target, call->api->query,
                                                     &call->url, &call->err)) != OC_OK) {
        finish(call, rc);
        return 0;
    }
    /* A spent rate-limit quota is waited out before sending, not collected
       as a 429. */
    wait = c->not_before_ms - oc_now_ms();
    if (!call->paced && wait > 0) {
        call->paced = 1;
        if (wait > max_wait)
            wait = max_wait;
        oc_logf(c->log, 1, "rate limit quota spent: waiting %lld ms before the next request",
                (long long)wait);
        pause_then(call, wait, ST_SEND);
        return 0;
    }
    call->paced = 0;
    free_merged(call);
    if (call->api->headers &&
        (rc = oc_client_merge_headers(c, call->api->body != NULL, call->api->headers, &call->merged,
                                      &call->err)) != OC_OK) {
        finish(call, rc);
        return 0;
    }
    if (!call->http.method) { /* first send; redirects may change these */
        call->http.method = call->api->method;
        call->http.body = call->api->body;
        call->http.body_len = call->api->body_len;
    }
    call->http.url = call->next_url ? call->next_url : call->url.data;
    call->http.headers = call->merged ? call->merged
                                      : oc_client_base_headers(c, call->api->body != NULL);
    /* Which token this request carries: another call of the client may
       renew it before the answer comes (see the 401 in api_answer). */
    call->sent_generation = c->generation;
    call->http.max_body = call->api->max_body ? call->api->max_body : OC_API_RESPONSE_MAX;
    if (!arm_timeout(call, &call->http))
        return 0;
    step->kind = OC_STEP_HTTP;
    step->request = &call->http;
    step->response = call->resp;
    call->state = ST_API_WAIT;
    return 1;
}

static void api_answer(oc_call *call, oc_code rc, int sent, const oc_error *terr)
{
    oc_client *c = call->c;
    oc_response *resp = call->resp;
    int64_t max_attempts = oc_config_int(c->cfg, OC_P_MAX_ATTEMPTS, 3);
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT, 60) * 1000, wait;

    if (rc != OC_OK) {
        /* Retry a failure in transit only when the request cannot have been
           acted on twice: never sent, or idempotent. */
        wait = oc_retry_backoff_ms(0, call->attempt, max_wait);
        if ((rc == OC_E_NETWORK || rc == OC_E_TIMEOUT) && call->attempt < max_attempts &&
            (!sent || oc_method_is_idempotent(call->http.method)) && retry_fits(call, wait)) {
            oc_logf(c->log, 1, "attempt %d failed (%s); retrying in %lld ms", call->attempt,
                    terr->message, (long long)wait);
            call->attempt++;
            pause_then(call, wait, ST_SEND);
            return;
        }
        fail_with(call, terr);
        return;
    }
    if ((wait = oc_quota_wait_ms(resp, c->profile, oc_now_ms())) > 0)
        c->not_before_ms = oc_now_ms() + wait;
    if (call->attempt < max_attempts &&
        oc_retry_status(resp->status, call->http.method, c->profile, resp)) {
        wait = oc_retry_wait_ms(resp, c->profile, oc_now_ms());
        if (wait < 0)
            wait = oc_retry_backoff_ms(resp->status, call->attempt, max_wait);
        if (wait <= max_wait && retry_fits(call, wait)) {
            oc_logf(c->log, 1, "HTTP %ld on attempt %d; retrying in %lld ms", resp->status,
                    call->attempt, (long long)wait);
            call->attempt++;
            pause_then(call, wait, ST_SEND);
            return;
        }
    }
    if (resp->status == 401 && !call->retried_401 && oc_client_uses_tokens(c) &&
        (c->scheme == OC_SCHEME_OAUTH_CLIENT ||
         (c->mode != OC_MODE_OFF && c->profile->refreshable))) {
        /* Refresh once (unless another process already did) and retry. */
        call->retried_401 = 1;
        if (c->generation != call->sent_generation) {
            call->state = ST_SEND; /* renewed since this request went out: resend */
            return;
        }
        start_refresh(call, WHY_REJECTED, c->token.access_token ? c->token.access_token : "");
        return;
    }
    if (oc_status_is_redirect(resp->status) && oc_response_header(resp, "location")) {
        char *target = oc_url_resolve(call->http.url, oc_response_header(resp, "location"));
        char what[480];
        oc_describe_request(what, sizeof what, call->http.method, call->http.url);
        if (!target) {
            finish(call, oc_fail(&call->err, OC_E_BAD_RESPONSE, "%s redirected to an invalid location", what));
            return;
        }
        if (!oc_url_same_origin(target, c->api_url)) {
            char shown[300];
            oc_secrets known;
            oc_client_secrets(c, &call->base, &known);
            oc_redact_copy(shown, sizeof shown, target, strcspn(target, "?#"), &known);
            oc_secrets_free(&known);
            free(target);
            call->err.status = resp->status;
            finish(call, oc_fail(&call->err, OC_E_ORIGIN,
                                 "%s redirected to %s, another origin; not followed, so the token "
                                 "stays with %s",
                                 what, shown, c->api_url));
            return;
        }
        if (++call->redirects > MAX_REDIRECTS) {
            free(target);
            finish(call, oc_fail(&call->err, OC_E_BAD_RESPONSE, "%s: more than %d redirects", what,
                                 MAX_REDIRECTS));
            return;
        }
        free(call->next_url);
        call->next_url = target;
        if (resp->status == 303 ||
            ((resp->status == 301 || resp->status == 302) && strcmp(call->http.method, "POST") == 0)) {
            call->http.method = "GET";
            call->http.body = NULL;
            call->http.body_len = 0;
        }
        call->state = ST_SEND;
        return;
    }
    finish(call, OC_OK);
}

/* ---- driving ----------------------------------------------------------------------------- */

void oc_call_next(oc_call *call, oc_step *step)
{
    memset(step, 0, sizeof *step);
    for (;;) {
        switch (call->state) {
        case ST_START:
            step_start(call);
            break;
        case ST_LOCK:
            step_lock(call);
            break;
        case ST_PAUSE:
            step->kind = OC_STEP_WAIT;
            step->wait_ms = call->pause_ms;
            call->state = call->after;
            return;
        case ST_TOKEN_SEND:
            arm_token_timeout(call, &call->token_http);
            step->kind = OC_STEP_HTTP;
            call->token_http.method = call->tr.method;
            call->token_http.url = call->tr.url;
            call->token_http.headers = call->tr.headers;
            call->token_http.body = call->tr.body;
            call->token_http.body_len = call->tr.body_len;
            call->token_http.max_body = OC_TOKEN_RESPONSE_MAX;
            step->request = &call->token_http;
            step->response = &call->token_resp;
            call->state = ST_TOKEN_WAIT;
            return;
        case ST_SEND:
            if (step_send(call, step))
                return;
            break;
        case ST_DONE:
            step->kind = OC_STEP_DONE;
            return;
        case ST_TOKEN_WAIT:
        case ST_API_WAIT:
            /* next without feed: the driver lost the answer */
            finish(call, oc_fail(&call->err, OC_E_INVALID_ARGUMENT, "the HTTP step was not fed"));
            break;
        }
    }
}

void oc_call_feed(oc_call *call, oc_code rc, int sent, const oc_error *err)
{
    oc_error none;
    if (!err) {
        oc_error_clear(&none);
        none.code = rc;
        err = &none;
    }
    if (call->state == ST_TOKEN_WAIT)
        token_answer(call, rc, sent, err);
    else if (call->state == ST_API_WAIT)
        api_answer(call, rc, sent, err);
}

oc_code oc_call_result(oc_call *call, oc_error *err)
{
    if (call->state != ST_DONE)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "the call has not finished");
    if (call->result != OC_OK && err)
        *err = call->err;
    return call->result;
}

oc_code oc_client_run(oc_client *c, oc_call *call, oc_error *err)
{
    oc_step step;
    for (;;) {
        oc_call_next(call, &step);
        if (step.kind == OC_STEP_DONE)
            break;
        if (step.kind == OC_STEP_WAIT) {
            oc_sleep_ms(step.wait_ms);
        } else {
            oc_error terr;
            oc_code rc;
            oc_error_clear(&terr);
            rc = oc_http_perform(c->http, step.request, step.response, &terr);
            oc_call_feed(call, rc, rc == OC_OK || oc_http_sent(c->http), &terr);
        }
    }
    return oc_call_result(call, err);
}
