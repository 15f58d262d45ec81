/* The log: each of redaction's three nets on its own, with secrets the
   log was told of and secrets it was not. */
#include <stdlib.h>

#include "oc_buf.h"
#include "oc_log.h"
#include "oc_test.h"

/* Opens a log at level 5 in a fresh file; *path gets its name. */
static oc_log *open_log(const char *name, char *path, size_t max)
{
    oc_log *log = NULL;
    oc_error err;
    snprintf(path, max, "%s/%s", oc_test_tmpdir(), name);
    CHECK_INT(oc_log_open(path, 5, &log, &err), OC_OK);
    return log;
}

/* The file's text (static; valid until the next call). */
static const char *contents(const char *path)
{
    static char text[16384];
    size_t n;
    FILE *f = fopen(path, "r");
    text[0] = '\0';
    if (!f)
        return text;
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

OC_TEST(lines_lose_every_registered_secret)
{
    char path[600];
    oc_log *log = open_log("lines.log", path, sizeof path);
    oc_log_secret(log, "rt-registered-4711");
    oc_log_secret(log, "a+b/c=");
    oc_logf(log, 1, "refreshing with %s (sent as %s)", "rt-registered-4711", "a%2Bb%2Fc%3D");
    oc_logf(log, 1, "the server said: invalid token a+b/c=");
    oc_log_close(log);
    CHECK_CONTAINS(contents(path), "refreshing with " OC_REDACTED);
    CHECK_NOT_CONTAINS(contents(path), "rt-registered-4711");
    CHECK_NOT_CONTAINS(contents(path), "a%2Bb%2Fc%3D");
    CHECK_NOT_CONTAINS(contents(path), "a+b/c=");
}

OC_TEST(secret_headers_keep_only_their_name)
{
    char path[600];
    oc_log *log = open_log("headers.log", path, sizeof path);
    static const char *lines[] = {
        "Authorization: Bearer never-registered-bearer",
        "set-cookie: session=never-registered-cookie; HttpOnly",
        "X-Auth-Token: never-registered-bc-token",
        "X-Keap-API-Key: never-registered-keap-key",
        "Proxy-Authorization: Digest never-registered-digest",
    };
    size_t i;
    for (i = 0; i < sizeof lines / sizeof *lines; i++)
        oc_log_header(log, 2, "< ", lines[i], strlen(lines[i]));
    oc_log_header(log, 2, "< ", "Content-Type: application/json", 30);
    oc_log_close(log);
    CHECK_CONTAINS(contents(path), "Authorization: " OC_REDACTED);
    CHECK_CONTAINS(contents(path), "Content-Type: application/json");
    CHECK_NOT_CONTAINS(contents(path), "never-registered");
}

OC_TEST(body_secret_fields_are_redacted)
{
    char path[600];
    oc_log *log = open_log("bodies.log", path, sizeof path);
    const char *json = "{\"access_token\":\"never-registered-at\",\"token_type\":\"Bearer\","
                       "\"refresh_token\":\"never-registered-rt\",\"nested\":{\"client_secret\":\"never-registered-cs\"}}";
    const char *form = "grant_type=refresh_token&refresh_token=never-registered-rt2&client_secret=never-registered-cs2";
    oc_log_body(log, 3, "< ", json, strlen(json));
    oc_log_body(log, 3, "> ", form, strlen(form));
    oc_log_close(log);
    CHECK_CONTAINS(contents(path), "token_type");
    CHECK_CONTAINS(contents(path), "grant_type=refresh_token");
    CHECK_NOT_CONTAINS(contents(path), "never-registered");
}
