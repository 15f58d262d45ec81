/*
 * oc_mem: owned strings and the wiping of secrets, for every layer (the
 * crypto primitives included) to share without depending on one another.
 */
#ifndef OC_MEM_H
#define OC_MEM_H

#include <stddef.h>

/* Overwrites memory in a way the compiler cannot drop (OPENSSL_cleanse). */
void oc_wipe(void *p, size_t n);
/* Wipes a NUL-terminated secret, then frees it. NULL is fine. */
void oc_free_secret(char *s);
/* Duplicates s (NULL gives NULL); NULL when out of memory. */
char *oc_strdup(const char *s);
/* The first n bytes of s, NUL-terminated. */
char *oc_strndup(const char *s, size_t n);

#endif
