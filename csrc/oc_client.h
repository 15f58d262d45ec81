/*
 * oc_client: the opaque handle a program holds, in libcurl's shape: create it
 * from properties and a provider profile, connect (obtain a usable token as
 * InitiateOAuth says), then perform signed requests. Tokens are refreshed
 * before they expire and after a 401, under the store's lock, and a rotated
 * refresh token is persisted before the new access token is used.
 *
 * The decisions are the engine's (oc_call.h); the blocking functions below
 * (oc_easy.c) run it with libcurl, the C stores and sleeps. A client is used
 * by one thread at a time.
 */
#ifndef OC_CLIENT_H
#define OC_CLIENT_H

#include <stddef.h>

#include <curl/curl.h>

#include "oc_config.h"
#include "oc_error.h"
#include "oc_http.h"
#include "oc_kv.h"
#include "oc_profile.h"
#include "oc_store.h"
#include "oc_token.h"

/* Explicit limits: an API response body unless the request sets its own;
   requests in one batch. */
enum { OC_API_RESPONSE_MAX = 64 * 1024 * 1024, OC_MAX_IN_FLIGHT = 32 };

typedef struct oc_client oc_client;

typedef struct oc_api_request {
    const char *method;                /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *target;                /* path under URL, or an absolute URL of the API's origin */
    const oc_kv *query;                /* appended to the URL; may be NULL */
    const struct curl_slist *headers;  /* extra "Name: value" lines; may be NULL */
    const char *body;                  /* NULL: none */
    size_t body_len;
    size_t max_body;                   /* 0: OC_API_RESPONSE_MAX */
} oc_api_request;

/*
 * Checks the properties against the profile (required properties, URLs that
 * may carry tokens) and prepares the client; no network, no login yet.
 * store, when given, is retained and used instead of OAuthSettingsLocation
 * (the Lua binding passes shared memory:// stores this way).
 */
oc_code oc_client_new(const oc_config *cfg, const oc_profile *profile, oc_store *store,
                      oc_client **out, oc_error *err);
void oc_client_free(oc_client *c);

/* ---- blocking: oc_easy.c ---------------------------------------------------------- */

/* Obtains a usable token: the given or stored one, the browser login
   (GETANDREFRESH with nothing stored), and a refresh when one is due. */
oc_code oc_client_connect(oc_client *c, oc_error *err);

/* Performs a signed request; any HTTP status is success here (see
   oc_client_http_error). Same-origin redirects are followed; others refused. */
oc_code oc_client_request(oc_client *c, const oc_api_request *req, oc_response *resp,
                          oc_error *err);

/*
 * Performs n requests at once, each a call of its own run together over
 * parallel kept-alive connections (curl multi), for paging: resps[i],
 * codes[i] and errs[i] are what oc_client_request would give for reqs[i].
 */
oc_code oc_client_request_many(oc_client *c, const oc_api_request *reqs, size_t n,
                               oc_response *resps, oc_code *codes, oc_error *errs, oc_error *err);

/* The current token, refreshed first when due (or always, with force). */
oc_code oc_client_token(oc_client *c, int force_refresh, const oc_token **out, oc_error *err);

/* A request signed with ticket's credentials got a 401: OC_OK when other
   credentials are in place now (see oc_call_rejected). */
oc_code oc_client_rejected(oc_client *c, unsigned ticket, oc_error *err);

/* Runs the login now, whatever is stored, and stores the result. */
oc_code oc_client_login(oc_client *c, oc_error *err);

/* Web flow: the authorization URL for redirect_uri (NULL: CallbackURL),
   with a fresh state and, when the profile takes PKCE, a code verifier
   (kept for the exchange; *verifier NULL without PKCE). */
oc_code oc_client_authorization_url(oc_client *c, const char *redirect_uri, char **url,
                                    char **state, char **verifier, oc_error *err);
/* Web flow: exchanges a code (see oc_exchange in oc_call.h), stores and
   adopts the tokens. */
struct oc_exchange;
oc_code oc_client_exchange_code(oc_client *c, const struct oc_exchange *x, oc_error *err);

/* Removes the stored tokens (logout); with revoke, first asks the server
   to revoke them (RFC 7009; see oc_call_forget for the outcomes). */
oc_code oc_client_forget(oc_client *c, int revoke, oc_error *err);

/* ---- no I/O ------------------------------------------------------------------------ */

/* Why a 401 stands as a request's answer (the advice its error gives). */
typedef enum oc_rejection {
    OC_REJECTED_UNKNOWN,        /* the scheme's own advice */
    OC_REJECTED_NOT_RENEWABLE,  /* no refresh in this mode or for this provider */
    OC_REJECTED_AFTER_REFRESH,  /* the newest token, from this client's own refresh, refused */
    OC_REJECTED_CHURN           /* the store kept moving to newer tokens, each refused */
} oc_rejection;

/* The error for an HTTP answer >= 400: status, a stable code, and the
   provider's own message, naming the method and URL; why says what a 401
   left to do. */
oc_code oc_client_http_error(const oc_client *c, const char *method, const char *target,
                             const oc_response *resp, oc_rejection why, oc_error *err);

/* The token in use, or NULL before one is loaded; refreshes nothing. */
const oc_token *oc_client_current_token(const oc_client *c);

/* The credentials line ("Name: value") a request made now carries, when
   the engine has nothing to do first (the token is loaded and not due; with
   due_ok, when it has not expired: after a due refresh failed, the token
   still works): 1 and *line (NULL for a scheme that sends none, or NTLM's,
   which libcurl makes); 0 when a call must run first. Reads the clock,
   nothing else. */
int oc_client_ready_credentials(const oc_client *c, int64_t now_ms, int due_ok, const char **line);

/* Counts token changes (login, refresh, adoption of another process's
   refresh): the ticket of the credentials in use. */
unsigned oc_client_generation(const oc_client *c);
const char *oc_client_api_url(const oc_client *c);
/* Appends text to out with every secret the client knows (its secret
   properties, credentials inside its addresses, the tokens in use)
   replaced by [REDACTED]: for a server's answer shown in an error. */
void oc_client_redact(const oc_client *c, const char *text, size_t len, oc_buf *out);
/* The verdict on a login callback's parameters whose state the caller has
   checked (the web flow): OC_OK when they carry a code, else the error the
   authorization server sent instead, its words redacted of the secrets
   cfg holds before they are cut (as oc_oauth_check_callback). */
oc_code oc_check_callback_params(const oc_config *cfg, const oc_kv *params, oc_error *err);
/* "METHOD URL" as errors name a request: the URL target resolves to under
   the API base, with no query and no credentials. */
void oc_client_describe_request(const oc_client *c, const char *method, const char *target,
                                char *out, size_t max);
/* What drivers use: the libcurl transport, the store (NULL without one). */
oc_http *oc_client_http(const oc_client *c);
oc_store *oc_client_store(const oc_client *c);
/* Whether AuthScheme is NTLM (a connection, not a request, is authenticated). */
int oc_client_is_ntlm(const oc_client *c);

#endif
