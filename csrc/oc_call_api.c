/*
 * The signed API request: URL, the token chosen when it goes out,
 * rate-limit waits, retries, same-origin redirects, and the answers a 401
 * gets (another process's newer token, or one refresh).
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
static void send_request(oc_call *call)
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
        oc_call_quota_pause(call, wait, after_wait);
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
    /* this request's reference: a refresh by another request of a batch
       makes new lines while these are in flight */
    oc_client_release_lines(call->lines);
    call->lines = oc_client_hold_lines(c);
    call->http.headers = call->merged ? call->merged : oc_client_base_headers(c, call->api->body != NULL);
    /* Which token this request carries: another call may renew it before
       the answer comes (see the 401 in api_answer). */
    call->sent_generation = c->generation;
    memcpy(call->sent_token, c->token_hash, sizeof call->sent_token);
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
    send_request(call);
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
    if (strcmp(c->token_hash, call->sent_token) != 0) {
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
    oc_call_quota_pause(call, wait, after_wait);
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
        send_request(call);
        return;
    }
    oc_call_finish(call, OC_OK);
}

static void api_start(oc_call *call)
{
    oc_call_ensure_token(call, send_request);
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
