/*
 * The engine's revocation (RFC 7009), for a logout: the refresh token
 * first (revoking it ends the grant, and with it the access tokens, at
 * servers that tie them), then the access token. Each is asked once; the
 * outcome is the first failure, which the logout reports after removing
 * the set anyway.
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <string.h>

#include "oc_redact.h"
#include "oc_time.h"
#include "oc_url.h"

static void next_token(oc_call *call);

/* Keeps the first failure. */
static void note_failure(oc_call *call, oc_code rc, const oc_error *e)
{
    if (call->revoke_rc == OC_OK) {
        call->revoke_rc = rc;
        call->revoke_err = *e;
    }
}

static void answered(oc_call *call)
{
    oc_client *c = call->c;
    oc_response *r = &call->token_resp;
    const char *hint = call->revoke_stage == 1 ? "refresh token" : "access token";
    char shown[400];
    oc_error e;
    oc_code rc = call->step_rc;

    oc_error_clear(&e);
    oc_url_shown(shown, sizeof shown, call->tr.url);
    if (rc != OC_OK) {
        e = call->step_err;
        oc_error_prefix(&e, "the revocation of the %s at %s failed", hint, shown);
        note_failure(call, rc, &e);
    } else if (oc_call_may_rediscover(call, OC_EP_REVOKE, r)) {
        oc_response_reset(r);
        call->revoke_stage--; /* the same token once more, at the endpoint read again */
        oc_call_rediscover(call, next_token);
        return;
    } else if (r->status < 200 || r->status > 299) {
        oc_secrets known;
        char what[64];
        snprintf(what, sizeof what, "the revocation of the %s", hint);
        oc_client_secrets(c, &call->revoke_token, &known);
        rc = oc_token_error_response(r->status, r->body.data ? r->body.data : "", r->body.len,
                                     oc_response_header(r, "content-type"), what, shown, &known, &e);
        oc_secrets_free(&known);
        call->err = e;
        if (oc_call_switch_client_auth(call, what)) {
            oc_error_clear(&call->err);
            oc_response_reset(r);
            oc_call_send_tr(call, answered);
            return;
        }
        oc_error_clear(&call->err);
        /* RFC 7009 2.2.1: a server that does not revoke access tokens says
           so; the refresh token's revocation is what ends the grant */
        if (call->revoke_stage == 2 && strcmp(e.oauth_error, "unsupported_token_type") == 0)
            oc_logf(c->log, 1, "%s: the server does not revoke access tokens; it expires on its own",
                    shown);
        else
            note_failure(call, rc, &e);
    } else {
        oc_call_auth_worked(call);
        oc_logf(c->log, 1, "revoked the %s at %s", hint, shown);
    }
    oc_response_reset(r);
    next_token(call);
}

/* The next token of the set, or the end. */
static void next_token(oc_call *call)
{
    oc_client *c = call->c;
    const oc_token *t = &call->revoke_token;
    const char *token = NULL, *hint = NULL;
    oc_error e;
    oc_code rc;

    call->step_rc = OC_OK;
    while (!token && call->revoke_stage < 2) {
        call->revoke_stage++;
        if (call->revoke_stage == 1 && t->refresh_token && *t->refresh_token) {
            token = t->refresh_token;
            hint = "refresh_token";
        } else if (call->revoke_stage == 2 && t->access_token && *t->access_token) {
            token = t->access_token;
            hint = "access_token";
        }
    }
    if (!token) {
        call->revoke_then(call);
        return;
    }
    oc_error_clear(&e);
    oc_token_request_free(&call->tr);
    if ((rc = oc_client_oauth_endpoint(c, OC_EP_REVOKE, &e)) != OC_OK ||
        (rc = oc_oauth_revoke_request(&c->flow, token, hint, &call->tr, &e)) != OC_OK) {
        note_failure(call, rc, &e);
        call->revoke_then(call);
        return;
    }
    oc_call_send_tr(call, answered);
}

void oc_call_revoke_token(oc_call *call, const oc_token *t, oc_cont then)
{
    oc_code rc;
    call->revoke_then = then;
    call->revoke_stage = 0;
    call->revoke_rc = OC_OK;
    oc_error_clear(&call->revoke_err);
    oc_token_clear(&call->revoke_token);
    if ((rc = oc_token_copy(&call->revoke_token, t, &call->revoke_err)) != OC_OK) {
        call->revoke_rc = rc;
        then(call);
        return;
    }
    next_token(call);
}
