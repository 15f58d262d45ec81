/*
 * The client userdata: one oc_client and the inputs and answers of its
 * blocking requests (kept here so a raise cannot leak them). close, __gc
 * and __close are one function, safe to call twice. The blocking methods
 * run the engine with libcurl and the C stores (oc_easy.h); the call_*
 * constructors hand a call to a Lua driver instead (lua_call.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "lua_binding.h"
#include "oc_call.h"
#include "oc_easy.h"
#include "oc_mem.h"
#include "oc_store.h"
#include "oc_time.h"
#include "oc_url.h"

lclient *oc_lua_check_client(lua_State *L, int i)
{
    /* The client's methods hold its metatable as their first upvalue: one
       comparison instead of luaL_checkudata's registry lookup, for methods
       that run once per request. Anything else gets luaL_checkudata's error. */
    lclient *lc = lua_touserdata(L, i);
    int ours = lc && lua_getmetatable(L, i);
    if (ours) {
        ours = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    if (!ours)
        lc = luaL_checkudata(L, i, OC_LUA_CLIENT_MT);
    if (!lc->c || lc->closed)
        luaL_error(L, "attempt to use a closed client");
    return lc;
}
#define check_client oc_lua_check_client

/* Frees the core client once it is closed and no call of it is left. */
void oc_lua_client_release(lclient *lc)
{
    size_t i;
    if (!lc->closed || lc->live_calls > 0 || !lc->c)
        return;
    oc_lua_request_free(&lc->in);
    for (i = 0; lc->batch && i < OC_MAX_IN_FLIGHT; i++)
        oc_lua_request_free(&lc->batch[i]);
    free(lc->batch);
    lc->batch = NULL;
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

/* core.client(options, profile [, store_label]) -> client | nil, err.
   store_label: the client's tokens live in a store its Lua driver keeps
   (a user's functions), named so in messages. */
int oc_lua_client_new(lua_State *L)
{
    oc_lua_box *cfg, *profile;
    oc_store *external = NULL;
    const char *label = luaL_optstring(L, 3, NULL);
    lclient *lc;
    oc_error err;
    oc_code rc;

    oc_error_clear(&err);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    cfg = oc_lua_box_new(L, OC_BOX_CONFIG);
    if (!oc_lua_read_config(L, 1, cfg->p, &err))
        return oc_lua_fail(L, &err);
    profile = oc_lua_box_new(L, OC_BOX_PROFILE);
    if (!oc_lua_read_profile(L, 2, profile->p, &err))
        return oc_lua_fail(L, &err);

    lc = lua_newuserdatauv(L, sizeof *lc, 1);
    memset(lc, 0, sizeof *lc);
    oc_lua_request_init(&lc->in);
    luaL_setmetatable(L, OC_LUA_CLIENT_MT);
    lua_createtable(L, 2, 0); /* authorize's cache: the header's name and value */
    oc_lua_set_uservalue(L, -2);
    if (label && oc_store_external_new(label, &external, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    rc = oc_client_new(cfg->p, profile->p, external, &lc->c, &err);
    oc_store_release(external);
    if (rc != OC_OK)
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

/* handle:forget([revoke]) -> true | nil, err: the stored set removed (revoked first with revoke). */
static int client_forget(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    return done(L, oc_client_forget(lc->c, lua_toboolean(L, 2), &err), &err);
}

/* client:rejected(ticket) -> true | nil, err */
static int client_rejected(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    lua_Integer ticket = luaL_checkinteger(L, 2);
    oc_error err;
    oc_error_clear(&err);
    return done(L, oc_client_rejected(lc->c, (unsigned)ticket, &err), &err);
}

/*
 * client:request(method, target [, query [, headers [, body [, fail_on_http]]]])
 *   -> status, raw headers (see oc_lua_push_raw_headers), body | nil, err
 * With fail_on_http, an HTTP status >= 400 gives nil, err instead. The
 * hot path: one engine call run in C, no Lua in between.
 */
static int client_request(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_call *call = NULL;
    oc_error err;
    oc_rejection why = OC_REJECTED_UNKNOWN;
    oc_code rc;
    int n;

    oc_lua_read_request(L, 2, &lc->in);
    oc_error_clear(&err);
    if ((rc = oc_call_api(lc->c, &lc->in.req, &lc->in.resp, &call, &err)) == OC_OK) {
        oc_call_allow_login(call);
        rc = oc_easy_run(lc->c, call, &err);
        why = oc_call_rejection(call);
    }
    oc_call_free(call);
    n = oc_lua_push_request_result(L, lc->c, rc, &err, &lc->in, why);
    oc_lua_request_clear_inputs(&lc->in);
    return n;
}

/*
 * client:request_many({ {method, path, query, fail_on_http}, ... }) -> { res_or_err, ... } | nil, err
 * Requests at once (paging), each an engine call of its own, run together
 * over parallel transfers: each result is {status, headers (raw), body}, or
 * an error object for that request; with fail_on_http, an HTTP status >= 400
 * is such an error too.
 */
static int client_request_many(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_call *calls[OC_MAX_IN_FLIGHT];
    size_t i, n, started = 0;
    oc_error err;
    oc_code rc = OC_OK;

    luaL_checktype(L, 2, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 2);
    luaL_argcheck(L, n >= 1 && n <= OC_MAX_IN_FLIGHT, 2, "1 to 32 requests");
    if (!lc->batch) {
        if (!(lc->batch = calloc(OC_MAX_IN_FLIGHT, sizeof *lc->batch)))
            return luaL_error(L, "out of memory");
        for (i = 0; i < OC_MAX_IN_FLIGHT; i++)
            oc_lua_request_init(&lc->batch[i]);
    }
    lua_settop(L, 2);
    for (i = 0; i < n; i++) { /* each request's fields, on the stack while they are used */
        int base;
        luaL_checkstack(L, 8, "too many requests");
        lua_rawgeti(L, 2, (int)i + 1);
        luaL_argcheck(L, lua_istable(L, -1), 2, "each request must be a table");
        base = lua_gettop(L);
        /* Strings only: a number would be converted in a stack slot that
           is popped while the request still points at it. */
        lua_getfield(L, base, "method");
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "GET");
        } else if (lua_type(L, -1) != LUA_TSTRING) {
            luaL_error(L, "request %d: method must be a string", (int)i + 1);
        }
        lua_getfield(L, base, "path");
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "request %d: path must be a string", (int)i + 1);
        lua_getfield(L, base, "query");
        lua_pushnil(L); /* headers */
        lua_pushnil(L); /* body */
        lua_getfield(L, base, "fail_on_http");
        oc_lua_read_request(L, base + 1, &lc->batch[i]);
    }
    oc_error_clear(&err);
    for (i = 0; i < n && rc == OC_OK; i++) {
        if ((rc = oc_call_api(lc->c, &lc->batch[i].req, &lc->batch[i].resp, &calls[i], &err)) == OC_OK) {
            oc_call_allow_login(calls[i]);
            started++;
        }
    }
    if (rc == OC_OK)
        oc_easy_run_many(lc->c, calls, n);
    if (rc != OC_OK) {
        for (i = 0; i < started; i++)
            oc_call_free(calls[i]);
        for (i = 0; i < n; i++)
            oc_lua_request_clear_inputs(&lc->batch[i]);
        return oc_lua_fail(L, &err);
    }
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        oc_error e;
        oc_code one;
        oc_error_clear(&e);
        one = oc_call_result(calls[i], &e);
        if (oc_lua_push_request_result(L, lc->c, one, &e, &lc->batch[i], oc_call_rejection(calls[i])) == 2) {
            lua_remove(L, -2); /* nil, err: the error is the result */
        } else {
            lua_createtable(L, 0, 3); /* status, headers, body, {} */
            lua_insert(L, -4);
            lua_setfield(L, -4, "body");
            lua_setfield(L, -3, "headers");
            lua_setfield(L, -2, "status");
        }
        lua_rawseti(L, -2, (int)i + 1);
        oc_call_free(calls[i]);
        oc_lua_request_clear_inputs(&lc->batch[i]);
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
    if (!t)
        lua_pushboolean(L, 1);
    else
        oc_lua_push_token(L, t);
    return 1;
}

/* client:login() -> token table | nil, err: the login now, whatever is stored. */
static int client_login(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_login(lc->c, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    oc_lua_push_token(L, oc_client_current_token(lc->c));
    return 1;
}

/* client:ready() -> ticket | false: the ticket of the credentials a
   request made now carries, when nothing must happen first (no I/O, no
   allocation); false when a call must run (load, refresh). */
static int client_ready(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const char *line;
    if (oc_client_ready_credentials(lc->c, oc_now_ms(), 0, &line))
        lua_pushinteger(L, (lua_Integer)oc_client_generation(lc->c));
    else
        lua_pushboolean(L, 0);
    return 1;
}

/* client:credentials() -> name, value | nothing: the header the current
   credentials make (nothing for AuthScheme=NONE). */
static int client_credentials(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const char *line;
    size_t nlen;
    if (!oc_client_ready_credentials(lc->c, oc_now_ms(), 1, &line) || !line)
        return 0;
    nlen = strcspn(line, ":");
    lua_pushlstring(L, line, nlen);
    lua_pushstring(L, line[nlen] ? line + nlen + 1 + (line[nlen + 1] == ' ') : "");
    return 2;
}

/* [-0, +0] Makes the header name and value of the credentials line again
   when the line changed (at indices ni and vi: a user value's slots when
   uv, else upvalues), recording what they were made from in *line_mark
   and *gen_mark: strings are made once per token, not once per request. */
static void cache_credentials(lua_State *L, lclient *lc, const char *line, int uv, int ni, int vi,
                              const char **line_mark, unsigned *gen_mark)
{
    unsigned gen = oc_client_generation(lc->c);
    size_t nlen;
    const char *v;
    if (*line_mark == line && *gen_mark == gen)
        return;
    nlen = strcspn(line, ":");
    v = line[nlen] ? line + nlen + 1 : "";
    if (*v == ' ')
        v++;
    lua_pushlstring(L, line, nlen);
    if (uv)
        lua_rawseti(L, uv, ni);
    else
        lua_replace(L, ni);
    lua_pushstring(L, v);
    if (uv)
        lua_rawseti(L, uv, vi);
    else
        lua_replace(L, vi);
    *line_mark = line;
    *gen_mark = gen;
}

/* [-0, +0] headers (at 2)[name] = value, the name and value on the stack
   at ni and vi (name is ni's characters, nlen long); a header of that name
   in another case is removed first. */
static void set_header(lua_State *L, int ni, int vi, const char *name, size_t nlen)
{
    lua_pushnil(L);
    while (lua_next(L, 2)) { /* key, value */
        size_t klen;
        const char *k;
        lua_pop(L, 1);
        /* the length first (most names differ in it); the same name as
           made here is the same (interned) string */
        if (lua_rawlen(L, -1) == nlen && lua_type(L, -1) == LUA_TSTRING &&
            (k = lua_tolstring(L, -1, &klen)) != name && strncasecmp(k, name, nlen) == 0) {
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, 2); /* clearing a field during the traversal is allowed */
        }
    }
    lua_pushvalue(L, ni);
    lua_pushvalue(L, vi);
    lua_rawset(L, 2);
}

/* client:authorize_now([headers]) -> headers, ticket | false: the header
   the credentials in use make, set in headers (made when absent) over any
   header of that name in another case, and the ticket naming them; false
   when a call must run first (load, refresh), and for NTLM. No I/O, and
   with the token in use no string is made: this runs once per request a
   caller signs. */
/* [-0, +2 or +1] authorize_now's work for the client lc (its userdata at
   ud), the headers argument at 2: headers, ticket, or false. due_ok: a
   token that is due but has not expired will do. bound: called from the
   bound closure, whose upvalues 3 and 4 cache the header's strings. */
static int authorize_now(lua_State *L, int ud, lclient *lc, int due_ok, int bound)
{
    const char *line;
    /* NTLM's credentials are libcurl's, per connection: none to give */
    if (oc_client_is_ntlm(lc->c) ||
        !oc_client_ready_credentials(lc->c, oc_now_coarse_ms(), due_ok, &line)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (lua_type(L, 2) != LUA_TTABLE) {
        if (!lua_isnoneornil(L, 2))
            luaL_checktype(L, 2, LUA_TTABLE);
        lua_settop(L, 1);
        lua_createtable(L, 0, 2);
    } else if (lua_gettop(L) > 2) {
        lua_settop(L, 2);
    }
    if (line && bound) {
        if (lc->bound_line != line || lc->bound_generation != oc_client_generation(lc->c)) {
            cache_credentials(L, lc, line, 0, lua_upvalueindex(3), lua_upvalueindex(4), &lc->bound_line,
                              &lc->bound_generation);
            lc->bound_name = lua_tolstring(L, lua_upvalueindex(3), &lc->bound_name_len);
        }
        set_header(L, lua_upvalueindex(3), lua_upvalueindex(4), lc->bound_name, lc->bound_name_len);
    } else if (line) {
        const char *name;
        size_t nlen;
        oc_lua_get_uservalue(L, ud); /* 3 */
        cache_credentials(L, lc, line, 3, 1, 2, &lc->cached_line, &lc->cached_generation);
        lua_rawgeti(L, 3, 1); /* 4: name */
        lua_rawgeti(L, 3, 2); /* 5: value */
        name = lua_tolstring(L, 4, &nlen);
        set_header(L, 4, 5, name, nlen);
        lua_settop(L, 2);
    }
    lua_pushvalue(L, 2);
    lua_pushinteger(L, (lua_Integer)oc_client_generation(lc->c));
    return 2;
}

/* client:authorize_now([headers [, due_ok]]) */
static int client_authorize_now(lua_State *L)
{
    int due_ok = lua_toboolean(L, 3);
    return authorize_now(L, 1, check_client(L, 1), due_ok, 0);
}

#if LUA_VERSION_NUM >= 504
/* The rest's results, after a yield inside it (an on_token callback in a
   coroutine). */
static int authorize_rest_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    return lua_gettop(L);
}
#endif

/* The Lua client's authorize method, made for one client: upvalue 1 its
   core client, 2 the Lua function that does the rest (a load or refresh
   first, NTLM's refusal) when the credentials are not ready. Called as
   client:authorize([headers]): the request's fast path without Lua. Only
   clients the core runs alone get it (the rest of a driven client's
   authorize yields to nginx, which no C function in between allows). */
static int bound_authorize(lua_State *L)
{
    lclient *lc = lua_touserdata(L, lua_upvalueindex(1));
    int n;
    if (lc && lc->c && !lc->closed) {
        if ((n = authorize_now(L, lua_upvalueindex(1), lc, 0, 1)) == 2)
            return 2;
        lua_pop(L, n);
    }
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
#if LUA_VERSION_NUM >= 504
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, authorize_rest_done);
#else
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
#endif
    return lua_gettop(L);
}

/* client:bind_authorize(slow) -> the authorize method for this client's Lua
   object (see bound_authorize); once per client, for the closure's cached
   strings are marked in the client. */
static int client_bind_authorize(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (lc->bound)
        return luaL_error(L, "bind_authorize: this client's authorize is bound already");
    lc->bound = 1;
    lc->bound_line = NULL;
    lua_settop(L, 2);
    lua_pushnil(L); /* 3, 4: the header's name and value, made at the first call */
    lua_pushnil(L);
    lua_pushcclosure(L, bound_authorize, 4);
    return 1;
}

/* client:current_token() -> token table | nil: the token in use, without
   loading or renewing anything. */
static int client_current_token(lua_State *L)
{
    const oc_token *t = oc_client_current_token(check_client(L, 1)->c);
    if (!t)
        return 0;
    oc_lua_push_token(L, t);
    return 1;
}

static int client_is_ntlm(lua_State *L)
{
    lua_pushboolean(L, oc_client_is_ntlm(check_client(L, 1)->c));
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

/* client:exchange_code(code [, state [, callback [, verifier [, redirect_uri]]]])
   -> token | nil, err */
static int client_exchange_code(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_exchange x;
    oc_error err;
    oc_code rc;
    oc_lua_request_clear_inputs(&lc->in);
    oc_lua_read_exchange(L, &x, &lc->in);
    oc_error_clear(&err);
    rc = oc_client_exchange_code(lc->c, &x, &err);
    oc_lua_request_clear_inputs(&lc->in);
    if (rc != OC_OK)
        return oc_lua_fail(L, &err);
    oc_lua_push_token(L, oc_client_current_token(lc->c));
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
    { "login", client_login },
    { "request", client_request },
    { "request_many", client_request_many },
    { "token", client_token },
    { "ready", client_ready },
    { "authorize_now", client_authorize_now },
    { "bind_authorize", client_bind_authorize },
    { "credentials", client_credentials },
    { "is_ntlm", client_is_ntlm },
    { "current_token", client_current_token },
    { "rejected", client_rejected },
    { "authorization_url", client_authorization_url },
    { "exchange_code", client_exchange_code },
    { "forget", client_forget },
    { "call_request", oc_lua_call_request },
    { "call_token", oc_lua_call_token },
    { "call_rejected", oc_lua_call_rejected },
    { "call_exchange", oc_lua_call_exchange },
    { "call_login", oc_lua_call_login },
    { "call_authorization", oc_lua_call_authorization },
    { "call_forget", oc_lua_call_forget },
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
    lua_pushvalue(L, -2); /* the metatable: each method's upvalue (oc_lua_check_client) */
    luaL_setfuncs(L, client_methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
