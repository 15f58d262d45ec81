/* Token endpoint answers, expiry arithmetic and the settings-file form. */
#include <stdlib.h>

#include "oc_oauth.h"
#include "oc_test.h"
#include "oc_token.h"

#define NOW INT64_C(1700000000000)

static oc_code parse(const char *body, const oc_token *prev, oc_token *t, oc_error *err)
{
    oc_error_clear(err);
    oc_token_init(t);
    return oc_token_parse_response(body, strlen(body), "https://as/token", NOW, prev, t, err);
}

OC_TEST(doorkeeper_response)
{
    oc_token t;
    oc_error err;
    CHECK_INT(parse("{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                    "\"refresh_token\":\"RT\",\"scope\":\"read_orders\",\"created_at\":1699999999}",
                    NULL, &t, &err), OC_OK);
    CHECK_STR(t.access_token, "AT");
    CHECK_STR(t.refresh_token, "RT");
    CHECK_STR(t.token_type, "Bearer");
    CHECK_STR(t.scope, "read_orders");
    CHECK_INT(t.expires_in, 3600);
    CHECK_INT(t.expires_at_ms, NOW + 3600000);
    CHECK_INT(t.created_at, 1699999999);
    CHECK(t.extra == NULL);
    oc_token_clear(&t);
}

OC_TEST(refresh_answer_without_refresh_token_or_scope_keeps_old_ones)
{
    oc_token prev, t;
    oc_error err;
    oc_token_init(&prev);
    prev.refresh_token = strdup("OLD");
    prev.scope = strdup("read_orders read_products");
    CHECK_INT(parse("{\"access_token\":\"AT2\",\"expires_in\":60}", &prev, &t, &err), OC_OK);
    CHECK_STR(t.refresh_token, "OLD");
    CHECK_STR(t.scope, "read_orders read_products");
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"AT3\",\"refresh_token\":\"NEW\",\"scope\":\"read_orders\"}",
                    &prev, &t, &err), OC_OK);
    CHECK_STR(t.refresh_token, "NEW");
    CHECK_STR(t.scope, "read_orders");
    CHECK_INT(t.expires_at_ms, 0);
    oc_token_clear(&t);
    oc_token_clear(&prev);
}

static oc_code salvage(const char *body, const oc_token *prev, oc_token *out)
{
    oc_token_init(out);
    return oc_token_salvage_refresh(body, strlen(body), prev, out);
}

OC_TEST(rotated_refresh_token_is_salvaged_from_a_refused_answer)
{
    oc_token prev, t;
    oc_token_init(&prev);
    prev.access_token = strdup("AT-IN-USE");
    prev.refresh_token = strdup("SPENT");
    prev.expires_at_ms = NOW + 1000;
    CHECK_INT(salvage("{\"access_token\":\"x\",\"refresh_token\":\"ROTATED\",\"token_type\":\"mac\"}",
                      &prev, &t), OC_OK);
    CHECK_STR(t.refresh_token, "ROTATED");
    CHECK_STR(t.access_token, "AT-IN-USE"); /* the refused one is never used */
    CHECK_INT(t.expires_at_ms, NOW + 1000);
    oc_token_clear(&t);
    /* nothing new to keep */
    CHECK_INT(salvage("{\"refresh_token\":\"SPENT\"}", &prev, &t), OC_E_NOT_FOUND);
    CHECK_INT(salvage("{\"access_token\":\"x\"}", &prev, &t), OC_E_NOT_FOUND);
    CHECK_INT(salvage("{\"refresh_token\":\"a\\r\\nb\"}", &prev, &t), OC_E_NOT_FOUND);
    CHECK_INT(salvage("{\"refresh_token\":5}", &prev, &t), OC_E_NOT_FOUND);
    CHECK_INT(salvage("not json", &prev, &t), OC_E_NOT_FOUND);
    CHECK_INT(salvage("{\"refresh_token\":\"R\"}", NULL, &t), OC_E_NOT_FOUND);
    oc_token_clear(&prev);
}

OC_TEST(scope_as_a_list)
{
    oc_token t;
    oc_error err;
    CHECK_INT(parse("{\"access_token\":\"AT\",\"scope\":[\"a\",\"b c\"]}", NULL, &t, &err), OC_OK);
    CHECK_STR(t.scope, "a b c");
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"AT\",\"scope\":[]}", NULL, &t, &err), OC_OK);
    CHECK_STR(t.scope, "");
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"AT\",\"scope\":[{}]}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "scope list");
}

OC_TEST(extra_members_are_kept)
{
    oc_token t;
    oc_error err;
    CHECK_INT(parse("{\"access_token\":\"AT\",\"context\":\"stores/abc\",\"user\":{\"id\":1}}", NULL,
                    &t, &err), OC_OK);
    CHECK(t.extra != NULL);
    CHECK_STR(json_string_value(json_object_get(t.extra, "context")), "stores/abc");
    oc_token_clear(&t);
}

OC_TEST(expires_in_forms)
{
    oc_token t;
    oc_error err;
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":\"120\"}", NULL, &t, &err), OC_OK);
    CHECK_INT(t.expires_in, 120);
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":59.9}", NULL, &t, &err), OC_OK);
    CHECK_INT(t.expires_in, 59);
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":0}", NULL, &t, &err), OC_OK);
    CHECK_INT(t.expires_at_ms, 0);
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":-5}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "negative expires_in");
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":1e300}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":\"soon\"}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_INT(parse("{\"access_token\":\"A\",\"expires_in\":[1]}", NULL, &t, &err), OC_E_BAD_RESPONSE);
}

OC_TEST(malformed_answers_are_clear_and_leak_nothing)
{
    oc_token t;
    oc_error err;
    CHECK_INT(parse("<!DOCTYPE html><p>Bad gateway</p>", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "not valid JSON");
    CHECK_INT(parse("{\"access_token\":\"SECRETPART", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_NOT_CONTAINS(err.message, "SECRETPART");
    CHECK_INT(parse("{\"token_type\":\"Bearer\"}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "without access_token");
    CHECK_INT(parse("{\"access_token\":42}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "not a string");
    CHECK_INT(parse("{\"access_token\":\"a\\r\\nX-Evil: 1\"}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_INT(parse("[\"access_token\"]", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_INT(parse("{\"access_token\":\"A\",\"access_token\":\"B\"}", NULL, &t, &err), OC_E_BAD_RESPONSE);
}

OC_TEST(oauth_error_answer)
{
    oc_error err;
    const char *body = "{\"error\":\"invalid_grant\",\"error_description\":\"The refresh token is revoked\"}";
    oc_error_clear(&err);
    CHECK_INT(oc_token_error_response(400, body, strlen(body), "application/json", "the token refresh",
                                      "https://as/token", NULL, &err), OC_E_OAUTH);
    CHECK_STR(err.oauth_error, "invalid_grant");
    CHECK_INT(err.status, 400);
    CHECK_CONTAINS(err.message, "the token refresh was refused by https://as/token (HTTP 400): "
                                "invalid_grant: The refresh token is revoked");
    oc_error_clear(&err);
    CHECK_INT(oc_token_error_response(502, "<html>", 6, "text/html", "the token refresh",
                                      "https://as/token", NULL, &err), OC_E_SERVER_ERROR);
    CHECK_CONTAINS(err.message, "answered HTTP 502, a server error; the stored tokens are "
                                "unchanged, try again later");
    oc_error_clear(&err);
    CHECK_INT(oc_token_error_response(400, "<html>", 6, "text/html", "the token refresh",
                                      "https://as/token", NULL, &err), OC_E_OAUTH);
    CHECK_CONTAINS(err.message, "HTTP 400 with a body that is not JSON (text/html)");
}

OC_TEST(due_uses_leeway_capped_at_a_quarter_of_lifetime)
{
    oc_token t;
    oc_token_init(&t);
    t.access_token = strdup("x");
    t.obtained_ms = NOW;
    t.expires_at_ms = NOW + 3600 * 1000;
    CHECK(!oc_token_due(&t, NOW + 3539 * 1000, 60));
    CHECK(oc_token_due(&t, NOW + 3541 * 1000, 60));
    /* a 4 s token: leeway 60 s is capped at 1 s */
    t.expires_at_ms = NOW + 4000;
    CHECK(!oc_token_due(&t, NOW + 2900, 60));
    CHECK(oc_token_due(&t, NOW + 3000, 60));
    CHECK(!oc_token_expired(&t, NOW + 3999));
    CHECK(oc_token_expired(&t, NOW + 4000));
    t.expires_at_ms = 0;
    CHECK(!oc_token_due(&t, NOW + 999999999, 60));
    oc_token_clear(&t);
}

OC_TEST(settings_json_round_trip)
{
    oc_token t, back;
    oc_token_meta meta, got;
    oc_error err;
    json_t *j;
    CHECK_INT(parse("{\"access_token\":\"AT\",\"refresh_token\":\"RT\",\"expires_in\":10,\"context\":\"c\"}",
                    NULL, &t, &err), OC_OK);
    memset(&meta, 0, sizeof meta);
    memset(&got, 0, sizeof got);
    meta.provider = "jumpseller";
    meta.seed = "abc";
    meta.token_url = "https://as/token";
    j = oc_token_to_json(&t, &meta);
    oc_token_init(&back);
    CHECK_INT(oc_token_from_json(j, &back, &got, "test", &err), OC_OK);
    CHECK_STR(back.access_token, "AT");
    CHECK_STR(back.refresh_token, "RT");
    CHECK_INT(back.expires_at_ms, t.expires_at_ms);
    CHECK_INT(back.obtained_ms, NOW);
    CHECK_STR(got.seed, "abc");
    CHECK_STR(got.token_url, "https://as/token");
    CHECK(got.api_url == NULL);
    CHECK_STR(json_string_value(json_object_get(back.extra, "context")), "c");
    oc_token_meta_clear(&got);
    json_decref(j);
    oc_token_clear(&t);
    oc_token_clear(&back);
}

OC_TEST(settings_json_wrong_types)
{
    oc_token t;
    oc_error err;
    json_t *j = json_loads("{\"access_token\":5}", 0, NULL);
    oc_token_init(&t);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "file x: access_token is not a token string");
    json_decref(j);
    j = json_loads("{\"access_token\":\"a\",\"expires_at_ms\":\"soon\"}", 0, NULL);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "expires_at_ms is not an integer");
    json_decref(j);
    j = json_loads("{\"scope\":\"a\"}", 0, NULL);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "holds no access_token");
    json_decref(j);
    /* a refresh token alone (a refused answer's rotated one, kept before any
       access token was held; 0.1.0 wrote the absence as "") needs a refresh */
    j = json_loads("{\"access_token\":\"\",\"refresh_token\":\"r\"}", 0, NULL);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_OK);
    CHECK(t.access_token == NULL);
    CHECK_STR(t.refresh_token, "r");
    oc_token_clear(&t);
    json_decref(j);
    j = json_loads("{\"access_token\":\"\"}", 0, NULL);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_E_SETTINGS);
    json_decref(j);
    /* a later version's form is refused, not half-read */
    j = json_loads("{\"format\":\"oauthconnect-settings-9\",\"access_token\":\"a\"}", 0, NULL);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "file x is in the format 'oauthconnect-settings-9', which this version");
    json_decref(j);
    j = json_loads("{\"format\":\"oauthconnect-settings-1\",\"access_token\":\"a\"}", 0, NULL);
    CHECK_INT(oc_token_from_json(j, &t, NULL, "file x", &err), OC_OK);
    oc_token_clear(&t);
    json_decref(j);
}

OC_TEST(only_bearer_tokens_are_used)
{
    oc_token t;
    oc_error err;
    CHECK_INT(parse("{\"access_token\":\"A\",\"token_type\":\"bearer\"}", NULL, &t, &err), OC_OK);
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"A\",\"token_type\":\"DPoP\"}", NULL, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "'DPoP' token");
}

/* RFC 8259 puts no limit on a number's size: an answer holding an integer
   past 2^63 (a user id, an expires_in of 10^30) is valid JSON, read, and
   its rotated refresh token is never lost with it. */
OC_TEST(integers_past_64_bits_are_read_and_never_cost_the_rotated_token)
{
    oc_token prev, t;
    oc_error err;
    oc_token_init(&prev);
    prev.access_token = strdup("AT-IN-USE");
    prev.refresh_token = strdup("SPENT");
    CHECK_INT(parse("{\"access_token\":\"AT2\",\"refresh_token\":\"R2\",\"expires_in\":3600,"
                    "\"user_id\":9223372036854775808}",
                    &prev, &t, &err), OC_OK);
    CHECK_STR(t.access_token, "AT2");
    CHECK_STR(t.refresh_token, "R2");
    CHECK_INT(t.expires_in, 3600);
    oc_token_clear(&t);
    CHECK_INT(parse("{\"access_token\":\"AT3\",\"refresh_token\":\"R3\","
                    "\"expires_in\":1000000000000000000000000000000}",
                    &prev, &t, &err), OC_E_BAD_RESPONSE);
    CHECK_CONTAINS(err.message, "expires_in over");
    oc_token_clear(&t);
    CHECK_INT(salvage("{\"access_token\":\"AT3\",\"refresh_token\":\"R3\","
                      "\"expires_in\":1000000000000000000000000000000}",
                      &prev, &t), OC_OK);
    CHECK_STR(t.refresh_token, "R3");
    oc_token_clear(&t);
    oc_token_clear(&prev);
}
