/*
 * oc_retry: when to try a request again and how long to wait first, from
 * the answer's own hints (Retry-After, the providers' rate-limit headers) or
 * exponential backoff with full jitter. Pure functions, no I/O.
 */
#ifndef OC_RETRY_H
#define OC_RETRY_H

#include <stdint.h>

#include "oc_http.h"
#include "oc_profile.h"

/* The wait an answer asks for before the next try, in ms from now_ms:
   Retry-After (seconds or HTTP date) or a header of the profile's
   wait_headers. -1 when it names none. */
int64_t oc_retry_wait_ms(const oc_response *r, const oc_profile *p, int64_t now_ms);

/* Whether the answer shows a quota spent (a quota_headers header is 0). */
int oc_quota_spent(const oc_response *r, const oc_profile *p);

/* The wait before the next request when the answer shows a quota spent:
   the wait it names (Retry-After, a reset header) when it names one; a
   window of a second or less whole; a longer one until its end by the
   server's Date (windows are calendar ones), or when *probes > 0 (that
   many answers in a row showed a long window spent) a probe backing off
   from 1 s, never longer than the window. *probes counts this answer, or
   goes back to 0 when no quota is spent. 0 when no quota is spent. */
int64_t oc_quota_wait_ms(const oc_response *r, const oc_profile *p, int64_t now_ms, int *probes);

/* Whether status should be retried for method: 429 always (and 403 when the
   profile says its server signals rate limits that way and the answer shows
   a spent quota or a Retry-After); 502, 503 and 504 for idempotent methods. */
int oc_retry_status(long status, const char *method, const oc_profile *p, const oc_response *r);

int oc_method_is_idempotent(const char *method);
int oc_status_is_redirect(long status);

/* Full jitter: a uniform random wait in [0, min(cap, base * 2^(attempt-1))]. */
int64_t oc_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms);

/* The backoff after an answer with status (0: no answer, a network failure)
   that named no wait: rate limits count in windows of a second or more
   (Jumpseller per second, Keap per minute), so a 429 or rate-limit 403
   backs off from 1 s; a 5xx or a failure in transit from 250 ms. */
int64_t oc_retry_backoff_ms(long status, int attempt, int64_t cap_ms);

/* Parses an HTTP date or an ISO 8601 / "YYYY-MM-DD HH:MM:SS UTC" time to ms
   since the epoch; -1 when it is neither. */
int64_t oc_parse_time_ms(const char *text);

#endif
