/*
 * oc_sig: checks what providers sign with the app's secrets: webhook bodies
 * (Base64 HMAC-SHA256, Jumpseller) and the HS256 JWTs sent to an app's
 * callbacks (BigCommerce's signed_payload_jwt). Computed with OpenSSL and
 * compared in constant time; no network, no state.
 */
#ifndef OC_SIG_H
#define OC_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oc_error.h"

/* Explicit limit: a JWT longer than this is refused unread. */
enum { OC_JWT_MAX = 16 * 1024 };

/* OC_OK when signature (Base64, surrounding whitespace ignored) is the
   HMAC-SHA256 of body under key; OC_E_SIGNATURE otherwise, and
   OC_E_INVALID_ARGUMENT for an empty key (it proves nothing). */
oc_code oc_sig_hmac_sha256_base64(const void *key, size_t klen, const void *body, size_t blen,
                                  const char *signature, size_t slen, oc_error *err);

/*
 * Verifies a compact JWS signed with HS256 under secret: the header's alg
 * must be exactly "HS256" (none and every other alg are refused), aud must
 * be audience (or an array holding it), exp must be present and not passed,
 * nbf (if present) reached, both with leeway_s seconds of clock skew. An
 * empty secret or audience is OC_E_INVALID_ARGUMENT.
 * *claims receives the payload object (the caller decrefs it).
 */
oc_code oc_sig_jwt_hs256(const char *jwt, size_t len, const void *secret, size_t slen,
                         const char *audience, int64_t now_s, int64_t leeway_s, json_t **claims,
                         oc_error *err);

#endif
