/* libFuzzer target: the query of a request reaching the redirect URI. Only
   the exact state may pass, and a pass always has a code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oc_oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_kv params = OC_KV_INIT;
    oc_error err;
    oc_error_clear(&err);
    if (oc_oauth_callback((const char *)data, size, "expected-state-123", &params, &err) == OC_OK) {
        const char *state = oc_kv_get(&params, "state"), *code = oc_kv_get(&params, "code");
        if (!state || strcmp(state, "expected-state-123") != 0 || !code || !*code)
            __builtin_trap();
    }
    oc_kv_free(&params);
    return 0;
}
