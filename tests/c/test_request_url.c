/* The URL a request target goes to under the API base (URL). */
#include "oc_client.h"
#include "oc_test.h"

/* "GET <url>" for target under a client whose URL is base. */
static void described(const char *base, const char *target, char *out, size_t max)
{
    char props[512];
    oc_config *cfg = oc_config_new();
    oc_profile *p = oc_profile_new();
    oc_client *c = NULL;
    oc_error err;
    snprintf(props, sizeof props, "AuthScheme=NONE;URL=%s", base);
    oc_error_clear(&err);
    CHECK_INT(oc_profile_set(p, "name", "test", &err), OC_OK);
    CHECK_INT(oc_config_parse(cfg, props, strlen(props), &err), OC_OK);
    CHECK_INT(oc_client_new(cfg, p, NULL, &c, &err), OC_OK);
    out[0] = '\0';
    if (c)
        oc_client_describe_request(c, "GET", target, out, max);
    oc_client_free(c);
    oc_config_free(cfg);
    oc_profile_free(p);
}

#define CHECK_URL(base, target, want)                                              \
    do {                                                                           \
        char got_[512];                                                            \
        described(base, target, got_, sizeof got_);                                \
        CHECK_STR(got_, "GET " want);                                              \
    } while (0)

/* A target's own version ("/v2/...") replaces the base's last path segment
   when that is a version: never a part of the host. */
OC_TEST(a_version_in_the_target_replaces_only_a_path_segment)
{
    CHECK_URL("https://api.example/v3", "/v2/orders", "https://api.example/v2/orders");
    CHECK_URL("https://api.example/stores/abc/v3", "/v2/orders", "https://api.example/stores/abc/v2/orders");
    CHECK_URL("https://api.example/v3", "/orders", "https://api.example/v3/orders");
    CHECK_URL("https://v1", "/v2/orders", "https://v1/v2/orders");
    CHECK_URL("https://v1:8443", "/v2/orders", "https://v1:8443/v2/orders");
    CHECK_URL("https://v1/v3", "/v2/orders", "https://v1/v2/orders");
    CHECK_URL("http://127.0.0.1:8080/v1", "/v2/x", "http://127.0.0.1:8080/v2/x");
}
