/*
 * oc_listener: the loopback HTTP listener the browser is redirected to at the
 * end of a desktop login (RFC 8252 7.3), on libmicrohttpd.
 *
 * Single-threaded: libmicrohttpd runs in external-poll mode inside
 * oc_listener_wait. Only requests to the callback path with this login's
 * state count; anything else (favicon, scanners, old tabs, forged requests)
 * gets a 404 or 400 and is otherwise ignored. Slow, silent or oversize
 * clients are cut off by libmicrohttpd's own limits.
 */
#ifndef OC_LISTENER_H
#define OC_LISTENER_H

#include <signal.h>
#include <stdint.h>

#include "oc_error.h"
#include "oc_kv.h"
#include "oc_oauth.h"

typedef struct oc_listener oc_listener;

/* Explicit limits. */
enum {
    OC_LISTENER_CONNECTIONS = 256,          /* at once; more are refused */
    OC_LISTENER_CONNECTION_TIMEOUT_S = 5,   /* a client that sends nothing is dropped */
    OC_LISTENER_REQUEST_MEMORY = 32 * 1024  /* request line + headers; larger gets 414/431 */
};

/* Checks that url is an http URL on 127.0.0.1, [::1] or localhost and starts
   listening on its port (80 when it has none). */
oc_code oc_listener_start(const char *callback_url, oc_listener **out, oc_error *err);
/* The port actually bound. */
unsigned oc_listener_port(const oc_listener *l);
/*
 * Waits up to timeout_ms for a request to the callback path carrying state
 * (as rule says: see oc_state_rule),
 * answers the browser, and returns the callback's verdict
 * (oc_oauth_check_callback): OC_OK with the parameters (code, state, and
 * any others) in params, or the error the server sent. When only requests
 * with another state came, the timeout is reported as OC_E_STATE_MISMATCH.
 */
oc_code oc_listener_wait(oc_listener *l, const char *state, oc_state_rule rule, int64_t timeout_ms,
                         oc_kv *params, oc_error *err);
/* A flag that, once set (by a signal handler: Ctrl-C), ends the wait with
   "the login was interrupted" within half a second. */
void oc_listener_set_cancel(oc_listener *l, const volatile sig_atomic_t *flag);
/* Secrets the server's words in a callback's error are redacted of (see
   oc_oauth_check_callback); kept by pointer until the listener stops. */
struct oc_secrets;
void oc_listener_set_secrets(oc_listener *l, const struct oc_secrets *known);
void oc_listener_stop(oc_listener *l);

/* Whether url is a loopback http URL the listener can serve. */
int oc_is_loopback_callback(const char *url);

#endif
