#include "oc_retry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

/* Explicit limit: no hint makes us wait longer than a day (it is capped
   again by RetryMaxWait). */
#define WAIT_CEILING_MS INT64_C(86400000)

int oc_method_is_idempotent(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
           strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0;
}

int oc_status_is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int64_t clamp_wait(int64_t ms)
{
    if (ms < 0)
        return 0;
    return ms > WAIT_CEILING_MS ? WAIT_CEILING_MS : ms;
}

/* A server's number of seconds as a wait: past the ceiling it is the
   ceiling, before the multiplication could overflow. */
static int64_t seconds_wait(int64_t s)
{
    return s > WAIT_CEILING_MS / 1000 ? WAIT_CEILING_MS : clamp_wait(s * 1000);
}

int64_t oc_parse_time_ms(const char *text)
{
    int y, mo, d, h, mi, s, n = 0;
    struct tm tm;
    const char *rest;
    time_t t;
    int64_t ms = 0, offset = 0;

    if (!text)
        return -1;
    while (isspace((unsigned char)*text))
        text++;
    if (sscanf(text, "%4d-%2d-%2d%*[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 && n > 0) {
        rest = text + n;
        if (*rest == '.') { /* fraction: milliseconds, the rest ignored */
            int digits = 0;
            rest++;
            while (isdigit((unsigned char)*rest)) {
                if (digits < 3) {
                    ms = ms * 10 + (*rest - '0');
                    digits++;
                }
                rest++;
            }
            while (digits++ < 3)
                ms *= 10;
        }
        while (*rest == ' ')
            rest++;
        if (*rest == '+' || *rest == '-') {
            int oh = 0, om = 0;
            int sign = *rest == '-' ? -1 : 1;
            if (sscanf(rest + 1, "%2d:%2d", &oh, &om) < 1 && sscanf(rest + 1, "%2d%2d", &oh, &om) < 1)
                return -1;
            offset = sign * ((int64_t)oh * 3600 + om * 60);
        } else if (*rest && *rest != 'Z' && strncasecmp(rest, "UTC", 3) != 0 &&
                   strncasecmp(rest, "GMT", 3) != 0) {
            return -1;
        }
        memset(&tm, 0, sizeof tm);
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = s;
        t = timegm(&tm);
        return ((int64_t)t - offset) * 1000 + ms;
    }
    t = curl_getdate(text, NULL); /* RFC 9110 HTTP-date and its older forms */
    if (t == (time_t)-1 || (int64_t)t < 0)
        return -1;
    return (int64_t)t > INT64_MAX / 1000 ? INT64_MAX : (int64_t)t * 1000; /* the ceiling, later */
}

/* A whole number in text, or -1; strtoll saturates at INT64_MAX. */
static int64_t whole(const char *text)
{
    char *end;
    long long v;
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    v = strtoll(text, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    return *end ? -1 : (int64_t)v;
}

/* Looks a header up by name in any case. */
static const char *header(const oc_response *r, const char *name, size_t len)
{
    char lname[96];
    size_t i;
    if (len >= sizeof lname)
        return NULL;
    for (i = 0; i < len; i++)
        lname[i] = (char)tolower((unsigned char)name[i]);
    lname[len] = '\0';
    return oc_response_header(r, lname);
}

/* Reads a header value as a wait: kind "ms", "s" or "date". */
static int64_t wait_from(const char *value, const char *kind, size_t klen, int64_t now_ms)
{
    int64_t v;
    if (!value)
        return -1;
    if (klen == 4 && strncmp(kind, "date", 4) == 0) {
        v = oc_parse_time_ms(value);
        return v < 0 ? -1 : clamp_wait(v - now_ms);
    }
    if ((v = whole(value)) < 0)
        return -1;
    return klen == 1 && kind[0] == 's' ? seconds_wait(v) : clamp_wait(v);
}

int64_t oc_retry_wait_ms(const oc_response *r, const oc_profile *p, int64_t now_ms)
{
    const char *ra = oc_response_header(r, "retry-after"), *list;
    int64_t v;
    if (ra) {
        if ((v = whole(ra)) >= 0)
            return seconds_wait(v);
        if ((v = oc_parse_time_ms(ra)) >= 0)
            return clamp_wait(v - now_ms);
    }
    /* "Name=kind,Name2=kind2" */
    for (list = p ? p->wait_headers : NULL; list && *list;) {
        size_t n = strcspn(list, ","), eq = strcspn(list, "=");
        if (eq < n) {
            const char *value = header(r, list, eq);
            if ((v = wait_from(value, list + eq + 1, n - eq - 1, now_ms)) >= 0)
                return v;
        }
        list += n + (list[n] == ',');
    }
    return -1;
}

/* Walks the profile's quota_headers ("Remaining=window_ms" or
   "Remaining=@ResetMsHeader"): for each quota the answer shows spent, the
   window it counts in (*window, the largest) or the wait its reset header
   names (*reset, the largest). Returns whether any is spent. */
static int spent_quotas(const oc_response *r, const oc_profile *p, int64_t now_ms, int64_t *window,
                        int64_t *reset)
{
    const char *list;
    int spent = 0;
    *window = 0;
    *reset = -1;
    for (list = p ? p->quota_headers : NULL; list && *list;) {
        size_t n = strcspn(list, ","), eq = strcspn(list, "=");
        if (eq < n && whole(header(r, list, eq)) == 0) {
            const char *hint = list + eq + 1;
            size_t hlen = n - eq - 1;
            int64_t w;
            spent = 1;
            if (hlen && *hint == '@') {
                w = wait_from(header(r, hint + 1, hlen - 1), "ms", 2, now_ms);
                if (w > *reset)
                    *reset = w;
            } else {
                char num[24];
                if (hlen >= sizeof num)
                    hlen = sizeof num - 1;
                memcpy(num, hint, hlen);
                num[hlen] = '\0';
                if ((w = whole(num)) > *window)
                    *window = clamp_wait(w);
            }
        }
        list += n + (list[n] == ',');
    }
    return spent;
}

int oc_quota_spent(const oc_response *r, const oc_profile *p)
{
    int64_t window, reset;
    return spent_quotas(r, p, 0, &window, &reset);
}

/* A uniform random wait in [0, max_ms]: processes that learn of the same
   spent quota do not all come back at the same moment. */
static int64_t jitter(int64_t max_ms)
{
    return oc_backoff_ms(1, max_ms, max_ms);
}

int64_t oc_quota_wait_ms(const oc_response *r, const oc_profile *p, int64_t now_ms, int *probes)
{
    int64_t window, reset, named, wait, probe;
    const char *date;
    if (!spent_quotas(r, p, now_ms, &window, &reset)) {
        *probes = 0;
        return 0;
    }
    /* A wait the answer names (Retry-After, a reset time) is exact. */
    if ((named = oc_retry_wait_ms(r, p, now_ms)) >= 0)
        return named;
    if (reset >= 0)
        return reset;
    if (window <= 1000)
        return window;
    /* Quotas count in windows; most servers (Jumpseller's among them) use
       calendar ones, which end at the next whole minute of the server's
       clock: its Date says when that is, whatever this machine's clock says.
       Past that, a server counting in sliding windows is probed, backing
       off, never left a whole window to guess. */
    wait = window;
    date = oc_response_header(r, "date");
    if (*probes == 0 && date && INT64_C(3600000) % window == 0) {
        int64_t server_ms = oc_parse_time_ms(date);
        if (server_ms >= 0)
            wait = window - server_ms % window;
    } else {
        probe = INT64_C(1000) << (*probes < 6 ? *probes : 6);
        if (probe < wait)
            wait = probe;
    }
    ++*probes;
    wait += jitter(1000);
    return clamp_wait(wait < window ? wait : window);
}

int oc_retry_status(long status, const char *method, const oc_profile *p, const oc_response *r)
{
    if (status == 429)
        return 1;
    if (status == 403 && p && p->rate_limit_403)
        /* Only a 403 that says when to come back (Retry-After, the ban's
           reset time) or that the quota is spent is a rate limit; any other
           403 is a real refusal. */
        return oc_retry_wait_ms(r, p, 0) >= 0 || oc_quota_spent(r, p);
    if (status == 502 || status == 503 || status == 504)
        return oc_method_is_idempotent(method);
    return 0;
}

int64_t oc_retry_backoff_ms(long status, int attempt, int64_t cap_ms)
{
    return oc_backoff_ms(attempt, status == 429 || status == 403 ? 1000 : 250, cap_ms);
}

int64_t oc_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms)
{
    uint64_t r = 0;
    int64_t ceiling = base_ms;
    int i;
    for (i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (ceiling <= 0)
        return 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        r = (uint64_t)rand();
    return (int64_t)(r % (uint64_t)(ceiling + 1));
}
