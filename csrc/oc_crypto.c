#include "oc_crypto.h"

#include "oc_mem.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

char *oc_base64(const void *data, size_t len)
{
    size_t outlen = 4 * ((len + 2) / 3) + 1;
    char *out;
    if (len > (size_t)1 << 30)
        return NULL;
    out = malloc(outlen);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

char *oc_base64url(const void *data, size_t len)
{
    char *s = oc_base64(data, len), *p;
    size_t n;
    if (!s)
        return NULL;
    for (p = s; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    n = strlen(s);
    while (n && s[n - 1] == '=')
        s[--n] = '\0';
    return s;
}

int oc_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    /* EVP_DecodeBlock wants standard, padded input: translate and pad first. */
    size_t padded = (len + 3) / 4 * 4, i, pad = 0;
    char *tmp;
    unsigned char *buf;
    int n;

    *out = NULL;
    *outlen = 0;
    if (len > (size_t)1 << 30 || len % 4 == 1)
        return -1;
    tmp = malloc(padded + 1);
    buf = malloc(padded / 4 * 3 + 1);
    if (!tmp || !buf) {
        free(tmp);
        free(buf);
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = in[i];
        tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (; i < padded; i++)
        tmp[i] = '=';
    tmp[padded] = '\0';
    for (i = padded; i > 0 && tmp[i - 1] == '='; i--)
        pad++;
    n = padded ? EVP_DecodeBlock(buf, (unsigned char *)tmp, (int)padded) : 0;
    free(tmp);
    if (n < 0 || (size_t)n < pad || pad > 2) {
        free(buf);
        return -1;
    }
    *outlen = (size_t)n - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    buf[*outlen] = '\0';
    *out = buf;
    return 0;
}

oc_code oc_random_urlsafe(size_t nbytes, char **out, oc_error *err)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw)
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "at most %zu random bytes at once", sizeof raw);
    if (RAND_bytes(raw, (int)nbytes) != 1)
        return oc_fail(err, OC_E_IO, "the system's random number generator failed");
    *out = oc_base64url(raw, nbytes);
    OPENSSL_cleanse(raw, sizeof raw);
    return *out ? OC_OK : oc_fail_nomem(err);
}

oc_code oc_pkce_s256(const char *verifier, char **out, oc_error *err)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    *out = oc_base64url(digest, sizeof digest);
    return *out ? OC_OK : oc_fail_nomem(err);
}

int oc_secure_streq(const char *a, const char *b)
{
    size_t la, lb;
    if (!a || !b)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

void oc_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[SHA256_DIGEST_LENGTH];
    size_t i;
    SHA256(data, len, digest);
    for (i = 0; i < sizeof digest; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

static int bio_has_certificate(BIO *bio)
{
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int ok = cert != NULL;
    X509_free(cert);
    BIO_free(bio);
    return ok;
}

int oc_pem_has_certificate(const char *pem, size_t len)
{
    return bio_has_certificate(len <= (size_t)1 << 30 ? BIO_new_mem_buf(pem, (int)len) : NULL);
}

int oc_pem_file_has_certificate(const char *path)
{
    return bio_has_certificate(BIO_new_file(path, "r"));
}
