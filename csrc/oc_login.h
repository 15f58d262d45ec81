/*
 * oc_login: the desktop login (RFC 8252): state and PKCE, the authorization
 * URL printed and opened in the browser, the loopback listener waiting for
 * the redirect, or with urn:ietf:wg:oauth:2.0:oob the code typed on the
 * terminal. It ends with the callback's parameters; exchanging the code is
 * the caller's job, so the caller's transport and store are used.
 */
#ifndef OC_LOGIN_H
#define OC_LOGIN_H

#include <stdint.h>

#include "oc_error.h"
#include "oc_kv.h"
#include "oc_oauth.h"

#define OC_OOB_REDIRECT "urn:ietf:wg:oauth:2.0:oob"
/* LoginTimeout=0: a wait no login outlasts (ten years), short of any
   overflow in deadline arithmetic. */
#define OC_LOGIN_NO_LIMIT_MS INT64_C(315360000000)

typedef struct oc_login_request {
    const oc_flow *flow;
    const char *callback_url; /* loopback http URL, or OC_OOB_REDIRECT */
    const char *title;        /* provider name for the prompt, e.g. "Jumpseller" */
    int pkce;
    oc_state_rule state_rule; /* OC_STATE_IF_SENT for servers that never echo state */
    int64_t timeout_ms;
} oc_login_request;

/* On OC_OK, params holds "code" and every other callback parameter,
   *verifier the PKCE verifier to send with the code (NULL without PKCE), and
   *redirect_uri the redirect URI the authorization used (with the port the
   listener got when CallbackURL names port 0, as RFC 8252 7.3 allows). */
oc_code oc_login_desktop(const oc_login_request *req, oc_kv *params, char **verifier,
                         char **redirect_uri, oc_error *err);

/* A code given by hand (pasted, or OAuthVerifier): the code itself, or the
   whole redirect URL or its query, whose parameters (context, scope, an
   error) are judged as a callback's under rule. params receives them all. */
oc_code oc_login_take_code(const char *text, const char *state, oc_state_rule rule, oc_kv *params,
                           oc_error *err);

#endif
