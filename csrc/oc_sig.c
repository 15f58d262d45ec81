#include "oc_sig.h"

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "oc_crypto.h"
#include "oc_mem.h"

static int hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
                       unsigned char out[32])
{
    unsigned int n = 0;
    /* HMAC() takes an int key length; an empty key is a valid (weak) key. */
    if (klen > (size_t)1 << 30)
        return -1;
    return HMAC(EVP_sha256(), klen ? key : "", (int)klen, data, dlen, out, &n) && n == 32 ? 0 : -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

oc_code oc_sig_hmac_sha256_base64(const void *key, size_t klen, const void *body, size_t blen,
                                  const char *signature, size_t slen, oc_error *err)
{
    unsigned char mac[32];
    char *expected;
    int same;

    /* Anyone can sign with an empty key: a check with one proves nothing
       (an unset environment variable must not open the door). */
    if (klen == 0)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "the key is empty, so no signature can be trusted");
    while (slen && is_space(*signature))
        signature++, slen--;
    while (slen && is_space(signature[slen - 1]))
        slen--;
    if (slen == 0)
        return oc_fail(err, OC_E_SIGNATURE, "the signature is empty");
    if (hmac_sha256(key, klen, body, blen, mac) != 0)
        return oc_fail(err, OC_E_SIGNATURE, "the HMAC-SHA256 could not be computed");
    if (!(expected = oc_base64(mac, sizeof mac))) {
        oc_wipe(mac, sizeof mac);
        return oc_fail_nomem(err);
    }
    /* The length of a Base64 SHA-256 is public (44); only the bytes are not. */
    same = strlen(expected) == slen && CRYPTO_memcmp(expected, signature, slen) == 0;
    oc_free_secret(expected);
    oc_wipe(mac, sizeof mac);
    if (!same)
        return oc_fail(err, OC_E_SIGNATURE,
                       "the body's HMAC-SHA256 does not match the signature (a changed body, or "
                       "another key)");
    return OC_OK;
}

/* An HMAC-SHA256 in base64url without padding: 43 characters. */
enum { SIG_TEXT_LEN = 43 };

static int is_unpadded_base64url(const char *s, size_t len, size_t want)
{
    size_t i;
    if (len != want)
        return 0;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* The JSON object in one base64url segment, or NULL. */
static json_t *segment_object(const char *s, size_t len)
{
    unsigned char *raw;
    size_t n;
    json_t *v;
    if (oc_base64_decode(s, len, &raw, &n) != 0)
        return NULL;
    v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static int audience_matches(const json_t *aud, const char *audience)
{
    size_t i;
    json_t *a;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    if (json_is_array(aud))
        json_array_foreach(aud, i, a)
            if (json_is_string(a) && strcmp(json_string_value(a), audience) == 0)
                return 1;
    return 0;
}

/* A NumericDate claim (RFC 7519: seconds, maybe fractional); 0 if absent,
   -1 if not a number. */
static int numeric_date(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (!v)
        return 0;
    if (json_is_integer(v))
        *out = (int64_t)json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) > -9e15 && json_real_value(v) < 9e15)
        *out = (int64_t)json_real_value(v);
    else
        return -1;
    return 1;
}

static oc_code check_claims(const json_t *claims, const char *audience, int64_t now_s,
                            int64_t leeway_s, oc_error *err)
{
    const json_t *aud = json_object_get(claims, "aud");
    int64_t exp = 0, nbf = 0;
    int has_exp, has_nbf;

    if (!aud)
        return oc_fail(err, OC_E_SIGNATURE, "the JWT has no aud (audience) claim");
    if (!audience_matches(aud, audience))
        return oc_fail(err, OC_E_SIGNATURE, "the JWT is for another audience, not client id %s",
                       audience);
    if ((has_exp = numeric_date(claims, "exp", &exp)) < 0 ||
        (has_nbf = numeric_date(claims, "nbf", &nbf)) < 0)
        return oc_fail(err, OC_E_SIGNATURE, "the JWT's exp or nbf is not a number");
    if (!has_exp)
        return oc_fail(err, OC_E_SIGNATURE, "the JWT has no exp (expiry) claim");
    if (now_s - leeway_s >= exp)
        return oc_fail(err, OC_E_SIGNATURE, "the JWT expired %lld s ago",
                       (long long)(now_s - exp));
    if (has_nbf && now_s + leeway_s < nbf)
        return oc_fail(err, OC_E_SIGNATURE, "the JWT is not valid for another %lld s (nbf)",
                       (long long)(nbf - now_s));
    return OC_OK;
}

oc_code oc_sig_jwt_hs256(const char *jwt, size_t len, const void *secret, size_t slen,
                         const char *audience, int64_t now_s, int64_t leeway_s, json_t **claims,
                         oc_error *err)
{
    const char *dot1, *dot2, *alg, *sig;
    unsigned char mac[32];
    char *expected = NULL;
    size_t siglen;
    json_t *header = NULL, *payload = NULL;
    oc_code rc;

    *claims = NULL;
    if (slen == 0)
        return oc_fail(err, OC_E_INVALID_ARGUMENT,
                       "the client secret is empty, so no signature can be trusted");
    if (!audience || !*audience)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "the client id (the JWT's audience) is empty");
    if (len > OC_JWT_MAX)
        return oc_fail(err, OC_E_SIGNATURE, "the JWT is longer than %d bytes", OC_JWT_MAX);
    if (memchr(jwt, '\0', len) || !(dot1 = memchr(jwt, '.', len)) ||
        !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt))) ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - jwt)))
        return oc_fail(err, OC_E_SIGNATURE, "not a JWT (three dot-separated parts)");
    if (!(header = segment_object(jwt, (size_t)(dot1 - jwt))))
        return oc_fail(err, OC_E_SIGNATURE, "the JWT's header is not base64url JSON");
    alg = json_string_value(json_object_get(header, "alg"));
    if (!alg || strcmp(alg, "HS256") != 0) {
        rc = oc_fail(err, OC_E_SIGNATURE, "the JWT's alg is %s%.20s%s; only HS256 is accepted",
                     alg ? "\"" : "", alg ? alg : "missing", alg ? "\"" : "");
        goto out;
    }
    if (json_object_get(header, "crit")) { /* RFC 7515 4.1.11: extensions we do not know */
        rc = oc_fail(err, OC_E_SIGNATURE, "the JWT's header has critical extensions (crit)");
        goto out;
    }
    /* Compared as text with the one encoding RFC 7515 2 allows (base64url,
       no padding): a padded or standard-base64 copy of a valid signature is
       another string for the same token, and would slip past a replay cache
       keyed on the JWT. */
    sig = dot2 + 1;
    siglen = len - (size_t)(sig - jwt);
    if (!is_unpadded_base64url(sig, siglen, SIG_TEXT_LEN)) {
        rc = oc_fail(err, OC_E_SIGNATURE,
                     "the JWT's signature is not an unpadded base64url HMAC-SHA256");
        goto out;
    }
    if (hmac_sha256(secret, slen, jwt, (size_t)(dot2 - jwt), mac) != 0 ||
        !(expected = oc_base64url(mac, sizeof mac)) || strlen(expected) != SIG_TEXT_LEN ||
        CRYPTO_memcmp(expected, sig, SIG_TEXT_LEN) != 0) {
        rc = oc_fail(err, OC_E_SIGNATURE,
                     "the JWT's signature does not verify with the client secret");
        goto out;
    }
    if (!(payload = segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1)))) {
        rc = oc_fail(err, OC_E_SIGNATURE, "the JWT's payload is not base64url JSON");
        goto out;
    }
    if ((rc = check_claims(payload, audience, now_s, leeway_s, err)) != OC_OK)
        goto out;
    *claims = payload;
    payload = NULL;
out:
    oc_wipe(mac, sizeof mac);
    oc_free_secret(expected);
    json_decref(header);
    json_decref(payload);
    return rc;
}
