#include "oc_mem.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void oc_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void oc_free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

char *oc_strdup(const char *s)
{
    return s ? oc_strndup(s, strlen(s)) : NULL;
}

char *oc_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}
