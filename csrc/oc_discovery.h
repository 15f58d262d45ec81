/*
 * oc_discovery: an authorization server's metadata (RFC 8414, OpenID
 * Connect Discovery 1.0), without I/O: the issuer a metadata URL must
 * name, the document read and checked, and its cached form in the
 * settings document. The engine fetches it (oc_call_discovery.c).
 */
#ifndef OC_DISCOVERY_H
#define OC_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oc_error.h"

/* How long a fetched document is used before it is fetched again. */
#define OC_DISCOVERY_TTL_MS INT64_C(86400000)
/* The largest metadata document read. */
enum { OC_DISCOVERY_MAX = 256 * 1024 };

/* Values the document may leave unsaid. */
enum { OC_SAID_NOT = -1 };

typedef struct oc_discovery {
    char *url;                     /* where it was fetched from */
    char *issuer;
    char *authorization_endpoint;  /* each NULL when the document names none */
    char *token_endpoint;
    char *device_authorization_endpoint;
    char *revocation_endpoint;
    int pkce_s256;                 /* code_challenge_methods_supported holds S256: 1, lacks it: 0,
                                      absent: OC_SAID_NOT */
    int auth_basic, auth_post, auth_none; /* token_endpoint_auth_methods_supported: 1/0 each,
                                             OC_SAID_NOT when absent */
    int64_t fetched_at_ms;         /* wall clock */
    int64_t next_fetch_ms;         /* a failed fetch of a newer one: not before then (0: any time) */
    json_t *document;              /* the document as fetched, for the cache */
} oc_discovery;

void oc_discovery_init(oc_discovery *d);
void oc_discovery_clear(oc_discovery *d);

/* Whether d was fetched more than OC_DISCOVERY_TTL_MS ago (or, by a clock
   set back, "later" than that from now). */
int oc_discovery_stale(const oc_discovery *d, int64_t now_ms);

/* The issuer identifier a document fetched from url must state (RFC 8414
   3.1 and 3.3; OpenID Connect Discovery 4.1): the well-known segment taken
   out of the path, query and fragment dropped. A URL without a well-known
   segment expects an issuer of its own origin. malloc'd into *out. */
oc_code oc_discovery_expected_issuer(const char *url, char **out, oc_error *err);

/* Reads a metadata answer fetched from url: a 2xx JSON object whose issuer
   matches (a trailing '/' aside) and whose endpoints are https (http only
   to loopback hosts). Errors are OC_E_DISCOVERY naming url (and both
   issuers on a mismatch), with property OAuthDiscoveryURL. */
oc_code oc_discovery_read(const char *url, long status, const char *body, size_t len,
                          int64_t now_ms, oc_discovery *out, oc_error *err);

/* The cache member of the settings document ({"url", "fetched_at_ms",
   "next_fetch_ms", "document"}), a new reference, or NULL when out of memory. */
json_t *oc_discovery_to_cache(const oc_discovery *d);
/* Reads a cache member back for url, checked as a fetched document is.
   OC_E_NOT_FOUND when it is for another URL or absent. */
oc_code oc_discovery_from_cache(const json_t *cache, const char *url, oc_discovery *out,
                                oc_error *err);

#endif
