/* The authorization server's metadata (RFC 8414, OpenID Connect
   Discovery), read and checked without a network. */
#include <stdlib.h>
#include <string.h>

#include "oc_discovery.h"
#include "oc_test.h"

static void expect_issuer(const char *url, const char *issuer)
{
    char *got = NULL;
    oc_error err;
    CHECK_INT(oc_discovery_expected_issuer(url, &got, &err), OC_OK);
    CHECK_STR(got, issuer);
    free(got);
}

OC_TEST(expected_issuer)
{
    /* RFC 8414 3.1: the segment goes between the host and the path */
    expect_issuer("https://as.example/.well-known/oauth-authorization-server", "https://as.example");
    expect_issuer("https://as.example/.well-known/oauth-authorization-server/tenant1",
                  "https://as.example/tenant1");
    expect_issuer("https://as.example:8443/.well-known/oauth-authorization-server/a/b?x=1",
                  "https://as.example:8443/a/b");
    /* OpenID Connect Discovery 4.1 appends it; RFC 8414 5 inserts it */
    expect_issuer("https://as.example/.well-known/openid-configuration", "https://as.example");
    expect_issuer("https://as.example/tenant1/.well-known/openid-configuration", "https://as.example/tenant1");
    expect_issuer("https://as.example/.well-known/openid-configuration/tenant1", "https://as.example/tenant1");
    /* a segment that only starts like the well-known one is a path */
    expect_issuer("https://as.example/.well-known/oauth-authorization-server-x", "https://as.example");
    /* no well-known segment: the URL's own origin */
    expect_issuer("https://as.example/metadata.json", "https://as.example");
}

static const char *doc_for(const char *issuer, char *buf, size_t max)
{
    snprintf(buf, max,
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"https://as.example/authorize\","
             "\"token_endpoint\":\"https://as.example/token\","
             "\"device_authorization_endpoint\":\"https://as.example/device\","
             "\"revocation_endpoint\":\"https://as.example/revoke\","
             "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
             "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\"]}",
             issuer);
    return buf;
}

OC_TEST(read_document)
{
    const char *url = "https://as.example/.well-known/oauth-authorization-server/t";
    char body[1024];
    oc_discovery d;
    oc_error err;
    oc_discovery_init(&d);
    doc_for("https://as.example/t", body, sizeof body);
    CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1234, &d, &err), OC_OK);
    CHECK_STR(d.issuer, "https://as.example/t");
    CHECK_STR(d.token_endpoint, "https://as.example/token");
    CHECK_STR(d.authorization_endpoint, "https://as.example/authorize");
    CHECK_STR(d.device_authorization_endpoint, "https://as.example/device");
    CHECK_STR(d.revocation_endpoint, "https://as.example/revoke");
    CHECK_INT(d.pkce_s256, 1);
    CHECK_INT(d.auth_post, 1);
    CHECK_INT(d.auth_basic, 0);
    CHECK_INT(d.auth_none, 0);
    CHECK_INT((int)d.fetched_at_ms, 1234);
    /* a trailing '/' on the stated issuer is the same issuer */
    doc_for("https://as.example/t/", body, sizeof body);
    CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1, &d, &err), OC_OK);
    oc_discovery_clear(&d);
}

OC_TEST(unstated_lists_stay_unsaid)
{
    const char *body = "{\"issuer\":\"https://as.example\",\"token_endpoint\":\"https://as.example/t\"}";
    oc_discovery d;
    oc_error err;
    oc_discovery_init(&d);
    CHECK_INT(oc_discovery_read("https://as.example/.well-known/openid-configuration", 200, body,
                                strlen(body), 1, &d, &err), OC_OK);
    CHECK_INT(d.pkce_s256, OC_SAID_NOT);
    CHECK_INT(d.auth_basic, OC_SAID_NOT);
    CHECK(d.device_authorization_endpoint == NULL);
    oc_discovery_clear(&d);
}

OC_TEST(wrong_issuer_names_both)
{
    const char *url = "https://as.example/.well-known/oauth-authorization-server/t";
    char body[1024];
    oc_discovery d;
    oc_error err;
    oc_discovery_init(&d);
    doc_for("https://evil.example/t", body, sizeof body);
    CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1, &d, &err), OC_E_DISCOVERY);
    CHECK_CONTAINS(err.message, "https://evil.example/t");
    CHECK_CONTAINS(err.message, "must state https://as.example/t");
    CHECK_STR(err.property, "OAuthDiscoveryURL");
    CHECK(d.issuer == NULL);
    /* another tenant of the same host is another issuer */
    doc_for("https://as.example/u", body, sizeof body);
    CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1, &d, &err), OC_E_DISCOVERY);
    /* without a well-known segment the issuer must be of the URL's origin */
    doc_for("https://other.example", body, sizeof body);
    CHECK_INT(oc_discovery_read("https://as.example/meta.json", 200, body, strlen(body), 1, &d, &err),
              OC_E_DISCOVERY);
    doc_for("https://as.example/anything", body, sizeof body);
    CHECK_INT(oc_discovery_read("https://as.example/meta.json", 200, body, strlen(body), 1, &d, &err), OC_OK);
    oc_discovery_clear(&d);
}

OC_TEST(refuses_what_it_cannot_use)
{
    const char *url = "https://as.example/.well-known/openid-configuration";
    oc_discovery d;
    oc_error err;
    oc_discovery_init(&d);
    CHECK_INT(oc_discovery_read(url, 500, "{}", 2, 1, &d, &err), OC_E_DISCOVERY);
    CHECK_CONTAINS(err.message, "HTTP 500");
    CHECK_INT((int)err.status, 500);
    CHECK_INT(oc_discovery_read(url, 404, "", 0, 1, &d, &err), OC_E_NOT_FOUND);
    CHECK_INT(oc_discovery_read(url, 200, "<html>", 6, 1, &d, &err), OC_E_DISCOVERY);
    CHECK_CONTAINS(err.message, "is not JSON");
    CHECK_INT(oc_discovery_read(url, 200, "[]", 2, 1, &d, &err), OC_E_DISCOVERY);
    {
        const char *body = "{\"token_endpoint\":\"https://as.example/t\"}";
        CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1, &d, &err), OC_E_DISCOVERY);
    }
    CHECK_CONTAINS(err.message, "states no issuer");
    /* an endpoint that would carry secrets in the clear */
    {
        const char *body = "{\"issuer\":\"https://as.example\",\"token_endpoint\":\"http://as.example/t\"}";
        CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1, &d, &err), OC_E_DISCOVERY);
        CHECK_CONTAINS(err.message, "token_endpoint in the discovery document");
    }
    {
        const char *body = "{\"issuer\":\"https://as.example\",\"token_endpoint\":42}";
        CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 1, &d, &err), OC_E_DISCOVERY);
    }
    CHECK(d.url == NULL);
}

OC_TEST(cache_round_trip)
{
    const char *url = "https://as.example/.well-known/oauth-authorization-server";
    char body[1024];
    oc_discovery d, back;
    oc_error err;
    json_t *cache;
    oc_discovery_init(&d);
    oc_discovery_init(&back);
    doc_for("https://as.example", body, sizeof body);
    CHECK_INT(oc_discovery_read(url, 200, body, strlen(body), 99, &d, &err), OC_OK);
    cache = oc_discovery_to_cache(&d);
    CHECK(cache != NULL);
    CHECK_INT(oc_discovery_from_cache(cache, url, &back, &err), OC_OK);
    CHECK_STR(back.token_endpoint, "https://as.example/token");
    CHECK_INT((int)back.fetched_at_ms, 99);
    /* a cache for another URL is not this one's */
    CHECK_INT(oc_discovery_from_cache(cache, "https://as.example/.well-known/openid-configuration", &back, &err),
              OC_E_NOT_FOUND);
    json_decref(cache);
    oc_discovery_clear(&d);
    oc_discovery_clear(&back);
}
