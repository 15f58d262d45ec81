#include "oc_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oc_redact.h"

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

/* A byte a token may hold: RFC 6750's b64token, percent-encoding, UTF-8. */
static int word_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '%';
}

size_t oc_text_cut(const char *text, size_t len, size_t room)
{
    static const char marker[] = OC_REDACTED;
    size_t k, m = sizeof marker - 1, start;
    if (len <= room)
        return len;
    k = room;
    /* a marker the cut falls in goes whole */
    for (start = k > m - 1 ? k - (m - 1) : 0; start < k; start++)
        if (start + m <= len && memcmp(text + start, marker, m) == 0) {
            k = start;
            break;
        }
    while (k > 0 && word_byte((unsigned char)text[k - 1]) && word_byte((unsigned char)text[k]))
        k--;
    return k;
}

/* Cuts the message in place to at most max-1 bytes ending in "...". */
static void cut_message(char *msg, size_t len, size_t max)
{
    size_t keep = oc_text_cut(msg, len, max - 4);
    memcpy(msg + keep, "...", 4);
}

static void vfill(oc_error *err, oc_code code, const char *fmt, va_list ap)
{
    int n;
    err->code = code;
    n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    if (n >= (int)sizeof err->message) /* the bytes past the cut are lost: the buffer's last is the NUL */
        cut_message(err->message, sizeof err->message - 1, sizeof err->message);
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
    size_t len, tlen;
    if (!err)
        return;
    len = strlen(err->message);
    tlen = strlen(text);
    if (len + tlen < sizeof err->message) {
        memcpy(err->message + len, text, tlen + 1);
    } else if (len + 4 <= sizeof err->message) {
        size_t keep = oc_text_cut(text, tlen, sizeof err->message - 4 - len);
        memcpy(err->message + len, text, keep);
        memcpy(err->message + len + keep, "...", 4);
    }
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
    if (plen + mlen >= sizeof err->message) {
        mlen = oc_text_cut(err->message, mlen, sizeof err->message - 4 - plen);
        memmove(err->message + plen, err->message, mlen);
        memcpy(err->message + plen + mlen, "...", 4);
    } else {
        memmove(err->message + plen, err->message, mlen);
        err->message[plen + mlen] = '\0';
    }
    memcpy(err->message, prefix, plen);
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
