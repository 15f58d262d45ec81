/*
 * oc_kv: an ordered list of name/value pairs (query parameters, form fields,
 * extra token-request parameters), with application/x-www-form-urlencoded
 * encoding and decoding through libcurl's escaping.
 */
#ifndef OC_KV_H
#define OC_KV_H

#include <stddef.h>

#include "oc_buf.h"
#include "oc_error.h"

typedef struct oc_kv {
    char **name;
    char **value;
    size_t n, cap;
} oc_kv;

#define OC_KV_INIT { NULL, NULL, 0, 0 }

/* Appends a pair (copies both). Returns 0, or -1 when out of memory. */
int oc_kv_add(oc_kv *kv, const char *name, size_t nlen, const char *value, size_t vlen);
int oc_kv_adds(oc_kv *kv, const char *name, const char *value);
/* The value of the last pair with this name, or NULL. */
const char *oc_kv_get(const oc_kv *kv, const char *name);
void oc_kv_free(oc_kv *kv);
/* Appends every pair of src to dst. Returns 0 or -1. */
int oc_kv_copy(oc_kv *dst, const oc_kv *src);

/* Appends name=value, percent-encoded, with '&' before it when out is not
   empty. Returns 0 or -1. */
int oc_form_append(oc_buf *out, const char *name, const char *value, size_t vlen);
/* Appends every pair of kv. */
int oc_form_append_all(oc_buf *out, const oc_kv *kv);
/* Parses "a=1&b=%20x" ('+' is a space) into kv. Returns 0 or -1. */
int oc_form_parse(oc_kv *kv, const char *query, size_t len);

#endif
