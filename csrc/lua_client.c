/*
 * The client userdata: one oc_client, its reused response, and the inputs of
 * the request in flight (kept here so a raise cannot leak them). close,
 * __gc and __close are one function, safe to call twice.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lua_binding.h"
#include "oc_crypto.h"
#include "oc_url.h"

lclient *oc_lua_check_client(lua_State *L, int i)
{
    lclient *lc = luaL_checkudata(L, i, OC_LUA_CLIENT_MT);
    if (!lc->c || lc->closed)
        luaL_error(L, "attempt to use a closed client");
    return lc;
}
#define check_client oc_lua_check_client


static void clear_inputs(lclient *lc)
{
    size_t i;
    for (i = 0; lc->batch_query && i < lc->batch_used; i++)
        oc_kv_free(&lc->batch_query[i]);
    lc->batch_used = 0;
    oc_kv_free(&lc->query);
    oc_http_free_headers(lc->headers);
    lc->headers = NULL;
}

/* Frees the core client once it is closed and no call of it is left. */
void oc_lua_client_release(lclient *lc)
{
    size_t i;
    if (!lc->closed || lc->live_calls > 0 || !lc->c)
        return;
    clear_inputs(lc);
    for (i = 0; lc->batch_resp && i < OC_MAX_IN_FLIGHT; i++)
        oc_response_free(&lc->batch_resp[i]);
    free(lc->batch_resp);
    free(lc->batch_query);
    lc->batch_resp = NULL;
    lc->batch_query = NULL;
    oc_response_free(&lc->resp);
    oc_client_free(lc->c);
    lc->c = NULL;
}

/* close, __gc, __close. A call still open (a light thread that was
   aborted) keeps the core client until the call is closed too. */
static int client_close(lua_State *L)
{
    lclient *lc = luaL_checkudata(L, 1, OC_LUA_CLIENT_MT);
    lc->closed = 1;
    oc_lua_client_release(lc);
    return 0;
}

/* core.client(options, profile) -> client | nil, err */
int oc_lua_client_new(lua_State *L)
{
    oc_lua_box *cfg, *profile;
    lclient *lc;
    oc_error err;

    oc_error_clear(&err);
    luaL_checktype(L, 2, LUA_TTABLE);
    cfg = oc_lua_box_new(L, OC_BOX_CONFIG);
    if (!oc_lua_read_config(L, 1, cfg->p, &err))
        return oc_lua_fail(L, &err);
    profile = oc_lua_box_new(L, OC_BOX_PROFILE);
    if (!oc_lua_read_profile(L, 2, profile->p, &err))
        return oc_lua_fail(L, &err);

    lc = lua_newuserdatauv(L, sizeof *lc, 0);
    memset(lc, 0, sizeof *lc);
    oc_response_init(&lc->resp);
    luaL_setmetatable(L, OC_LUA_CLIENT_MT);
    if (oc_client_new(cfg->p, profile->p, NULL, &lc->c, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    return 1;
}

/* [-0, +1] true, or [-0, +2] nil, err, from a core call's result. */
static int done(lua_State *L, oc_code rc, const oc_error *err)
{
    if (rc != OC_OK)
        return oc_lua_fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

static int client_connect(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    return done(L, oc_client_connect(lc->c, &err), &err);
}

static int client_prepare(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    return done(L, oc_client_prepare(lc->c, &err), &err);
}

/* client:current_token() -> the token table as loaded (prepare) or last
   used, due or not, or nil: what is stored, refreshing nothing. */
static int client_current_token(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const oc_token *t = oc_client_current_token(lc->c);
    if (!t)
        return 0;
    oc_lua_push_token(L, t);
    return 1;
}

static int client_login(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    return done(L, oc_client_login(lc->c, &err), &err);
}

static int client_forget(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    return done(L, oc_client_forget(lc->c, &err), &err);
}


void oc_lua_read_headers(lua_State *L, int idx, struct curl_slist **list)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* key, value */
        struct curl_slist *n;
        size_t vlen;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "header names must be strings");
        if (!oc_lua_scalar(L, lua_gettop(L), &vlen))
            luaL_error(L, "header '%s' must be a string or number", lua_tostring(L, -2));
        lua_pushvalue(L, -2);
        lua_pushliteral(L, ": ");
        lua_pushvalue(L, -3);
        lua_concat(L, 3); /* key, value, "Name: value" */
        if (!(n = curl_slist_append(*list, lua_tostring(L, -1))))
            luaL_error(L, "out of memory");
        *list = n;
        lua_pop(L, 2);
    }
}

int oc_lua_http_failure(lua_State *L, const oc_client *c, const char *method, const char *target,
                        const oc_response *resp)
{
    oc_error err;
    oc_error_clear(&err);
    oc_client_http_error(c, method, target, resp, &err);
    oc_lua_fail(L, &err);
    {
        /* the error's copy of the answer, redacted as its message is */
        oc_buf body;
        oc_buf_init(&body, 0);
        oc_client_redact(c, resp->body.data ? resp->body.data : "", resp->body.len, &body);
        lua_pushlstring(L, body.data ? body.data : "", body.len);
        oc_buf_free(&body);
    }
    lua_setfield(L, -2, "body");
    oc_lua_push_headers(L, resp);
    lua_setfield(L, -2, "headers");
    return 2;
}

/*
 * client:request(method, target [, query [, headers [, body [, fail_on_http]]]])
 *   -> status, raw headers (see oc_lua_push_raw_headers), body | nil, err
 * With fail_on_http, an HTTP status >= 400 gives nil, err instead.
 */
static int client_request(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_api_request req;
    oc_error err;
    size_t blen = 0;
    int n;

    memset(&req, 0, sizeof req);
    req.method = luaL_checkstring(L, 2);
    req.target = luaL_checkstring(L, 3);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    if (!lua_isnoneornil(L, 5))
        luaL_checktype(L, 5, LUA_TTABLE);
    req.body = luaL_optlstring(L, 6, NULL, &blen);
    req.body_len = blen;

    clear_inputs(lc);
    if (lua_istable(L, 4)) {
        oc_lua_read_kv(L, 4, &lc->query);
        req.query = &lc->query;
    }
    if (lua_istable(L, 5)) {
        oc_lua_read_headers(L, 5, &lc->headers);
        req.headers = lc->headers;
    }
    oc_error_clear(&err);
    n = oc_client_request(lc->c, &req, &lc->resp, &err);
    clear_inputs(lc);
    if (n != OC_OK)
        return oc_lua_fail(L, &err);
    if (lua_toboolean(L, 7) && lc->resp.status >= 400)
        n = oc_lua_http_failure(L, lc->c, req.method, req.target, &lc->resp);
    else {
        lua_pushinteger(L, lc->resp.status);
        oc_lua_push_raw_headers(L, &lc->resp);
        lua_pushlstring(L, lc->resp.body.data ? lc->resp.body.data : "", lc->resp.body.len);
        n = 3;
    }
    oc_response_reset(&lc->resp);
    return n;
}

/*
 * client:request_many({ {method, path, query, fail_on_http}, ... }) -> { res_or_err, ... } | nil, err
 * GETs at once (paging): each result is {status, headers (raw), body}, or an
 * error object (a table with code and message) for that request; with
 * fail_on_http, an HTTP status >= 400 is such an error too.
 */
static int client_request_many(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_api_request reqs[OC_MAX_IN_FLIGHT];
    oc_code codes[OC_MAX_IN_FLIGHT];
    oc_error errs[OC_MAX_IN_FLIGHT], err;
    int fail_on_http[OC_MAX_IN_FLIGHT];
    size_t i, n;

    luaL_checktype(L, 2, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 2);
    luaL_argcheck(L, n >= 1 && n <= OC_MAX_IN_FLIGHT, 2, "1 to 32 requests");
    clear_inputs(lc);
    if (!lc->batch_resp) {
        if (!(lc->batch_query = calloc(OC_MAX_IN_FLIGHT, sizeof *lc->batch_query)) ||
            !(lc->batch_resp = calloc(OC_MAX_IN_FLIGHT, sizeof *lc->batch_resp)))
            return luaL_error(L, "out of memory");
        for (i = 0; i < OC_MAX_IN_FLIGHT; i++)
            oc_response_init(&lc->batch_resp[i]);
    }
    lc->batch_used = n;
    memset(reqs, 0, sizeof reqs);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (int)i + 1);
        luaL_argcheck(L, lua_istable(L, -1), 2, "each request must be a table");
        /* Strings only: a number would be converted to a string that only
           the popped stack slot held, and the pointer kept below would
           dangle once a collection ran. */
        lua_getfield(L, -1, "method");
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "request %d: method must be a string", (int)i + 1);
        reqs[i].method = lua_isnil(L, -1) ? "GET" : lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "path");
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "request %d: path must be a string", (int)i + 1);
        reqs[i].target = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "fail_on_http");
        fail_on_http[i] = lua_toboolean(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "query");
        if (lua_istable(L, -1)) {
            oc_lua_read_kv(L, lua_gettop(L), &lc->batch_query[i]);
            reqs[i].query = &lc->batch_query[i];
        }
        lua_pop(L, 2); /* the strings stay alive in the requests table */
    }
    oc_error_clear(&err);
    if (oc_client_request_many(lc->c, reqs, n, lc->batch_resp, codes, errs, &err) != OC_OK) {
        clear_inputs(lc);
        return oc_lua_fail(L, &err);
    }
    clear_inputs(lc);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        oc_response *r = &lc->batch_resp[i];
        if (codes[i] != OC_OK) {
            oc_lua_fail(L, &errs[i]); /* nil, err */
            lua_remove(L, -2);
        } else if (fail_on_http[i] && r->status >= 400) {
            oc_lua_http_failure(L, lc->c, reqs[i].method, reqs[i].target, r);
            lua_remove(L, -2);
        } else {
            lua_createtable(L, 0, 3);
            lua_pushinteger(L, r->status);
            lua_setfield(L, -2, "status");
            oc_lua_push_raw_headers(L, r);
            lua_setfield(L, -2, "headers");
            lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
            lua_setfield(L, -2, "body");
        }
        lua_rawseti(L, -2, (int)i + 1);
        oc_response_reset(r);
    }
    return 1;
}

/* client:token([force]) -> token table | nil, err */
static int client_token(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const oc_token *t;
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_token(lc->c, lua_toboolean(L, 2), &t, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    oc_lua_push_token(L, t);
    return 1;
}

/* client:authorization_url([redirect_uri]) -> url, state, verifier | nil, err */
static int client_authorization_url(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const char *redirect = luaL_optstring(L, 2, NULL);
    oc_lua_box *ub, *sb, *vb;
    char *url, *state, *verifier;
    oc_error err;
    /* The boxes exist before the strings do, and take them before any Lua
       call could raise, so nothing can leak. */
    ub = oc_lua_box_new(L, OC_BOX_STRING);
    sb = oc_lua_box_new(L, OC_BOX_STRING);
    vb = oc_lua_box_new(L, OC_BOX_STRING);
    oc_error_clear(&err);
    if (oc_client_authorization_url(lc->c, redirect, &url, &state, &verifier, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    ub->p = url;
    sb->p = state;
    vb->p = verifier;
    lua_pushstring(L, url);
    lua_pushstring(L, state);
    if (verifier)
        lua_pushstring(L, verifier);
    else
        lua_pushnil(L);
    return 3;
}

/* client:exchange_code(code [, params [, verifier [, redirect_uri]]]) -> token | nil, err */
static int client_exchange_code(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const char *code = luaL_checkstring(L, 2);
    const char *verifier = luaL_optstring(L, 4, NULL);
    const char *redirect = luaL_optstring(L, 5, NULL);
    const oc_token *t;
    oc_error err;
    oc_code rc;
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    clear_inputs(lc);
    if (lua_istable(L, 3))
        oc_lua_read_kv(L, 3, &lc->query);
    oc_error_clear(&err);
    rc = oc_client_exchange_code(lc->c, code, &lc->query, verifier, redirect, &err);
    clear_inputs(lc);
    if (rc == OC_OK)
        rc = oc_client_token(lc->c, 0, &t, &err);
    if (rc != OC_OK)
        return oc_lua_fail(L, &err);
    oc_lua_push_token(L, t);
    return 1;
}

static int client_generation(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)oc_client_generation(check_client(L, 1)->c));
    return 1;
}

static int client_api_url(lua_State *L)
{
    lua_pushstring(L, oc_client_api_url(check_client(L, 1)->c));
    return 1;
}

/* client:describe(method, path) -> "GET https://.../v1/orders.json", as
   the core's own errors name a request. */
static int client_describe(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    char what[480];
    oc_client_describe_request(lc->c, luaL_checkstring(L, 2), luaL_checkstring(L, 3), what,
                               sizeof what);
    lua_pushstring(L, what);
    return 1;
}

static int client_tostring(lua_State *L)
{
    lclient *lc = luaL_checkudata(L, 1, OC_LUA_CLIENT_MT);
    if (lc->c && !lc->closed) {
        char shown[400];
        oc_url_shown(shown, sizeof shown, oc_client_api_url(lc->c));
        lua_pushfstring(L, "oauthconnect.client (%s)", shown);
    } else
        lua_pushliteral(L, "oauthconnect.client (closed)");
    return 1;
}

static const luaL_Reg client_methods[] = {
    { "connect", client_connect },
    { "prepare", client_prepare },
    { "login", client_login },
    { "call_request", oc_lua_call_request },
    { "call_token", oc_lua_call_token },
    { "call_exchange", oc_lua_call_exchange },
    { "request", client_request },
    { "request_many", client_request_many },
    { "token", client_token },
    { "current_token", client_current_token },
    { "authorization_url", client_authorization_url },
    { "exchange_code", client_exchange_code },
    { "forget", client_forget },
    { "generation", client_generation },
    { "api_url", client_api_url },
    { "describe", client_describe },
    { "close", client_close },
    { NULL, NULL }
};

/* [-0, +0] The client metatable. */
void oc_lua_open_client(lua_State *L)
{
    luaL_newmetatable(L, OC_LUA_CLIENT_MT);
    lua_pushcfunction(L, client_close); /* __gc before any client exists */
    lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, client_close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushcfunction(L, client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    luaL_setfuncs(L, client_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

}
