#include "oc_discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_mem.h"
#include "oc_url.h"

#define PROPERTY "OAuthDiscoveryURL"

static const char WK_OAUTH[] = "/.well-known/oauth-authorization-server";
static const char WK_OIDC[] = "/.well-known/openid-configuration";

void oc_discovery_init(oc_discovery *d)
{
    memset(d, 0, sizeof *d);
    d->pkce_s256 = d->auth_basic = d->auth_post = d->auth_none = OC_SAID_NOT;
}

void oc_discovery_clear(oc_discovery *d)
{
    free(d->url);
    free(d->issuer);
    free(d->authorization_endpoint);
    free(d->token_endpoint);
    free(d->device_authorization_endpoint);
    free(d->revocation_endpoint);
    json_decref(d->document);
    oc_discovery_init(d);
}

int oc_discovery_stale(const oc_discovery *d, int64_t now_ms)
{
    return now_ms - d->fetched_at_ms >= OC_DISCOVERY_TTL_MS || d->fetched_at_ms - now_ms >= OC_DISCOVERY_TTL_MS;
}

/* Whether path (length n) begins with the segment seg, followed by its end or '/'. */
static int starts_with_segment(const char *path, size_t n, const char *seg)
{
    size_t k = strlen(seg);
    return n >= k && memcmp(path, seg, k) == 0 && (n == k || path[k] == '/');
}

/* Whether path (length n) ends with the segment seg. */
static int ends_with_segment(const char *path, size_t n, const char *seg)
{
    size_t k = strlen(seg);
    return n >= k && memcmp(path + n - k, seg, k) == 0;
}

oc_code oc_discovery_expected_issuer(const char *url, char **out, oc_error *err)
{
    const char *sep = strstr(url, "://"), *auth, *path, *end;
    size_t origin_len, n;
    char *issuer;

    *out = NULL;
    if (!sep)
        return oc_fail_property(err, OC_E_BAD_VALUE, PROPERTY, "%s is not an absolute URL", PROPERTY);
    auth = sep + 3;
    path = auth + strcspn(auth, "/?#");
    end = path + strcspn(path, "?#");
    origin_len = (size_t)(path - url);
    n = (size_t)(end - path);
    if (!(issuer = malloc(origin_len + n + 1)))
        return oc_fail_nomem(err);
    memcpy(issuer, url, origin_len);
    /* RFC 8414 3.1 inserts the segment between the host and the issuer's
       path; OpenID Connect Discovery 4.1 appends it to the path. */
    if (starts_with_segment(path, n, WK_OAUTH)) {
        memcpy(issuer + origin_len, path + strlen(WK_OAUTH), n - strlen(WK_OAUTH));
        issuer[origin_len + n - strlen(WK_OAUTH)] = '\0';
    } else if (starts_with_segment(path, n, WK_OIDC)) {
        memcpy(issuer + origin_len, path + strlen(WK_OIDC), n - strlen(WK_OIDC));
        issuer[origin_len + n - strlen(WK_OIDC)] = '\0';
    } else if (ends_with_segment(path, n, WK_OIDC)) {
        memcpy(issuer + origin_len, path, n - strlen(WK_OIDC));
        issuer[origin_len + n - strlen(WK_OIDC)] = '\0';
    } else if (ends_with_segment(path, n, WK_OAUTH)) {
        memcpy(issuer + origin_len, path, n - strlen(WK_OAUTH));
        issuer[origin_len + n - strlen(WK_OAUTH)] = '\0';
    } else {
        issuer[origin_len] = '\0';
    }
    *out = issuer;
    return OC_OK;
}

/* Equal, or equal but for one trailing '/' (an issuer "https://h/" for the
   metadata of https://h, as some servers state it). */
static int same_issuer(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb)
        return strcmp(a, b) == 0;
    if (la == lb + 1 && a[lb] == '/')
        return strncmp(a, b, lb) == 0;
    if (lb == la + 1 && b[la] == '/')
        return strncmp(a, b, la) == 0;
    return 0;
}

/* Whether a URL without a well-known segment may state issuer: one of its
   own origin. */
static int same_origin_issuer(const char *url, const char *issuer)
{
    return oc_url_same_origin(url, issuer);
}

/* An endpoint member: absent is fine, anything but a secure URL is not. */
static oc_code take_endpoint(json_t *doc, const char *member, const char *shown, char **out,
                             oc_error *err)
{
    json_t *v = json_object_get(doc, member);
    char label[480];
    oc_code rc;
    if (!v || json_is_null(v))
        return OC_OK;
    snprintf(label, sizeof label, "%s in the discovery document at %s", member, shown);
    if (!json_is_string(v) || !*json_string_value(v))
        return oc_fail_property(err, OC_E_DISCOVERY, PROPERTY, "%s is not a URL", label);
    if ((rc = oc_url_check_secure(json_string_value(v), label, err)) != OC_OK) {
        err->code = OC_E_DISCOVERY;
        snprintf(err->property, sizeof err->property, "%s", PROPERTY);
        return OC_E_DISCOVERY;
    }
    if (!(*out = oc_strdup(json_string_value(v))))
        return oc_fail_nomem(err);
    return OC_OK;
}

/* A list of strings: whether it holds each of the names (1/0), or all
   OC_SAID_NOT when the member is absent. */
static void take_list(json_t *doc, const char *member, const char *const names[], int *found[])
{
    json_t *list = json_object_get(doc, member), *v;
    size_t i, k;
    for (k = 0; names[k]; k++)
        *found[k] = json_is_array(list) ? 0 : OC_SAID_NOT;
    json_array_foreach(list, i, v) {
        for (k = 0; names[k]; k++)
            if (json_is_string(v) && strcmp(json_string_value(v), names[k]) == 0)
                *found[k] = 1;
    }
}

/* Checks a parsed document fetched from url and fills out (taking a
   reference to doc). */
static oc_code from_document(const char *url, json_t *doc, int64_t fetched_at_ms, oc_discovery *out,
                             oc_error *err)
{
    static const char *const pkce_names[] = { "S256", NULL };
    static const char *const auth_names[] = { "client_secret_basic", "client_secret_post", "none", NULL };
    char shown[400], *expected = NULL;
    const char *issuer;
    oc_discovery d;
    oc_code rc;

    oc_discovery_init(&d);
    oc_url_shown(shown, sizeof shown, url);
    if (!json_is_object(doc))
        return oc_fail_property(err, OC_E_DISCOVERY, PROPERTY,
                                "the discovery document at %s is not a JSON object", shown);
    issuer = json_string_value(json_object_get(doc, "issuer"));
    if (!issuer || !*issuer)
        return oc_fail_property(err, OC_E_DISCOVERY, PROPERTY,
                                "the discovery document at %s states no issuer (RFC 8414 2)", shown);
    if ((rc = oc_discovery_expected_issuer(url, &expected, err)) != OC_OK)
        return rc;
    if (strstr(url, "/.well-known/") == NULL ? !same_origin_issuer(url, issuer)
                                             : !same_issuer(issuer, expected)) {
        char stated[300]; /* as stated, query and all: an issuer holds no secret */
        oc_copy_printable(stated, sizeof stated, issuer, strlen(issuer));
        rc = oc_fail_property(err, OC_E_DISCOVERY, PROPERTY,
                              "the discovery document at %s states the issuer %s, but a document "
                              "fetched there must state %s (RFC 8414 3.3); it is not used",
                              shown, stated, expected);
        free(expected);
        return rc;
    }
    free(expected);
    if (!(d.url = oc_strdup(url)) || !(d.issuer = oc_strdup(issuer))) {
        rc = oc_fail_nomem(err);
        goto fail;
    }
    if ((rc = take_endpoint(doc, "authorization_endpoint", shown, &d.authorization_endpoint, err)) != OC_OK ||
        (rc = take_endpoint(doc, "token_endpoint", shown, &d.token_endpoint, err)) != OC_OK ||
        (rc = take_endpoint(doc, "device_authorization_endpoint", shown,
                            &d.device_authorization_endpoint, err)) != OC_OK ||
        (rc = take_endpoint(doc, "revocation_endpoint", shown, &d.revocation_endpoint, err)) != OC_OK)
        goto fail;
    {
        int *pkce[] = { &d.pkce_s256 };
        int *auth[] = { &d.auth_basic, &d.auth_post, &d.auth_none };
        take_list(doc, "code_challenge_methods_supported", pkce_names, pkce);
        take_list(doc, "token_endpoint_auth_methods_supported", auth_names, auth);
    }
    d.fetched_at_ms = fetched_at_ms;
    d.document = json_incref(doc);
    oc_discovery_clear(out);
    *out = d;
    return OC_OK;
fail:
    oc_discovery_clear(&d);
    return rc;
}

oc_code oc_discovery_read(const char *url, long status, const char *body, size_t len,
                          int64_t now_ms, oc_discovery *out, oc_error *err)
{
    char shown[400];
    json_error_t jerr;
    json_t *doc;
    oc_code rc;

    oc_url_shown(shown, sizeof shown, url);
    if (status < 200 || status > 299) {
        rc = oc_fail_property(err, status == 404 ? OC_E_NOT_FOUND : OC_E_DISCOVERY, PROPERTY,
                              "the discovery document at %s could not be fetched: HTTP %ld", shown,
                              status);
        err->status = status;
        return rc;
    }
    if (!(doc = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr)))
        return oc_fail_property(err, OC_E_DISCOVERY, PROPERTY,
                                "the discovery document at %s is not JSON (at byte %d)", shown,
                                jerr.position);
    rc = from_document(url, doc, now_ms, out, err);
    json_decref(doc);
    return rc;
}

json_t *oc_discovery_to_cache(const oc_discovery *d)
{
    return json_pack("{s:s, s:I, s:I, s:O}", "url", d->url, "fetched_at_ms", (json_int_t)d->fetched_at_ms,
                     "next_fetch_ms", (json_int_t)d->next_fetch_ms, "document", d->document);
}

oc_code oc_discovery_from_cache(const json_t *cache, const char *url, oc_discovery *out,
                                oc_error *err)
{
    json_t *doc = json_object_get(cache, "document");
    const char *cached_url = json_string_value(json_object_get(cache, "url"));
    json_t *at = json_object_get(cache, "fetched_at_ms");
    json_t *next = json_object_get(cache, "next_fetch_ms");
    oc_code rc;
    if (!cached_url || strcmp(cached_url, url) != 0 || !json_is_integer(at) || !doc)
        return oc_fail(err, OC_E_NOT_FOUND, "no discovery document is cached for this URL");
    if ((rc = from_document(url, doc, (int64_t)json_integer_value(at), out, err)) == OC_OK)
        out->next_fetch_ms = json_is_integer(next) ? (int64_t)json_integer_value(next) : 0;
    return rc;
}
