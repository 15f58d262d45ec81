/*
 * The call userdata: one engine call (oc_call.h) driven from Lua, for the
 * drivers whose I/O is Lua's (nginx subrequests, cosockets and shared
 * dicts, a user's transport or store). The driver loops:
 *
 *     local call = handle:call_request("GET", "/store/info.json")
 *     while true do
 *       local kind, a, b, c, d, e = call:next()
 *       if kind == "http" then      -- a method, b url, c header lines, d body, e timeout ms
 *         ... call:feed(status, headers, body)  or  call:fail(message, sent, timed_out)
 *         (or call:perform_http(): libcurl does it)
 *       elseif kind == "store" then -- a op, b text, c expected text (nil: none), d wait ms / bytes
 *         ... call:feed_store(true, text) / (false) / (nil, message)  (or call:perform_store())
 *       elseif kind == "wait" then  -- a seconds
 *         sleep(a)
 *       elseif kind == "login" then call:perform_login()
 *       elseif kind == "prompt" then -- a {title, verification_uri, user_code,
 *         show(a)                    --    verification_uri_complete, expires_in}
 *       else break end              -- "done"
 *     end
 *     return call:result()
 *
 * Reading a request's arguments and building its result are the same
 * functions the blocking client:request uses (lua_request.c). The call
 * keeps its client userdata and its Lua inputs alive through its user value.
 */
#include <stdlib.h>
#include <string.h>

#include "lua_binding.h"
#include "oc_call.h"
#include "oc_easy.h"
#include "oc_mem.h"

typedef struct lcall {
    oc_call *call;  /* NULL once closed */
    lclient *owner;
    lcall_kind kind;
    int awaiting;   /* a step was handed out and not fed yet */
    oc_step step;   /* ... that step */
    lrequest in;    /* CALL_REQUEST: the inputs and the answer */
} lcall;

static const char *const store_ops[] = { "load", "save", "remove", "lock", "unlock", "reserve" };

/* close, __gc, __close: a lock the call still holds is released (a C
   store; a Lua driver releases its own first, see call:holds_lock). */
static int call_close(lua_State *L)
{
    lcall *lc = luaL_checkudata(L, 1, OC_LUA_CALL_MT);
    if (!lc->owner)
        return 0;
    if (lc->call && oc_call_holds_lock(lc->call) && oc_client_store(lc->owner->c))
        oc_store_unlock(oc_client_store(lc->owner->c));
    oc_call_free(lc->call);
    lc->call = NULL;
    oc_lua_request_free(&lc->in);
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
   table) holds the client and, at 1.., the values at first..last. */
static lcall *new_call(lua_State *L, lcall_kind kind, int first_kept, int last_kept)
{
    lclient *owner = oc_lua_check_client(L, 1);
    lcall *lc = lua_newuserdatauv(L, sizeof *lc, 1);
    int i, ud = lua_gettop(L);
    memset(lc, 0, sizeof *lc);
    oc_lua_request_init(&lc->in);
    lc->kind = kind;
    luaL_setmetatable(L, OC_LUA_CALL_MT);
    lua_createtable(L, last_kept >= first_kept ? last_kept - first_kept + 1 : 0, 1);
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
    oc_error err;
    oc_lua_check_client(L, 1);
    lua_settop(L, 7);
    lc = new_call(L, CALL_REQUEST, 2, 6); /* method, target and body stay alive */
    oc_lua_read_request(L, 2, &lc->in);
    oc_error_clear(&err);
    return started(L, oc_call_api(lc->owner->c, &lc->in.req, &lc->in.resp, &lc->call, &err), &err);
}

/* handle:call_token([need]): need "if_due" (default), "force", "connect" or "loaded" */
int oc_lua_call_token(lua_State *L)
{
    static const char *const needs[] = { "if_due", "force", "connect", "loaded", NULL };
    static const oc_token_need values[] = { OC_TOKEN_IF_DUE, OC_TOKEN_FORCE, OC_TOKEN_CONNECT,
                                            OC_TOKEN_LOADED };
    int need = luaL_checkoption(L, 2, "if_due", needs);
    lcall *lc;
    oc_error err;
    lua_settop(L, 1);
    lc = new_call(L, CALL_TOKEN, 1, 0);
    oc_error_clear(&err);
    return started(L, oc_call_token(lc->owner->c, values[need], &lc->call, &err), &err);
}

/* handle:call_rejected(ticket) */
int oc_lua_call_rejected(lua_State *L)
{
    lua_Integer ticket = luaL_checkinteger(L, 2);
    lcall *lc;
    oc_error err;
    lua_settop(L, 1);
    lc = new_call(L, CALL_REJECTED, 1, 0);
    oc_error_clear(&err);
    return started(L, oc_call_rejected(lc->owner->c, (unsigned)ticket, &lc->call, &err), &err);
}

/* handle:call_exchange(code [, state [, callback [, verifier [, redirect_uri]]]]):
   callback is the callback's other parameters (only those the profile names
   go along); the verifier and redirect URI are the caller's own, never the
   callback's. */
int oc_lua_call_exchange(lua_State *L)
{
    lcall *lc;
    oc_exchange x;
    oc_error err;
    oc_code rc;
    lua_settop(L, 6);
    lc = new_call(L, CALL_TOKEN, 1, 0);
    oc_lua_read_exchange(L, &x, &lc->in); /* the callback's owned by the call: freed on a raise */
    oc_error_clear(&err);
    /* the engine copies what it keeps */
    rc = oc_call_exchange(lc->owner->c, &x, &lc->call, &err);
    oc_kv_free(&lc->in.query);
    return started(L, rc, &err);
}

/* handle:call_login([force]) */
int oc_lua_call_login(lua_State *L)
{
    int force = lua_toboolean(L, 2);
    lcall *lc;
    oc_error err;
    lua_settop(L, 1);
    lc = new_call(L, CALL_TOKEN, 1, 0);
    oc_error_clear(&err);
    return started(L, oc_call_login(lc->owner->c, force, &lc->call, &err), &err);
}

/* handle:call_authorization([redirect_uri]) */
int oc_lua_call_authorization(lua_State *L)
{
    const char *redirect = luaL_optstring(L, 2, NULL);
    lcall *lc;
    oc_error err;
    lua_settop(L, 2);
    lc = new_call(L, CALL_AUTHORIZATION, 1, 0);
    oc_error_clear(&err);
    return started(L, oc_call_authorization(lc->owner->c, redirect, &lc->call, &err), &err);
}

/* handle:call_forget([revoke]) */
int oc_lua_call_forget(lua_State *L)
{
    lcall *lc;
    oc_error err;
    int revoke;
    lua_settop(L, 2);
    revoke = lua_toboolean(L, 2);
    lua_settop(L, 1);
    lc = new_call(L, CALL_FORGET, 1, 0);
    oc_error_clear(&err);
    return started(L, oc_call_forget(lc->owner->c, revoke, &lc->call, &err), &err);
}

/* [-0, +1] The device login's prompt as a table. */
static void push_prompt(lua_State *L, const oc_prompt *p)
{
    lua_createtable(L, 0, 5);
    lua_pushstring(L, p->title);
    lua_setfield(L, -2, "title");
    lua_pushstring(L, p->verification_uri);
    lua_setfield(L, -2, "verification_uri");
    lua_pushstring(L, p->user_code);
    lua_setfield(L, -2, "user_code");
    if (p->verification_uri_complete) {
        lua_pushstring(L, p->verification_uri_complete);
        lua_setfield(L, -2, "verification_uri_complete");
    }
    lua_pushinteger(L, (lua_Integer)p->expires_in_s);
    lua_setfield(L, -2, "expires_in");
}

/* call:next() -> "http", method, url, header lines, body, timeout ms, body limit
                | "store", op, text, expected, wait ms or bytes
                | "wait", seconds | "login" | "prompt", table | "done" */
static int call_next(lua_State *L)
{
    lcall *lc = check_call(L);
    const struct curl_slist *h;
    oc_step *step = &lc->step;
    int i = 1;
    if (lc->awaiting)
        return luaL_error(L, "call:next() before the last step was fed its outcome");
    oc_call_next(lc->call, step);
    switch (step->kind) {
    case OC_STEP_DONE:
        lua_pushliteral(L, "done");
        return 1;
    case OC_STEP_WAIT:
        lua_pushliteral(L, "wait");
        lua_pushnumber(L, (lua_Number)step->wait_ms / 1000.0);
        return 2;
    case OC_STEP_LOGIN:
        lc->awaiting = 1;
        lua_pushliteral(L, "login");
        return 1;
    case OC_STEP_PROMPT:
        lua_pushliteral(L, "prompt");
        push_prompt(L, step->prompt);
        return 2;
    case OC_STEP_STORE:
        lc->awaiting = 1;
        lua_pushliteral(L, "store");
        lua_pushstring(L, store_ops[step->op]);
        if (step->op == OC_STORE_SAVE)
            lua_pushlstring(L, step->text, step->text_len);
        else
            lua_pushnil(L);
        if ((step->op == OC_STORE_SAVE || step->op == OC_STORE_REMOVE) && step->expected_found)
            lua_pushlstring(L, step->expected, step->expected_len);
        else
            lua_pushnil(L);
        lua_pushinteger(L, step->op == OC_STORE_RESERVE ? (lua_Integer)step->reserve_bytes
                                                        : (lua_Integer)step->lock_wait_ms);
        return 5;
    case OC_STEP_HTTP:
        break;
    }
    lc->awaiting = 1;
    lua_pushliteral(L, "http");
    lua_pushstring(L, step->request->method);
    lua_pushstring(L, step->request->url);
    lua_newtable(L);
    for (h = step->request->headers; h; h = h->next) {
        lua_pushstring(L, h->data);
        lua_rawseti(L, -2, i++);
    }
    if (step->request->body)
        lua_pushlstring(L, step->request->body, step->request->body_len);
    else
        lua_pushnil(L);
    lua_pushinteger(L, step->request->timeout_ms);
    lua_pushinteger(L, (lua_Integer)step->request->max_body);
    return 7;
}

static lcall *check_awaiting(lua_State *L, oc_step_kind kind, const char *what)
{
    lcall *lc = check_call(L);
    if (!lc->awaiting || lc->step.kind != kind)
        luaL_error(L, "no %s step is waiting for its outcome", what);
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
    lcall *lc = check_awaiting(L, OC_STEP_HTTP, "HTTP");
    oc_response *r = lc->step.response;
    size_t max_body = lc->step.request->max_body;
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
    if (rc == OC_OK && max_body && blen > max_body)
        rc = oc_fail(&err, OC_E_TOO_LARGE, "the answer is larger than the limit of %zu bytes", max_body);
    if (rc == OC_OK && oc_buf_append(&r->body, body, blen) != 0)
        rc = oc_fail_nomem(&err);
    lc->awaiting = 0;
    if (rc != OC_OK)
        oc_response_reset(r);
    oc_call_feed(lc->call, rc, 1, rc == OC_OK ? NULL : &err);
    return 0;
}

/* call:fail(message [, sent [, timed_out [, too_large]]]): the HTTP step
   failed in transit; sent says whether any of the request may have
   reached the server. */
static int call_fail(lua_State *L)
{
    lcall *lc = check_awaiting(L, OC_STEP_HTTP, "HTTP");
    const char *message = luaL_checkstring(L, 2);
    int sent = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    oc_code code = lua_toboolean(L, 5) ? OC_E_TOO_LARGE : lua_toboolean(L, 4) ? OC_E_TIMEOUT : OC_E_NETWORK;
    oc_error err;
    oc_error_clear(&err);
    oc_fail(&err, code, "%s", message);
    lc->awaiting = 0;
    oc_response_reset(lc->step.response);
    oc_call_feed(lc->call, code, sent, &err);
    return 0;
}

/* call:perform_http(): libcurl performs the HTTP step (blocking). */
static int call_perform_http(lua_State *L)
{
    lcall *lc = check_awaiting(L, OC_STEP_HTTP, "HTTP");
    oc_error err;
    int sent = 0;
    oc_code rc;
    oc_error_clear(&err);
    rc = oc_easy_http_step(lc->owner->c, &lc->step, &sent, &err);
    lc->awaiting = 0;
    oc_call_feed(lc->call, rc, sent, &err);
    return 0;
}

/* call:feed_store(true [, text]) | (false) | (nil, message): the store
   step's outcome: done (LOAD: the text, nil when nothing is stored); the
   store held something else (SAVE, REMOVE) or another holds the lock
   (LOCK); or it failed, as message says. */
static int call_feed_store(lua_State *L)
{
    lcall *lc = check_awaiting(L, OC_STEP_STORE, "store");
    size_t len = 0;
    const char *text = NULL;
    oc_error err;
    oc_code rc = OC_OK;
    oc_error_clear(&err);
    if (lua_isnil(L, 2) || lua_isnone(L, 2)) {
        const char *message = luaL_optstring(L, 3, "the store failed");
        rc = oc_fail(&err, OC_E_SETTINGS, "%s: %s", oc_client_store(lc->owner->c)
                                                        ? oc_store_where(oc_client_store(lc->owner->c))
                                                        : "the store",
                     message);
    } else if (!lua_toboolean(L, 2)) {
        rc = lc->step.op == OC_STORE_LOCK ? OC_E_LOCK : OC_E_CONFLICT;
        oc_fail(&err, rc, "%s", rc == OC_E_LOCK ? "another holds the lock" : "the store changed");
    } else if (lc->step.op == OC_STORE_LOAD && !lua_isnoneornil(L, 3)) {
        text = luaL_checklstring(L, 3, &len);
    }
    lc->awaiting = 0;
    oc_call_feed_store(lc->call, rc, text, len, text != NULL && len > 0, &err);
    return 0;
}

/* call:perform_store(): the client's C store performs the step. */
static int call_perform_store(lua_State *L)
{
    lcall *lc = check_awaiting(L, OC_STEP_STORE, "store");
    oc_buf text;
    oc_error err;
    int found = 0;
    oc_code rc;
    oc_buf_init_secret(&text, 0);
    oc_error_clear(&err);
    rc = oc_easy_store_step(oc_client_store(lc->owner->c), &lc->step, &text, &found, &err);
    lc->awaiting = 0;
    oc_call_feed_store(lc->call, rc, text.data, text.len, found, &err);
    oc_buf_free(&text);
    return 0;
}

/* call:show_prompt(): the device login's prompt on stderr, after next()
   returned "prompt" (a driver without its own way to show it). */
static int call_show_prompt(lua_State *L)
{
    lcall *lc = check_call(L);
    if (lc->awaiting || lc->step.kind != OC_STEP_PROMPT)
        return luaL_error(L, "no prompt step to show");
    oc_easy_show_prompt(stderr, lc->step.prompt);
    return 0;
}

/* call:perform_login(): the desktop login (blocking: scripts only). */
static int call_perform_login(lua_State *L)
{
    lcall *lc = check_awaiting(L, OC_STEP_LOGIN, "login");
    lc->awaiting = 0;
    oc_easy_login_step(lc->call, &lc->step);
    return 0;
}

/* call:allow_login(): a browser login may start when nothing is stored. */
static int call_allow_login(lua_State *L)
{
    oc_call_allow_login(check_call(L)->call);
    return 0;
}

/* call:holds_lock() -> whether the call holds the store's lock (a driver
   abandoning it releases its own store's). */
static int call_holds_lock(lua_State *L)
{
    lua_pushboolean(L, oc_call_holds_lock(check_call(L)->call));
    return 1;
}

/* call:result() -> by kind: status, raw headers, body (a request) | the
   token (token work) | url, state, verifier (authorization) | true; or
   nil, err */
static int call_result(lua_State *L)
{
    lcall *lc = check_call(L);
    oc_client *c = lc->owner->c;
    oc_error err;
    oc_code rc;
    oc_error_clear(&err);
    rc = oc_call_result(lc->call, &err);
    switch (lc->kind) {
    case CALL_REQUEST:
        return oc_lua_push_request_result(L, c, rc, &err, &lc->in, oc_call_rejection(lc->call));
    case CALL_AUTHORIZATION:
        if (rc != OC_OK)
            return oc_lua_fail(L, &err);
        lua_pushstring(L, oc_call_url(lc->call));
        lua_pushstring(L, oc_call_state(lc->call));
        if (oc_call_verifier(lc->call))
            lua_pushstring(L, oc_call_verifier(lc->call));
        else
            lua_pushnil(L);
        return 3;
    case CALL_FORGET:
    case CALL_REJECTED:
        if (rc != OC_OK)
            return oc_lua_fail(L, &err);
        lua_pushboolean(L, 1);
        return 1;
    case CALL_TOKEN:
        break;
    }
    if (rc != OC_OK)
        return oc_lua_fail(L, &err);
    if (!oc_client_current_token(c)) /* a scheme without tokens, or a rejection answered */
        lua_pushboolean(L, 1);
    else
        oc_lua_push_token(L, oc_client_current_token(c));
    return 1;
}

/* call:run() -> call:result(): the whole call in C, blocking (libcurl, the
   C store, sleeps), as the script client does. */
static int call_run(lua_State *L)
{
    lcall *lc = check_call(L);
    oc_error err;
    if (lc->awaiting)
        return luaL_error(L, "call:run() while a step waits for its outcome");
    oc_error_clear(&err);
    oc_easy_run(lc->owner->c, lc->call, &err);
    lua_settop(L, 1);
    return call_result(L);
}

static const luaL_Reg call_methods[] = {
    { "next", call_next },
    { "feed", call_feed },
    { "fail", call_fail },
    { "perform_http", call_perform_http },
    { "feed_store", call_feed_store },
    { "perform_store", call_perform_store },
    { "perform_login", call_perform_login },
    { "show_prompt", call_show_prompt },
    { "allow_login", call_allow_login },
    { "holds_lock", call_holds_lock },
    { "result", call_result },
    { "run", call_run },
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
