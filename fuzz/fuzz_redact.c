#define _GNU_SOURCE
/* libFuzzer target: the log redactor. Whatever the body, a registered
   secret never survives it. */
#include <stdint.h>
#include <string.h>

#include "oc_redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "S3cr3tT0k3nValue";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_secrets s = { NULL, 0, 0, 0 };
    oc_buf out;
    oc_secrets_add(&s, secret);
    oc_buf_init(&out, 0);
    oc_redact_body(&out, (const char *)data, size, &s);
    if (out.data && strstr(out.data, secret))
        __builtin_trap();
    oc_buf_reset(&out);
    oc_redact_header(&out, (const char *)data, size, &s);
    if (out.data && memmem(out.data, out.len, secret, sizeof secret - 1))
        __builtin_trap();
    oc_buf_free(&out);
    oc_secrets_free(&s);
    return 0;
}
