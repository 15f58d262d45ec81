/* The request state machine, driven step by step with scripted answers:
   no network, so the order of what it asks for is what is tested. */
#include <stdlib.h>

#include "oc_call.h"
#include "oc_client.h"
#include "oc_easy.h"
#include "oc_settings.h"
#include "oc_test.h"
#include "oc_time.h"

#define TOKEN_JSON(a, r) "{\"access_token\":\"" a "\",\"refresh_token\":\"" r "\",\"expires_in\":3600}"
#define JSON "content-type: application/json"

static const oc_api_request get_info = {"GET", "/store/info.json", NULL, NULL, NULL, 0, 0};

/* A client holding an hour-long token (A1, R1) with seconds_left to live,
   on the given store or a private memory store; quota_headers, when
   given, is the profile's field of that name. */
static oc_client *client_with(oc_store *store, const char *name, long seconds_left,
                              const char *quota_headers)
{
    char props[512];
    oc_config *cfg = oc_config_new();
    oc_profile *p = oc_profile_new();
    oc_client *c = NULL;
    oc_error err;
    CHECK(cfg && p);
    CHECK_INT(oc_profile_set(p, "name", "test", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "title", "Test", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "authorize_url", "https://as.example/authorize", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "token_url", "https://as.example/token", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "api_url", "https://api.example/v1", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "refreshable", "true", &err), OC_OK);
    if (quota_headers)
        CHECK_INT(oc_profile_set(p, "quota_headers", quota_headers, &err), OC_OK);
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

static oc_client *client_on(oc_store *store, const char *name, long seconds_left)
{
    return client_with(store, name, seconds_left, NULL);
}

/* One call in progress and the step it asks for. Store steps are
   performed on the spot (the client's memory store): what is tested is the
   order of the HTTP requests and waits. */
typedef struct run {
    oc_client *c;
    oc_response resp;
    oc_call *call;
    oc_step step;
    oc_error err;
    int loads;  /* the store reads performed */
    int locks;  /* the store locks asked for */
} run;

/* When set, the store's lock fails from the nth taken by a run on, as an
   unreachable Redis's does (the first is the initial seeding of the store
   from the properties, done before Redis went down). */
static int locks_fail_from;

/* The next step that is not a store step. */
static void advance(run *r)
{
    oc_call_next(r->call, &r->step);
    while (r->step.kind == OC_STEP_STORE) {
        oc_buf text;
        oc_error serr;
        int found = 0;
        oc_code rc;
        oc_buf_init_secret(&text, 0);
        oc_error_clear(&serr);
        r->loads += r->step.op == OC_STORE_LOAD;
        r->locks += r->step.op == OC_STORE_LOCK;
        if (locks_fail_from && r->step.op == OC_STORE_LOCK && r->locks >= locks_fail_from)
            rc = oc_fail(&serr, OC_E_NETWORK, "cannot take the lock: the connection closed");
        else
            rc = oc_easy_store_step(oc_client_store(r->c), &r->step, &text, &found, &serr);
        oc_call_feed_store(r->call, rc, text.data, text.len, found, &serr);
        oc_buf_free(&text);
        oc_call_next(r->call, &r->step);
    }
}

static void start(run *r, oc_client *c, const oc_api_request *req)
{
    r->c = c;
    r->loads = 0;
    r->locks = 0;
    oc_response_init(&r->resp);
    oc_error_clear(&r->err);
    CHECK_INT(oc_call_api(c, req, &r->resp, &r->call, &r->err), OC_OK);
    advance(r);
}

/* The stored token set of a store. */
static void load_stored(oc_store *store, oc_token *out)
{
    oc_settings doc;
    oc_buf text;
    oc_error err;
    int found = 0;
    oc_settings_init(&doc);
    CHECK_INT(oc_store_load(store, &text, &found, &err), OC_OK);
    CHECK(found);
    CHECK_INT(oc_settings_parse(text.data, text.len, "test", &doc, &err), OC_OK);
    CHECK(doc.has_token);
    CHECK_INT(oc_token_copy(out, &doc.token, &err), OC_OK);
    oc_settings_clear(&doc);
    oc_buf_free(&text);
}

/* Answers the HTTP step (header: "name: value" or NULL) and takes the next. */
static void reply(run *r, long status, const char *header, const char *body)
{
    oc_response *resp = r->step.response;
    CHECK_INT(r->step.kind, OC_STEP_HTTP);
    oc_response_reset(resp);
    resp->status = status;
    if (header) {
        size_t n = strcspn(header, ":");
        oc_response_add_header(resp, header, n, header + n + 2, strlen(header + n + 2));
    }
    oc_buf_puts(&resp->body, body);
    oc_call_feed(r->call, OC_OK, 1, NULL);
    advance(r);
}

static oc_code done(run *r)
{
    CHECK_INT(r->step.kind, OC_STEP_DONE);
    return oc_call_result(r->call, &r->err);
}

static void stop(run *r)
{
    oc_call_free(r->call);
    oc_response_free(&r->resp);
}

static const char *url(const run *r)
{
    return r->step.kind == OC_STEP_HTTP ? r->step.request->url : "(no HTTP step)";
}

static const char *auth(const run *r)
{
    return r->step.kind == OC_STEP_HTTP ? oc_test_header(r->step.request->headers, "Authorization:")
                                        : NULL;
}

OC_TEST(fresh_token_sends_the_request_at_once)
{
    oc_client *c = client_on(NULL, "call1", 3600);
    run r;
    start(&r, c, &get_info);
    CHECK_STR(r.step.request->method, "GET");
    CHECK_STR(url(&r), "https://api.example/v1/store/info.json");
    CHECK_STR(auth(&r), "Authorization: Bearer A1");
    reply(&r, 200, JSON, "{}");
    CHECK_INT(done(&r), OC_OK);
    CHECK_INT(r.resp.status, 200);
    stop(&r);
    oc_client_free(c);
}

OC_TEST(due_token_is_refreshed_before_the_request)
{
    oc_client *c = client_on(NULL, "call2", 5); /* inside the leeway */
    run r;
    start(&r, c, &get_info);
    CHECK_STR(r.step.request->method, "POST");
    CHECK_STR(url(&r), "https://as.example/token");
    CHECK_CONTAINS(r.step.request->body, "grant_type=refresh_token&refresh_token=R1");
    reply(&r, 200, JSON, TOKEN_JSON("A2", "R2"));
    CHECK_STR(r.step.request->method, "GET"); /* not the token request's method */
    CHECK(r.step.request->body == NULL);
    CHECK_STR(auth(&r), "Authorization: Bearer A2");
    reply(&r, 200, NULL, "{}");
    CHECK_INT(done(&r), OC_OK);
    stop(&r);
    oc_client_free(c);
}

/* The rotated token is in the store before the request that uses it goes
   out: a crash after this point loses nothing. */
OC_TEST(rotated_token_is_stored_before_it_is_used)
{
    oc_store *store;
    oc_token stored;
    oc_client *c;
    oc_error err;
    run r;
    oc_token_init(&stored);
    CHECK_INT(oc_store_memory_new("call3", &store, &err), OC_OK);
    c = client_on(store, "call3", 5);
    start(&r, c, &get_info);
    reply(&r, 200, JSON, TOKEN_JSON("A2", "R2"));
    CHECK_INT(r.step.kind, OC_STEP_HTTP);
    load_stored(store, &stored);
    CHECK_STR(stored.refresh_token, "R2");
    CHECK_STR(stored.access_token, "A2");
    stop(&r); /* abandoned mid-way: nothing held, nothing leaked */
    oc_token_clear(&stored);
    oc_store_release(store);
    oc_client_free(c);
}

OC_TEST(a_401_refreshes_once_and_resends)
{
    oc_client *c = client_on(NULL, "call4", 3600);
    run r;
    start(&r, c, &get_info);
    reply(&r, 401, NULL, "{\"message\":\"expired\"}");
    CHECK_STR(url(&r), "https://as.example/token");
    reply(&r, 200, JSON, TOKEN_JSON("A2", "R2"));
    CHECK_STR(url(&r), "https://api.example/v1/store/info.json");
    CHECK_STR(auth(&r), "Authorization: Bearer A2");
    reply(&r, 401, NULL, "{}"); /* a second 401 is the answer */
    CHECK_INT(done(&r), OC_OK);
    CHECK_INT(r.resp.status, 401);
    stop(&r);
    oc_client_free(c);
}

OC_TEST(a_refused_refresh_fails_the_call_naming_the_request)
{
    oc_client *c = client_on(NULL, "call5", 3600);
    run r;
    start(&r, c, &get_info);
    reply(&r, 401, NULL, "{}");
    reply(&r, 400, JSON, "{\"error\":\"invalid_grant\"}");
    CHECK_INT(done(&r), OC_E_OAUTH);
    CHECK_CONTAINS(r.err.message, "GET https://api.example/v1/store/info.json was rejected with HTTP 401");
    CHECK_CONTAINS(r.err.message, "invalid_grant");
    CHECK(strstr(r.err.message, "R1") == NULL);
    stop(&r);
    oc_client_free(c);
}

OC_TEST(a_429_waits_as_told_then_resends)
{
    oc_client *c = client_on(NULL, "call6", 3600);
    run r;
    start(&r, c, &get_info);
    reply(&r, 429, "retry-after: 2", "");
    CHECK_INT(r.step.kind, OC_STEP_WAIT);
    CHECK_INT(r.step.wait_ms, 2000);
    advance(&r);
    CHECK_STR(r.step.request->method, "GET");
    reply(&r, 200, NULL, "{}");
    CHECK_INT(done(&r), OC_OK);
    stop(&r);
    oc_client_free(c);
}

/* A POST that may have reached the server is not sent twice. */
OC_TEST(a_post_lost_in_transit_is_not_resent)
{
    static const oc_api_request post = {"POST", "/orders.json", NULL, NULL, "{}", 2, 0};
    oc_client *c = client_on(NULL, "call7", 3600);
    oc_error terr;
    run r;
    oc_error_clear(&terr);
    oc_fail(&terr, OC_E_TIMEOUT, "timed out");
    start(&r, c, &post);
    CHECK_STR(r.step.request->method, "POST");
    oc_call_feed(r.call, OC_E_TIMEOUT, 1, &terr);
    advance(&r);
    CHECK_INT(done(&r), OC_E_TIMEOUT);
    stop(&r);
    oc_client_free(c);
}

OC_TEST(another_origin_redirect_is_not_followed)
{
    oc_client *c = client_on(NULL, "call8", 3600);
    run r;
    start(&r, c, &get_info);
    reply(&r, 302, "location: https://evil.example/steal", "");
    CHECK_INT(done(&r), OC_E_ORIGIN);
    CHECK_CONTAINS(r.err.message, "https://evil.example/steal");
    stop(&r);
    oc_client_free(c);
}

/* Two calls of one client (two coroutines): the second waits for the
   first's refresh and then uses its token, sending no second refresh. */
OC_TEST(concurrent_calls_share_one_refresh)
{
    oc_client *c = client_on(NULL, "call9", 5);
    run a, b;
    start(&a, c, &get_info);
    CHECK_STR(url(&a), "https://as.example/token");
    start(&b, c, &get_info);
    CHECK_INT(b.step.kind, OC_STEP_WAIT);
    reply(&a, 200, JSON, TOKEN_JSON("A2", "R2"));
    advance(&b);
    CHECK_STR(url(&b), "https://api.example/v1/store/info.json");
    CHECK_STR(auth(&b), "Authorization: Bearer A2");
    stop(&a);
    stop(&b);
    oc_client_free(c);
}

/* Two calls sent with the same token both meet a 401: the first refreshes,
   the second resends with the new token instead of refreshing again. */
OC_TEST(a_401_after_another_calls_refresh_resends_without_refreshing)
{
    oc_client *c = client_on(NULL, "call10", 3600);
    run a, b;
    start(&a, c, &get_info);
    start(&b, c, &get_info);
    CHECK_STR(auth(&b), "Authorization: Bearer A1");
    reply(&a, 401, NULL, "{}");
    CHECK_STR(url(&a), "https://as.example/token");
    reply(&a, 200, JSON, TOKEN_JSON("A2", "R2"));
    reply(&b, 401, NULL, "{}"); /* b's answer, to the request sent with A1 */
    CHECK_STR(url(&b), "https://api.example/v1/store/info.json");
    CHECK_STR(auth(&b), "Authorization: Bearer A2");
    stop(&a);
    stop(&b);
    oc_client_free(c);
}

/* The same with a store: the newer token of the client's own call is used
   without reading the store again. */
OC_TEST(a_401_after_another_calls_refresh_resends_without_reading_the_store)
{
    oc_store *store;
    oc_client *c;
    oc_error err;
    run a, b;
    int loads;
    CHECK_INT(oc_store_memory_new("call10s", &store, &err), OC_OK);
    c = client_on(store, "call10s", 3600);
    start(&a, c, &get_info);
    start(&b, c, &get_info);
    CHECK_STR(auth(&b), "Authorization: Bearer A1");
    reply(&a, 401, NULL, "{}");
    CHECK_STR(url(&a), "https://as.example/token");
    reply(&a, 200, JSON, TOKEN_JSON("A2", "R2"));
    loads = b.loads;
    reply(&b, 401, NULL, "{}");
    CHECK_STR(auth(&b), "Authorization: Bearer A2");
    CHECK_INT(b.loads, loads);
    stop(&a);
    stop(&b);
    oc_client_free(c);
    oc_store_release(store);
}

/* A token call of c (a refresh forced, as another process's would be),
   answered with the given set. */
static void refresh_elsewhere(oc_client *c, const char *answer)
{
    run r;
    r.c = c;
    r.loads = 0;
    oc_response_init(&r.resp);
    oc_error_clear(&r.err);
    CHECK_INT(oc_call_token(c, OC_TOKEN_FORCE, &r.call, &r.err), OC_OK);
    advance(&r);
    CHECK_STR(url(&r), "https://as.example/token");
    reply(&r, 200, JSON, answer);
    CHECK_INT(done(&r), OC_OK);
    stop(&r);
}

/* Processes A, B and C share one store; each refresh revokes the token
   before. A's request meets a 401 twice, each time for a token another
   process had replaced: each time A takes the stored one and sends again,
   without a refresh of its own and without failing. */
OC_TEST(a_401_for_a_replaced_token_is_answered_with_the_stored_one_each_time)
{
    oc_store *store;
    oc_client *a, *b, *cc;
    oc_error err;
    run r;
    CHECK_INT(oc_store_memory_new("churn1", &store, &err), OC_OK);
    a = client_on(store, "churn1", 3600);
    b = client_on(store, "churn1", 3600);
    cc = client_on(store, "churn1", 3600);
    start(&r, a, &get_info);
    CHECK_STR(auth(&r), "Authorization: Bearer A1");
    refresh_elsewhere(b, TOKEN_JSON("A2", "R2"));
    reply(&r, 401, NULL, "{\"message\":\"revoked\"}");
    CHECK_STR(url(&r), "https://api.example/v1/store/info.json");
    CHECK_STR(auth(&r), "Authorization: Bearer A2");
    refresh_elsewhere(cc, TOKEN_JSON("A3", "R3"));
    reply(&r, 401, NULL, "{\"message\":\"revoked\"}");
    CHECK_STR(url(&r), "https://api.example/v1/store/info.json");
    CHECK_STR(auth(&r), "Authorization: Bearer A3");
    reply(&r, 200, NULL, "{}");
    CHECK_INT(done(&r), OC_OK);
    CHECK_INT(r.resp.status, 200);
    stop(&r);
    oc_client_free(a);
    oc_client_free(b);
    oc_client_free(cc);
    oc_store_release(store);
}

/* The newest token, from the call's own refresh, refused: the 401 stands,
   said as "rejected even after a refresh". */
OC_TEST(a_401_after_the_calls_own_refresh_stands)
{
    oc_store *store;
    oc_client *a;
    oc_error err;
    run r;
    CHECK_INT(oc_store_memory_new("churn2", &store, &err), OC_OK);
    a = client_on(store, "churn2", 3600);
    start(&r, a, &get_info);
    reply(&r, 401, NULL, "{}");
    CHECK_STR(url(&r), "https://as.example/token");
    reply(&r, 200, JSON, TOKEN_JSON("A2", "R2"));
    CHECK_STR(auth(&r), "Authorization: Bearer A2");
    reply(&r, 401, NULL, "{}");
    CHECK_INT(done(&r), OC_OK);
    CHECK_INT(r.resp.status, 401);
    CHECK_INT(oc_call_rejection(r.call), OC_REJECTED_AFTER_REFRESH);
    stop(&r);
    oc_client_free(a);
    oc_store_release(store);
}

/* A spent quota holds the next request back; the token it then carries is
   the one the store holds after the wait (another process renewed). */
OC_TEST(the_token_is_chosen_after_a_quota_wait)
{
    oc_store *store;
    oc_client *a, *b;
    oc_error err;
    run r;
    CHECK_INT(oc_store_memory_new("churn3", &store, &err), OC_OK);
    a = client_with(store, "churn3", 3600, "Jumpseller-PerSecondRateLimit-Remaining=1000");
    b = client_on(store, "churn3", 3600);
    start(&r, a, &get_info);
    reply(&r, 200, "jumpseller-persecondratelimit-remaining: 0", "{}");
    CHECK_INT(done(&r), OC_OK);
    stop(&r);
    start(&r, a, &get_info);
    CHECK_INT(r.step.kind, OC_STEP_WAIT);
    CHECK(r.step.wait_ms > 0 && r.step.wait_ms <= 1000);
    refresh_elsewhere(b, TOKEN_JSON("A2", "R2"));
    advance(&r);
    CHECK_STR(auth(&r), "Authorization: Bearer A2");
    reply(&r, 200, NULL, "{}");
    CHECK_INT(done(&r), OC_OK);
    stop(&r);
    oc_client_free(a);
    oc_client_free(b);
    oc_store_release(store);
}

/* Calls of one client queued behind its refresh (in nginx, every request a
   worker serves meanwhile) take the renewed token from memory and ask the
   store nothing. Each asked for the store's lock, read it and unlocked, one
   call after another: three round trips a call, with Redis 20 ms away
   seconds for a hundred queued requests (bench/nginx_lateness). */
OC_TEST(calls_queued_behind_a_refresh_ask_the_store_nothing)
{
    oc_store *store;
    oc_client *c;
    oc_error err;
    run a, b[3];
    int i, store_steps = 0;
    CHECK_INT(oc_store_memory_new("call15", &store, &err), OC_OK);
    c = client_on(store, "call15", 5); /* due */
    start(&a, c, &get_info);
    CHECK_STR(url(&a), "https://as.example/token");
    for (i = 0; i < 3; i++) {
        b[i].c = c;
        oc_response_init(&b[i].resp);
        oc_error_clear(&b[i].err);
        CHECK_INT(oc_call_api(c, &get_info, &b[i].resp, &b[i].call, &b[i].err), OC_OK);
        oc_call_next(b[i].call, &b[i].step);
        CHECK_INT(b[i].step.kind, OC_STEP_WAIT); /* a holds the client's lock */
    }
    reply(&a, 200, JSON, TOKEN_JSON("A2", "R2"));
    CHECK_STR(auth(&a), "Authorization: Bearer A2");
    for (i = 0; i < 3; i++) {
        /* waits and store steps up to the request, the store's counted */
        do {
            oc_call_next(b[i].call, &b[i].step);
            if (b[i].step.kind == OC_STEP_STORE) {
                oc_buf text;
                oc_error serr;
                int found = 0;
                oc_code rc;
                store_steps++;
                oc_buf_init_secret(&text, 0);
                oc_error_clear(&serr);
                rc = oc_easy_store_step(store, &b[i].step, &text, &found, &serr);
                oc_call_feed_store(b[i].call, rc, text.data, text.len, found, &serr);
                oc_buf_free(&text);
            }
        } while (b[i].step.kind == OC_STEP_WAIT || b[i].step.kind == OC_STEP_STORE);
        CHECK_STR(auth(&b[i]), "Authorization: Bearer A2");
    }
    CHECK_INT(store_steps, 0);
    stop(&a);
    for (i = 0; i < 3; i++)
        stop(&b[i]);
    oc_client_free(c);
    oc_store_release(store);
}

/* A refresh that is only due (the token still valid) does not fail the
   request when the store cannot be locked (Redis down): the token serves;
   an expired one cannot, and the store's error is the answer. */
OC_TEST(a_due_refresh_the_store_cannot_lock_for_leaves_the_valid_token_in_use)
{
    oc_client *c = client_on(NULL, "call-lockdown", 5); /* inside the leeway, not expired */
    oc_client *expired = client_on(NULL, "call-lockdown-expired", -5);
    run r;
    locks_fail_from = 2;
    start(&r, c, &get_info);
    CHECK_INT(r.step.kind, OC_STEP_HTTP);
    CHECK_STR(r.step.request->method, "GET");
    CHECK_STR(auth(&r), "Authorization: Bearer A1");
    reply(&r, 200, JSON, "{}");
    CHECK_INT(done(&r), OC_OK);
    stop(&r);
    start(&r, expired, &get_info);
    CHECK_INT(done(&r), OC_E_NETWORK);
    CHECK_CONTAINS(r.err.message, "cannot take the lock");
    stop(&r);
    locks_fail_from = 0;
    oc_client_free(expired);
    oc_client_free(c);
}
