/*
 * The engine's device login (RFC 8628): the device code asked for, the
 * user told where to go (OC_STEP_PROMPT), the token endpoint polled at the
 * server's interval (slower after each slow_down) until the user approves,
 * denies, the code expires or LoginTimeout passes. It runs under the lock
 * the login holds, so processes started together log in once.
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <string.h>

#include "oc_mem.h"
#include "oc_redact.h"
#include "oc_retry.h"
#include "oc_time.h"
#include "oc_url.h"

/* RFC 8628 3.5: slow_down adds 5 s to the interval, for good. */
#define SLOW_DOWN_MS INT64_C(5000)
/* The longest interval a back-off after failed polls reaches. */
#define MAX_BACKOFF_MS INT64_C(60000)

static void poll_token(oc_call *call);

/* Every secret a device-login message could quote: the client's and the
   device code. */
static void known_secrets(const oc_call *call, oc_secrets *known)
{
    oc_client_secrets(call->c, NULL, known);
    oc_secrets_add(known, call->device.device_code);
}

/* Where the user was sent, for messages. */
static const char *page(const oc_call *call, char *buf, size_t max)
{
    oc_url_shown(buf, max, call->device.verification_uri);
    return buf;
}

/* The next poll after the interval (the last one at the deadline), or the
   end once the deadline has passed. */
static void wait_then_poll(oc_call *call)
{
    oc_client *c = call->c;
    char where[400];
    int64_t left = call->device_deadline_ms - oc_monotonic_ms();
    if (left <= 0) {
        if (call->device_by_login_timeout)
            oc_call_finish(call, oc_fail_property(&call->err, OC_E_LOGIN, "LoginTimeout",
                                                  "the device login was not approved at %s within %lld s "
                                                  "(LoginTimeout)",
                                                  page(call, where, sizeof where),
                                                  (long long)(c->login_timeout_ms / 1000)));
        else
            oc_call_finish(call, oc_fail(&call->err, OC_E_LOGIN,
                                         "the device code expired before the login was approved at %s; "
                                         "log in again",
                                         page(call, where, sizeof where)));
        return;
    }
    oc_call_emit_wait(call, call->device_interval_ms < left ? call->device_interval_ms : left, poll_token);
}

/* RFC 8628 3.5: a poll that got no answer (or a server failing) is
   followed by slower polls, doubling the interval up to a minute. */
static void back_off(oc_call *call)
{
    if (call->device_interval_ms < MAX_BACKOFF_MS)
        call->device_interval_ms = call->device_interval_ms * 2 < MAX_BACKOFF_MS ? call->device_interval_ms * 2
                                                                                 : MAX_BACKOFF_MS;
}

static void polled(oc_call *call)
{
    oc_client *c = call->c;
    oc_response *r = &call->token_resp;
    oc_secrets known;
    char where[400];
    const char *oauth_error;
    oc_code rc = call->step_rc;

    if (rc != OC_OK) {
        /* nothing came back: the code is still good (or spent, which the
           next poll says), so polling goes on, more slowly, until the deadline */
        oc_logf(c->log, 1, "a device login poll failed: %s", call->step_err.message);
        back_off(call);
        wait_then_poll(call);
        return;
    }
    if (oc_call_may_rediscover(call, OC_EP_TOKEN, r)) {
        oc_response_reset(r);
        oc_call_rediscover(call, poll_token);
        return;
    }
    oc_token_clear(&call->fresh);
    known_secrets(call, &known);
    rc = oc_oauth_token_result("the device login", call->tr.url, r->status,
                               oc_response_header(r, "content-type"), r->body.data ? r->body.data : "",
                               r->body.len, oc_now_ms(), NULL, &known, &call->fresh, &call->err);
    oc_secrets_free(&known);
    oc_wipe(r->body.data, r->body.len); /* it held the tokens */
    if (rc == OC_OK) {
        oc_response_reset(r);
        oc_call_auth_worked(call);
        oc_log_secret(c->log, call->fresh.access_token);
        oc_log_secret(c->log, call->fresh.refresh_token);
        oc_logf(c->log, 1, "the device login was approved");
        call->device_then(call);
        return;
    }
    oauth_error = call->err.oauth_error;
    if (strcmp(oauth_error, "authorization_pending") == 0) {
        oc_response_reset(r);
        oc_error_clear(&call->err);
        wait_then_poll(call);
        return;
    }
    if (r->status == 429 || r->status >= 500) {
        oc_response_reset(r);
        oc_error_clear(&call->err);
        back_off(call);
        wait_then_poll(call);
        return;
    }
    if (oc_call_switch_client_auth(call, "the device login")) {
        oc_response_reset(r);
        oc_call_send_tr(call, polled);
        return;
    }
    if (strcmp(oauth_error, "slow_down") == 0) {
        oc_response_reset(r);
        oc_error_clear(&call->err);
        call->device_interval_ms += SLOW_DOWN_MS;
        oc_logf(c->log, 1, "the server asked to poll more slowly: every %lld s now",
                (long long)(call->device_interval_ms / 1000));
        wait_then_poll(call);
        return;
    }
    oc_response_reset(r);
    if (strcmp(oauth_error, "access_denied") == 0)
        oc_call_finish(call, oc_fail(&call->err, OC_E_ACCESS_DENIED, "the device login was denied at %s",
                                     page(call, where, sizeof where)));
    else if (strcmp(oauth_error, "expired_token") == 0)
        oc_call_finish(call, oc_fail(&call->err, OC_E_LOGIN,
                                     "the device code expired before the login was approved at %s; "
                                     "log in again",
                                     page(call, where, sizeof where)));
    else
        oc_call_finish(call, rc);
}

static void poll_token(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc;
    oc_token_request_free(&call->tr);
    if ((rc = oc_client_oauth_endpoint(c, OC_EP_TOKEN, &call->err)) != OC_OK ||
        (rc = oc_oauth_device_token_request(&c->flow, call->device.device_code, &call->tr, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    oc_call_send_tr(call, polled);
}

static void ask(oc_call *call);

/* The device authorization answer: the user is told where to go. */
static void authorized(oc_call *call)
{
    oc_client *c = call->c;
    oc_response *r = &call->token_resp;
    oc_secrets known;
    char where[400];
    int64_t life_ms;
    oc_code rc = call->step_rc;

    if (rc != OC_OK) {
        call->err = call->step_err;
        oc_error_prefix(&call->err, "the device authorization request failed");
        snprintf(call->err.property, sizeof call->err.property, "OAuthDeviceAuthorizationURL");
        oc_call_finish(call, rc);
        return;
    }
    if (oc_call_may_rediscover(call, OC_EP_DEVICE, r)) {
        oc_response_reset(r);
        oc_call_rediscover(call, ask);
        return;
    }
    oc_device_auth_clear(&call->device);
    oc_client_secrets(c, NULL, &known);
    rc = oc_oauth_device_result(call->tr.url, r->status, oc_response_header(r, "content-type"),
                                r->body.data ? r->body.data : "", r->body.len, &known, &call->device,
                                &call->err);
    oc_secrets_free(&known);
    oc_wipe(r->body.data, r->body.len);
    oc_response_reset(r);
    if (rc != OC_OK) {
        if (oc_call_switch_client_auth(call, "the device authorization request")) {
            oc_call_send_tr(call, authorized);
            return;
        }
        if (strcmp(call->err.oauth_error, "invalid_client") == 0 ||
            strcmp(call->err.oauth_error, "unauthorized_client") == 0)
            snprintf(call->err.property, sizeof call->err.property, "OAuthClientId");
        else if (!call->err.property[0])
            snprintf(call->err.property, sizeof call->err.property, "OAuthDeviceAuthorizationURL");
        oc_call_finish(call, rc);
        return;
    }
    oc_call_auth_worked(call);
    call->auth_switched = 0; /* the polls may find their own way */
    oc_log_secret(c->log, call->device.device_code);
    life_ms = call->device.expires_in_s * 1000;
    call->device_by_login_timeout = c->login_timeout_ms < life_ms;
    call->device_deadline_ms = oc_monotonic_ms() + (call->device_by_login_timeout ? c->login_timeout_ms : life_ms);
    call->device_interval_ms = call->device.interval_s * 1000;
    call->prompt.title = oc_client_title(c);
    call->prompt.verification_uri = call->device.verification_uri;
    call->prompt.user_code = call->device.user_code;
    call->prompt.verification_uri_complete = call->device.verification_uri_complete;
    call->prompt.expires_in_s = call->device.expires_in_s;
    oc_logf(c->log, 1, "device login: waiting for the user at %s (polling every %lld s)",
            page(call, where, sizeof where), (long long)call->device.interval_s);
    memset(&call->out, 0, sizeof call->out);
    call->out.kind = OC_STEP_PROMPT;
    call->out.prompt = &call->prompt;
    call->has_out = 1;
    call->then = wait_then_poll;
}

/* The device authorization request (RFC 8628 3.1). */
static void ask(oc_call *call)
{
    oc_client *c = call->c;
    char shown[400];
    oc_code rc;
    oc_token_request_free(&call->tr);
    if ((rc = oc_client_oauth_endpoint(c, OC_EP_DEVICE, &call->err)) != OC_OK ||
        (rc = oc_oauth_device_request(&c->flow, &call->tr, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    oc_url_shown(shown, sizeof shown, c->flow.device_url);
    oc_logf(c->log, 1, "starting the device login at %s", shown);
    oc_call_send_tr(call, authorized);
}

void oc_call_device_login(oc_call *call, oc_cont then)
{
    call->device_then = then;
    ask(call);
}
