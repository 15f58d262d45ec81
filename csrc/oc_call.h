/*
 * oc_call: the engine. One piece of OAuth work (a signed API request, a
 * token that must be usable, a refresh after a rejection, a code exchange, a
 * login, a logout) is a call: a state machine that decides everything (when
 * to refresh, the store's lock, what to save and when, retries, redirects,
 * rate-limit waits, 401s) and performs no I/O. Its driver asks what to do
 * next, does it, and feeds the outcome back:
 *
 *     oc_call_api(c, &req, &resp, &call, &err);
 *     for (;;) {
 *         oc_call_next(call, &step);
 *         switch (step.kind) {
 *         case OC_STEP_HTTP:  send step.request, fill step.response; oc_call_feed(...); break;
 *         case OC_STEP_STORE: run step.op on the store;        oc_call_feed_store(...); break;
 *         case OC_STEP_WAIT:  sleep step.wait_ms; break;
 *         case OC_STEP_LOGIN: run the desktop login;            oc_call_feed_login(...); break;
 *         case OC_STEP_PROMPT: show step.prompt to the user; break;
 *         case OC_STEP_DONE:  rc = oc_call_result(call, &err); ...
 *         }
 *     }
 *
 * Drivers: oc_easy.c (libcurl, the C stores, sleeps: scripts), the Lua
 * driver (nginx subrequests and cosockets, ngx.sleep, ngx.shared dicts, a
 * user's transport or store). Every driver runs the same decisions.
 */
#ifndef OC_CALL_H
#define OC_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "oc_client.h"
#include "oc_http.h"
#include "oc_login.h"

typedef struct oc_call oc_call;

typedef enum oc_step_kind {
    OC_STEP_HTTP,
    OC_STEP_WAIT,
    OC_STEP_STORE,
    OC_STEP_LOGIN,
    OC_STEP_PROMPT, /* show the user step.prompt; nothing to feed */
    OC_STEP_DONE
} oc_step_kind;

/* What the device login asks the user to do (RFC 8628 3.3): open
   verification_uri on any device and enter user_code, or open
   verification_uri_complete, which carries it. */
typedef struct oc_prompt {
    const char *title;                     /* the provider */
    const char *verification_uri;
    const char *user_code;
    const char *verification_uri_complete; /* or NULL */
    int64_t expires_in_s;                  /* how long the code is good for */
} oc_prompt;

/* What a store step asks for (oc_store.h gives the contract). */
typedef enum oc_store_op {
    OC_STORE_LOAD,
    OC_STORE_SAVE,    /* text, compared with expected */
    OC_STORE_REMOVE,  /* compared with expected */
    OC_STORE_LOCK,    /* one attempt: OC_E_LOCK when another holds it */
    OC_STORE_UNLOCK,
    OC_STORE_RESERVE  /* room for reserve_bytes before a refresh */
} oc_store_op;

typedef struct oc_step {
    oc_step_kind kind;
    /* HTTP: what to send and where the answer goes (valid until fed) */
    const oc_request *request;
    oc_response *response;
    /* WAIT */
    int64_t wait_ms;
    /* STORE */
    oc_store_op op;
    const char *text;          /* SAVE: the new document */
    size_t text_len;
    const char *expected;      /* SAVE, REMOVE: what the store must hold now */
    size_t expected_len;
    int expected_found;        /* ... 0: nothing */
    int64_t lock_wait_ms;      /* LOCK: how long the engine will keep asking (a driver that
                                  can wait cheaply may wait this long itself) */
    size_t reserve_bytes;      /* RESERVE */
    /* LOGIN: the desktop login to run with oc_login_desktop */
    const oc_login_request *login;
    /* PROMPT: what to show (valid until the next oc_call_next) */
    const oc_prompt *prompt;
} oc_step;

/* A signed request; resp receives the answer (any HTTP status). The
   inputs must stay alive until the call is freed. */
oc_code oc_call_api(oc_client *c, const oc_api_request *req, oc_response *resp, oc_call **out,
                    oc_error *err);

/* A usable token: loaded and refreshed when due (IF_DUE); renewed now
   (FORCE); as IF_DUE but also fine for schemes without tokens (CONNECT);
   or only what the properties or the store hold, due or not, without the
   network (LOADED). The client's token afterwards is the answer. */
typedef enum { OC_TOKEN_IF_DUE, OC_TOKEN_FORCE, OC_TOKEN_CONNECT, OC_TOKEN_LOADED } oc_token_need;
oc_code oc_call_token(oc_client *c, oc_token_need need, oc_call **out, oc_error *err);

/* A request signed with the credentials of generation `ticket` got a 401
   (client:rejected): OC_OK when the next authorization carries other
   credentials (the store's newer ones, or one refresh's), else the reason
   there is nothing better. */
oc_code oc_call_rejected(oc_client *c, unsigned ticket, oc_call **out, oc_error *err);

/* A code exchange; the tokens are stored and adopted. The verifier and
   redirect URI are the caller's (NULL: the pending login's records, found
   by state, or the only one pending for the redirect URI; then
   CallbackURL). callback holds the callback's other parameters (those the
   profile names go along with the code; nothing else in it is used). */
typedef struct oc_exchange {
    const char *code;
    const char *state;         /* the callback's state, or NULL */
    const oc_kv *callback;     /* may be NULL */
    const char *verifier;      /* the caller's own, or NULL */
    const char *redirect_uri;  /* the caller's own, or NULL */
} oc_exchange;
oc_code oc_call_exchange(oc_client *c, const oc_exchange *x, oc_call **out, oc_error *err);

/* The login: under the store's lock, the stored set when another process
   logged in meanwhile (unless force), else OAuthVerifier's code or the
   desktop login (OC_STEP_LOGIN), then the exchange. */
oc_code oc_call_login(oc_client *c, int force, oc_call **out, oc_error *err);

/* Web flow: the authorization URL for redirect_uri (NULL: CallbackURL),
   with a fresh state and PKCE verifier; the verifier is kept (in the store,
   else in the process) for 10 minutes, for oc_call_exchange to find. */
oc_code oc_call_authorization(oc_client *c, const char *redirect_uri, oc_call **out, oc_error *err);
/* The authorization call's results, owned by the call (NULL before done). */
const char *oc_call_url(const oc_call *call);
const char *oc_call_state(const oc_call *call);
const char *oc_call_verifier(const oc_call *call);

/* Why an API call's answer is a 401 nothing more could be done about, for
   the error that reports it. */
oc_rejection oc_call_rejection(const oc_call *call);

/* Logout: the stored set removed under the lock; with revoke, first sent
   to the revocation endpoint (RFC 7009: the refresh token, then the access
   token). The set is removed whatever the server answers; a revocation it
   did not confirm is the call's error (OC_E_REVOCATION), as is one that
   could not be asked for want of an endpoint (OC_E_UNSUPPORTED). */
oc_code oc_call_forget(oc_client *c, int revoke, oc_call **out, oc_error *err);

/* The driver ends a call between steps (Ctrl-C during the device login's
   waits): it fails with err, releasing the lock through its next steps.
   Not while a step's outcome is awaited. */
void oc_call_cancel(oc_call *call, const oc_error *err);

/* Lets a call that finds no token start the login (OC_STEP_LOGIN): only
   drivers that can run a browser login say so. */
void oc_call_allow_login(oc_call *call);

void oc_call_next(oc_call *call, oc_step *step);
/* The outcome of the HTTP step: OC_OK with step.response filled, or the
   transport error (with `sent`: whether any of the request went out). */
void oc_call_feed(oc_call *call, oc_code rc, int sent, const oc_error *err);
/* The outcome of a store step: OC_OK (LOAD: text and found), OC_E_CONFLICT
   (SAVE, REMOVE: the store held something else), OC_E_LOCK (LOCK: held by
   another), or the store's error. */
void oc_call_feed_store(oc_call *call, oc_code rc, const char *text, size_t len, int found,
                        const oc_error *err);
/* The outcome of the login step: the callback's parameters, the PKCE
   verifier and the redirect URI the login used. */
void oc_call_feed_login(oc_call *call, oc_code rc, const oc_kv *params, const char *verifier,
                        const char *redirect_uri, const oc_error *err);
oc_code oc_call_result(oc_call *call, oc_error *err);
/* Whether the call holds the store's lock: a driver that abandons a call
   before it is done releases it (oc_store_unlock, or its own store's). */
int oc_call_holds_lock(const oc_call *call);
void oc_call_free(oc_call *call);

#endif
