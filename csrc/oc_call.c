/*
 * The engine's plumbing (steps handed out, outcomes fed, continuations run,
 * Timeout) and the signed API request: URL, the token chosen when it goes
 * out, rate-limit waits, retries, same-origin redirects, and the answers a
 * 401 gets (another process's newer token, or one refresh).
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_redact.h"
#include "oc_retry.h"
#include "oc_time.h"
#include "oc_url.h"

enum {
    MAX_REDIRECTS = 5,
    /* Resends of one request after a 401, each for a newer token the store
       moved to (a busy connection renews often): a bound when Timeout is 0. */
    MAX_RESENDS = 16,
    /* Rate-limit answers one request waits out, whatever their waits. */
    MAX_RATE_LIMITS = 100
};

/* ---- the call and its steps ----------------------------------------------------------- */

oc_call *oc_call_new(oc_client *c, call_kind kind, oc_error *err)
{
    oc_call *call = calloc(1, sizeof *call);
    if (!call) {
        oc_fail_nomem(err);
        return NULL;
    }
    call->c = c;
    call->kind = kind;
    call->attempt = call->token_attempt = 1;
    call->pending_index = -1;
    oc_buf_init(&call->url, 0);
    oc_buf_init_secret(&call->step_text, 0);
    oc_buf_init_secret(&call->doc_text, 0);
    oc_buf_init_secret(&call->save_text, 0);
    oc_settings_init(&call->doc);
    oc_token_init(&call->base);
    oc_token_init(&call->fresh);
    oc_response_init(&call->token_resp);
    return call;
}

void oc_call_free(oc_call *call)
{
    if (!call)
        return;
    if (call->c->lock_owner == call)
        call->c->lock_owner = NULL;
    oc_buf_free(&call->url);
    free(call->next_url);
    oc_http_free_headers(call->merged);
    oc_buf_free(&call->step_text);
    oc_buf_free(&call->doc_text);
    oc_buf_free(&call->save_text);
    oc_settings_clear(&call->doc);
    oc_free_secret(call->rejected);
    oc_token_clear(&call->base);
    oc_token_clear(&call->fresh);
    oc_token_request_free(&call->tr);
    oc_wipe(call->token_resp.body.data, call->token_resp.body.len);
    oc_response_free(&call->token_resp);
    oc_free_secret(call->code);
    free(call->state);
    oc_free_secret(call->verifier);
    free(call->redirect_uri);
    oc_kv_free(&call->callback);
    free(call->auth_url);
    free(call);
}

void oc_call_emit_http(oc_call *call, const oc_request *req, oc_response *resp, oc_cont then)
{
    memset(&call->out, 0, sizeof call->out);
    call->out.kind = OC_STEP_HTTP;
    call->out.request = req;
    call->out.response = resp;
    call->has_out = 1;
    call->then = then;
}

void oc_call_emit_wait(oc_call *call, int64_t ms, oc_cont then)
{
    memset(&call->out, 0, sizeof call->out);
    call->out.kind = OC_STEP_WAIT;
    call->out.wait_ms = ms > 0 ? ms : 0;
    call->has_out = 1;
    call->then = then;
}

static void done(oc_call *call)
{
    call->done = 1;
    call->then = NULL;
}

void oc_call_finish(oc_call *call, oc_code rc)
{
    if (rc != OC_OK) /* a server may have quoted what it was sent */
        oc_client_scrub_error(call->c, &call->base, &call->err);
    call->result = rc;
    oc_call_unlock(call, done);
}

void oc_call_fail(oc_call *call, const oc_error *e)
{
    if (e != &call->err)
        call->err = *e;
    oc_call_finish(call, e->code);
}

void oc_call_allow_login(oc_call *call)
{
    call->allow_login = 1;
}

/* The log line of an answer, as every driver's requests are logged. */
static void log_answer(oc_call *call, const oc_request *req, const oc_response *resp, oc_code rc)
{
    oc_log *log = call->c->log;
    char what[480];
    if (!log)
        return;
    oc_describe_request(what, sizeof what, req->method, req->url);
    if (rc != OC_OK) {
        oc_logf(log, 1, "%s failed: %s", what, call->step_err.message);
        return;
    }
    oc_logf(log, 1, "%s -> %ld (%lld ms, %zu bytes)", what, resp->status,
            (long long)(oc_monotonic_ms() - call->step_started_ms), resp->body.len);
    if (oc_log_level(log) >= 2) {
        size_t pos = 0;
        const char *name, *value;
        while (oc_response_next_header(resp, &pos, &name, &value))
            oc_logf(log, 2, "< %s: %s", name, value);
    }
    oc_log_body(log, 3, "< ", resp->body.data, resp->body.len);
}

/* The request's own lines, for the log (the secrets in them are redacted). */
static void log_request(oc_call *call, const oc_request *req)
{
    oc_log *log = call->c->log;
    const struct curl_slist *h;
    if (!log || oc_log_level(log) < 2)
        return;
    for (h = req->headers; h; h = h->next)
        oc_log_header(log, 2, "> ", h->data, strlen(h->data));
    if (req->body)
        oc_log_body(log, 3, "> ", req->body, req->body_len);
}

void oc_call_next(oc_call *call, oc_step *step)
{
    for (;;) {
        if (call->done) {
            memset(step, 0, sizeof *step);
            step->kind = OC_STEP_DONE;
            return;
        }
        if (call->awaiting) {
            /* next without feed: the driver lost the outcome */
            call->awaiting = 0;
            call->has_out = 0;
            oc_fail(&call->err, OC_E_INVALID_ARGUMENT, "the engine's step was not fed its outcome");
            oc_call_finish(call, OC_E_INVALID_ARGUMENT);
            continue;
        }
        if (call->has_out) {
            *step = call->out;
            call->has_out = 0;
            if (step->kind == OC_STEP_WAIT)
                return; /* `then` runs when the driver asks again, after the wait */
            call->awaiting = 1;
            oc_error_clear(&call->step_err);
            call->step_rc = OC_OK;
            call->step_sent = 0;
            call->step_found = 0;
            oc_buf_reset(&call->step_text);
            if (step->kind == OC_STEP_HTTP) {
                call->step_started_ms = oc_monotonic_ms();
                log_request(call, step->request);
            }
            return;
        }
        if (!call->then) { /* nothing left to do: a continuation forgot to end the call */
            oc_fail(&call->err, OC_E_INVALID_ARGUMENT, "the engine lost its way");
            call->result = OC_E_INVALID_ARGUMENT;
            call->done = 1;
            continue;
        }
        {
            oc_cont then = call->then;
            call->then = NULL;
            then(call);
        }
    }
}

void oc_call_feed(oc_call *call, oc_code rc, int sent, const oc_error *err)
{
    if (!call->awaiting || call->out.kind != OC_STEP_HTTP)
        return;
    call->awaiting = 0;
    call->step_rc = rc;
    call->step_sent = sent;
    if (rc != OC_OK) {
        if (err)
            call->step_err = *err;
        else
            oc_fail(&call->step_err, rc, "the request failed");
        call->step_err.code = rc;
    }
    log_answer(call, call->out.request, call->out.response, rc);
}

void oc_call_feed_store(oc_call *call, oc_code rc, const char *text, size_t len, int found,
                        const oc_error *err)
{
    if (!call->awaiting || call->out.kind != OC_STEP_STORE)
        return;
    call->awaiting = 0;
    call->step_rc = rc;
    call->step_found = rc == OC_OK && found;
    oc_buf_reset(&call->step_text);
    if (rc == OC_OK && found && text && oc_buf_append(&call->step_text, text, len) != 0)
        call->step_rc = oc_fail_nomem(&call->step_err);
    else if (rc != OC_OK) {
        if (err)
            call->step_err = *err;
        else
            oc_fail(&call->step_err, rc, "the settings store failed");
        call->step_err.code = rc;
    }
}

void oc_call_feed_login(oc_call *call, oc_code rc, const oc_kv *params, const char *verifier,
                        const char *redirect_uri, const oc_error *err)
{
    if (!call->awaiting || call->out.kind != OC_STEP_LOGIN)
        return;
    call->awaiting = 0;
    call->step_rc = rc;
    if (rc != OC_OK) {
        call->step_err = err ? *err : call->step_err;
        call->step_err.code = rc;
        return;
    }
    oc_kv_free(&call->callback);
    oc_free_secret(call->verifier);
    free(call->redirect_uri);
    call->verifier = verifier ? oc_strdup(verifier) : NULL;
    call->redirect_uri = redirect_uri ? oc_strdup(redirect_uri) : NULL;
    if ((params && oc_kv_copy(&call->callback, params) != 0) || (verifier && !call->verifier) ||
        (redirect_uri && !call->redirect_uri))
        call->step_rc = oc_fail_nomem(&call->step_err);
}

oc_code oc_call_result(oc_call *call, oc_error *err)
{
    if (!call->done)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "the call has not finished");
    if (call->result != OC_OK && err)
        *err = call->err;
    return call->result;
}

int oc_call_holds_lock(const oc_call *call)
{
    return call->locked;
}

oc_rejection oc_call_rejection(const oc_call *call)
{
    return call->rejection;
}

const char *oc_call_url(const oc_call *call)
{
    return call->done && call->result == OC_OK ? call->auth_url : NULL;
}

const char *oc_call_state(const oc_call *call)
{
    return call->done && call->result == OC_OK ? call->state : NULL;
}

const char *oc_call_verifier(const oc_call *call)
{
    return call->done && call->result == OC_OK ? call->verifier : NULL;
}

/* ---- Timeout, for the whole call ---------------------------------------------------
 * Timeout bounds a call from its first send to its answer, retries and a
 * refresh in between included, not each attempt: Timeout=10 gives up after
 * about 10 s, not 3 x 10. A wait for a spent rate-limit quota is the
 * server's pacing, not slowness, and moves the end back by its length. The
 * token request is the exception (arm_token_timeout in oc_call_token.c). */

int64_t oc_call_time_left(oc_call *call)
{
    int64_t now = oc_monotonic_ms(), limit = call->c->timeout_ms;
    if (limit <= 0)
        return -1;
    if (!call->deadline_ms)
        call->deadline_ms = now + limit;
    return call->deadline_ms > now ? call->deadline_ms - now : 0;
}

int oc_call_retry_fits(const oc_call *call, int64_t wait)
{
    return !call->deadline_ms || oc_monotonic_ms() + wait < call->deadline_ms;
}

/* A wait for a spent quota: it does not count against Timeout. */
static void quota_pause(oc_call *call, int64_t wait, oc_cont then)
{
    if (call->deadline_ms)
        call->deadline_ms += wait;
    call->quota_waited_ms += wait;
    oc_call_emit_wait(call, wait, then);
}

/* ---- the API request ---------------------------------------------------------------- */

static void api_answer(oc_call *call);
static void send_now(oc_call *call);

/* The longest a call waits out spent quotas in all: RetryMaxWait bounds
   one wait, this bounds a server that keeps its quota spent. */
static int64_t quota_budget_ms(const oc_client *c)
{
    return 5 * oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT) * 1000;
}

/* After the store was looked at: a token that fell due during the wait is
   renewed before it goes out. */
static void recheck_due(oc_call *call)
{
    if (oc_client_uses_tokens(call->c) && oc_client_refresh_due(call->c, oc_now_ms()))
        oc_call_acquire(call, WHY_DUE, NULL, send_now);
    else
        send_now(call);
}

/* After any wait the store may hold a newer token than the one this client
   had (another process renewed, and a renewal may revoke the old one), and
   this one may have expired: the token is chosen now, after the wait, not
   before it. */
static void after_wait(oc_call *call)
{
    if (call->c->store && oc_client_uses_tokens(call->c) && !call->c->unsaved)
        oc_call_peek(call, recheck_due);
    else
        recheck_due(call);
}

/* The request goes out, after waiting out a spent quota first. */
void oc_call_send(oc_call *call)
{
    oc_client *c = call->c;
    int64_t wait, max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT) * 1000;
    oc_code rc;

    if (!c->api_url && (rc = oc_client_resolve_api_url(c, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (!call->url.data && (rc = oc_client_build_url(c, call->api->target, call->api->query,
                                                     &call->url, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    wait = c->not_before_ms - oc_now_ms();
    if (!call->paced && wait > 0) {
        call->paced = 1;
        if (wait > max_wait) /* the request then probes whether the server takes it */
            wait = max_wait;
        oc_logf(c->log, 1, "rate limit quota spent: waiting %lld ms before the next request",
                (long long)wait);
        quota_pause(call, wait, after_wait);
        return;
    }
    send_now(call);
}

/* Fills the HTTP step with the token in use now and hands it out. */
static void send_now(oc_call *call)
{
    oc_client *c = call->c;
    int64_t left;
    oc_code rc;

    call->paced = 0;
    oc_http_free_headers(call->merged);
    call->merged = NULL;
    if (call->api->headers &&
        (rc = oc_client_merge_headers(c, call->api->body != NULL, call->api->headers, &call->merged,
                                      &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (!call->http.method) { /* first send; redirects may change these */
        call->http.method = call->api->method;
        call->http.body = call->api->body;
        call->http.body_len = call->api->body_len;
    }
    call->http.url = call->next_url ? call->next_url : call->url.data;
    call->http.headers = call->merged ? call->merged : oc_client_base_headers(c, call->api->body != NULL);
    /* Which token this request carries: another call may renew it before
       the answer comes (see the 401 in api_answer). */
    call->sent_generation = c->generation;
    if (c->token.access_token)
        oc_sha256_hex(c->token.access_token, strlen(c->token.access_token), call->sent_token);
    call->http.max_body = call->api->max_body ? call->api->max_body : OC_API_RESPONSE_MAX;
    if ((left = oc_call_time_left(call)) == 0) {
        oc_fail(&call->err, OC_E_TIMEOUT, "the request took longer than Timeout (%lld s) in all, "
                                          "retries included",
                (long long)(c->timeout_ms / 1000));
        oc_call_finish(call, OC_E_TIMEOUT);
        return;
    }
    call->http.timeout_ms = left > 0 ? (long)left : 0;
    oc_call_emit_http(call, &call->http, call->resp, api_answer);
}

/* After a 401: the token another process stored replaces the one refused
   (peek adopted it), or, when the refused one is still the newest, one
   refresh; "rejected even after a refresh" only when the refused token is
   the newest and came from this call's own refresh. */
static void after_401_peek(oc_call *call);
static void after_401_acquire(oc_call *call);

static void resend(oc_call *call)
{
    call->resends++;
    oc_call_send(call);
}

static void answer_401(oc_call *call)
{
    oc_client *c = call->c;
    if (call->resends >= MAX_RESENDS) {
        call->rejection = OC_REJECTED_CHURN;
        oc_call_finish(call, OC_OK); /* the 401 is the answer */
        return;
    }
    if (c->generation != call->sent_generation) {
        resend(call); /* renewed by another call of this client since it went out */
        return;
    }
    if (!oc_client_can_renew(c)) {
        call->rejection = OC_REJECTED_NOT_RENEWABLE;
        oc_call_finish(call, OC_OK);
        return;
    }
    if (c->store && !c->unsaved) {
        oc_call_peek(call, after_401_peek);
        return;
    }
    after_401_peek(call);
}

static void after_401_peek(oc_call *call)
{
    oc_client *c = call->c;
    char now_token[65] = "";
    if (c->token.access_token)
        oc_sha256_hex(c->token.access_token, strlen(c->token.access_token), now_token);
    if (strcmp(now_token, call->sent_token) != 0) {
        oc_logf(c->log, 1, "the token was rejected; another process has stored a newer one: "
                           "sending again with it");
        resend(call);
        return;
    }
    if (call->refreshed) {
        /* the newest token, from this call's own refresh, refused: nothing better to try */
        call->rejection = OC_REJECTED_AFTER_REFRESH;
        oc_call_finish(call, OC_OK);
        return;
    }
    oc_call_acquire(call, WHY_REJECTED, c->token.access_token ? c->token.access_token : "",
                    after_401_acquire);
}

static void after_401_acquire(oc_call *call)
{
    resend(call);
}

/* Rate-limit answers (429, a rate-limit 403) wait as the server says and
   do not count as attempts: the request was not refused, only paced. A
   server that keeps answering so with no wait ("0") gets a backoff; the
   quota budget (five RetryMaxWaits of waiting) ends it. 1 when the request
   goes again. */
static int answer_rate_limit(oc_call *call)
{
    oc_client *c = call->c;
    oc_response *resp = call->resp;
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT) * 1000, wait;
    if (resp->status != 429 && !(resp->status == 403 && oc_retry_status(403, call->http.method,
                                                                          c->profile, resp)))
        return 0;
    wait = oc_retry_wait_ms(resp, c->profile, oc_now_ms());
    if (wait < 0)
        wait = oc_quota_wait_ms(resp, c->profile, oc_now_ms(), &c->quota_probes);
    if (wait <= 0 && call->rate_limits > 0)
        wait = oc_retry_backoff_ms(resp->status, call->rate_limits, max_wait);
    if (wait < 0)
        wait = 0;
    if (wait > max_wait || call->quota_waited_ms + wait > quota_budget_ms(c) ||
        call->rate_limits >= MAX_RATE_LIMITS)
        return 0;
    call->rate_limits++;
    oc_logf(c->log, 1, "HTTP %ld: rate limited; trying again in %lld ms", resp->status,
            (long long)wait);
    c->not_before_ms = oc_now_ms() + wait;
    call->paced = 1; /* this wait is the pacing */
    quota_pause(call, wait, after_wait);
    return 1;
}

/* A spent quota (advertised by the answer) holds the next request back
   until the server would take it: the wait it names, else the window's
   end as its Date tells, else a short probe that backs off. */
static void note_quota(oc_call *call)
{
    oc_client *c = call->c;
    int64_t wait;
    if (!oc_quota_spent(call->resp, c->profile)) {
        c->quota_probes = 0;
        return;
    }
    wait = oc_quota_wait_ms(call->resp, c->profile, oc_now_ms(), &c->quota_probes);
    if (wait > 0)
        c->not_before_ms = oc_now_ms() + wait;
}

static void api_answer(oc_call *call)
{
    oc_client *c = call->c;
    oc_response *resp = call->resp;
    int64_t max_attempts = oc_config_int(c->cfg, OC_P_MAX_ATTEMPTS);
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT) * 1000, wait;

    if (call->step_rc != OC_OK) {
        /* Retry a failure in transit only when the request cannot have been
           acted on twice: never sent, or idempotent. */
        oc_code rc = call->step_rc;
        wait = oc_retry_backoff_ms(0, call->attempt, max_wait);
        if ((rc == OC_E_NETWORK || rc == OC_E_TIMEOUT) && call->attempt < max_attempts &&
            (!call->step_sent || oc_method_is_idempotent(call->http.method)) &&
            oc_call_retry_fits(call, wait)) {
            oc_logf(c->log, 1, "attempt %d failed (%s); retrying in %lld ms", call->attempt,
                    call->step_err.message, (long long)wait);
            call->attempt++;
            oc_call_emit_wait(call, wait, after_wait);
            return;
        }
        oc_call_fail(call, &call->step_err);
        return;
    }
    note_quota(call);
    if (answer_rate_limit(call))
        return;
    if (call->attempt < max_attempts && oc_retry_status(resp->status, call->http.method, c->profile, resp)) {
        wait = oc_retry_wait_ms(resp, c->profile, oc_now_ms());
        if (wait < 0)
            wait = oc_retry_backoff_ms(resp->status, call->attempt, max_wait);
        if (wait <= max_wait && oc_call_retry_fits(call, wait)) {
            oc_logf(c->log, 1, "HTTP %ld on attempt %d; retrying in %lld ms", resp->status,
                    call->attempt, (long long)wait);
            call->attempt++;
            oc_call_emit_wait(call, wait, after_wait);
            return;
        }
    }
    if (resp->status == 401 && oc_client_uses_tokens(c)) {
        answer_401(call);
        return;
    }
    if (oc_status_is_redirect(resp->status) && oc_response_header(resp, "location")) {
        char *target = oc_url_resolve(call->http.url, oc_response_header(resp, "location"));
        char what[480];
        oc_describe_request(what, sizeof what, call->http.method, call->http.url);
        if (!target) {
            oc_call_finish(call, oc_fail(&call->err, OC_E_BAD_RESPONSE,
                                         "%s redirected to an invalid location", what));
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
            oc_call_finish(call, oc_fail(&call->err, OC_E_ORIGIN,
                                         "%s redirected to %s, another origin; not followed, so "
                                         "the token stays with %s",
                                         what, shown, c->api_url));
            return;
        }
        if (++call->redirects > MAX_REDIRECTS) {
            free(target);
            oc_call_finish(call, oc_fail(&call->err, OC_E_BAD_RESPONSE, "%s: more than %d redirects",
                                         what, MAX_REDIRECTS));
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
        oc_call_send(call);
        return;
    }
    oc_call_finish(call, OC_OK);
}

static void api_start(oc_call *call)
{
    oc_call_ensure_token(call, oc_call_send);
}

oc_code oc_call_api(oc_client *c, const oc_api_request *req, oc_response *resp, oc_call **out,
                    oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_API, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->api = req;
    call->resp = resp;
    call->then = api_start;
    return OC_OK;
}
