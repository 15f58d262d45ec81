#include "oc_url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "oc_crypto.h"
#include "oc_mem.h"

void oc_url_free(oc_url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof *u);
}

static char *lower_dup(const char *s)
{
    char *d = oc_strdup(s), *p;
    if (d)
        for (p = d; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return d;
}

void oc_url_shown(char *out, size_t max, const char *text)
{
    size_t n = strcspn(text, "?#");
    const char *sep = strstr(text, "://");
    const char *host = sep && (size_t)(sep - text) < n ? sep + 3 : text;
    const char *at = memchr(host, '@', n - (size_t)(host - text));
    const char *slash = memchr(host, '/', n - (size_t)(host - text));
    if (at && (!slash || at < slash)) {
        char tmp[400];
        size_t prefix = (size_t)(host - text);
        snprintf(tmp, sizeof tmp, "%.*s%.*s", (int)prefix, text, (int)(n - (size_t)(at + 1 - text)), at + 1);
        oc_copy_printable(out, max, tmp, strlen(tmp));
        return;
    }
    oc_copy_printable(out, max, text, n);
}

oc_code oc_url_parse(const char *text, const char *property, oc_url *out, oc_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *path = NULL, *port = NULL;
    char shown[300];
    oc_code rc = OC_OK;

    memset(out, 0, sizeof *out);
    oc_url_shown(shown, sizeof shown, text);
    if (!u)
        return oc_fail_nomem(err);
    if (curl_url_set(u, CURLUPART_URL, text, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = oc_fail_property(err, OC_E_BAD_VALUE, property, "%s: '%s' is not an absolute URL",
                              property, shown);
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        rc = oc_fail_property(err, OC_E_BAD_VALUE, property,
                              "%s: '%s' is not an http or https URL", property, shown);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    out->scheme = lower_dup(scheme);
    out->host = lower_dup(host);
    out->path = oc_strdup(path ? path : "/");
    out->port = port ? (unsigned)strtoul(port, NULL, 10) : 0;
    if (!out->scheme || !out->host || !out->path) {
        oc_url_free(out);
        rc = oc_fail_nomem(err);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int oc_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0)
        return 1;
    /* 127.0.0.0/8 in dotted form */
    if (strncmp(host, "127.", 4) == 0) {
        const char *p;
        int dots = 0;
        for (p = host; *p; p++) {
            if (*p == '.')
                dots++;
            else if (!isdigit((unsigned char)*p))
                return 0;
        }
        return dots == 3;
    }
    return 0;
}

oc_code oc_url_check_no_fragment(const char *text, const char *property, oc_error *err)
{
    char shown[300];
    if (!text || !strchr(text, '#'))
        return OC_OK;
    oc_url_shown(shown, sizeof shown, text);
    return oc_fail_property(err, OC_E_BAD_VALUE, property,
                            "%s: '%s' holds a fragment ('#'), which OAuth endpoints and redirect "
                            "URIs must not (RFC 6749 3.1, 3.1.2)",
                            property, shown);
}

oc_code oc_url_check_secure(const char *text, const char *property, oc_error *err)
{
    oc_url u;
    oc_code rc = oc_url_check_no_fragment(text, property, err);
    if (rc != OC_OK || (rc = oc_url_parse(text, property, &u, err)) != OC_OK)
        return rc;
    if (strcmp(u.scheme, "http") == 0 && !oc_host_is_loopback(u.host)) {
        char shown[300];
        oc_url_shown(shown, sizeof shown, text);
        rc = oc_fail_property(err, OC_E_INSECURE_URL, property,
                              "%s: '%s' uses plain http; only https is allowed, except to a "
                              "loopback host (127.0.0.1, ::1, localhost)",
                              property, shown);
    }
    oc_url_free(&u);
    return rc;
}

int oc_url_same_origin(const char *a, const char *b)
{
    oc_url ua, ub;
    int same;
    if (oc_url_parse(a, "URL", &ua, NULL) != OC_OK)
        return 0;
    if (oc_url_parse(b, "URL", &ub, NULL) != OC_OK) {
        oc_url_free(&ua);
        return 0;
    }
    same = strcmp(ua.scheme, ub.scheme) == 0 && strcmp(ua.host, ub.host) == 0 && ua.port == ub.port;
    oc_url_free(&ua);
    oc_url_free(&ub);
    return same;
}

char *oc_url_resolve(const char *base, const char *ref)
{
    CURLU *u = curl_url();
    char *out = NULL, *copy = NULL;
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
        copy = oc_strdup(out);
    curl_free(out);
    curl_url_cleanup(u);
    return copy;
}
