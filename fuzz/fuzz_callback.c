/* libFuzzer target: the query of a request reaching the redirect URI, and a
   code given by hand (pasted, or OAuthVerifier). Only the exact state may
   pass where one is required, none or the exact one where the server never
   sends it, and a pass always has a code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oc_login.h"
#include "oc_oauth.h"

#define STATE "expected-state-123"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(const char *query, size_t size, oc_state_rule rule)
{
    oc_kv params = OC_KV_INIT;
    oc_error err;
    oc_error_clear(&err);
    if (oc_oauth_callback(query, size, STATE, rule, NULL, &params, &err) == OC_OK) {
        const char *state = oc_kv_get(&params, "state"), *code = oc_kv_get(&params, "code");
        if ((!state && rule == OC_STATE_REQUIRED) || (state && strcmp(state, STATE) != 0) || !code ||
            !*code)
            __builtin_trap();
    }
    oc_kv_free(&params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_kv params = OC_KV_INIT;
    oc_error err;
    char *text;
    judge((const char *)data, size, OC_STATE_REQUIRED);
    judge((const char *)data, size, OC_STATE_IF_SENT);
    if (!(text = malloc(size + 1)))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    oc_error_clear(&err);
    if (oc_login_take_code(text, NULL, OC_STATE_UNCHECKED, &params, &err) == OC_OK) {
        const char *code = oc_kv_get(&params, "code");
        if (!code || !*code)
            __builtin_trap();
    }
    oc_kv_free(&params);
    free(text);
    return 0;
}
