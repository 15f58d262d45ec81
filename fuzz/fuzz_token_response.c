/* libFuzzer target: the token endpoint's answers. The first byte picks the
   HTTP status, the rest is the body. An accepted token must be one that can
   travel in a header (visible ASCII only); a refusal is one line of text. */
#include <stdint.h>
#include <string.h>

#include "oc_oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 200, 201, 400, 401, 403, 429, 500, 502, 503 };

static void check_token_text(const char *s)
{
    if (!s)
        return;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_token prev, out;
    oc_error err;
    long status;
    if (size < 1)
        return 0;
    status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
    oc_token_init(&prev);
    oc_token_init(&out);
    prev.refresh_token = (char *)"previous-refresh-token";
    oc_error_clear(&err);
    if (oc_oauth_token_result("the token refresh", "https://as.example/token?x=1", status,
                              "application/json", (const char *)data + 1, size - 1, 1000, &prev,
                              NULL, &out, &err) == OC_OK) {
        if (!out.access_token)
            __builtin_trap();
        check_token_text(out.access_token);
        check_token_text(out.refresh_token);
        oc_token_clear(&out);
    } else if (!err.message[0] || strchr(err.message, '\n')) {
        __builtin_trap(); /* every error is one non-empty line */
    }
    return 0;
}
