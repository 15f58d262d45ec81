/* When an answer is retried and how long the wait is: pure functions. */
#include <stdlib.h>

#include "oc_retry.h"
#include "oc_test.h"

#define NOW INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */

static oc_profile *jumpseller_like(void)
{
    oc_profile *p = oc_profile_new();
    oc_error err;
    CHECK(p != NULL);
    CHECK_INT(oc_profile_set(p, "wait_headers", "Jumpseller-BannedByRateLimit-Reset=date", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "quota_headers", "Jumpseller-PerSecondRateLimit-Remaining=1000", &err),
              OC_OK);
    CHECK_INT(oc_profile_set(p, "rate_limit_403", "true", &err), OC_OK);
    return p;
}

static void add(oc_response *r, const char *name, const char *value)
{
    CHECK_INT(oc_response_add_header(r, name, strlen(name), value, strlen(value)), 0);
}

OC_TEST(a_403_is_a_rate_limit_only_when_it_says_so)
{
    oc_profile *p = jumpseller_like();
    oc_response r;
    oc_response_init(&r);
    CHECK_INT(oc_retry_status(403, "GET", p, &r), 0); /* a scope 403 */
    add(&r, "Jumpseller-BannedByRateLimit-Reset", "2023-11-14T22:13:25Z");
    CHECK_INT(oc_retry_status(403, "POST", p, &r), 1);
    CHECK_INT(oc_retry_wait_ms(&r, p, NOW), 5000);
    oc_response_reset(&r);
    add(&r, "Jumpseller-PerSecondRateLimit-Remaining", "0");
    CHECK_INT(oc_retry_status(403, "GET", p, &r), 1);
    {
        int probes = 0;
        CHECK_INT(oc_quota_wait_ms(&r, p, NOW, &probes), 1000);
    }
    /* without the profile's word, a 403 is never retried */
    CHECK_INT(oc_retry_status(403, "GET", NULL, &r), 0);
    oc_response_free(&r);
    oc_profile_free(p);
}

OC_TEST(retry_after_in_seconds_or_as_a_date)
{
    oc_response r;
    oc_response_init(&r);
    add(&r, "Retry-After", "7");
    CHECK_INT(oc_retry_wait_ms(&r, NULL, NOW), 7000);
    oc_response_reset(&r);
    add(&r, "Retry-After", "Tue, 14 Nov 2023 22:13:22 GMT");
    CHECK_INT(oc_retry_wait_ms(&r, NULL, NOW), 2000);
    oc_response_reset(&r);
    add(&r, "Retry-After", "soon");
    CHECK_INT(oc_retry_wait_ms(&r, NULL, NOW), -1);
    oc_response_free(&r);
}

OC_TEST(idempotent_methods_only_for_5xx)
{
    CHECK_INT(oc_retry_status(503, "GET", NULL, NULL), 1);
    CHECK_INT(oc_retry_status(503, "PUT", NULL, NULL), 1);
    CHECK_INT(oc_retry_status(503, "POST", NULL, NULL), 0);
    CHECK_INT(oc_retry_status(429, "POST", NULL, NULL), 1);
    CHECK_INT(oc_retry_status(500, "GET", NULL, NULL), 0);
}

/* Full jitter stays in [0, ceiling]; a rate limit's ceiling starts at 1 s
   and a 5xx's at 250 ms, so across many draws the 429 ones pass 250 ms. */
OC_TEST(backoff_ceilings_by_cause)
{
    int64_t most_429 = 0, most_503 = 0, w;
    int i;
    for (i = 0; i < 200; i++) {
        w = oc_retry_backoff_ms(429, 1, 60000);
        CHECK(w >= 0 && w <= 1000);
        if (w > most_429)
            most_429 = w;
        w = oc_retry_backoff_ms(503, 1, 60000);
        CHECK(w >= 0 && w <= 250);
        if (w > most_503)
            most_503 = w;
        w = oc_retry_backoff_ms(429, 3, 60000);
        CHECK(w >= 0 && w <= 4000);
        CHECK(oc_retry_backoff_ms(429, 30, 1500) <= 1500);
    }
    CHECK(most_429 > 250);
    CHECK(most_503 > 0);
}

/* A spent per-minute quota with no reset header: the wait ends at the
   server's next whole minute (its Date, not this machine's clock), then
   probes back off from a second, never past the window. */
OC_TEST(a_spent_minute_quota_waits_for_the_servers_minute_then_probes)
{
    oc_profile *p = oc_profile_new();
    oc_response r;
    oc_error err;
    int probes = 0, i;
    int64_t w;
    CHECK_INT(oc_profile_set(p, "quota_headers",
                             "Jumpseller-PerSecondRateLimit-Remaining=1000,"
                             "Jumpseller-PerMinuteRateLimit-Remaining=60000", &err), OC_OK);
    oc_response_init(&r);
    add(&r, "Jumpseller-PerMinuteRateLimit-Remaining", "0");
    add(&r, "Jumpseller-PerSecondRateLimit-Remaining", "3");
    /* the server's clock reads :52 while this machine's (NOW) reads :20 */
    add(&r, "Date", "Tue, 14 Nov 2023 22:13:52 GMT");
    CHECK(oc_quota_spent(&r, p));
    w = oc_quota_wait_ms(&r, p, NOW, &probes);
    CHECK(w >= 8000 && w <= 9000);
    CHECK_INT(probes, 1);
    w = oc_quota_wait_ms(&r, p, NOW, &probes); /* still spent at the boundary: a sliding window */
    CHECK(w >= 2000 && w <= 3000);
    for (i = 0; i < 10; i++)
        CHECK(oc_quota_wait_ms(&r, p, NOW, &probes) <= 60000);
    /* a Retry-After is exact and wins */
    add(&r, "Retry-After", "3");
    CHECK_INT(oc_quota_wait_ms(&r, p, NOW, &probes), 3000);
    /* a quota with room again starts the probing over */
    oc_response_reset(&r);
    add(&r, "Jumpseller-PerMinuteRateLimit-Remaining", "12");
    CHECK_INT(oc_quota_wait_ms(&r, p, NOW, &probes), 0);
    CHECK_INT(probes, 0);
    oc_response_free(&r);
    oc_profile_free(p);
}

/* Waits a server names beyond any sense (or beyond int64 milliseconds)
   are the day-long ceiling, never an overflow (UBSan: signed integer
   overflow) that wraps to no wait at all. */
OC_TEST(huge_waits_are_clamped_not_overflowed)
{
    static const char *const huge[] = { "99999999999999999", "9223372036854775807",
                                        "99999999999999999999999", "9223372036854776" };
    oc_profile *p = oc_profile_new();
    oc_response r;
    oc_error err;
    size_t i;
    CHECK_INT(oc_profile_set(p, "wait_headers", "X-Wait-S=s,X-Wait-Ms=ms,X-Reset=date", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "quota_headers", "X-Remaining=@X-Reset-Ms", &err), OC_OK);
    oc_response_init(&r);
    for (i = 0; i < sizeof huge / sizeof *huge; i++) {
        oc_response_reset(&r);
        add(&r, "Retry-After", huge[i]);
        CHECK_INT(oc_retry_wait_ms(&r, NULL, NOW), 86400000);
        oc_response_reset(&r);
        add(&r, "X-Wait-S", huge[i]);
        CHECK_INT(oc_retry_wait_ms(&r, p, NOW), 86400000);
        oc_response_reset(&r);
        add(&r, "X-Wait-Ms", huge[i]);
        CHECK_INT(oc_retry_wait_ms(&r, p, NOW), 86400000);
        oc_response_reset(&r);
        add(&r, "X-Remaining", "0");
        add(&r, "X-Reset-Ms", huge[i]);
        {
            int probes = 0;
            CHECK_INT(oc_quota_wait_ms(&r, p, NOW, &probes), 86400000);
        }
    }
    /* a date past what time_t milliseconds hold */
    oc_response_reset(&r);
    add(&r, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT");
    CHECK_INT(oc_retry_wait_ms(&r, NULL, NOW), 86400000);
    oc_response_reset(&r);
    add(&r, "X-Reset", "Sun, 06 Nov 292277026596 08:49:37 GMT");
    CHECK(oc_retry_wait_ms(&r, p, NOW) == 86400000 || oc_retry_wait_ms(&r, p, NOW) == -1);
    oc_response_free(&r);
    oc_profile_free(p);
}
