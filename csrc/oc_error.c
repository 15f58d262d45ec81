#include "oc_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[] = {
#define OC_ERROR_NAME(name, code, text) code,
    OC_ERROR_LIST(OC_ERROR_NAME)
#undef OC_ERROR_NAME
};

static const char *const code_texts[] = {
#define OC_ERROR_TEXT(name, code, text) text,
    OC_ERROR_LIST(OC_ERROR_TEXT)
#undef OC_ERROR_TEXT
};

const char *oc_code_name(oc_code code)
{
    if ((unsigned)code >= OC_E__COUNT)
        return "unknown_error";
    return code_names[code];
}

const char *oc_strerror(oc_code code)
{
    if ((unsigned)code >= OC_E__COUNT)
        return "unknown error";
    return code_texts[code];
}

void oc_error_clear(oc_error *err)
{
    /* Not a memset of the whole struct: every request clears several, and
       the strings are only ever read up to their first NUL. */
    if (err) {
        err->code = OC_OK;
        err->status = 0;
        err->property[0] = err->oauth_error[0] = err->message[0] = '\0';
    }
}

static void vfill(oc_error *err, oc_code code, const char *fmt, va_list ap)
{
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
}

oc_code oc_fail(oc_error *err, oc_code code, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    va_start(ap, fmt);
    vfill(err, code, fmt, ap);
    va_end(ap);
    return code;
}

oc_code oc_fail_property(oc_error *err, oc_code code, const char *property, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    snprintf(err->property, sizeof err->property, "%s", property ? property : "");
    va_start(ap, fmt);
    vfill(err, code, fmt, ap);
    va_end(ap);
    return code;
}

oc_code oc_fail_nomem(oc_error *err)
{
    return oc_fail(err, OC_E_NOMEM, "out of memory");
}

void oc_error_append(oc_error *err, const char *text)
{
    size_t len;
    if (!err)
        return;
    len = strlen(err->message);
    snprintf(err->message + len, sizeof err->message - len, "%s", text);
}

void oc_error_prefix(oc_error *err, const char *fmt, ...)
{
    char prefix[256];
    size_t plen, mlen;
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    strcat(prefix, ": ");
    plen = strlen(prefix);
    mlen = strlen(err->message);
    /* Shift the message right, cutting its end if the whole does not fit. */
    if (plen + mlen >= sizeof err->message)
        mlen = sizeof err->message - 1 - plen;
    memmove(err->message + plen, err->message, mlen);
    memcpy(err->message, prefix, plen);
    err->message[plen + mlen] = '\0';
}

void oc_copy_printable(char *dst, size_t max, const char *text, size_t len)
{
    size_t i, n = 0;
    if (max == 0)
        return;
    for (i = 0; i < len && n + 1 < max; i++) {
        unsigned char c = (unsigned char)text[i];
        dst[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[n] = '\0';
}
