/*
 * oc_buf: a growable byte buffer with a hard size limit.
 *
 * Every response body, URL and JSON document the core builds goes through one
 * of these, so the limit checks live in one place. The data is always kept
 * NUL-terminated so it can be handed to C string functions, but it may also
 * hold NUL bytes (bodies), hence the explicit length.
 */
#ifndef OC_BUF_H
#define OC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct oc_buf {
    char *data;   /* NULL until the first append; always NUL-terminated after */
    size_t len;
    size_t cap;
    size_t limit; /* 0 = no limit */
    int overflow; /* set once an append would have crossed the limit */
    int secret;   /* wipe every block it leaves behind (it holds a secret) */
} oc_buf;

#define OC_BUF_INIT { NULL, 0, 0, 0, 0, 0 }

void oc_buf_init(oc_buf *b, size_t limit);
/* For text holding a secret: growth never leaves a copy in freed memory,
   and oc_buf_free wipes. */
void oc_buf_init_secret(oc_buf *b, size_t limit);
/* Returns 0, or -1 when out of memory or over the limit (b->overflow says which). */
int oc_buf_append(oc_buf *b, const void *data, size_t len);
/* Room for n more bytes, counted in b->len and NUL-terminated after them,
   for the caller to fill; NULL as oc_buf_append's -1. */
char *oc_buf_extend(oc_buf *b, size_t n);
int oc_buf_puts(oc_buf *b, const char *s);
int oc_buf_printf(oc_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void oc_buf_reset(oc_buf *b);
/* Hands the data to the caller (who frees it) and leaves b empty.
   Never returns NULL for a successful empty buffer: it returns "". */
char *oc_buf_steal(oc_buf *b, size_t *len);
void oc_buf_free(oc_buf *b);

#endif
