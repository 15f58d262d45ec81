/*
 * The floor: raw libcurl with one reused handle and a fixed Bearer header,
 * doing only what any client must (no JSON, no OAuth). Prints
 *   requests=<n> seconds=<wall> cpu=<user+sys seconds>
 * Usage: floor URL TOKEN N [features]
 * With "features", the same transport options oauthconnect sets (gzip, a
 * User-Agent line, a header callback, a timeout), so a run tells what those
 * cost libcurl apart from what oauthconnect's own code costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    struct curl_slist *h = NULL;
    struct timespec t0, t1;
    char auth[512];
    double cpu0;
    long i, n, status = 0;
    CURL *c;
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s URL TOKEN N [features]\n", argv[0]);
        return 2;
    }
    n = atol(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, argv[1]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    /* No signal handlers around each transfer: what any libcurl program
       that cares about speed (or threads) sets, oauthconnect included. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (argc == 5) {
        h = curl_slist_append(h, "User-Agent: oauthconnect/0");
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    }
    cpu0 = cpu_seconds();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        if (curl_easy_perform(c) != CURLE_OK)
            return 1;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("requests=%ld seconds=%.6f cpu=%.6f\n", n,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, cpu_seconds() - cpu0);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return 0;
}
