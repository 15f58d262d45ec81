/*
 * oc_oauth: the OAuth 2 messages, without I/O (RFC 6749, RFC 7636).
 *
 * These functions build the authorization URL and the token endpoint
 * requests, and read the token endpoint's answers. Who carries the request
 * (libcurl in oc_client, nginx cosockets in OpenResty) is not their concern,
 * which also lets them be unit-tested and fuzzed without a network.
 */
#ifndef OC_OAUTH_H
#define OC_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "oc_error.h"
#include "oc_kv.h"
#include "oc_profile.h"
#include "oc_token.h"

typedef struct oc_flow {
    const char *client_id;
    const char *client_secret; /* NULL for a public client */
    const char *authorize_url;
    const char *token_url;
    const char *scope;         /* NULL or "" to send none */
    oc_client_auth code_auth;
    oc_client_auth refresh_auth;
} oc_flow;

/* A token endpoint request, owned: free with oc_token_request_free. */
typedef struct oc_token_request {
    const char *method; /* "POST" */
    char *url;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    oc_client_auth auth; /* how the client's credentials went */
} oc_token_request;

void oc_token_request_free(oc_token_request *r);

/* Rebuilds a form request with the client's credentials sent as to
   (OC_CLIENT_AUTH_BODY or _BASIC) instead, the grant's fields unchanged:
   for a server that refused the first way with invalid_client. A JSON
   request cannot switch (OC_E_INVALID_ARGUMENT). */
oc_code oc_token_request_reauth(const oc_flow *f, oc_token_request *r, oc_client_auth to,
                                oc_error *err);

/* The URL that starts a login (RFC 6749 4.1.1, with RFC 7636 when
   challenge is given). extra holds additional parameters, or NULL. */
oc_code oc_oauth_authorize_url(const oc_flow *f, const char *redirect_uri, const char *state,
                               const char *challenge, const oc_kv *extra, char **out,
                               oc_error *err);

/* grant_type=authorization_code (RFC 6749 4.1.3). verifier and extra may be NULL. */
oc_code oc_oauth_code_request(const oc_flow *f, const char *code, const char *redirect_uri,
                              const char *verifier, const oc_kv *extra, oc_token_request *out,
                              oc_error *err);

/* grant_type=refresh_token (RFC 6749 6). */
oc_code oc_oauth_refresh_request(const oc_flow *f, const char *refresh_token,
                                 oc_token_request *out, oc_error *err);

/* grant_type=client_credentials (RFC 6749 4.4). */
oc_code oc_oauth_client_credentials_request(const oc_flow *f, oc_token_request *out,
                                            oc_error *err);

/*
 * Reads the token endpoint's answer: a token on 2xx, else the OAuth error.
 * what names the operation for messages ("the token refresh"); previous
 * supplies a refresh token the answer may omit; the server's words are
 * redacted of known (NULL: none) before they are cut.
 */
oc_code oc_oauth_token_result(const char *what, const char *token_url, long status,
                              const char *content_type, const char *body, size_t len,
                              int64_t now_ms, const oc_token *previous,
                              const struct oc_secrets *known, oc_token *out, oc_error *err);

/* How a callback's state is judged. */
typedef enum oc_state_rule {
    OC_STATE_REQUIRED, /* it must carry expected_state (RFC 6749 10.12) */
    OC_STATE_IF_SENT,  /* the server never echoes state (BigCommerce's app callback):
                          a state it does send must still match */
    OC_STATE_UNCHECKED /* the login was started elsewhere (OAuthVerifier): its state
                          is not ours to know; expected_state is ignored */
} oc_state_rule;

/*
 * Checks the parameters of a request that reached the redirect URI (RFC 6749
 * 4.1.2): state (compared in constant time) by rule, then the error the
 * authorization server sent (its words redacted of known, which may be
 * NULL, before they are cut), or the presence of a code.
 */
oc_code oc_oauth_check_callback(const oc_kv *params, const char *expected_state, oc_state_rule rule,
                                const struct oc_secrets *known, oc_error *err);
/* The same from a raw query string; params receives every parameter. */
oc_code oc_oauth_callback(const char *query, size_t len, const char *expected_state,
                          oc_state_rule rule, const struct oc_secrets *known, oc_kv *params,
                          oc_error *err);

#endif
