/*
 * The engine's token for a request or for the caller: loaded, logged in or
 * renewed as it needs (oc_call_ensure_token, oc_call_token), and a ticket a
 * server rejected answered with newer credentials (oc_call_rejected).
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_time.h"

/* ---- a usable token, before a request or for the caller -------------------------------- */

static void ensure_loaded(oc_call *call)
{
    oc_client *c = call->c;
    oc_cont then = call->after_ensure;
    const char *where = c->store_where;

    if (call->kind == KIND_TOKEN && call->need == OC_TOKEN_LOADED) {
        then(call);
        return;
    }
    if (call->kind == KIND_TOKEN && call->need == OC_TOKEN_FORCE) {
        if (c->scheme == OC_SCHEME_OAUTH && !c->found) {
            oc_call_finish(call, oc_fail_property(&call->err, OC_E_NO_TOKEN, "OAuthRefreshToken",
                                                  "there is no refresh token: set OAuthRefreshToken%s%s",
                                                  where ? " or store tokens in " : "", where ? where : ""));
            return;
        }
        oc_call_acquire(call, WHY_REJECTED, c->token.access_token ? c->token.access_token : "", then);
        return;
    }
    if (!oc_client_uses_tokens(c)) {
        if (call->kind == KIND_TOKEN && call->need != OC_TOKEN_CONNECT)
            oc_call_finish(call, oc_fail(&call->err, OC_E_UNSUPPORTED, "AuthScheme=%s uses no OAuth token",
                                         oc_config_get(c->cfg, OC_P_AUTH_SCHEME)));
        else
            then(call);
        return;
    }
    if (!c->found && c->scheme == OC_SCHEME_OAUTH) {
        if (c->mode == OC_MODE_OFF) {
            oc_call_finish(call, oc_fail_property(&call->err, OC_E_MISSING_PROPERTY, "OAuthAccessToken",
                                                  "OAuthAccessToken is required with InitiateOAuth=OFF "
                                                  "(nothing is stored%s%s); or use "
                                                  "InitiateOAuth=GETANDREFRESH to log in",
                                                  where ? " in " : "", where ? where : ""));
        } else if (c->mode == OC_MODE_GETANDREFRESH && call->allow_login) {
            oc_call_login_start(call, then);
        } else if (c->mode == OC_MODE_GETANDREFRESH) {
            oc_call_finish(call, oc_fail(&call->err, OC_E_NO_TOKEN,
                                         "no token is stored%s%s; log in first (the browser login, "
                                         "or the web flow's get_access_token)",
                                         where ? " in " : "", where ? where : ""));
        } else {
            oc_call_finish(call, oc_fail_property(&call->err, OC_E_NO_TOKEN, "OAuthRefreshToken",
                                                  "no token is stored%s%s and OAuthRefreshToken is not "
                                                  "set; InitiateOAuth=REFRESH never opens a browser: "
                                                  "set OAuthRefreshToken or log in once with "
                                                  "InitiateOAuth=GETANDREFRESH",
                                                  where ? " in " : "", where ? where : ""));
        }
        return;
    }
    if (!c->token.access_token) {
        oc_call_acquire(call, WHY_NEEDED, NULL, then);
        return;
    }
    if (oc_client_refresh_due(c, oc_now_ms())) {
        oc_call_acquire(call, WHY_DUE, NULL, then);
        return;
    }
    then(call);
}

static void ensure_resaved(oc_call *call)
{
    oc_call_load_initial(call, ensure_loaded);
}

void oc_call_ensure_token(oc_call *call, oc_cont then)
{
    call->after_ensure = then;
    if (call->c->unsaved && call->c->store)
        oc_call_resave(call, ensure_resaved);
    else
        oc_call_load_initial(call, ensure_loaded);
}

static void token_start(oc_call *call)
{
    oc_call_ensure_token(call, oc_call_finish_ok);
}

oc_code oc_call_token(oc_client *c, oc_token_need need, oc_call **out, oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_TOKEN, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->need = need;
    call->then = token_start;
    return OC_OK;
}

/* ---- a ticket rejected --------------------------------------------------------------------- */

static void rejected_peeked(oc_call *call)
{
    oc_client *c = call->c;
    if (call->peek_adopted) {
        oc_call_finish(call, OC_OK);
        return;
    }
    oc_call_acquire(call, WHY_REJECTED, c->token.access_token ? c->token.access_token : "", oc_call_finish_ok);
}

static void rejected_loaded(oc_call *call)
{
    oc_client *c = call->c;
    if (call->ticket != c->generation) { /* renewed since that request was signed */
        oc_call_finish(call, OC_OK);
        return;
    }
    if (!oc_client_can_renew(c)) {
        oc_client_unrenewable_advice(c, &call->err);
        oc_call_finish(call, call->err.code);
        return;
    }
    oc_call_peek(call, rejected_peeked);
}

static void rejected_start(oc_call *call)
{
    oc_call_load_initial(call, rejected_loaded);
}

oc_code oc_call_rejected(oc_client *c, unsigned ticket, oc_call **out, oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_REJECTED, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->ticket = ticket;
    call->then = rejected_start;
    return OC_OK;
}
