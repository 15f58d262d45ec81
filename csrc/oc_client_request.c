/*
 * What a signed request is made of: the URL under the API base (never
 * another origin) and the header lines. The engine (oc_call.c) sends it.
 */
#include "oc_client_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oc_buf.h"
#include "oc_call.h"
#include "oc_crypto.h"
#include "oc_retry.h"
#include "oc_time.h"
#include "oc_url.h"

static int has_forbidden_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Length of a "/v<digits>" segment at s, or 0. */
static size_t version_segment(const char *s)
{
    size_t n = 2;
    if (s[0] != '/' || s[1] != 'v' || !isdigit((unsigned char)s[2]))
        return 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    return n;
}

/* The base a target goes under. A target that starts with its own API
   version ("/v2/orders") replaces the base's trailing one (".../v3"), so
   every version of an API is reachable from one URL. Only a segment of
   the base's path: "https://v1" is a host, which no target may change. */
static size_t base_length(const char *base, const char *target)
{
    size_t len = strlen(base), tv = version_segment(target), i, path;
    const char *sep = strstr(base, "://");
    if (!tv || target[tv] != '/' || !sep)
        return len;
    path = (size_t)(sep + 3 - base);
    path += strcspn(base + path, "/"); /* the path starts after the authority */
    for (i = len; i > path && base[i - 1] != '/'; i--)
        ;
    if (i > path && version_segment(base + i - 1) == len - (i - 1))
        return i - 1;
    return len;
}

oc_code oc_client_build_url(const oc_client *c, const char *target, const oc_kv *query, oc_buf *url,
                            oc_error *err)
{
    int absolute = strncasecmp(target, "https://", 8) == 0 || strncasecmp(target, "http://", 7) == 0;
    char shown[300];
    if (has_forbidden_chars(target)) {
        oc_copy_printable(shown, sizeof shown, target, strlen(target));
        return oc_fail(err, OC_E_INVALID_ARGUMENT,
                       "the request path '%s' holds a space or control character; encode it",
                       shown);
    }
    if (absolute) {
        if (!oc_url_same_origin(target, c->api_url)) {
            char api[400];
            oc_url_shown(shown, sizeof shown, target);
            oc_url_shown(api, sizeof api, c->api_url);
            return oc_fail(err, OC_E_ORIGIN,
                           "refusing to send the %s token to %s: it goes only to the API origin "
                           "of %s (URL)",
                           oc_client_title(c), shown, api);
        }
        if (oc_buf_puts(url, target))
            return oc_fail_nomem(err);
    } else if (oc_buf_append(url, c->api_url, base_length(c->api_url, target)) ||
               (target[0] != '/' && oc_buf_puts(url, "/")) || oc_buf_puts(url, target)) {
        return oc_fail_nomem(err);
    }
    if (query && query->n) {
        oc_buf q;
        int bad;
        oc_buf_init(&q, 0);
        bad = oc_form_append_all(&q, query) ||
              oc_buf_puts(url, strchr(url->data, '?') ? "&" : "?") ||
              oc_buf_append(url, q.data ? q.data : "", q.len);
        oc_buf_free(&q);
        if (bad)
            return oc_fail_nomem(err);
    }
    return OC_OK;
}

void oc_client_describe_request(const oc_client *c, const char *method, const char *target,
                                char *out, size_t max)
{
    /* Built as the request built it ("/v2/..." under a ".../v3" base names
       the v2 URL); a target it refuses is named as given. */
    oc_buf url;
    oc_buf_init(&url, 0);
    if (oc_client_build_url(c, target, NULL, &url, NULL) == OC_OK && url.data)
        oc_describe_request(out, max, method, url.data);
    else
        oc_describe_request(out, max, method, target);
    oc_buf_free(&url);
}

/* Header name of a "Name: value" line equals name (case-insensitive). */
static int header_is(const char *line, const char *name, size_t nlen)
{
    return strncasecmp(line, name, nlen) == 0 && line[nlen] == ':';
}

oc_code oc_client_merge_headers(const oc_client *c, int has_body, const struct curl_slist *extra,
                                struct curl_slist **out, oc_error *err)
{
    struct curl_slist *list = NULL, *n;
    const struct curl_slist *h, *e;
    for (e = extra; e; e = e->next) {
        if (strchr(e->data, '\r') || strchr(e->data, '\n') || !strchr(e->data, ':'))
            return oc_fail(err, OC_E_INVALID_ARGUMENT,
                           "a request header must be one 'Name: value' line");
    }
    for (h = oc_client_base_headers(c, has_body); h; h = h->next) {
        size_t nlen = strcspn(h->data, ":");
        int overridden = 0;
        for (e = extra; e && !overridden; e = e->next)
            overridden = header_is(e->data, h->data, nlen);
        if (overridden)
            continue;
        if (!(n = curl_slist_append(list, h->data)))
            goto nomem;
        list = n;
    }
    for (e = extra; e; e = e->next) {
        if (!(n = curl_slist_append(list, e->data)))
            goto nomem;
        list = n;
    }
    *out = list;
    return OC_OK;
nomem:
    oc_http_free_headers(list);
    return oc_fail_nomem(err);
}
