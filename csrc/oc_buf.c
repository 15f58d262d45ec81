#include "oc_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void oc_buf_init(oc_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void oc_buf_init_secret(oc_buf *b, size_t limit)
{
    oc_buf_init(b, limit);
    b->secret = 1;
}

static int reserve(oc_buf *b, size_t extra)
{
    size_t need, cap;
    if (extra > (size_t)-1 - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (b->limit && need - 1 > b->limit) {
        b->overflow = 1;
        return -1;
    }
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    if (b->secret) { /* realloc could leave the old block readable: move by hand */
        char *p = malloc(cap);
        if (!p)
            return -1;
        if (b->data) {
            memcpy(p, b->data, b->len + 1);
            explicit_bzero(b->data, b->cap);
            free(b->data);
        }
        b->data = p;
    } else {
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
    }
    b->cap = cap;
    return 0;
}

int oc_buf_append(oc_buf *b, const void *data, size_t len)
{
    if (reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

char *oc_buf_extend(oc_buf *b, size_t n)
{
    char *at;
    if (reserve(b, n) != 0)
        return NULL;
    at = b->data + b->len;
    b->len += n;
    b->data[b->len] = '\0';
    return at;
}

int oc_buf_puts(oc_buf *b, const char *s)
{
    return oc_buf_append(b, s, strlen(s));
}

int oc_buf_printf(oc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small) {
        int rc = oc_buf_append(b, small, (size_t)n);
        explicit_bzero(small, sizeof small); /* it may have held a secret */
        return rc;
    }
    explicit_bzero(small, sizeof small);
    if (reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void oc_buf_reset(oc_buf *b)
{
    b->len = 0;
    b->overflow = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *oc_buf_steal(oc_buf *b, size_t *len)
{
    /* The caller owns the text now, and wipes it if it is secret. */
    char *p = b->data;
    if (!p && (p = malloc(1)) != NULL)
        p[0] = '\0';
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    b->overflow = 0;
    return p;
}

void oc_buf_free(oc_buf *b)
{
    if (b->secret && b->data)
        explicit_bzero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->overflow = 0;
}
