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
    const char *device_url;     /* RFC 8628 device authorization endpoint, or NULL */
    const char *revocation_url; /* RFC 7009 revocation endpoint, or NULL */
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

/* The device authorization grant's type (RFC 8628 3.4). */
#define OC_DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
/* The poll interval when the server names none (RFC 8628 3.2). */
enum { OC_DEVICE_DEFAULT_INTERVAL_S = 5 };

/* The device authorization request to f->device_url (RFC 8628 3.1): the
   client's credentials as for a code exchange, and the scope. */
oc_code oc_oauth_device_request(const oc_flow *f, oc_token_request *out, oc_error *err);

/* The device authorization answer (RFC 8628 3.2), owned: free with
   oc_device_auth_clear. device_code is a secret. */
typedef struct oc_device_auth {
    char *device_code;
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete; /* or NULL */
    int64_t expires_in_s;
    int64_t interval_s;
} oc_device_auth;
void oc_device_auth_clear(oc_device_auth *d);
/* Reads the device authorization endpoint's answer; an error answer is
   read as the token endpoint's are (the server's words redacted of known). */
oc_code oc_oauth_device_result(const char *device_url, long status, const char *content_type,
                               const char *body, size_t len, const struct oc_secrets *known,
                               oc_device_auth *out, oc_error *err);

/* A poll of the token endpoint for a device code (RFC 8628 3.4). */
oc_code oc_oauth_device_token_request(const oc_flow *f, const char *device_code,
                                      oc_token_request *out, oc_error *err);

/* A revocation request to f->revocation_url (RFC 7009 2.1); hint is
   "refresh_token", "access_token" or NULL. */
oc_code oc_oauth_revoke_request(const oc_flow *f, const char *token, const char *hint,
                                oc_token_request *out, oc_error *err);

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
