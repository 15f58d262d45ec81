/*
 * Signed requests: the URL under the API base (never another origin), the
 * credentials header, same-origin redirects, and one refresh-and-retry
 * after a 401.
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

oc_code oc_client_request(oc_client *c, const oc_api_request *req, oc_response *resp,
                          oc_error *err)
{
    oc_call *call;
    oc_code rc;
    /* The browser login, when it is needed, only happens here: blocking. */
    if (!c->loaded && (rc = oc_client_connect(c, err)) != OC_OK)
        return rc;
    if ((rc = oc_call_api(c, req, resp, &call, err)) == OC_OK)
        rc = oc_client_run(c, call, err);
    oc_call_free(call);
    return rc;
}

/* Whether an answer needs the single-request path (refresh after 401,
   retries, redirects) rather than being final. */
static int needs_single_path(const oc_client *c, const oc_request *r, oc_code code,
                             const oc_response *resp)
{
    if (code != OC_OK)
        return code == OC_E_NETWORK || code == OC_E_TIMEOUT;
    return resp->status == 401 || oc_status_is_redirect(resp->status) ||
           oc_retry_status(resp->status, r->method, c->profile, resp);
}

oc_code oc_client_request_many(oc_client *c, const oc_api_request *reqs, size_t n,
                               oc_response *resps, oc_code *codes, oc_error *errs, oc_error *err)
{
    oc_request *rs = NULL;
    oc_buf *urls = NULL;
    struct curl_slist **merged = NULL;
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT, 60) * 1000, wait;
    size_t i;
    oc_code rc;

    if (n > OC_MAX_IN_FLIGHT)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "at most %d requests at once", OC_MAX_IN_FLIGHT);
    if (!c->loaded && (rc = oc_client_connect(c, err)) != OC_OK)
        return rc;
    if (oc_client_uses_tokens(c) && !c->token.access_token && (rc = oc_client_refresh(c, NULL, err)) != OC_OK)
        return rc;
    if ((rc = oc_client_refresh_if_due(c, err)) != OC_OK)
        return rc;
    if (!c->api_url && (rc = oc_client_resolve_api_url(c, err)) != OC_OK)
        return rc;
    if (!(rs = calloc(n ? n : 1, sizeof *rs)) || !(urls = calloc(n ? n : 1, sizeof *urls)) ||
        !(merged = calloc(n ? n : 1, sizeof *merged))) {
        rc = oc_fail_nomem(err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        oc_buf_init(&urls[i], 0);
        if ((rc = oc_client_build_url(c, reqs[i].target, reqs[i].query, &urls[i], err)) != OC_OK ||
            (reqs[i].headers &&
             (rc = oc_client_merge_headers(c, reqs[i].body != NULL, reqs[i].headers, &merged[i], err)) != OC_OK))
            goto out;
        rs[i].method = reqs[i].method;
        rs[i].url = urls[i].data;
        rs[i].headers = merged[i] ? merged[i] : oc_client_base_headers(c, reqs[i].body != NULL);
        rs[i].body = reqs[i].body;
        rs[i].body_len = reqs[i].body_len;
        rs[i].max_body = reqs[i].max_body ? reqs[i].max_body : OC_API_RESPONSE_MAX;
    }
    if ((wait = c->not_before_ms - oc_now_ms()) > 0) /* a spent quota: waited out first */
        oc_sleep_ms(wait < max_wait ? wait : max_wait);
    if ((rc = oc_http_perform_many(c->http, rs, n, resps, codes, errs, err)) != OC_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if (codes[i] == OC_OK && (wait = oc_quota_wait_ms(&resps[i], c->profile, oc_now_ms())) > 0)
            c->not_before_ms = oc_now_ms() + wait;
    }
    /* Anything that is not a final answer goes through the single-request
       path, which refreshes after a 401 (once: later ones see the new
       token), retries and follows same-origin redirects. */
    for (i = 0; i < n; i++) {
        if (!needs_single_path(c, &rs[i], codes[i], &resps[i]))
            continue;
        oc_error_clear(&errs[i]);
        codes[i] = oc_client_request(c, &reqs[i], &resps[i], &errs[i]);
    }
out:
    for (i = 0; urls && i < n; i++)
        oc_buf_free(&urls[i]);
    for (i = 0; merged && i < n; i++)
        oc_http_free_headers(merged[i]);
    free(merged);
    free(urls);
    free(rs);
    return rc;
}
