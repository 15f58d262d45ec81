/* The OAuth messages, built and read without a network. */
#include <stdlib.h>

#include "oc_crypto.h"
#include "oc_oauth.h"
#include "oc_test.h"

static oc_flow flow(oc_client_auth how)
{
    oc_flow f;
    memset(&f, 0, sizeof f);
    f.client_id = "my id";
    f.client_secret = "s3cr&t";
    f.authorize_url = "https://as.example/oauth/authorize";
    f.token_url = "https://as.example/oauth/token";
    f.scope = "read_orders write_products";
    f.code_auth = f.refresh_auth = how;
    return f;
}

static const char *header(const oc_token_request *r, const char *prefix)
{
    return oc_test_header(r->headers, prefix);
}

OC_TEST(authorize_url)
{
    oc_flow f = flow(OC_CLIENT_AUTH_BODY);
    char *url = NULL;
    oc_error err;
    CHECK_INT(oc_oauth_authorize_url(&f, "http://127.0.0.1:8000/callback", "st", "ch", NULL, &url, &err), OC_OK);
    CHECK_STR(url, "https://as.example/oauth/authorize?response_type=code&client_id=my%20id&"
                   "redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fcallback&scope=read_orders%20write_products&"
                   "state=st&code_challenge=ch&code_challenge_method=S256");
    free(url);
    f.authorize_url = "https://as.example/auth?tenant=1";
    f.scope = NULL;
    CHECK_INT(oc_oauth_authorize_url(&f, NULL, NULL, NULL, NULL, &url, &err), OC_OK);
    CHECK_STR(url, "https://as.example/auth?tenant=1&response_type=code&client_id=my%20id");
    free(url);
}

OC_TEST(code_request_form_body)
{
    oc_flow f = flow(OC_CLIENT_AUTH_BODY);
    oc_token_request r;
    oc_error err;
    CHECK_INT(oc_oauth_code_request(&f, "C0DE", "http://127.0.0.1/cb", "VER", NULL, &r, &err), OC_OK);
    CHECK_STR(r.method, "POST");
    CHECK_STR(r.url, "https://as.example/oauth/token");
    CHECK_STR(r.body, "grant_type=authorization_code&code=C0DE&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&"
                      "code_verifier=VER&client_id=my%20id&client_secret=s3cr%26t");
    CHECK(header(&r, "Content-Type: application/x-www-form-urlencoded") != NULL);
    CHECK(header(&r, "Accept: application/json") != NULL);
    CHECK(header(&r, "Authorization:") == NULL);
    oc_token_request_free(&r);
}

/* A refresh authenticated with Basic: only the grant in the body, and the
   header base64(credentials). */
static void check_basic_refresh(oc_client_auth how, const char *credentials)
{
    oc_flow f = flow(how);
    oc_token_request r;
    oc_error err;
    char *expect = oc_base64(credentials, strlen(credentials)), line[200];
    CHECK_INT(oc_oauth_refresh_request(&f, "RT", &r, &err), OC_OK);
    CHECK_STR(r.body, "grant_type=refresh_token&refresh_token=RT");
    snprintf(line, sizeof line, "Authorization: Basic %s", expect);
    CHECK_STR(header(&r, "Authorization:"), line);
    oc_token_request_free(&r);
    free(expect);
}

OC_TEST(refresh_request_basic_auth)
{
    /* RFC 6749 2.3.1: form-urlencoded before base64 */
    check_basic_refresh(OC_CLIENT_AUTH_BASIC, "my%20id:s3cr%26t");
}

OC_TEST(refresh_request_raw_basic_auth)
{
    /* Keap: base64(client_id:client_secret) of the values as they are */
    check_basic_refresh(OC_CLIENT_AUTH_BASIC_RAW, "my id:s3cr&t");
}

OC_TEST(code_request_json_body_with_extras)
{
    oc_flow f = flow(OC_CLIENT_AUTH_JSON);
    oc_token_request r;
    oc_error err;
    oc_kv extra = OC_KV_INIT;
    json_t *j;
    oc_kv_adds(&extra, "context", "stores/abc");
    oc_kv_adds(&extra, "scope", "store_v2_orders");
    CHECK_INT(oc_oauth_code_request(&f, "C", "https://app/auth", NULL, &extra, &r, &err), OC_OK);
    j = json_loadb(r.body, r.body_len, 0, NULL);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "grant_type")), "authorization_code");
    CHECK_STR(json_string_value(json_object_get(j, "context")), "stores/abc");
    CHECK_STR(json_string_value(json_object_get(j, "client_secret")), "s3cr&t");
    CHECK(header(&r, "Content-Type: application/json") != NULL);
    json_decref(j);
    oc_kv_free(&extra);
    oc_token_request_free(&r);
}

OC_TEST(client_credentials_request)
{
    oc_flow f = flow(OC_CLIENT_AUTH_BODY);
    oc_token_request r;
    oc_error err;
    CHECK_INT(oc_oauth_client_credentials_request(&f, &r, &err), OC_OK);
    CHECK_STR(r.body, "grant_type=client_credentials&scope=read_orders%20write_products&client_id=my%20id&"
                      "client_secret=s3cr%26t");
    oc_token_request_free(&r);
}

OC_TEST(token_result_dispatches_on_status)
{
    oc_token t;
    oc_error err;
    const char *ok = "{\"access_token\":\"A\"}";
    const char *bad = "{\"error\":\"invalid_request\",\"error_description\":\"Invalid Refresh Token\"}";
    oc_token_init(&t);
    oc_error_clear(&err);
    CHECK_INT(oc_oauth_token_result("x", "https://as/token?x=1", 200, "application/json", ok,
                                    strlen(ok), 1, NULL, NULL, &t, &err), OC_OK);
    oc_token_clear(&t);
    CHECK_INT(oc_oauth_token_result("the token refresh", "https://as/token?x=1", 400, "application/json",
                                    bad, strlen(bad), 1, NULL, NULL, &t, &err), OC_E_OAUTH);
    CHECK_STR(err.oauth_error, "invalid_request");
    CHECK_CONTAINS(err.message, "Invalid Refresh Token");
    CHECK_NOT_CONTAINS(err.message, "x=1");
}

OC_TEST(callback_checks_state_then_error_then_code)
{
    oc_kv p = OC_KV_INIT;
    oc_error err;
    CHECK_INT(oc_oauth_callback("code=abc&state=S1", 17, "S1", OC_STATE_REQUIRED, NULL, &p, &err), OC_OK);
    CHECK_STR(oc_kv_get(&p, "code"), "abc");
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("code=abc", 8, "S1", OC_STATE_REQUIRED, NULL, &p, &err), OC_E_STATE_MISMATCH);
    CHECK_CONTAINS(err.message, "no state");
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("code=abc&state=S2", 17, "S1", OC_STATE_REQUIRED, NULL, &p, &err), OC_E_STATE_MISMATCH);
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("error=access_denied&error_description=User+said+no&state=S1", 59, "S1",
                                OC_STATE_REQUIRED, NULL, &p, &err), OC_E_ACCESS_DENIED);
    CHECK_CONTAINS(err.message, "User said no");
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("error=server_error&state=S1", 27, "S1", OC_STATE_REQUIRED, NULL, &p, &err), OC_E_OAUTH);
    CHECK_STR(err.oauth_error, "server_error");
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("state=S1", 8, "S1", OC_STATE_REQUIRED, NULL, &p, &err), OC_E_LOGIN);
    oc_kv_free(&p);
    /* RFC 6749 3.1: a repeated code or state is not the server's answer */
    CHECK_INT(oc_oauth_callback("code=REAL&state=S1&code=EVIL", 28, "S1", OC_STATE_REQUIRED, NULL, &p, &err),
              OC_E_STATE_MISMATCH);
    CHECK_CONTAINS(err.message, "repeats its code parameter");
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("code=C&state=S1&state=S1", 24, "S1", OC_STATE_REQUIRED, NULL, &p, &err),
              OC_E_STATE_MISMATCH);
    oc_kv_free(&p);
}

OC_TEST(callback_state_rules_for_stateless_servers_and_foreign_logins)
{
    oc_kv p = OC_KV_INIT;
    oc_error err;
    /* BigCommerce never echoes state: none is fine, a wrong one is not */
    CHECK_INT(oc_oauth_callback("code=abc&context=stores%2Fx", 27, "S1", OC_STATE_IF_SENT, NULL, &p, &err), OC_OK);
    CHECK_STR(oc_kv_get(&p, "context"), "stores/x");
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("code=abc&state=S2", 17, "S1", OC_STATE_IF_SENT, NULL, &p, &err),
              OC_E_STATE_MISMATCH);
    oc_kv_free(&p);
    /* a login started elsewhere: any state, but errors and codes still judged */
    CHECK_INT(oc_oauth_callback("code=abc&state=S2", 17, NULL, OC_STATE_UNCHECKED, NULL, &p, &err), OC_OK);
    oc_kv_free(&p);
    CHECK_INT(oc_oauth_callback("error=access_denied", 19, NULL, OC_STATE_UNCHECKED, NULL, &p, &err),
              OC_E_ACCESS_DENIED);
    oc_kv_free(&p);
}

OC_TEST(pkce_s256_matches_rfc7636_appendix_b)
{
    char *c = NULL;
    oc_error err;
    CHECK_INT(oc_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &c, &err), OC_OK);
    CHECK_STR(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    free(c);
}

OC_TEST(random_values_are_urlsafe_and_differ)
{
    char *a = NULL, *b = NULL;
    oc_error err;
    size_t i;
    CHECK_INT(oc_random_urlsafe(32, &a, &err), OC_OK);
    CHECK_INT(oc_random_urlsafe(32, &b, &err), OC_OK);
    CHECK_INT(strlen(a), 43);
    CHECK(strcmp(a, b) != 0);
    for (i = 0; a[i]; i++)
        CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]) != NULL);
    CHECK(oc_secure_streq(a, a));
    CHECK(!oc_secure_streq(a, b));
    CHECK(!oc_secure_streq(a, NULL));
    free(a);
    free(b);
}

OC_TEST(base64_round_trip)
{
    unsigned char *out;
    size_t n;
    char *e = oc_base64url("\xfb\xff", 2);
    CHECK_STR(e, "-_8");
    CHECK_INT(oc_base64_decode(e, strlen(e), &out, &n), 0);
    CHECK_INT(n, 2);
    CHECK(out[0] == 0xfb && out[1] == 0xff);
    free(out);
    free(e);
    CHECK_INT(oc_base64_decode("a", 1, &out, &n), -1);
}

OC_TEST(device_request_and_poll)
{
    oc_flow f = flow(OC_CLIENT_AUTH_BASIC);
    oc_token_request r;
    oc_error err;
    f.device_url = "https://as.example/device";
    CHECK_INT(oc_oauth_device_request(&f, &r, &err), OC_OK);
    CHECK_STR(r.url, "https://as.example/device");
    CHECK_STR(r.body, "scope=read_orders%20write_products");
    CHECK(header(&r, "Authorization: Basic ") != NULL);
    oc_token_request_free(&r);
    f.code_auth = OC_CLIENT_AUTH_BODY;
    CHECK_INT(oc_oauth_device_token_request(&f, "DEV", &r, &err), OC_OK);
    CHECK_STR(r.url, "https://as.example/oauth/token");
    CHECK_STR(r.body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=DEV&"
                      "client_id=my%20id&client_secret=s3cr%26t");
    oc_token_request_free(&r);
}

OC_TEST(device_answer)
{
    const char *ok = "{\"device_code\":\"DC\",\"user_code\":\"WDJB-MJHT\",\"verification_uri\":"
                     "\"https://as.example/device\",\"verification_uri_complete\":"
                     "\"https://as.example/device?user_code=WDJB-MJHT\",\"expires_in\":1800}";
    const char *google = "{\"device_code\":\"DC\",\"user_code\":\"U\",\"verification_url\":"
                         "\"https://www.google.com/device\",\"expires_in\":1800,\"interval\":7}";
    oc_device_auth d;
    oc_error err;
    CHECK_INT(oc_oauth_device_result("https://as.example/device", 200, "application/json", ok, strlen(ok),
                                     NULL, &d, &err), OC_OK);
    CHECK_STR(d.device_code, "DC");
    CHECK_STR(d.user_code, "WDJB-MJHT");
    CHECK_STR(d.verification_uri_complete, "https://as.example/device?user_code=WDJB-MJHT");
    CHECK_INT((int)d.expires_in_s, 1800);
    CHECK_INT((int)d.interval_s, OC_DEVICE_DEFAULT_INTERVAL_S); /* RFC 8628 3.2: 5 when unsaid */
    oc_device_auth_clear(&d);
    CHECK_INT(oc_oauth_device_result("https://as.example/device", 200, "application/json", google,
                                     strlen(google), NULL, &d, &err), OC_OK);
    CHECK_STR(d.verification_uri, "https://www.google.com/device");
    CHECK_INT((int)d.interval_s, 7);
    oc_device_auth_clear(&d);
    /* what a client cannot show or poll with */
    {
        const char *partial = "{\"device_code\":\"DC\",\"expires_in\":5}";
        CHECK_INT(oc_oauth_device_result("https://as.example/device", 200, "application/json", partial,
                                         strlen(partial), NULL, &d, &err), OC_E_BAD_RESPONSE);
        CHECK_CONTAINS(err.message, "lacks device_code, user_code or verification_uri");
    }
    CHECK(d.device_code == NULL);
    {
        const char *plain = "{\"device_code\":\"DC\",\"user_code\":\"U\",\"verification_uri\":"
                            "\"http://as.example/device\",\"expires_in\":5}";
        CHECK_INT(oc_oauth_device_result("https://as.example/device", 200, NULL, plain, strlen(plain), NULL,
                                         &d, &err), OC_E_BAD_RESPONSE);
        CHECK_CONTAINS(err.message, "verification_uri");
    }
    CHECK_INT(oc_oauth_device_result("https://as.example/device", 400, "application/json",
                                     "{\"error\":\"invalid_client\"}", 26, NULL, &d, &err), OC_E_OAUTH);
    CHECK_STR(err.oauth_error, "invalid_client");
}

OC_TEST(revoke_request)
{
    oc_flow f = flow(OC_CLIENT_AUTH_BODY);
    oc_token_request r;
    oc_error err;
    f.revocation_url = "https://as.example/revoke";
    CHECK_INT(oc_oauth_revoke_request(&f, "RT", "refresh_token", &r, &err), OC_OK);
    CHECK_STR(r.url, "https://as.example/revoke");
    CHECK_STR(r.body, "token=RT&token_type_hint=refresh_token&client_id=my%20id&client_secret=s3cr%26t");
    oc_token_request_free(&r);
    /* the reauthentication keeps the request's own endpoint */
    CHECK_INT(oc_oauth_revoke_request(&f, "AT", NULL, &r, &err), OC_OK);
    CHECK_INT(oc_token_request_reauth(&f, &r, OC_CLIENT_AUTH_BASIC, &err), OC_OK);
    CHECK_STR(r.url, "https://as.example/revoke");
    CHECK_STR(r.body, "token=AT");
    oc_token_request_free(&r);
}
