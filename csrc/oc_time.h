/* Wall-clock and monotonic milliseconds. Token expiry is wall-clock (it is
   persisted and shared between processes); timeouts are monotonic. */
#ifndef OC_TIME_H
#define OC_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t oc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same from the clock the kernel last ticked (a few ms behind, and
   cheaper): for checks made per request that a few ms do not change, such
   as whether a token is due. */
static inline int64_t oc_now_coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t oc_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void oc_sleep_ms(int64_t ms);
/* Sleeps up to ms; 0 when a signal cut it short. */
int oc_sleep_ms_once(int64_t ms);

#endif
