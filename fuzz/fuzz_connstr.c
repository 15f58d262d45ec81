/* libFuzzer target: the connection-string parser. */
#include <stdint.h>
#include <string.h>

#include "oc_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_config *cfg = oc_config_new();
    oc_error err;
    oc_error_clear(&err);
    if (oc_config_parse(cfg, (const char *)data, size, &err) == OC_OK) {
        int p;
        for (p = 0; p < OC_P__COUNT; p++) /* every value must be readable */
            if (oc_config_get(cfg, (oc_prop)p))
                (void)strlen(oc_config_get(cfg, (oc_prop)p));
    } else if (!err.message[0] || strchr(err.message, '\n')) {
        __builtin_trap(); /* every error is one non-empty line */
    }
    oc_config_free(cfg);
    return 0;
}
