/* libFuzzer target: signed payloads (oc_sig). An input with two dots is
   checked as given (its signature almost never holds); otherwise it is
   taken as "header.payload" and signed here first, so the header and claim
   checks behind the signature get fuzzed too. A pass must be an object
   whose aud names the client. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "oc_crypto.h"
#include "oc_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SECRET[] = "fuzz-secret";
static const char CLIENT[] = "fuzz-client";

static int dots(const uint8_t *data, size_t size)
{
    int n = 0;
    size_t i;
    for (i = 0; i < size; i++)
        n += data[i] == '.';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char mac[32];
    unsigned int maclen = 0;
    char *jwt = NULL, *sig = NULL;
    size_t len = size;
    json_t *claims = NULL;
    oc_error err;

    if (size > OC_JWT_MAX)
        return 0;
    if (dots(data, size) == 2 || !HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), data, size, mac, &maclen) ||
        !(sig = oc_base64url(mac, maclen))) {
        jwt = malloc(size + 1);
        if (!jwt)
            return 0;
        memcpy(jwt, data, size);
    } else {
        len = size + 1 + strlen(sig);
        if (!(jwt = malloc(len + 1))) {
            free(sig);
            return 0;
        }
        memcpy(jwt, data, size);
        jwt[size] = '.';
        memcpy(jwt + size + 1, sig, strlen(sig));
    }
    jwt[len] = '\0';
    oc_error_clear(&err);
    if (oc_sig_jwt_hs256(jwt, len, SECRET, strlen(SECRET), CLIENT, 1700000000, 60, &claims, &err) == OC_OK) {
        json_t *aud = claims ? json_object_get(claims, "aud") : NULL;
        if (!json_is_object(claims) || !aud)
            __builtin_trap();
        json_decref(claims);
    } else if (claims || err.code != OC_E_SIGNATURE) {
        __builtin_trap();
    }
    free(sig);
    free(jwt);
    return 0;
}
