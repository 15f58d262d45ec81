/* The request state machine, driven step by step with scripted answers:
   no network, so the order of what it asks for is what is tested. */
#include <stdlib.h>

#include "oc_call.h"
#include "oc_client.h"
#include "oc_test.h"
#include "oc_time.h"

static oc_profile *profile(void)
{
    oc_profile *p = oc_profile_new();
    oc_error err;
    CHECK(p != NULL);
    CHECK_INT(oc_profile_set(p, "name", "test", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "title", "Test", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "authorize_url", "https://as.example/authorize", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "token_url", "https://as.example/token", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "api_url", "https://api.example/v1", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "refreshable", "true", &err), OC_OK);
    return p;
}

/* A client holding an hour-long token with seconds_left to live, on the
   given store or a private memory store. */
static oc_client *client_on(oc_store *store, const char *name, long seconds_left)
{
    char props[512];
    oc_config *cfg = oc_config_new();
    oc_profile *p = profile();
    oc_client *c = NULL;
    oc_error err;
    snprintf(props, sizeof props,
             "InitiateOAuth=REFRESH;OAuthClientId=id;OAuthClientSecret=secret;"
             "OAuthSettingsLocation=memory://%s;OAuthAccessToken=A1;OAuthRefreshToken=R1;"
             "OAuthExpiresIn=3600;OAuthTokenTimestamp=%lld;MaxAttempts=2",
             name, (long long)(oc_now_ms() - (3600 - seconds_left) * 1000LL));
    CHECK_INT(oc_config_parse(cfg, props, strlen(props), &err), OC_OK);
    CHECK_INT(oc_client_new(cfg, p, store, &c, &err), OC_OK);
    oc_config_free(cfg);
    oc_profile_free(p);
    return c;
}

static oc_client *client(const char *name, long seconds_left)
{
    return client_on(NULL, name, seconds_left);
}

static void answer(oc_response *r, long status, const char *header, const char *body)
{
    oc_response_reset(r);
    r->status = status;
    if (header) { /* "name\0value\0" */
        size_t n = strcspn(header, ":");
        oc_buf_append(&r->headers, header, n);
        oc_buf_append(&r->headers, "", 1);
        oc_buf_puts(&r->headers, header + n + 2);
        oc_buf_append(&r->headers, "", 1);
        r->nheaders = 1;
    }
    oc_buf_puts(&r->body, body);
}

static const char *find_header(const oc_request *r, const char *prefix)
{
    const struct curl_slist *h;
    for (h = r->headers; h; h = h->next)
        if (strncmp(h->data, prefix, strlen(prefix)) == 0)
            return h->data;
    return NULL;
}

static const oc_api_request get_info = {"GET", "/store/info.json", NULL, NULL, NULL, 0, 0};

OC_TEST(fresh_token_sends_the_request_at_once)
{
    oc_client *c = client("call1", 3600);
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    oc_response_init(&resp);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_HTTP);
    CHECK_STR(step.request->method, "GET");
    CHECK_STR(step.request->url, "https://api.example/v1/store/info.json");
    CHECK_STR(find_header(step.request, "Authorization:"), "Authorization: Bearer A1");
    answer(step.response, 200, "content-type: application/json", "{}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    CHECK_INT(oc_call_result(call, &err), OC_OK);
    CHECK_INT(resp.status, 200);
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

OC_TEST(due_token_is_refreshed_before_the_request)
{
    oc_client *c = client("call2", 5); /* inside the leeway */
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    oc_response_init(&resp);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_HTTP);
    CHECK_STR(step.request->method, "POST");
    CHECK_STR(step.request->url, "https://as.example/token");
    CHECK_CONTAINS(step.request->body, "grant_type=refresh_token&refresh_token=R1");
    answer(step.response, 200, "content-type: application/json",
           "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":3600}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_HTTP);
    CHECK_STR(step.request->method, "GET"); /* not the token request's method */
    CHECK(step.request->body == NULL);
    CHECK_STR(find_header(step.request, "Authorization:"), "Authorization: Bearer A2");
    answer(step.response, 200, NULL, "{}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    CHECK_INT(oc_call_result(call, &err), OC_OK);
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

/* The rotated token is in the store before the request that uses it goes
   out: a crash after this point loses nothing. */
OC_TEST(rotated_token_is_stored_before_it_is_used)
{
    oc_store *store;
    oc_client *c;
    oc_token stored;
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    int found = 0;
    oc_response_init(&resp);
    oc_token_init(&stored);
    CHECK_INT(oc_store_memory_new("call3", &store, &err), OC_OK);
    c = client_on(store, "call3", 5);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    answer(step.response, 200, "content-type: application/json",
           "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":3600}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_HTTP);
    CHECK_INT(oc_store_load(store, &stored, NULL, &found, &err), OC_OK);
    CHECK(found);
    CHECK_STR(stored.refresh_token, "R2");
    CHECK_STR(stored.access_token, "A2");
    oc_call_free(call); /* abandoned mid-way: nothing held, nothing leaked */
    oc_token_clear(&stored);
    oc_store_release(store);
    oc_response_free(&resp);
    oc_client_free(c);
}

OC_TEST(a_401_refreshes_once_and_resends)
{
    oc_client *c = client("call4", 3600);
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    oc_response_init(&resp);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    answer(step.response, 401, NULL, "{\"message\":\"expired\"}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_STR(step.request->url, "https://as.example/token");
    answer(step.response, 200, "content-type: application/json",
           "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":3600}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_STR(step.request->url, "https://api.example/v1/store/info.json");
    CHECK_STR(find_header(step.request, "Authorization:"), "Authorization: Bearer A2");
    answer(step.response, 401, NULL, "{}"); /* a second 401 is the answer */
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    CHECK_INT(oc_call_result(call, &err), OC_OK);
    CHECK_INT(resp.status, 401);
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

OC_TEST(a_refused_refresh_fails_the_call_naming_the_request)
{
    oc_client *c = client("call5", 3600);
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    oc_response_init(&resp);
    oc_error_clear(&err);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    answer(step.response, 401, NULL, "{}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    answer(step.response, 400, "content-type: application/json", "{\"error\":\"invalid_grant\"}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    CHECK_INT(oc_call_result(call, &err), OC_E_OAUTH);
    CHECK_CONTAINS(err.message, "GET https://api.example/v1/store/info.json was rejected with HTTP 401");
    CHECK_CONTAINS(err.message, "invalid_grant");
    CHECK(strstr(err.message, "R1") == NULL);
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

OC_TEST(a_429_waits_as_told_then_resends)
{
    oc_client *c = client("call6", 3600);
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    oc_response_init(&resp);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    answer(step.response, 429, "retry-after: 2", "");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_WAIT);
    CHECK_INT(step.wait_ms, 2000);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_HTTP);
    CHECK_STR(step.request->method, "GET");
    answer(step.response, 200, NULL, "{}");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

/* A POST that may have reached the server is not sent twice. */
OC_TEST(a_post_lost_in_transit_is_not_resent)
{
    static const oc_api_request post = {"POST", "/orders.json", NULL, NULL, "{}", 2, 0};
    oc_client *c = client("call7", 3600);
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err, terr;
    oc_response_init(&resp);
    oc_error_clear(&terr);
    oc_fail(&terr, OC_E_TIMEOUT, "timed out");
    CHECK_INT(oc_call_api(c, &post, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    CHECK_STR(step.request->method, "POST");
    oc_call_feed(call, OC_E_TIMEOUT, 1, &terr);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    CHECK_INT(oc_call_result(call, &err), OC_E_TIMEOUT);
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

OC_TEST(another_origin_redirect_is_not_followed)
{
    oc_client *c = client("call8", 3600);
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    oc_response_init(&resp);
    oc_error_clear(&err);
    CHECK_INT(oc_call_api(c, &get_info, &resp, &call, &err), OC_OK);
    oc_call_next(call, &step);
    answer(step.response, 302, "location: https://evil.example/steal", "");
    oc_call_feed(call, OC_OK, 1, NULL);
    oc_call_next(call, &step);
    CHECK_INT(step.kind, OC_STEP_DONE);
    CHECK_INT(oc_call_result(call, &err), OC_E_ORIGIN);
    CHECK_CONTAINS(err.message, "https://evil.example/steal");
    oc_call_free(call);
    oc_response_free(&resp);
    oc_client_free(c);
}

/* Two calls of one client (two coroutines): the second waits for the
   first's refresh and then uses its token, sending no second refresh. */
OC_TEST(concurrent_calls_share_one_refresh)
{
    oc_client *c = client("call9", 5);
    oc_response r1, r2;
    oc_call *a, *b;
    oc_step sa, sb;
    oc_error err;
    oc_response_init(&r1);
    oc_response_init(&r2);
    CHECK_INT(oc_call_api(c, &get_info, &r1, &a, &err), OC_OK);
    CHECK_INT(oc_call_api(c, &get_info, &r2, &b, &err), OC_OK);
    oc_call_next(a, &sa);
    CHECK_STR(sa.request->url, "https://as.example/token");
    oc_call_next(b, &sb);
    CHECK_INT(sb.kind, OC_STEP_WAIT);
    answer(sa.response, 200, "content-type: application/json",
           "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":3600}");
    oc_call_feed(a, OC_OK, 1, NULL);
    oc_call_next(b, &sb);
    CHECK_INT(sb.kind, OC_STEP_HTTP);
    CHECK_STR(sb.request->url, "https://api.example/v1/store/info.json");
    CHECK_STR(find_header(sb.request, "Authorization:"), "Authorization: Bearer A2");
    oc_call_free(a);
    oc_call_free(b);
    oc_response_free(&r1);
    oc_response_free(&r2);
    oc_client_free(c);
}

/* Two calls sent with the same token both meet a 401: the first refreshes,
   the second resends with the new token instead of refreshing again. */
OC_TEST(a_401_after_another_calls_refresh_resends_without_refreshing)
{
    oc_client *c = client("call10", 3600);
    oc_response r1, r2;
    oc_call *a, *b;
    oc_step sa, sb;
    oc_error err;
    oc_response_init(&r1);
    oc_response_init(&r2);
    CHECK_INT(oc_call_api(c, &get_info, &r1, &a, &err), OC_OK);
    CHECK_INT(oc_call_api(c, &get_info, &r2, &b, &err), OC_OK);
    oc_call_next(a, &sa);
    oc_call_next(b, &sb);
    CHECK_STR(find_header(sb.request, "Authorization:"), "Authorization: Bearer A1");
    answer(sa.response, 401, NULL, "{}");
    oc_call_feed(a, OC_OK, 1, NULL);
    oc_call_next(a, &sa);
    CHECK_STR(sa.request->url, "https://as.example/token");
    answer(sa.response, 200, "content-type: application/json",
           "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":3600}");
    oc_call_feed(a, OC_OK, 1, NULL);
    answer(sb.response, 401, NULL, "{}"); /* b's answer, to the request sent with A1 */
    oc_call_feed(b, OC_OK, 1, NULL);
    oc_call_next(b, &sb);
    CHECK_INT(sb.kind, OC_STEP_HTTP);
    CHECK_STR(sb.request->url, "https://api.example/v1/store/info.json");
    CHECK_STR(find_header(sb.request, "Authorization:"), "Authorization: Bearer A2");
    oc_call_free(a);
    oc_call_free(b);
    oc_response_free(&r1);
    oc_response_free(&r2);
    oc_client_free(c);
}
