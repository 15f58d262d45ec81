#include "oc_kv.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "oc_crypto.h"
#include "oc_mem.h"

int oc_kv_add(oc_kv *kv, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *n, *v;
    if (kv->n == kv->cap) {
        size_t cap = kv->cap ? kv->cap * 2 : 8;
        char **nn = realloc(kv->name, cap * sizeof *nn);
        char **vv;
        if (!nn)
            return -1;
        kv->name = nn;
        if (!(vv = realloc(kv->value, cap * sizeof *vv)))
            return -1;
        kv->value = vv;
        kv->cap = cap;
    }
    n = oc_strndup(name, nlen);
    v = oc_strndup(value, vlen);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    kv->name[kv->n] = n;
    kv->value[kv->n] = v;
    kv->n++;
    return 0;
}

int oc_kv_adds(oc_kv *kv, const char *name, const char *value)
{
    return oc_kv_add(kv, name, strlen(name), value, strlen(value));
}

const char *oc_kv_get(const oc_kv *kv, const char *name)
{
    size_t i = kv->n;
    while (i-- > 0)
        if (strcmp(kv->name[i], name) == 0)
            return kv->value[i];
    return NULL;
}

int oc_kv_copy(oc_kv *dst, const oc_kv *src)
{
    size_t i;
    for (i = 0; src && i < src->n; i++)
        if (oc_kv_adds(dst, src->name[i], src->value[i]) != 0)
            return -1;
    return 0;
}

void oc_kv_free(oc_kv *kv)
{
    size_t i;
    for (i = 0; i < kv->n; i++) {
        free(kv->name[i]);
        oc_free_secret(kv->value[i]); /* values may be codes or secrets */
    }
    free(kv->name);
    free(kv->value);
    memset(kv, 0, sizeof *kv);
}

static int append_escaped(oc_buf *out, const char *s, size_t len)
{
    char *e;
    int rc;
    if (len == 0)
        return 0;
    if (len > (size_t)0x7fffffff)
        return -1;
    e = curl_easy_escape(NULL, s, (int)len);
    if (!e)
        return -1;
    rc = oc_buf_puts(out, e);
    oc_wipe(e, strlen(e));
    curl_free(e);
    return rc;
}

int oc_form_append(oc_buf *out, const char *name, const char *value, size_t vlen)
{
    if ((out->len && oc_buf_append(out, "&", 1) != 0) ||
        append_escaped(out, name, strlen(name)) != 0 || oc_buf_append(out, "=", 1) != 0 ||
        append_escaped(out, value, vlen) != 0)
        return -1;
    return 0;
}

int oc_form_append_all(oc_buf *out, const oc_kv *kv)
{
    size_t i;
    for (i = 0; i < kv->n; i++)
        if (oc_form_append(out, kv->name[i], kv->value[i], strlen(kv->value[i])) != 0)
            return -1;
    return 0;
}

/* Decodes one form component into a fresh string ('+' is a space). */
static char *unescape(const char *s, size_t len, size_t *outlen)
{
    char *plus = oc_strndup(s, len), *p, *d, *r;
    int n = 0;
    if (!plus)
        return NULL;
    for (p = plus; *p; p++)
        if (*p == '+')
            *p = ' ';
    d = curl_easy_unescape(NULL, plus, (int)len, &n);
    oc_free_secret(plus); /* values are codes and states */
    if (!d)
        return NULL;
    r = oc_strndup(d, (size_t)n);
    oc_wipe(d, (size_t)n);
    curl_free(d);
    *outlen = (size_t)n;
    return r;
}

int oc_form_parse(oc_kv *kv, const char *query, size_t len)
{
    size_t i = 0;
    if (len > (size_t)0x7fffffff)
        return -1;
    while (i < len) {
        size_t start = i, eq, nlen, vlen;
        char *n, *v;
        int rc;
        while (i < len && query[i] != '&')
            i++;
        if (i == start) {
            i++;
            continue;
        }
        for (eq = start; eq < i && query[eq] != '='; eq++)
            ;
        n = unescape(query + start, eq - start, &nlen);
        v = eq < i ? unescape(query + eq + 1, i - eq - 1, &vlen) : oc_strdup("");
        if (eq >= i)
            vlen = 0;
        rc = (n && v) ? oc_kv_add(kv, n, nlen, v, vlen) : -1;
        free(n);
        oc_free_secret(v);
        if (rc != 0)
            return -1;
        i++;
    }
    return 0;
}
