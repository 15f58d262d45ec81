/* The URL checks that keep the token at the API's origin, and plain http
   to loopback hosts only. */
#include "oc_test.h"
#include "oc_url.h"

OC_TEST(same_origin_needs_the_same_scheme)
{
    CHECK(oc_url_same_origin("https://api.example/v1/a", "https://api.example/v1"));
    CHECK(!oc_url_same_origin("http://api.example/v1/a", "https://api.example/v1"));
    CHECK(!oc_url_same_origin("https://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"));
    /* the scheme's default port is the same port */
    CHECK(oc_url_same_origin("https://api.example:443/x", "https://api.example/v1"));
    CHECK(!oc_url_same_origin("http://api.example:443/x", "https://api.example/v1"));
}

OC_TEST(same_origin_needs_the_same_host)
{
    CHECK(!oc_url_same_origin("https://evil.example/v1", "https://api.example/v1"));
    CHECK(!oc_url_same_origin("https://api.example.evil.example/v1", "https://api.example/v1"));
    /* the same machine under another name is another origin */
    CHECK(!oc_url_same_origin("http://localhost:8080/v1", "http://127.0.0.1:8080/v1"));
    CHECK(!oc_url_same_origin("http://127.0.0.2:8080/v1", "http://127.0.0.1:8080/v1"));
    CHECK(oc_url_same_origin("https://API.Example/v1/x", "https://api.example/v1"));
}

OC_TEST(same_origin_needs_the_same_port)
{
    CHECK(!oc_url_same_origin("https://api.example:8443/v1", "https://api.example/v1"));
    CHECK(!oc_url_same_origin("http://127.0.0.1:8081/v1", "http://127.0.0.1:8080/v1"));
    CHECK(oc_url_same_origin("http://127.0.0.1:8080/other", "http://127.0.0.1:8080/v1"));
}

OC_TEST(same_origin_refuses_what_does_not_parse)
{
    CHECK(!oc_url_same_origin("/v1/relative", "https://api.example/v1"));
    CHECK(!oc_url_same_origin("https://api.example/v1", "not a url"));
}

OC_TEST(plain_http_only_to_loopback_hosts)
{
    oc_error err;
    CHECK_INT(oc_url_check_secure("https://api.example/v1", "URL", &err), OC_OK);
    CHECK_INT(oc_url_check_secure("http://127.0.0.1:8080/v1", "URL", &err), OC_OK);
    CHECK_INT(oc_url_check_secure("http://[::1]:8080/v1", "URL", &err), OC_OK);
    CHECK_INT(oc_url_check_secure("http://localhost/v1", "URL", &err), OC_OK);
    CHECK_INT(oc_url_check_secure("http://api.example/v1", "URL", &err), OC_E_INSECURE_URL);
    CHECK_CONTAINS(err.message, "plain http");
    CHECK_STR(err.property, "URL");
    CHECK_INT(oc_url_check_secure("http://127.0.0.1.evil.example/v1", "OAuthAccessTokenURL", &err),
              OC_E_INSECURE_URL);
    CHECK_STR(err.property, "OAuthAccessTokenURL");
    CHECK_INT(oc_url_check_secure("http://localhost.evil.example/v1", "URL", &err), OC_E_INSECURE_URL);
}
