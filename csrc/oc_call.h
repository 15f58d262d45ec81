/*
 * oc_call: one piece of OAuth work (a signed API request, a refresh, a code
 * exchange) as a state machine that does no I/O of its own. Its driver asks
 * what to do next (send this HTTP request, wait this long, or done), does
 * it, and feeds the outcome back:
 *
 *     oc_call_api(c, &req, &resp, &call, &err);
 *     for (;;) {
 *         oc_call_next(call, &step);
 *         if (step.kind == OC_STEP_HTTP) oc_call_feed(call, perform(step.request, step.response), &terr);
 *         else if (step.kind == OC_STEP_WAIT) sleep(step.wait_ms);
 *         else break;
 *     }
 *     rc = oc_call_result(call, &err);
 *
 * The blocking driver performs with libcurl and sleeps (oc_client_run);
 * the OpenResty driver, in Lua, performs with nginx subrequests and
 * ngx.sleep, so a worker never blocks on the network. Both run the same
 * decisions: when to refresh, single flight under the store's lock,
 * persisting a rotated token first, retries, redirects, 401s.
 */
#ifndef OC_CALL_H
#define OC_CALL_H

#include <stdint.h>

#include "oc_client.h"
#include "oc_http.h"

typedef struct oc_call oc_call;

typedef enum oc_step_kind { OC_STEP_HTTP, OC_STEP_WAIT, OC_STEP_DONE } oc_step_kind;

typedef struct oc_step {
    oc_step_kind kind;
    const oc_request *request; /* HTTP: what to send (valid until the next feed) */
    oc_response *response;     /* HTTP: where the answer goes */
    int64_t wait_ms;           /* WAIT */
} oc_step;

/* A signed request; resp receives the answer (any HTTP status). The
   inputs must stay alive until the call is freed. */
oc_code oc_call_api(oc_client *c, const oc_api_request *req, oc_response *resp, oc_call **out,
                    oc_error *err);
/* A usable token: loaded (never by the browser login) and refreshed when
   due; the client's token afterwards is the answer. OC_TOKEN_CONNECT is
   the same but succeeds for schemes without tokens (connecting). */
typedef enum { OC_TOKEN_IF_DUE, OC_TOKEN_FORCE, OC_TOKEN_CONNECT } oc_token_need;
oc_code oc_call_token(oc_client *c, oc_token_need need, oc_call **out, oc_error *err);
/* A refresh (or a client-credentials fetch). rejected: the access token a
   server refused ("" for any), or NULL to refresh only when due. */
oc_code oc_call_refresh(oc_client *c, const char *rejected, oc_call **out, oc_error *err);
/* A code exchange; the tokens are stored and adopted. redirect_uri NULL:
   CallbackURL. */
oc_code oc_call_exchange(oc_client *c, const char *code, const oc_kv *callback_params,
                         const char *verifier, const char *redirect_uri, oc_call **out,
                         oc_error *err);

void oc_call_next(oc_call *call, oc_step *step);
/* The outcome of the HTTP step: OC_OK with step.response filled, or the
   transport error (with `sent`: whether any of the request went out). */
void oc_call_feed(oc_call *call, oc_code rc, int sent, const oc_error *err);
oc_code oc_call_result(oc_call *call, oc_error *err);
void oc_call_free(oc_call *call);

/* The blocking driver: libcurl and sleeps, until done. */
oc_code oc_client_run(oc_client *c, oc_call *call, oc_error *err);

#endif
