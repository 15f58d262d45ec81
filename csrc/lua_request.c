/*
 * A signed request's arguments read from Lua and its result built for Lua:
 * the one place both do it, whichever driver runs the request (the
 * blocking client:request and request_many, or a call driven from Lua).
 */
#include <string.h>

#include "lua_binding.h"
#include "oc_call.h"
#include "oc_mem.h"

void oc_lua_read_exchange(lua_State *L, oc_exchange *x, lrequest *r)
{
    memset(x, 0, sizeof *x);
    x->code = luaL_checkstring(L, 2);
    x->state = luaL_optstring(L, 3, NULL);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    x->verifier = luaL_optstring(L, 5, NULL);
    x->redirect_uri = luaL_optstring(L, 6, NULL);
    if (lua_istable(L, 4)) {
        oc_lua_read_kv(L, 4, &r->query);
        x->callback = &r->query;
    }
}

void oc_lua_request_init(lrequest *r)
{
    memset(r, 0, sizeof *r);
    oc_response_init(&r->resp);
}

void oc_lua_request_clear_inputs(lrequest *r)
{
    oc_kv_free(&r->query);
    oc_http_free_headers(r->headers);
    r->headers = NULL;
    memset(&r->req, 0, sizeof r->req);
    r->fail_on_http = 0;
}

void oc_lua_request_free(lrequest *r)
{
    oc_lua_request_clear_inputs(r);
    oc_wipe(r->resp.body.data, r->resp.body.len);
    oc_response_free(&r->resp);
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
                        const oc_response *resp, oc_rejection why)
{
    oc_error err;
    oc_error_clear(&err);
    oc_client_http_error(c, method, target, resp, why, &err);
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

/* [-0, +0] The string at i, or a raise naming what it is: a number is not
   taken for a path (lua_tostring would convert it in place, where a
   table's field it came from cannot keep the new string alive). */
static const char *check_text(lua_State *L, int i, const char *what, size_t *len)
{
    if (lua_type(L, i) != LUA_TSTRING)
        luaL_error(L, "%s must be a string (got %s)", what, luaL_typename(L, i));
    return lua_tolstring(L, i, len);
}

void oc_lua_read_request(lua_State *L, int base, lrequest *r)
{
    size_t blen = 0;
    oc_lua_request_clear_inputs(r);
    r->req.method = check_text(L, base, "the method", NULL);
    r->req.target = check_text(L, base + 1, "the path", NULL);
    if (!lua_isnoneornil(L, base + 2))
        luaL_checktype(L, base + 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, base + 3))
        luaL_checktype(L, base + 3, LUA_TTABLE);
    if (!lua_isnoneornil(L, base + 4))
        r->req.body = check_text(L, base + 4, "the body", &blen);
    r->req.body_len = blen;
    r->fail_on_http = lua_toboolean(L, base + 5);
    if (lua_istable(L, base + 2)) {
        oc_lua_read_kv(L, base + 2, &r->query);
        r->req.query = &r->query;
    }
    if (lua_istable(L, base + 3)) {
        oc_lua_read_headers(L, base + 3, &r->headers);
        r->req.headers = r->headers;
    }
}

int oc_lua_push_request_result(lua_State *L, const oc_client *c, oc_code rc, const oc_error *err,
                               lrequest *r, oc_rejection why)
{
    int n;
    if (rc != OC_OK)
        n = oc_lua_fail(L, err);
    else if (r->fail_on_http && r->resp.status >= 400)
        n = oc_lua_http_failure(L, c, r->req.method, r->req.target, &r->resp, why);
    else {
        lua_pushinteger(L, r->resp.status);
        oc_lua_push_raw_headers(L, &r->resp);
        lua_pushlstring(L, r->resp.body.data ? r->resp.body.data : "", r->resp.body.len);
        n = 3;
    }
    oc_response_reset(&r->resp);
    return n;
}
