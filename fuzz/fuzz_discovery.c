/* libFuzzer target: authorization server metadata. The first byte picks
   the metadata URL, the rest is the document. An accepted document has a
   matching issuer and only secure endpoints; a refusal is one line. */
#include <stdint.h>
#include <string.h>

#include "oc_discovery.h"
#include "oc_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const urls[] = {
    "https://as.example/.well-known/oauth-authorization-server",
    "https://as.example/.well-known/oauth-authorization-server/t",
    "https://as.example/t/.well-known/openid-configuration",
    "https://as.example/meta.json",
};

static void check_secure(const char *url)
{
    if (url && oc_url_check_secure(url, "fuzz", NULL) != OC_OK)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_discovery d;
    oc_error err;
    if (size < 1)
        return 0;
    oc_discovery_init(&d);
    oc_error_clear(&err);
    if (oc_discovery_read(urls[data[0] % 4], 200, (const char *)data + 1, size - 1, 1, &d, &err) == OC_OK) {
        if (!d.issuer || !d.document)
            __builtin_trap();
        check_secure(d.token_endpoint);
        check_secure(d.authorization_endpoint);
        check_secure(d.device_authorization_endpoint);
        check_secure(d.revocation_endpoint);
        oc_discovery_clear(&d);
    } else if (!err.message[0] || strchr(err.message, '\n')) {
        __builtin_trap();
    }
    return 0;
}
