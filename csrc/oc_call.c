/*
 * The engine's plumbing: steps handed out, outcomes fed, continuations run,
 * the lock (every flow that writes takes it), the end of a call, Timeout.
 * The flows are in oc_call_store.c (reading and writing the store),
 * oc_call_token.c (tokens) and oc_call_api.c (the signed request).
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

enum { LOCK_PAUSE_MAX_MS = 16 };

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
    oc_response_init(&call->disc_resp);
    oc_token_init(&call->revoke_token);
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
    oc_client_release_lines(call->lines);
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
    oc_response_free(&call->disc_resp);
    oc_http_free_headers(call->disc_headers);
    json_decref(call->disc_cache);
    oc_device_auth_clear(&call->device);
    oc_token_clear(&call->revoke_token);
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

void oc_call_finish_ok(oc_call *call)
{
    oc_call_finish(call, OC_OK);
}

void oc_call_fail(oc_call *call, const oc_error *e)
{
    if (e != &call->err)
        call->err = *e;
    oc_call_finish(call, e->code);
}

/* A request to the authorization server always gets the whole Timeout,
   not what the request around it has left: one cut short may still be
   completed by the server, which then rotates a refresh token (or spends a
   code) this client never learns of. A 401 after a slow API call left a
   refresh 299 ms. */
void oc_call_send_tr(oc_call *call, oc_cont then)
{
    memset(&call->token_http, 0, sizeof call->token_http);
    call->token_http.method = call->tr.method;
    call->token_http.url = call->tr.url;
    call->token_http.headers = call->tr.headers;
    call->token_http.body = call->tr.body;
    call->token_http.body_len = call->tr.body_len;
    call->token_http.max_body = OC_TOKEN_RESPONSE_MAX;
    call->token_http.timeout_ms = call->c->timeout_ms > 0 ? (long)call->c->timeout_ms : 0;
    oc_call_emit_http(call, &call->token_http, &call->token_resp, then);
}

/*
 * A server that refused the client's credentials (invalid_client) may take
 * them the other way: RFC 6749 2.3.1 makes HTTP Basic the one every server
 * must support and the form body optional, and servers differ. The grant
 * was not looked at (client authentication comes first), so the same
 * request goes once more with the credentials moved: a code or refresh
 * token is not spent by the refusal.
 */
int oc_call_switch_client_auth(oc_call *call, const char *what)
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
    oc_logf(c->log, 1, "%s: the server refused the client's credentials %s; sending them %s", what,
            to == OC_CLIENT_AUTH_BASIC ? "in the body" : "as HTTP Basic",
            to == OC_CLIENT_AUTH_BASIC ? "as HTTP Basic" : "in the body");
    call->auth_switched = 1;
    oc_error_clear(&call->err);
    return 1;
}

void oc_call_auth_worked(oc_call *call)
{
    if (call->auth_switched)
        call->c->flow.code_auth = call->c->flow.refresh_auth = call->tr.auth;
}

void oc_call_cancel(oc_call *call, const oc_error *err)
{
    if (call->done || call->awaiting)
        return;
    call->has_out = 0;
    call->then = NULL;
    oc_call_fail(call, err);
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
            if (step->kind == OC_STEP_WAIT || step->kind == OC_STEP_PROMPT)
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

void oc_call_emit_store(oc_call *call, oc_store_op op, oc_cont then)
{
    memset(&call->out, 0, sizeof call->out);
    call->out.kind = OC_STEP_STORE;
    call->out.op = op;
    call->has_out = 1;
    call->then = then;
}

/* ---- the lock -------------------------------------------------------------------------- */

static void try_lock(oc_call *call);

static void lock_pause(oc_call *call)
{
    oc_call_emit_wait(call, call->lock_pause, try_lock);
    call->lock_pause = call->lock_pause < LOCK_PAUSE_MAX_MS ? call->lock_pause * 2 : LOCK_PAUSE_MAX_MS;
}

/* The lock could not be had (call->err says why): the caller's fallback
   when it gave one, else the call's error. */
static void lock_failed(oc_call *call)
{
    oc_cont failed = call->lock_failed;
    call->lock_failed = NULL;
    if (failed)
        failed(call);
    else
        oc_call_finish(call, call->err.code);
}

static void lock_timed_out(oc_call *call, const char *who)
{
    oc_client *c = call->c;
    oc_fail(&call->err, OC_E_LOCK, "timed out after %lld ms waiting for the lock on %s (%s)",
            (long long)call->lock_timeout_ms, c->store_where ? c->store_where : "the client", who);
    if (c->store_where)
        snprintf(call->err.property, sizeof call->err.property, "OAuthSettingsLocation");
    lock_failed(call);
}

static void locked(oc_call *call)
{
    oc_client *c = call->c;
    if (call->step_rc == OC_E_LOCK) {
        c->lock_owner = NULL;
        if (oc_monotonic_ms() >= call->lock_deadline) {
            lock_timed_out(call, "another process is refreshing or logging in");
            return;
        }
        lock_pause(call);
        return;
    }
    if (call->step_rc != OC_OK) {
        c->lock_owner = NULL;
        call->err = call->step_err;
        lock_failed(call);
        return;
    }
    call->locked = 1;
    call->lock_failed = NULL;
    call->lock_then(call);
}

static void try_lock(oc_call *call)
{
    oc_client *c = call->c;
    /* Another call of this client (an nginx light thread, a request of a
       batch) holds it: the store's lock is taken once per client. */
    if (c->lock_owner && c->lock_owner != call) {
        if (oc_monotonic_ms() >= call->lock_deadline) {
            lock_timed_out(call, "another request of this client is refreshing");
            return;
        }
        lock_pause(call);
        return;
    }
    /* The owner this call waited for may have done its work (in nginx a
       worker's requests queue behind one refresh): then the store is not
       asked, by each of them in turn. */
    if (call->lock_unneeded && call->lock_pause > 1 && call->lock_unneeded(call)) {
        call->lock_unneeded = NULL;
        call->lock_failed = NULL;
        call->lock_otherwise(call);
        return;
    }
    c->lock_owner = call;
    if (!c->store) {
        call->locked = 1;
        call->lock_failed = NULL;
        call->lock_then(call);
        return;
    }
    oc_call_emit_store(call, OC_STORE_LOCK, locked);
    call->out.lock_wait_ms = call->lock_deadline - oc_monotonic_ms();
    if (call->out.lock_wait_ms < 0)
        call->out.lock_wait_ms = 0;
}

void oc_call_lock_unless(oc_call *call, int64_t timeout_ms, oc_cont then, int (*unneeded)(oc_call *call),
                         oc_cont otherwise, oc_cont failed)
{
    call->lock_then = then;
    call->lock_failed = failed;
    if (call->locked) {
        then(call);
        return;
    }
    call->lock_timeout_ms = timeout_ms;
    call->lock_deadline = oc_monotonic_ms() + timeout_ms;
    call->lock_pause = 1;
    call->lock_unneeded = unneeded;
    call->lock_otherwise = otherwise;
    try_lock(call);
}

void oc_call_lock(oc_call *call, int64_t timeout_ms, oc_cont then)
{
    oc_call_lock_unless(call, timeout_ms, then, NULL, NULL, NULL);
}

static void unlocked(oc_call *call)
{
    oc_cont then = call->lock_then;
    call->locked = 0;
    if (call->c->lock_owner == call)
        call->c->lock_owner = NULL;
    then(call);
}

void oc_call_unlock(oc_call *call, oc_cont then)
{
    if (!call->locked) {
        if (call->c->lock_owner == call)
            call->c->lock_owner = NULL;
        then(call);
        return;
    }
    call->lock_then = then;
    if (!call->c->store) {
        unlocked(call);
        return;
    }
    oc_call_emit_store(call, OC_STORE_UNLOCK, unlocked);
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

void oc_call_quota_pause(oc_call *call, int64_t wait, oc_cont then)
{
    if (call->deadline_ms)
        call->deadline_ms += wait;
    call->quota_waited_ms += wait;
    oc_call_emit_wait(call, wait, then);
}

