/* libFuzzer target: the settings-file loader (the text of a settings file). */
#include <stdint.h>
#include <string.h>

#include "oc_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_token t;
    oc_token_meta meta;
    oc_error err;
    memset(&meta, 0, sizeof meta);
    oc_token_init(&t);
    oc_error_clear(&err);
    if (oc_token_from_settings((const char *)data, size, "settings file", &t, &meta, &err) == OC_OK) {
        json_t *back;
        oc_token again;
        /* a set holds an access token, or a refresh token to get one */
        if (!t.access_token && !t.refresh_token)
            __builtin_trap();
        /* what loads must save again, and what is saved load again */
        if (!(back = oc_token_to_json(&t, &meta)))
            __builtin_trap();
        oc_token_init(&again);
        if (oc_token_from_json(back, &again, NULL, "settings file", &err) != OC_OK)
            __builtin_trap();
        oc_token_clear(&again);
        json_decref(back);
    }
    oc_token_clear(&t);
    oc_token_meta_clear(&meta);
    return 0;
}
