/*
 * The blocking driver and the blocking functions of oc_client.h: each is
 * one engine call (oc_call.h) run here to its end.
 */
#include "oc_easy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_client.h"
#include "oc_interrupt.h"
#include "oc_login.h"
#include "oc_mem.h"
#include "oc_time.h"

oc_code oc_easy_store_step(oc_store *s, const oc_step *step, oc_buf *text, int *found, oc_error *err)
{
    *found = 0;
    if (!s)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "a store step for a client without a store");
    switch (step->op) {
    case OC_STORE_LOAD: {
        oc_buf got;
        oc_code rc = oc_store_load(s, &got, found, err);
        if (rc == OC_OK && *found && oc_buf_append(text, got.data ? got.data : "", got.len) != 0)
            rc = oc_fail_nomem(err);
        oc_buf_free(&got);
        return rc;
    }
    case OC_STORE_SAVE:
        return oc_store_save(s, step->text, step->text_len, step->expected, step->expected_len,
                             step->expected_found, err);
    case OC_STORE_REMOVE:
        return oc_store_remove(s, step->expected, step->expected_len, step->expected_found, err);
    case OC_STORE_LOCK:
        return oc_store_try_lock(s, err);
    case OC_STORE_UNLOCK:
        oc_store_unlock(s);
        return OC_OK;
    case OC_STORE_RESERVE:
        return oc_store_reserve(s, step->reserve_bytes, err);
    }
    return oc_fail(err, OC_E_INVALID_ARGUMENT, "an unknown store step");
}

oc_code oc_easy_http_step(oc_client *c, const oc_step *step, int *sent, oc_error *err)
{
    oc_code rc = oc_http_perform(oc_client_http(c), step->request, step->response, err);
    *sent = rc == OC_OK || oc_http_sent(oc_client_http(c));
    return rc;
}

void oc_easy_login_step(oc_call *call, const oc_step *step)
{
    oc_kv params = OC_KV_INIT;
    char *verifier = NULL, *redirect = NULL;
    oc_error err;
    oc_code rc;
    oc_error_clear(&err);
    rc = oc_login_desktop(step->login, &params, &verifier, &redirect, &err);
    oc_call_feed_login(call, rc, &params, verifier, redirect, &err);
    oc_kv_free(&params);
    oc_free_secret(verifier);
    free(redirect);
}

/* Performs a store step of call and feeds its outcome. */
static void store_step(oc_client *c, oc_call *call, const oc_step *step)
{
    oc_buf text;
    oc_error serr;
    int found = 0;
    oc_code rc;
    oc_buf_init_secret(&text, 0);
    oc_error_clear(&serr);
    rc = oc_easy_store_step(oc_client_store(c), step, &text, &found, &serr);
    oc_call_feed_store(call, rc, text.data, text.len, found, &serr);
    oc_buf_free(&text);
}

void oc_easy_show_prompt(FILE *out, const oc_prompt *p)
{
    /* never more than it is: a lifetime under two minutes in seconds */
    int64_t n = p->expires_in_s < 120 ? p->expires_in_s : p->expires_in_s / 60;
    const char *unit = p->expires_in_s < 120 ? "second" : "minute";
    fprintf(out, "To log in to %s, open %s\nand enter the code %s\n", p->title, p->verification_uri,
            p->user_code);
    if (p->verification_uri_complete)
        fprintf(out, "(or open %s)\n", p->verification_uri_complete);
    fprintf(out, "The code is good for %lld %s%s. Waiting for the approval (Ctrl-C ends it)...\n",
            (long long)n, unit, n == 1 ? "" : "s");
    fflush(out);
}

/* A wait, cut short by Ctrl-C, which ends the call. */
static void wait_interruptibly(oc_call *call, int64_t ms)
{
    int64_t end = oc_monotonic_ms() + ms;
    volatile sig_atomic_t *flag = oc_interrupt_flag();
    for (;;) {
        int64_t left = end - oc_monotonic_ms();
        if (*flag) {
            oc_error e;
            oc_error_clear(&e);
            oc_fail(&e, OC_E_LOGIN, "interrupted");
            oc_call_cancel(call, &e);
            return;
        }
        if (left <= 0)
            return;
        oc_sleep_ms(left > 100 ? 100 : left);
    }
}

/* Whether a Ctrl-C came while the guard was armed: the call ends now when
   it is between steps that leave nothing behind (a prompt, a wait). */
static int interrupted_at(oc_call *call, const oc_interrupt_guard *guard)
{
    oc_error e;
    if (!guard->armed || !*oc_interrupt_flag())
        return 0;
    oc_error_clear(&e);
    oc_fail(&e, OC_E_LOGIN, "the login was interrupted");
    oc_call_cancel(call, &e);
    return 1;
}

/* Runs call to its end. A Ctrl-C is watched from the start when
   from_start (a call that may log in), else from the first prompt or wait
   on: it ends the call at the next prompt or wait (never between a
   request and the save of its answer), and is raised again for the host
   once the call is over. */
static oc_code run(oc_client *c, oc_call *call, int from_start, oc_error *err)
{
    oc_interrupt_guard guard = { .armed = 0 };
    oc_step step;
    oc_code rc;
    if (from_start)
        oc_interrupt_catch(&guard);
    for (;;) {
        oc_call_next(call, &step);
        switch (step.kind) {
        case OC_STEP_DONE:
            rc = oc_call_result(call, err);
            oc_interrupt_release(&guard); /* last: the host's handler may end the process */
            return rc;
        case OC_STEP_PROMPT:
            if (!guard.armed) /* from now on the call waits for a person */
                oc_interrupt_catch(&guard);
            if (!interrupted_at(call, &guard))
                oc_easy_show_prompt(stderr, step.prompt);
            break;
        case OC_STEP_WAIT:
            if (!guard.armed && step.wait_ms >= 1000)
                oc_interrupt_catch(&guard);
            if (guard.armed)
                wait_interruptibly(call, step.wait_ms);
            else
                oc_sleep_ms(step.wait_ms);
            break;
        case OC_STEP_STORE:
            store_step(c, call, &step);
            break;
        case OC_STEP_LOGIN:
            oc_easy_login_step(call, &step);
            break;
        case OC_STEP_HTTP: {
            oc_error terr;
            int sent = 0;
            oc_code hrc;
            oc_error_clear(&terr);
            hrc = oc_easy_http_step(c, &step, &sent, &terr);
            oc_call_feed(call, hrc, sent, &terr);
            break;
        }
        }
    }
}

oc_code oc_easy_run(oc_client *c, oc_call *call, oc_error *err)
{
    return run(c, call, 0, err);
}

/* The state of one call of a batch, between its steps. */
typedef enum { READY, IN_FLIGHT, SLEEPING, FINISHED } batch_state;

void oc_easy_run_many(oc_client *c, oc_call **calls, size_t n)
{
    batch_state state[OC_MAX_IN_FLIGHT];
    int64_t wake[OC_MAX_IN_FLIGHT];
    size_t i, left = n;
    oc_step step;

    for (i = 0; i < n; i++)
        state[i] = READY;
    while (left > 0) {
        int64_t now, timeout = 1000;
        int flying = 0;
        /* every call that can move does, until it waits for something */
        for (i = 0; i < n; i++) {
            while (state[i] == READY) {
                oc_call_next(calls[i], &step);
                if (step.kind == OC_STEP_DONE) {
                    state[i] = FINISHED;
                    left--;
                } else if (step.kind == OC_STEP_WAIT) {
                    state[i] = SLEEPING;
                    wake[i] = oc_monotonic_ms() + step.wait_ms;
                } else if (step.kind == OC_STEP_STORE) {
                    store_step(c, calls[i], &step);
                } else if (step.kind == OC_STEP_LOGIN) {
                    oc_easy_login_step(calls[i], &step);
                } else if (step.kind == OC_STEP_PROMPT) {
                    oc_easy_show_prompt(stderr, step.prompt);
                } else {
                    oc_error serr;
                    oc_error_clear(&serr);
                    if (oc_http_start(oc_client_http(c), i, step.request, step.response, &serr) == OC_OK)
                        state[i] = IN_FLIGHT;
                    else
                        oc_call_feed(calls[i], serr.code, 0, &serr);
                }
            }
        }
        if (left == 0)
            break;
        now = oc_monotonic_ms();
        for (i = 0; i < n; i++) {
            if (state[i] == SLEEPING && wake[i] - now < timeout)
                timeout = wake[i] - now;
            flying += state[i] == IN_FLIGHT;
        }
        if (timeout < 0)
            timeout = 0;
        if (flying) {
            size_t slot;
            oc_code rc;
            int sent = 0;
            oc_error terr;
            oc_error_clear(&terr);
            if (oc_http_wait(oc_client_http(c), timeout, &slot, &rc, &sent, &terr) && slot < n) {
                oc_call_feed(calls[slot], rc, sent, &terr);
                state[slot] = READY;
            }
        } else if (timeout > 0) {
            oc_sleep_ms(timeout);
        }
        now = oc_monotonic_ms();
        for (i = 0; i < n; i++)
            if (state[i] == SLEEPING && wake[i] <= now)
                state[i] = READY;
    }
}

/* ---- oc_client.h's blocking functions -------------------------------------------------- */

/* Runs a started call (rc: how it started) with the desktop login allowed
   when login, and frees it. */
static oc_code run_call(oc_client *c, oc_code rc, oc_call *call, int login, oc_error *err)
{
    if (rc == OC_OK) {
        if (login)
            oc_call_allow_login(call);
        rc = run(c, call, login, err);
    }
    oc_call_free(call);
    return rc;
}

oc_code oc_client_connect(oc_client *c, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_token(c, OC_TOKEN_CONNECT, &call, err);
    return run_call(c, rc, call, 1, err);
}

oc_code oc_client_request(oc_client *c, const oc_api_request *req, oc_response *resp,
                          oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_api(c, req, resp, &call, err);
    return run_call(c, rc, call, 1, err);
}

oc_code oc_client_request_many(oc_client *c, const oc_api_request *reqs, size_t n,
                               oc_response *resps, oc_code *codes, oc_error *errs, oc_error *err)
{
    oc_call *calls[OC_MAX_IN_FLIGHT];
    size_t i, started = 0;
    oc_code rc = OC_OK;

    if (n > OC_MAX_IN_FLIGHT)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "at most %d requests at once", OC_MAX_IN_FLIGHT);
    for (i = 0; i < n; i++) {
        oc_error_clear(&errs[i]);
        if ((rc = oc_call_api(c, &reqs[i], &resps[i], &calls[i], err)) != OC_OK)
            break;
        /* a login, if one is needed, runs once: the others wait for its lock */
        oc_call_allow_login(calls[i]);
        started++;
    }
    if (rc == OC_OK)
        oc_easy_run_many(c, calls, n);
    for (i = 0; i < started; i++) {
        if (rc == OC_OK)
            codes[i] = oc_call_result(calls[i], &errs[i]);
        oc_call_free(calls[i]);
    }
    return rc;
}

oc_code oc_client_token(oc_client *c, int force_refresh, const oc_token **out, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc;
    *out = NULL;
    rc = oc_call_token(c, force_refresh ? OC_TOKEN_FORCE : OC_TOKEN_IF_DUE, &call, err);
    if ((rc = run_call(c, rc, call, !force_refresh, err)) == OC_OK)
        *out = oc_client_current_token(c);
    return rc;
}

oc_code oc_client_rejected(oc_client *c, unsigned ticket, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_rejected(c, ticket, &call, err);
    return run_call(c, rc, call, 0, err);
}

oc_code oc_client_login(oc_client *c, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_login(c, 1, &call, err);
    return run_call(c, rc, call, 1, err);
}

oc_code oc_client_authorization_url(oc_client *c, const char *redirect_uri, char **url,
                                    char **state, char **verifier, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_authorization(c, redirect_uri, &call, err);
    *url = *state = *verifier = NULL;
    if (rc == OC_OK && (rc = oc_easy_run(c, call, err)) == OC_OK) {
        *url = oc_strdup(oc_call_url(call));
        *state = oc_strdup(oc_call_state(call));
        *verifier = oc_call_verifier(call) ? oc_strdup(oc_call_verifier(call)) : NULL;
        if (!*url || !*state || (oc_call_verifier(call) && !*verifier)) {
            free(*url);
            free(*state);
            oc_free_secret(*verifier);
            *url = *state = *verifier = NULL;
            rc = oc_fail_nomem(err);
        }
    }
    oc_call_free(call);
    return rc;
}

oc_code oc_client_exchange_code(oc_client *c, const oc_exchange *x, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_exchange(c, x, &call, err);
    return run_call(c, rc, call, 0, err);
}

oc_code oc_client_forget(oc_client *c, int revoke, oc_error *err)
{
    oc_call *call = NULL;
    oc_code rc = oc_call_forget(c, revoke, &call, err);
    return run_call(c, rc, call, 0, err);
}
