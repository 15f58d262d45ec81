/*
 * oc_url: the URL checks that keep tokens where they belong, on libcurl's
 * URL parser (CURLU).
 */
#ifndef OC_URL_H
#define OC_URL_H

#include "oc_error.h"

typedef struct oc_url {
    char *scheme; /* lower case */
    char *host;   /* lower case; IPv6 in brackets */
    char *path;   /* "/" at least */
    unsigned port;/* explicit or the scheme's default */
} oc_url;

/* Parses an absolute http(s) URL. property names the setting in messages. */
oc_code oc_url_parse(const char *text, const char *property, oc_url *out, oc_error *err);
void oc_url_free(oc_url *u);

/* url as messages and logs may show it: no query or fragment (they may
   hold parameters), no user:password@. */
void oc_url_shown(char *out, size_t max, const char *url);

int oc_host_is_loopback(const char *host);
/* https anywhere, http only to a loopback host (RFC 9700 2.6 / 4.1.1). */
/* A URL property or redirect URI without a '#fragment' (RFC 6749 3.1, 3.1.2). */
oc_code oc_url_check_no_fragment(const char *text, const char *property, oc_error *err);
oc_code oc_url_check_secure(const char *text, const char *property, oc_error *err);
/* Whether two absolute URLs share scheme, host and port. */
int oc_url_same_origin(const char *a, const char *b);
/* Resolves a (possibly relative) reference against base, malloc'd, or NULL. */
char *oc_url_resolve(const char *base, const char *ref);

#endif
