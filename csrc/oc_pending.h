/*
 * oc_pending: the logins started by a client that keeps no store (no
 * OAuthSettingsLocation), kept in this process for the exchange that ends
 * them. Clients with a store keep them in it (oc_settings.h), where other
 * processes and workers find them too.
 */
#ifndef OC_PENDING_H
#define OC_PENDING_H

#include <stdint.h>

#include "oc_error.h"

/* Keeps a login of app (a fingerprint of the client id and token
   endpoint): its state (hashed), verifier (may be NULL), redirect URI. */
oc_code oc_pending_put(const char *app, const char *state, const char *verifier,
                       const char *redirect_uri, int64_t now_ms, oc_error *err);

/* Takes (and forgets) the login for state, or with state NULL the only
   one for redirect_uri: *verifier and *redirect_uri malloc'd (NULL when
   it had none), *found 0 when there is none; OC_E_CONFLICT when several
   are pending for redirect_uri and no state says which. */
oc_code oc_pending_take(const char *app, const char *state, const char *redirect_uri,
                        int64_t now_ms, char **verifier, char **redirect, int *found,
                        oc_error *err);

#endif
