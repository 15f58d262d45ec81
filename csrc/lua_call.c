/*
 * The call userdata: one oc_call (a signed request, a token fetch or a code
 * exchange) driven from Lua, for hosts where the binding must not do the
 * network I/O itself (nginx: subrequests and ngx.sleep). The driver loops:
 *
 *     local call = handle:call_request("GET", "/store/info.json")
 *     while true do
 *       local step, a, b, c, d = call:next()
 *       if step == "http" then          -- a method, b url, c header lines, d body
 *         ... call:feed(status, headers, body)  or  call:fail(message, sent, timed_out)
 *       elseif step == "wait" then      -- a seconds
 *         ngx.sleep(a)
 *       else break end                  -- "done"
 *     end
 *     return call:result()
 *
 * The decisions (when to refresh, the store's lock, retries, redirects)
 * are the core's, as with the blocking driver. The call keeps its client
 * userdata and its Lua inputs alive through its user value.
 */
#include <stdlib.h>
#include <string.h>

#include "lua_binding.h"
#include "oc_call.h"
#include "oc_crypto.h"

typedef enum { CALL_REQUEST, CALL_TOKEN, CALL_EXCHANGE } lcall_kind;

typedef struct lcall {
    oc_call *call;  /* NULL once closed */
    lclient *owner;
    lcall_kind kind;
    int fail_on_http;
    int awaiting;   /* an HTTP step was handed out and not fed yet */
    size_t max_body;
    oc_api_request req;
    oc_kv query;
    struct curl_slist *headers;
    oc_response resp;
    oc_response *target; /* where the awaited answer goes */
} lcall;

static int call_close(lua_State *L)
{
    lcall *lc = luaL_checkudata(L, 1, OC_LUA_CALL_MT);
    if (!lc->owner)
        return 0;
    oc_call_free(lc->call);
    lc->call = NULL;
    oc_kv_free(&lc->query);
    oc_http_free_headers(lc->headers);
    lc->headers = NULL;
    oc_wipe(lc->resp.body.data, lc->resp.body.len);
    oc_response_free(&lc->resp);
    lc->owner->live_calls--;
    oc_lua_client_release(lc->owner);
    lc->owner = NULL;
    return 0;
}

static lcall *check_call(lua_State *L)
{
    lcall *lc = luaL_checkudata(L, 1, OC_LUA_CALL_MT);
    if (!lc->call)
        luaL_error(L, "attempt to use a closed call");
    return lc;
}

/* [-0, +1] A call userdata for the client at index 1; its user value (a
   table) holds the client and, at 1.., the values given. */
static lcall *new_call(lua_State *L, lcall_kind kind, int first_kept, int last_kept)
{
    lclient *owner = oc_lua_check_client(L, 1);
    lcall *lc = lua_newuserdatauv(L, sizeof *lc, 1);
    int i, ud = lua_gettop(L);
    memset(lc, 0, sizeof *lc);
    oc_response_init(&lc->resp);
    lc->kind = kind;
    luaL_setmetatable(L, OC_LUA_CALL_MT);
    lua_createtable(L, last_kept - first_kept + 1, 1);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "client");
    for (i = first_kept; i <= last_kept; i++) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i - first_kept + 1);
    }
    oc_lua_set_uservalue(L, ud);
    lc->owner = owner;
    owner->live_calls++;
    return lc;
}

/* [-0, +1 or +2] The new call, or nil, err when it cannot start. */
static int started(lua_State *L, oc_code rc, const oc_error *err)
{
    if (rc != OC_OK)
        return oc_lua_fail(L, err);
    return 1;
}

/* handle:call_request(method, target [, query [, headers [, body [, fail_on_http]]]]) */
int oc_lua_call_request(lua_State *L)
{
    lcall *lc;
    size_t blen = 0;
    oc_error err;
    oc_lua_check_client(L, 1);
    luaL_checkstring(L, 2);
    luaL_checkstring(L, 3);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    if (!lua_isnoneornil(L, 5))
        luaL_checktype(L, 5, LUA_TTABLE);
    luaL_optlstring(L, 6, NULL, &blen);
    lua_settop(L, 7);
    lc = new_call(L, CALL_REQUEST, 2, 6); /* method, target and body stay alive */
    lc->fail_on_http = lua_toboolean(L, 7);
    lc->req.method = lua_tostring(L, 2);
    lc->req.target = lua_tostring(L, 3);
    lc->req.body = lua_tostring(L, 6);
    lc->req.body_len = blen;
    if (lua_istable(L, 4)) {
        oc_lua_read_kv(L, 4, &lc->query);
        lc->req.query = &lc->query;
    }
    if (lua_istable(L, 5)) {
        oc_lua_read_headers(L, 5, &lc->headers);
        lc->req.headers = lc->headers;
    }
    oc_error_clear(&err);
    return started(L, oc_call_api(lc->owner->c, &lc->req, &lc->resp, &lc->call, &err), &err);
}

/* handle:call_token([need]): need "if_due" (default), "force" or "connect" */
int oc_lua_call_token(lua_State *L)
{
    static const char *const needs[] = { "if_due", "force", "connect", NULL };
    static const oc_token_need values[] = { OC_TOKEN_IF_DUE, OC_TOKEN_FORCE, OC_TOKEN_CONNECT };
    int need = luaL_checkoption(L, 2, "if_due", needs);
    lcall *lc;
    oc_error err;
    lua_settop(L, 1);
    lc = new_call(L, CALL_TOKEN, 1, 0);
    oc_error_clear(&err);
    return started(L, oc_call_token(lc->owner->c, values[need], &lc->call, &err), &err);
}

/* handle:call_exchange(code [, params [, verifier [, redirect_uri]]]) */
int oc_lua_call_exchange(lua_State *L)
{
    lcall *lc;
    oc_error err;
    oc_code rc;
    const char *code = luaL_checkstring(L, 2);
    const char *verifier = luaL_optstring(L, 4, NULL);
    const char *redirect = luaL_optstring(L, 5, NULL);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 5);
    lc = new_call(L, CALL_EXCHANGE, 1, 0);
    if (lua_istable(L, 3))
        oc_lua_read_kv(L, 3, &lc->query);
    oc_error_clear(&err);
    /* The token request is built now: the inputs need not outlive this. */
    rc = oc_call_exchange(lc->owner->c, code, &lc->query, verifier, redirect, &lc->call, &err);
    oc_kv_free(&lc->query);
    return started(L, rc, &err);
}

/* call:next() -> "http", method, url, header lines, body | "wait", seconds | "done" */
static int call_next(lua_State *L)
{
    lcall *lc = check_call(L);
    const struct curl_slist *h;
    oc_step step;
    int i = 1;
    if (lc->awaiting)
        return luaL_error(L, "call:next() before the HTTP step was fed (call:feed or call:fail)");
    oc_call_next(lc->call, &step);
    switch (step.kind) {
    case OC_STEP_DONE:
        lua_pushliteral(L, "done");
        return 1;
    case OC_STEP_WAIT:
        lua_pushliteral(L, "wait");
        lua_pushnumber(L, (lua_Number)step.wait_ms / 1000.0);
        return 2;
    case OC_STEP_HTTP:
        break;
    }
    lua_pushliteral(L, "http");
    lua_pushstring(L, step.request->method);
    lua_pushstring(L, step.request->url);
    lua_newtable(L);
    for (h = step.request->headers; h; h = h->next) {
        lua_pushstring(L, h->data);
        lua_rawseti(L, -2, i++);
    }
    if (step.request->body)
        lua_pushlstring(L, step.request->body, step.request->body_len);
    else
        lua_pushnil(L);
    lc->awaiting = 1;
    lc->target = step.response;
    lc->max_body = step.request->max_body;
    return 5;
}

static lcall *check_awaiting(lua_State *L)
{
    lcall *lc = check_call(L);
    if (!lc->awaiting)
        luaL_error(L, "no HTTP step is waiting for its answer");
    return lc;
}

/* [-0, +0] One header (value a string or an array of them) into r. */
static int add_header(lua_State *L, oc_response *r, int name, int value)
{
    size_t nlen, vlen, i, n;
    const char *k = lua_tolstring(L, name, &nlen), *v;
    if (lua_type(L, value) != LUA_TTABLE) {
        if (!(v = oc_lua_scalar(L, value, &vlen)))
            luaL_error(L, "header '%s' must be a string or an array of strings", k);
        return oc_response_add_header(r, k, nlen, v, vlen);
    }
    n = (size_t)lua_rawlen(L, value);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, value, (int)i);
        if (!(v = oc_lua_scalar(L, lua_gettop(L), &vlen)))
            luaL_error(L, "header '%s' must be a string or an array of strings", k);
        if (oc_response_add_header(r, k, nlen, v, vlen) != 0)
            return -1;
        lua_pop(L, 1);
    }
    return 0;
}

/* call:feed(status, headers, body): the answer to the HTTP step. */
static int call_feed(lua_State *L)
{
    lcall *lc = check_awaiting(L);
    oc_response *r = lc->target;
    lua_Integer status = luaL_checkinteger(L, 2);
    size_t blen = 0;
    const char *body = luaL_optlstring(L, 4, "", &blen);
    oc_error err;
    oc_code rc = OC_OK;
    luaL_argcheck(L, status >= 100 && status <= 999, 2, "an HTTP status");
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    oc_error_clear(&err);
    oc_response_reset(r);
    r->status = (long)status;
    if (lua_istable(L, 3)) {
        lua_pushnil(L);
        while (rc == OC_OK && lua_next(L, 3)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "header names must be strings");
            if (add_header(L, r, lua_gettop(L) - 1, lua_gettop(L)) != 0)
                rc = oc_fail(&err, OC_E_TOO_LARGE, "the answer's headers are larger than %d bytes",
                             OC_HEADERS_MAX);
            lua_pop(L, 1);
        }
        if (rc != OC_OK)
            lua_pop(L, 1); /* the key lua_next left */
    }
    if (rc == OC_OK && lc->max_body && blen > lc->max_body)
        rc = oc_fail(&err, OC_E_TOO_LARGE, "the answer is larger than the limit of %zu bytes",
                     lc->max_body);
    if (rc == OC_OK && oc_buf_append(&r->body, body, blen) != 0)
        rc = oc_fail_nomem(&err);
    lc->awaiting = 0;
    if (rc != OC_OK)
        oc_response_reset(r);
    oc_call_feed(lc->call, rc, 1, rc == OC_OK ? NULL : &err);
    return 0;
}

/* call:fail(message [, sent [, timed_out]]): the HTTP step failed in transit;
   sent says whether any of the request may have reached the server. */
static int call_fail(lua_State *L)
{
    lcall *lc = check_awaiting(L);
    const char *message = luaL_checkstring(L, 2);
    int sent = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    oc_code code = lua_toboolean(L, 4) ? OC_E_TIMEOUT : OC_E_NETWORK;
    oc_error err;
    oc_error_clear(&err);
    oc_fail(&err, code, "%s", message);
    lc->awaiting = 0;
    oc_response_reset(lc->target);
    oc_call_feed(lc->call, code, sent, &err);
    return 0;
}

/* call:result() -> status, raw headers, body (a request) | token (a token fetch
   or an exchange) | nil, err */
static int call_result(lua_State *L)
{
    lcall *lc = check_call(L);
    oc_client *c = lc->owner->c;
    oc_error err;
    oc_error_clear(&err);
    if (oc_call_result(lc->call, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    if (lc->kind != CALL_REQUEST) {
        const oc_token *t = oc_client_current_token(c);
        if (!t) /* connected with a scheme that has no token */
            lua_pushboolean(L, 1);
        else
            oc_lua_push_token(L, t);
        return 1;
    }
    if (lc->fail_on_http && lc->resp.status >= 400)
        return oc_lua_http_failure(L, c, lc->req.method, lc->req.target, &lc->resp);
    lua_pushinteger(L, lc->resp.status);
    oc_lua_push_raw_headers(L, &lc->resp);
    lua_pushlstring(L, lc->resp.body.data ? lc->resp.body.data : "", lc->resp.body.len);
    return 3;
}

static const luaL_Reg call_methods[] = {
    { "next", call_next },
    { "feed", call_feed },
    { "fail", call_fail },
    { "result", call_result },
    { "close", call_close },
    { NULL, NULL }
};

void oc_lua_open_call(lua_State *L)
{
    luaL_newmetatable(L, OC_LUA_CALL_MT);
    lua_pushcfunction(L, call_close);
    lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, call_close);
    lua_setfield(L, -2, "__close");
#endif
    lua_newtable(L);
    luaL_setfuncs(L, call_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
