/*
 * oc_crypto: the few primitives the OAuth flows need, all from OpenSSL.
 */
#ifndef OC_CRYPTO_H
#define OC_CRYPTO_H

#include <stddef.h>

#include "oc_error.h"

/* nbytes of CSPRNG output as unpadded base64url, malloc'd. */
oc_code oc_random_urlsafe(size_t nbytes, char **out, oc_error *err);
/* The RFC 7636 S256 challenge of a verifier: BASE64URL(SHA256(verifier)), malloc'd. */
oc_code oc_pkce_s256(const char *verifier, char **out, oc_error *err);
/* Constant-time equality of two strings (their lengths are not secret). */
int oc_secure_streq(const char *a, const char *b);
/* Lower-case hex SHA-256 of data; out must hold 65 bytes. */
void oc_sha256_hex(const void *data, size_t len, char out[65]);
/* Standard base64 (padded) or base64url (unpadded) encoding, malloc'd. */
char *oc_base64(const void *data, size_t len);
char *oc_base64url(const void *data, size_t len);
/* Decodes standard or url-safe base64, padded or not. Returns 0, or -1 on bad input. */
/* Whether PEM text holds at least one certificate OpenSSL can read. */
int oc_pem_has_certificate(const char *pem, size_t len);
/* The same for a file. */
int oc_pem_file_has_certificate(const char *path);
int oc_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
