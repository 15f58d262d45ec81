/*
 * The client's insides, shared by its files: oc_client.c (set-up),
 * oc_client_auth.c (the token in use: adopting one, when it is due, the
 * stored set's checks), oc_client_request.c (URLs and headers of signed
 * requests), oc_client_secrets.c and oc_api_error.c (HTTP error messages),
 * and by the engine (oc_call*.c) and the blocking driver (oc_easy.c). Nothing
 * here performs I/O or waits.
 */
#ifndef OC_CLIENT_INTERNAL_H
#define OC_CLIENT_INTERNAL_H

#include "oc_buf.h"
#include "oc_client.h"
#include "oc_discovery.h"
#include "oc_log.h"
#include "oc_oauth.h"
#include "oc_settings.h"

typedef enum oc_mode { OC_MODE_OFF, OC_MODE_GETANDREFRESH, OC_MODE_REFRESH } oc_mode;

typedef enum oc_scheme {
    OC_SCHEME_OAUTH,
    OC_SCHEME_OAUTH_CLIENT,
    OC_SCHEME_BASIC,
    OC_SCHEME_APIKEY,
    OC_SCHEME_NONE,
    OC_SCHEME_NTLM
} oc_scheme;

struct oc_client {
    oc_config *cfg;
    oc_profile *profile;
    oc_scheme scheme;
    oc_mode mode;
    oc_store *store;                /* NULL: the token lives in this client only */
    const char *store_where;        /* the store, as messages name it (NULL without one) */
    oc_http *http;
    oc_log *log;                    /* NULL unless Logfile is set */
    oc_flow flow;                   /* points into cfg, profile and disc */
    const char *discovery_url;      /* OAuthDiscoveryURL or the profile's, or NULL */
    oc_discovery disc;              /* the server's metadata once read (disc.url NULL before) */
    int device_grant;               /* OAuthGrantType=DEVICE_CODE */
    const char *api_template;       /* URL or the profile's, may hold {StoreId} */
    char *api_url;                  /* resolved, no trailing '/'; NULL until StoreId is known */
    char seed[65];                  /* fingerprint of OAuthAccessToken/OAuthRefreshToken, or "" */
    oc_token_meta meta;             /* what stored tokens must be for to be used (and seed) */
    int64_t leeway_s;
    int64_t timeout_ms;
    int64_t login_timeout_ms;
    oc_token token;
    char token_hash[65];            /* SHA-256 hex of token.access_token, or "": what a request carried */
    int64_t ready_until_ms;         /* when the token in use becomes due (oc_client_refresh_due) */
    int loaded;                     /* the first token was looked for (oc_call_load_initial) */
    int found;                      /* ... and one was found */
    int unsaved;                    /* token is newer than the store (a save failed) */
    char unsaved_over[65];          /* SHA-256 of the refresh token the unsaved set replaced */
    unsigned generation;            /* counts token changes: a request's ticket */
    unsigned own_generation;        /* the generation this client's own last renewal made */
    int64_t not_before_ms;          /* a spent rate-limit quota: send nothing before */
    int quota_probes;               /* spent-quota answers in a row (the probe backs off) */
    char spent_refresh[65];         /* SHA-256 of the refresh token refused with invalid_grant, or "" */
    oc_error spent_err;             /* ... and the server's answer, reported again without resending */
    struct oc_call *lock_owner;     /* the call holding the client's lock (single flight in-process) */
    unsigned failed_refreshes;      /* refreshes the token endpoint failed, and the last one's error */
    oc_error failed_refresh_err;
    /* The lines every request carries (Accept, User-Agent, credentials),
       built once per token; body_headers adds "Expect:" for requests with
       a body. Two lists, for libcurl scans its custom headers several times
       a request and each line costs bodiless requests some 2,000
       instructions. */
    struct oc_header_lines *lines;  /* the current ones (NULL before any) */
    const char *credentials_line;   /* the credentials in lines, or NULL */
};

const char *oc_client_title(const oc_client *c);
/* A warning the user must see: to Logfile when there is one, else one line
   on stderr (no secret is ever formatted into it). */
void oc_client_warn(const oc_client *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Whether the scheme works with OAuth tokens (OAUTH, OAUTH_CLIENT). */
int oc_client_uses_tokens(const oc_client *c);
/* The endpoint from property p or the profile's fallback, checked secure. */
oc_code oc_client_endpoint(const oc_client *c, oc_prop p, const char *fallback, const char **out,
                           oc_error *err);
/* The OAuth endpoints: each from its property, else the discovery document,
   else the profile. */
typedef enum oc_endpoint { OC_EP_AUTHORIZE, OC_EP_TOKEN, OC_EP_DEVICE, OC_EP_REVOKE } oc_endpoint;
/* Sets the endpoint in c->flow, checked secure; none is OC_E_MISSING_PROPERTY
   naming its property (and the discovery document that lacks it). */
oc_code oc_client_oauth_endpoint(oc_client *c, oc_endpoint which, oc_error *err);
/* Whether the endpoint in c->flow is the discovery document's. */
int oc_client_endpoint_discovered(const oc_client *c, oc_endpoint which);
/* Whether the metadata must be read (again) before an endpoint is chosen:
   a discovery URL, and no document or one older than a day. */
int oc_client_discovery_due(const oc_client *c, int64_t now_ms);
/* Adopts a metadata document (moved in): its PKCE and client
   authentication methods where the server states them. */
void oc_client_adopt_discovery(oc_client *c, oc_discovery *d);
/* Whether the login sends a PKCE challenge. */
int oc_client_pkce(const oc_client *c);
oc_code oc_client_need(const oc_client *c, oc_prop p, const char *why, oc_error *err);
/* The lines every request carries, with and without a body: shared by the
   requests in flight, which hold them until they are done (a refresh may
   make new ones meanwhile, under another request of a batch). */
typedef struct oc_header_lines {
    int refs;
    struct curl_slist *plain;
    struct curl_slist *body;
} oc_header_lines;
/* A reference to the current lines (NULL before any), for a request. */
oc_header_lines *oc_client_hold_lines(oc_client *c);
void oc_client_release_lines(oc_header_lines *lines);
/* (Re)builds the header list every request carries; credentials may be NULL. */
oc_code oc_client_set_auth_headers(oc_client *c, const char *credentials, oc_error *err);
/* Fills api_url from the template, StoreId or the token; error when the
   template needs a StoreId nobody gave. */
oc_code oc_client_resolve_api_url(oc_client *c, oc_error *err);
void oc_client_free_auth_headers(oc_client *c);
/* The client's header list for a request with or without a body. */
const struct curl_slist *oc_client_base_headers(const oc_client *c, int has_body);

/* oc_client_auth.c */
/* The store a token was issued for: the member the profile names
   (BigCommerce's "context": "stores/abc123"), in buf; NULL when it has none. */
const char *oc_client_token_store_id(const oc_client *c, const oc_token *t, char *buf, size_t max);
/* Whether a stored set (doc) may be used by this client: an error when it is
   for another provider, API, token endpoint, client or store (tokens never
   go to another server). *lineage: the set descends from this client's token
   properties (or there are none); a set from before new properties is not. */
oc_code oc_client_check_stored(const oc_client *c, const oc_settings *doc, int *lineage,
                               oc_error *err);
/* The token set the properties give (OAuthAccessToken, ...). */
oc_code oc_client_token_from_properties(const oc_client *c, oc_token *t, oc_error *err);
/* Whether the token should be renewed before the next request (never with
   InitiateOAuth=OFF, where the caller owns the token). */
int oc_client_refresh_due(const oc_client *c, int64_t now_ms);
/* Whether a failed renewal of a token that was only due leaves the request
   free to go on: the current token still works and the server did not
   refuse the refresh token. */
int oc_client_can_outlive(const oc_client *c, oc_code refresh_rc, int64_t now_ms);
/* Adopts t (moved in): builds the header list every request carries.
   changed: new to this program (issued, or renewed by another process), not
   merely loaded at start-up; it bumps the generation. */
oc_code oc_client_adopt(oc_client *c, oc_token *t, int changed, oc_error *err);
/* How long a call waits for the store's lock: twice Timeout and 10 s (a
   refresh holding it takes at most a Timeout), plus LoginTimeout for a login. */
int64_t oc_client_lock_timeout(const oc_client *c, int with_login);
/* Whether the server could give other credentials after a 401: a refresh
   (or a new client-credentials token) is possible in this mode. */
int oc_client_can_renew(const oc_client *c);
/* The advice a 401 that cannot be answered with new credentials gets. */
void oc_client_unrenewable_advice(const oc_client *c, oc_error *err);

/* oc_client_secrets.c */
/* Every secret the properties hold: the OC_PF_SECRET ones, the credentials
   inside address properties (user:password@), Basic pairs as base64. */
void oc_client_property_secrets(const oc_config *cfg, struct oc_secrets *s);
/* Every secret the client knows (see oc_client_redact), and extra's
   tokens; free with oc_secrets_free. */
void oc_client_secrets(const oc_client *c, const oc_token *extra, struct oc_secrets *s);
/* err's message with every secret the client knows (the properties', the
   tokens in use, extra's) replaced: what leaves the client never quotes a
   secret, even one a server or libcurl wrote into its words. */
void oc_client_scrub_error(const oc_client *c, const oc_token *extra, oc_error *err);

/* oc_client_request.c */
/* The absolute URL for target under the API base; tokens go only to the API's origin. */
oc_code oc_client_build_url(const oc_client *c, const char *target, const oc_kv *query, oc_buf *url,
                            oc_error *err);
/* The client's header lines (see oc_client_base_headers), minus those extra
   overrides, then extra's. */
oc_code oc_client_merge_headers(const oc_client *c, int has_body, const struct curl_slist *extra,
                                struct curl_slist **out, oc_error *err);

#endif
