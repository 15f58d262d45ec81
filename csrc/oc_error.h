/*
 * oc_error: error codes and the error record every core call fills.
 *
 * As in libcurl, every fallible call returns an oc_code (OC_OK is 0) and, when
 * given an oc_error, leaves one clear sentence in it. Messages never contain a
 * secret: callers only format non-secret values into them.
 */
#ifndef OC_ERROR_H
#define OC_ERROR_H

#include <stddef.h>

#include "oc_errors.h"

typedef enum oc_code {
#define OC_ERROR_ENUM(name, code, text) OC_E_##name,
    OC_ERROR_LIST(OC_ERROR_ENUM)
#undef OC_ERROR_ENUM
    OC_E__COUNT
} oc_code;

#define OC_OK OC_E_OK

enum { OC_MESSAGE_MAX = 640 };

typedef struct oc_error {
    oc_code code;
    long status;            /* HTTP status that caused it, 0 when none */
    char property[48];      /* connection property at fault, "" when none */
    char oauth_error[64];   /* RFC 6749 error code from the server, "" when none */
    char message[OC_MESSAGE_MAX];
} oc_error;

/* The stable machine-readable name of a code ("unauthorized", ...). */
const char *oc_code_name(oc_code code);
/* A short description of a code, for when there is no oc_error at hand. */
const char *oc_strerror(oc_code code);

void oc_error_clear(oc_error *err);
/* Fills err (when not NULL) and returns code, so callers can `return oc_fail(...)`.
   Keeps err->status, property and oauth_error as they are. */
oc_code oc_fail(oc_error *err, oc_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* As oc_fail, and records the property at fault. */
oc_code oc_fail_property(oc_error *err, oc_code code, const char *property, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
oc_code oc_fail_nomem(oc_error *err);
/* Prefixes the message with "what: " (e.g. the operation that failed). */
void oc_error_prefix(oc_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Appends text to the message, cut at the message's limit (e.g. advice).
   Every cut of a message ends it with "..." (see oc_text_cut). */
void oc_error_append(oc_error *err, const char *text);

/* Copies at most max-1 bytes of text into dst, replacing control characters
   with '?', so text that came from a server cannot forge lines in a message.
   For the program's own text; a server's goes through oc_redact_copy. */
void oc_copy_printable(char *dst, size_t max, const char *text, size_t len);

/*
 * How much of text (len bytes, more than room) to keep so that at most room
 * bytes remain and no word is split: a cut inside a run of the characters
 * tokens are made of (RFC 6750's b64token, '%', UTF-8) drops the whole
 * run, because what it would keep may be the head of a secret that
 * redaction, matching whole secrets, no longer recognises. A cut inside
 * OC_REDACTED's "[REDACTED]" drops it. len <= room: len.
 */
size_t oc_text_cut(const char *text, size_t len, size_t room);

#endif
