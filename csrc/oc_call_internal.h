/*
 * The engine's insides, shared by its files, each calling only those
 * listed before it: oc_call.c (driving a call, its steps and
 * continuations, the lock, Timeout), oc_call_store.c (loads and
 * compare-and-set saves), oc_call_discovery.c (the server's metadata),
 * oc_call_device.c (the device login's requests and polls),
 * oc_call_revoke.c (revocation), oc_call_token.c (tokens: the first load,
 * the token request and its save, refreshes), oc_call_login.c (code
 * exchanges, logins, the web flow's pending logins), oc_call_ensure.c (a
 * usable token, a rejected ticket), oc_call_logout.c (logout),
 * oc_call_api.c (the signed request).
 *
 * A call is written as continuations: a function that needs a step's
 * outcome emits the step with the function to run next (`then`); the
 * driver performs it and feeds the outcome; oc_call_next runs `then`.
 */
#ifndef OC_CALL_INTERNAL_H
#define OC_CALL_INTERNAL_H

#include "oc_buf.h"
#include "oc_call.h"
#include "oc_client_internal.h"
#include "oc_settings.h"

typedef enum {
    KIND_API,
    KIND_TOKEN,
    KIND_REJECTED,
    KIND_EXCHANGE,
    KIND_LOGIN,
    KIND_AUTHORIZATION,
    KIND_FORGET
} call_kind;

/* Why a refresh runs: it decides what a failure means. */
typedef enum { WHY_DUE, WHY_NEEDED, WHY_REJECTED } refresh_why;

typedef void (*oc_cont)(oc_call *call);

struct oc_call {
    oc_client *c;
    call_kind kind;
    int done;
    oc_code result;
    oc_error err;
    int allow_login;

    /* the step handed out, and what runs once its outcome is in */
    oc_step out;
    int has_out;   /* out is ready to hand to the driver */
    int awaiting;  /* out was handed out and its outcome is not fed yet */
    oc_cont then;
    /* the fed outcome */
    oc_code step_rc;
    oc_error step_err;
    int step_sent;
    oc_buf step_text;  /* LOAD: the stored text (a secret buffer) */
    int step_found;
    int64_t step_started_ms; /* HTTP: when it was handed out (for the log) */

    /* Timeout, for the whole call: monotonic end from the first send (0:
       none yet); waits for a spent quota push it back. */
    int64_t deadline_ms;

    /* the store: the lock, and the document as last read */
    int locked;
    oc_cont lock_then, load_then;
    int64_t lock_deadline, lock_pause, lock_timeout_ms;
    int (*lock_unneeded)(oc_call *call); /* see oc_call_lock_unless */
    oc_cont lock_otherwise;
    oc_cont lock_failed; /* see oc_call_lock_unless */
    oc_settings doc;
    oc_buf doc_text;     /* the text doc was read from: the save's expected text */
    int doc_found;
    oc_buf save_text;    /* the text being saved */
    oc_cont save_then;
    int save_conflicts;
    int (*merge)(oc_call *call, oc_settings *fresh); /* re-apply this call's change to a newer document */

    /* API */
    const oc_api_request *api;
    oc_response *resp;
    oc_buf url;
    char *next_url;
    struct curl_slist *merged;
    oc_header_lines *lines;   /* the client's lines this request carries, held */
    oc_request http;
    unsigned sent_generation; /* the client's token generation when last sent */
    char sent_token[65];      /* SHA-256 of the access token last sent, or "" */
    int attempt, redirects, paced, resends, rate_limits;
    int64_t quota_waited_ms;
    int refreshed;            /* this call renewed the token itself (not adopted) */
    oc_rejection rejection;   /* why a final 401 stands */

    /* tokens: refresh, exchange, login */
    refresh_why why;
    oc_token_need need;
    char *rejected;       /* the access token a server refused ("" for any), or NULL */
    oc_cont after_load, after_ensure, after_acquire, after_exchange, after_resave, peek_then;
    int peek_adopted;     /* the last peek adopted a newer stored set */
    int exchanging;       /* the token request under way is a code exchange */
    int salvaging;        /* saving a refused answer's new refresh token; then failing with: */
    oc_error salvage_err;
    char pending_key[65]; /* the pending login an exchange redeems, for a merge */
    int found;            /* the store held a set for this client */
    unsigned failed_refreshes;
    oc_token base, fresh;
    oc_token_request tr;
    oc_request token_http;
    int token_attempt;
    int auth_switched;
    const char *token_what;
    oc_response token_resp;
    int force;
    /* exchange */
    char *code, *state, *verifier, *redirect_uri;
    oc_kv callback;
    int pending_index;    /* the pending login the exchange redeems, or -1 */
    oc_login_request login;
    /* authorization */
    char *auth_url;
    /* rejected */
    unsigned ticket;
    /* discovery */
    oc_cont disc_then;
    oc_request disc_http;
    struct curl_slist *disc_headers;
    oc_response disc_resp;
    json_t *disc_cache;   /* the document's cache member being saved */
    int rediscovered;     /* this call fetched the document again after a 404 */
    int disc_attempt;
    /* the device login */
    oc_cont device_then;
    oc_device_auth device;
    oc_prompt prompt;
    int64_t device_deadline_ms, device_interval_ms;
    int device_by_login_timeout; /* the deadline is LoginTimeout's, not the code's lifetime */
    /* revocation (logout) */
    int revoke;           /* the logout revokes before it removes */
    oc_cont revoke_then;
    oc_token revoke_token;
    int revoke_stage;
    oc_code revoke_rc;    /* the first failure, or OC_OK */
    oc_error revoke_err;
    int revoke_unsupported; /* no revocation endpoint is known */
    int revoke_not_asked;   /* revoke_err says why the server was not asked */
};

/* ---- oc_call.c: plumbing ---------------------------------------------------------- */
oc_call *oc_call_new(oc_client *c, call_kind kind, oc_error *err);
void oc_call_emit_http(oc_call *call, const oc_request *req, oc_response *resp, oc_cont then);
void oc_call_emit_wait(oc_call *call, int64_t ms, oc_cont then);
/* A store step (its fields beyond the op are the caller's to fill). */
void oc_call_emit_store(oc_call *call, oc_store_op op, oc_cont then);
/* A wait for a spent quota: it moves Timeout's end back by its length. */
void oc_call_quota_pause(oc_call *call, int64_t wait, oc_cont then);
/* Ends the call with rc (call->err holds the error); the lock is released first. */
void oc_call_finish(oc_call *call, oc_code rc);
/* Ends the call with OC_OK (a continuation). */
void oc_call_finish_ok(oc_call *call);
void oc_call_fail(oc_call *call, const oc_error *e);
/* The ms of Timeout left for an HTTP step (starting the clock on the
   first), -1 without a limit, 0 when spent. */
int64_t oc_call_time_left(oc_call *call);
/* Whether a retry after wait ms can still start within Timeout. */
int oc_call_retry_fits(const oc_call *call, int64_t wait);
/* The client's lock (in-process first, then the store's), waiting up to
   timeout_ms; then `then`. A failure ends the call. */
void oc_call_lock(oc_call *call, int64_t timeout_ms, oc_cont then);
/* The same, but when another call of this client held the lock and
   unneeded(call) says its work made this one's unnecessary, `otherwise`
   runs instead, the lock not taken (the store not asked); and when the
   lock cannot be had (the store failed, or the wait timed out), `failed`
   runs with call->err saying why, when given, instead of ending the call. */
void oc_call_lock_unless(oc_call *call, int64_t timeout_ms, oc_cont then, int (*unneeded)(oc_call *call),
                         oc_cont otherwise, oc_cont failed);
/* Releases the lock when held; then `then`. */
void oc_call_unlock(oc_call *call, oc_cont then);
/* Sends call->tr (a token, device authorization or revocation request)
   with the whole Timeout, the answer into call->token_resp; then `then`. */
void oc_call_send_tr(oc_call *call, oc_cont then);
/* After an invalid_client answer to call->tr (call->err): rebuilds it with
   the client's credentials sent the other way (body or Basic), once per
   call; 1 when the caller should send it again. what names it in the log. */
int oc_call_switch_client_auth(oc_call *call, const char *what);
/* call->tr was accepted: a switched way of authenticating is the client's
   way from now on. */
void oc_call_auth_worked(oc_call *call);

/* ---- oc_call_store.c ---------------------------------------------------------------- */
/* Reads the store into call->doc (empty without a store); then `then`. */
void oc_call_load(oc_call *call, oc_cont then);
/* Saves call->doc over call->doc_text; on a conflict reads the store again
   and, when call->merge re-applies the change, tries again. `then` runs
   with call->step_rc (and step_err) saying how it went. */
void oc_call_save(oc_call *call, oc_cont then);
/* Removes the stored document (compared with call->doc_text); then `then`
   with call->step_rc. */
void oc_call_remove(oc_call *call, oc_cont then);
/* Asks the store for room for a token set; then `then` with call->step_rc. */
void oc_call_reserve(oc_call *call, oc_cont then);

/* ---- oc_call_discovery.c ------------------------------------------------------------ */
/* The server's metadata when it is due (oc_client_discovery_due): the
   store's cached copy when fresh, else fetched, checked, adopted and cached
   (under the lock when the call holds it, with the document it read
   there); then `then` with call->step_rc OC_OK, or the failure in
   step_err (an older document at hand is used instead, with a warning). */
void oc_call_discover(oc_call *call, oc_cont then);
/* A discovered endpoint answered 404: the document is fetched again, once
   per call; then `then` with call->step_rc OC_OK when a document was read
   (the endpoint may have moved), else why not. */
void oc_call_rediscover(oc_call *call, oc_cont then);
/* Whether the answer is a 404 from the discovered endpoint `which` that
   this call has not yet answered by fetching the document again. */
int oc_call_may_rediscover(const oc_call *call, oc_endpoint which, const oc_response *r);

/* ---- oc_call_device.c --------------------------------------------------------------- */
/* The device authorization grant (RFC 8628), under the lock the login
   holds: the device code asked for, the prompt handed out (OC_STEP_PROMPT),
   the token endpoint polled at the server's interval; the tokens in
   call->fresh, then `then`. Denial, an expired code, LoginTimeout or an
   error end the call. */
void oc_call_device_login(oc_call *call, oc_cont then);

/* ---- oc_call_revoke.c --------------------------------------------------------------- */
/* RFC 7009: t's refresh token, then its access token, sent to the
   revocation endpoint; then `then` with call->revoke_rc (and revoke_err):
   OC_OK when the server confirmed each, else the first failure. */
void oc_call_revoke_token(oc_call *call, const oc_token *t, oc_cont then);

/* ---- oc_call_token.c ---------------------------------------------------------------- */
/* The client's first token (properties, store, seed); then `then`. */
void oc_call_load_initial(oc_call *call, oc_cont then);
/* A usable token for why (rejected: the access token refused), then
   `then`; a failure ends the call (unless a due refresh can be outlived). */
void oc_call_acquire(oc_call *call, refresh_why why, const char *rejected, oc_cont then);
/* Reads the store without the lock and adopts a newer set of this client's
   lineage; then `then` (call->step_rc OC_OK when something newer was adopted). */
void oc_call_peek(oc_call *call, oc_cont then);
/* Adopts a copy of a stored set (changed: new to this program); OC_OK or
   the error in call->err. */
oc_code oc_call_adopt_copy(oc_call *call, const oc_token *stored, int changed);
/* Sends call->tr (a refresh, client-credentials or code request) with the
   whole Timeout; its answer is read, saved and adopted, then the call goes
   on at call->after_acquire (a refresh) or call->after_exchange. */
void oc_call_send_token_request(oc_call *call);
/* Saves call->fresh (an answer already read) as a token request's is
   saved, then goes on as oc_call_send_token_request says. */
void oc_call_store_fresh(oc_call *call);
/* Under the lock, the set a full disk kept in memory saved when the store
   still holds the one it replaced; then `then`. */
void oc_call_resave(oc_call *call, oc_cont then);

/* ---- oc_call_login.c ---------------------------------------------------------------- */
/* The login a call that finds no token starts (checks, then the lock, the
   store read again, the login); then `then` with the tokens adopted. */
void oc_call_login_start(oc_call *call, oc_cont then);

/* ---- oc_call_ensure.c --------------------------------------------------------------- */
/* API and token calls: loads, logs in or renews as the token needs, then `then`. */
void oc_call_ensure_token(oc_call *call, oc_cont then);

#endif
