/*
 * oc_token: a token set, as the token endpoint gives it and as the settings
 * store keeps it.
 */
#ifndef OC_TOKEN_H
#define OC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oc_error.h"

/* Explicit limits on what a token endpoint may send back. */
enum {
    OC_TOKEN_RESPONSE_MAX = 1024 * 1024, /* bytes of a token response body */
    OC_TOKEN_STRING_MAX = 64 * 1024      /* bytes of one token string */
};

typedef struct oc_token {
    char *access_token;
    char *refresh_token;  /* NULL when the server gave none */
    char *token_type;     /* "Bearer" unless the server said otherwise */
    char *scope;          /* granted scope, NULL when not reported */
    int64_t expires_in;   /* seconds as given; -1 when the token does not expire */
    int64_t obtained_ms;  /* local wall clock when it was received (OAuthTokenTimestamp) */
    int64_t expires_at_ms;/* obtained_ms + expires_in * 1000; 0 when it does not expire */
    int64_t created_at;   /* the server's created_at (s since epoch), 0 when absent */
    json_t *extra;        /* the response's other members (context, user, ...), or NULL */
} oc_token;

void oc_token_init(oc_token *t);
/* Frees (and wipes) everything the token owns; leaves it initialised. */
void oc_token_clear(oc_token *t);
oc_code oc_token_copy(oc_token *dst, const oc_token *src, oc_error *err);
/* Moves src into dst (clearing dst first); src is left initialised. */
void oc_token_move(oc_token *dst, oc_token *src);

/* Whether the token should be refreshed at now_ms: within leeway_s of its
   expiry, the leeway capped at a quarter of the token's lifetime. */
int oc_token_due(const oc_token *t, int64_t now_ms, int64_t leeway_s);
/* The moment oc_token_due starts to hold (INT64_MIN without an access
   token, INT64_MAX without an expiry). */
int64_t oc_token_due_at(const oc_token *t, int64_t leeway_s);
int oc_token_expired(const oc_token *t, int64_t now_ms);

/*
 * Parses a successful token endpoint answer (RFC 6749 5.1) into out.
 * previous, when given, supplies the refresh token and scope a refresh answer
 * may omit (RFC 6749 6). endpoint names the URL in messages. Never leaks token text
 * into err.
 */
oc_code oc_token_parse_response(const char *body, size_t len, const char *endpoint,
                                int64_t now_ms, const oc_token *previous, oc_token *out,
                                oc_error *err);

/* A refresh answer refused by oc_token_parse_response may still carry a
   valid new refresh_token, and the server has spent the old one: out is
   previous with that token (OC_OK), so it can be stored rather than lost.
   OC_E_NOT_FOUND when the body holds no new one. */
oc_code oc_token_salvage_refresh(const char *body, size_t len, const oc_token *previous,
                                 oc_token *out);

/*
 * The token endpoint's error answer (RFC 6749 5.2) as an oc_error: fills
 * err->oauth_error and a message with error_description, each redacted of
 * the known secrets (NULL: none) before it is cut. Used for any non-2xx
 * answer, including ones that are not JSON.
 */
struct oc_secrets;
oc_code oc_token_error_response(long status, const char *body, size_t len, const char *ctype,
                                const char *what, const char *endpoint,
                                const struct oc_secrets *known, oc_error *err);

/*
 * What a stored token set is for, kept beside it: tokens are only ever used
 * with the provider, API and token endpoint they were issued for, and the
 * seed (a fingerprint of the OAuthAccessToken/OAuthRefreshToken properties
 * the lineage started from) tells a stored descendant from stale properties.
 */
typedef struct oc_token_meta {
    char *provider;
    char *api_url;   /* the API URL (template) the tokens are for */
    char *token_url; /* the endpoint that issued them; NULL when unknown */
    char *client_id; /* the client they were issued to (RFC 6749 6); NULL when unknown */
    char *seed;      /* NULL when the lineage did not start from properties */
} oc_token_meta;

void oc_token_meta_clear(oc_token_meta *m);
oc_code oc_token_meta_copy(oc_token_meta *dst, const oc_token_meta *src, oc_error *err);

/* The settings form this version writes and reads (oc_settings.h). */
#define OC_SETTINGS_FORMAT "oauthconnect-settings-1"

/* Settings-file form: a JSON object with the token's fields and the meta. */
json_t *oc_token_to_json(const oc_token *t, const oc_token_meta *meta);
/* meta may be NULL when the caller does not want it. */
oc_code oc_token_from_json(const json_t *obj, oc_token *out, oc_token_meta *meta, const char *where,
                           oc_error *err);
/* Reads a settings document (the text of a settings file); where names it
   in messages. Corrupt text is an OC_E_SETTINGS error saying so. */
oc_code oc_token_from_settings(const char *text, size_t len, const char *where, oc_token *out,
                               oc_token_meta *meta, oc_error *err);

#endif
