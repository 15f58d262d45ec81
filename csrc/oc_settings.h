/*
 * oc_settings: the document a store keeps for one connection, as text the
 * store never looks inside: the token set and what it is for, the logins
 * this library started and has not finished (their PKCE verifiers), and the
 * server's discovered metadata. Every store (file, memory, Redis, nginx's
 * shared dict, a user's own) holds this text; the engine parses it, changes
 * it and hands it back with the text it replaces (compare-and-set).
 *
 * The token members sit at the top level, as in the settings files of
 * earlier versions (format "oauthconnect-settings-1"), so those still load.
 */
#ifndef OC_SETTINGS_H
#define OC_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oc_error.h"
#include "oc_token.h"

/* Explicit limits: a stored document, and the logins kept pending in it. */
enum { OC_SETTINGS_MAX = 1024 * 1024, OC_PENDING_MAX = 64 };
/* How long a login started by get_authorization_url stays redeemable. */
#define OC_PENDING_TTL_MS INT64_C(600000)

typedef struct oc_pending {
    char key[65];         /* SHA-256 hex of the login's state */
    char *verifier;       /* its PKCE code verifier; NULL without PKCE */
    char *redirect_uri;   /* the redirect URI that login named */
    int64_t expires_at_ms;
} oc_pending;

typedef struct oc_settings {
    int has_token;
    oc_token token;
    oc_token_meta meta;
    oc_pending *pending;  /* npending of them, room for cap (NULL: none); most documents hold
                             none, and a call carries a document, so they are not inline */
    size_t npending, cap;
    json_t *discovery;    /* {"url", "fetched_at_ms", "document"}, or NULL */
} oc_settings;

void oc_settings_init(oc_settings *s);
/* Frees and wipes everything s owns; leaves it initialised. */
void oc_settings_clear(oc_settings *s);

/* Reads a stored document; where names the store in messages. Empty or
   corrupt text is an OC_E_SETTINGS error that never quotes it (a store
   that holds nothing is not read at all). */
oc_code oc_settings_parse(const char *text, size_t len, const char *where, oc_settings *out,
                          oc_error *err);
/* The document as text (malloc'd, a secret: free with oc_free_secret), or
   NULL when out of memory. */
char *oc_settings_dump(const oc_settings *s, size_t *len);

/* Replaces the token set and its meta (copied). */
oc_code oc_settings_set_token(oc_settings *s, const oc_token *t, const oc_token_meta *meta,
                              oc_error *err);
void oc_settings_drop_token(oc_settings *s);

/* Drops the pending logins that expired by now_ms. */
void oc_settings_prune(oc_settings *s, int64_t now_ms);
/* Records a login: state (hashed, not kept), verifier (may be NULL), the
   redirect URI. The oldest goes when OC_PENDING_MAX are kept. */
oc_code oc_settings_add_pending(oc_settings *s, const char *state, const char *verifier,
                                const char *redirect_uri, int64_t now_ms, oc_error *err);
/* The pending login for state, or -1. */
int oc_settings_find_pending(const oc_settings *s, const char *state);
/* How many pending logins name redirect_uri; *index the last of them. */
size_t oc_settings_count_pending(const oc_settings *s, const char *redirect_uri, int *index);
void oc_settings_remove_pending(oc_settings *s, int index);

#endif
