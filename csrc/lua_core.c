/*
 * The Lua binding: maps the core to the module `oauthconnect.core`. It holds
 * no OAuth logic. Lua values are turned into core inputs, core results into
 * Lua values; runtime failures come back as nil, err (err is a table with
 * code, message, status, property, oauth_error, printing as its message);
 * wrong argument types raise.
 *
 * Every C resource a call holds while it may raise (allocation failures in
 * the Lua API longjmp) lives in a userdata with a __gc, so nothing leaks.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>

#include "compat.h"
#include "oc_client.h"
#include "oc_config.h"
#include "oc_crypto.h"
#include "oc_profile.h"
#include "oc_store.h"
#include "oc_version.h"

#define CLIENT_MT "oauthconnect.client"
#define STORE_MT "oauthconnect.store"
#define BOX_MT "oauthconnect.box"
#define ERROR_MT "oauthconnect.error"
#define HEADERS_MT "oauthconnect.headers"
#define MEMORY_STORES "oauthconnect.memory_stores"

enum { JSON_DEPTH_MAX = 32 };

typedef struct lclient {
    oc_client *c;         /* NULL once closed */
    oc_response resp;     /* reused by every request */
    oc_kv query;          /* request inputs, kept here so a raise cannot leak them */
    struct curl_slist *headers;
} lclient;

typedef struct lstore {
    oc_store *s;
} lstore;

/* A box owns one C object of the kinds below until its __gc. */
typedef enum { BOX_CONFIG, BOX_PROFILE, BOX_STRING } box_kind;
typedef struct lbox {
    box_kind kind;
    void *p;
} lbox;

/* ---- errors ------------------------------------------------------------------ */

static void set_string_field(lua_State *L, const char *k, const char *v)
{
    if (v && *v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

/* Pushes nil and an error object; returns 2 for `return push_error(...)`. */
static int push_error(lua_State *L, const oc_error *e)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, oc_code_name(e->code));
    lua_setfield(L, -2, "code");
    lua_pushstring(L, e->message[0] ? e->message : oc_strerror(e->code));
    lua_setfield(L, -2, "message");
    if (e->status) {
        lua_pushinteger(L, e->status);
        lua_setfield(L, -2, "status");
    }
    set_string_field(L, "property", e->property);
    set_string_field(L, "oauth_error", e->oauth_error);
    luaL_setmetatable(L, ERROR_MT);
    return 2;
}

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    if (!lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "oauthconnect error");
    }
    return 1;
}

/* core.error(code, message [, fields]) -> an error object made by the Lua layer. */
static int l_error(lua_State *L)
{
    const char *code = luaL_checkstring(L, 1);
    const char *message = luaL_checkstring(L, 2);
    if (lua_istable(L, 3))
        lua_pushvalue(L, 3);
    else
        lua_createtable(L, 0, 2);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    luaL_setmetatable(L, ERROR_MT);
    return 1;
}

/* ---- boxes --------------------------------------------------------------------- */

static int box_gc(lua_State *L)
{
    lbox *b = luaL_checkudata(L, 1, BOX_MT);
    switch (b->kind) {
    case BOX_CONFIG: oc_config_free(b->p); break;
    case BOX_PROFILE: oc_profile_free(b->p); break;
    case BOX_STRING: oc_free_secret(b->p); break;
    }
    b->p = NULL;
    return 0;
}

/* A box on the stack, then the object made into it: if either step fails
   the error raised leaves nothing unowned. */
static lbox *box_new(lua_State *L, box_kind kind)
{
    lbox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->kind = kind;
    b->p = NULL;
    luaL_setmetatable(L, BOX_MT);
    switch (kind) {
    case BOX_CONFIG: b->p = oc_config_new(); break;
    case BOX_PROFILE: b->p = oc_profile_new(); break;
    default: break;
    }
    if (!b->p && (kind == BOX_CONFIG || kind == BOX_PROFILE))
        luaL_error(L, "out of memory");
    return b;
}

/* Boxes a malloc'd string the caller already holds. */
static void box_string(lua_State *L, char *s)
{
    lbox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->kind = BOX_STRING;
    b->p = s;
    luaL_setmetatable(L, BOX_MT);
}

/* ---- inputs -------------------------------------------------------------------- */

/* The text of a string, number or boolean value at index i, or NULL. */
static const char *scalar_text(lua_State *L, int i, size_t *len)
{
    switch (lua_type(L, i)) {
    case LUA_TSTRING:
        return lua_tolstring(L, i, len);
    case LUA_TNUMBER: /* converted in place: callers pass values, never lua_next keys */
        return lua_tolstring(L, i, len);
    case LUA_TBOOLEAN:
        *len = lua_toboolean(L, i) ? 4 : 5;
        return lua_toboolean(L, i) ? "true" : "false";
    default:
        return NULL;
    }
}

/* Fills cfg from a connection string or an options table at idx. */
static int read_config(lua_State *L, int idx, oc_config *cfg, oc_error *err)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return oc_config_parse(cfg, s, len, err) == OC_OK;
    }
    luaL_argcheck(L, lua_istable(L, idx), idx, "expected a connection string or an options table");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t klen, vlen;
        const char *k, *v;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "option names must be strings");
        k = lua_tolstring(L, -2, &klen);
        v = scalar_text(L, lua_gettop(L), &vlen);
        if (!v)
            luaL_error(L, "option '%s' must be a string, number or boolean", k);
        if (oc_config_set(cfg, k, klen, v, vlen, err) != OC_OK) {
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* Fills a profile from a profile table (the fields oc_profile_fields lists). */
static int read_profile(lua_State *L, int idx, oc_profile *p, oc_error *err)
{
    const oc_field_info *f;
    idx = lua_absindex(L, idx);
    luaL_argcheck(L, lua_istable(L, idx), idx, "expected a provider profile table");
    for (f = oc_profile_fields(); f->name; f++) {
        int t = lua_getfield(L, idx, f->name);
        if (t == LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        if (f->kind == OC_FK_BOOL ? t != LUA_TBOOLEAN : t != LUA_TSTRING)
            luaL_error(L, "profile field '%s' must be a %s", f->name,
                       f->kind == OC_FK_BOOL ? "boolean" : "string");
        if (oc_profile_set(p, f->name,
                           t == LUA_TBOOLEAN ? (lua_toboolean(L, -1) ? "true" : "false")
                                             : lua_tostring(L, -1),
                           err) != OC_OK) {
            lua_pop(L, 1);
            return 0;
        }
        lua_pop(L, 1);
    }
    return 1;
}

static int kv_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted by name, so URLs do not depend on table iteration order. */
static void kv_sort(oc_kv *kv)
{
    size_t i, j;
    /* insertion sort keeps pairs together and is stable for repeated names */
    for (i = 1; i < kv->n; i++) {
        char *n = kv->name[i], *v = kv->value[i];
        for (j = i; j > 0 && kv_compare(&kv->name[j - 1], &n) > 0; j--) {
            kv->name[j] = kv->name[j - 1];
            kv->value[j] = kv->value[j - 1];
        }
        kv->name[j] = n;
        kv->value[j] = v;
    }
}

/* Query/parameter table -> kv. Arrays give repeated names. */
static void read_kv(lua_State *L, int idx, oc_kv *kv)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t klen, vlen;
        const char *k, *v;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "parameter names must be strings");
        k = lua_tolstring(L, -2, &klen);
        if (lua_istable(L, -1)) {
            int i, n = (int)lua_rawlen(L, -1);
            for (i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, i);
                v = scalar_text(L, lua_gettop(L), &vlen);
                if (!v)
                    luaL_error(L, "parameter '%s' holds a value that is not a string, number or boolean", k);
                if (oc_kv_add(kv, k, klen, v, vlen) != 0)
                    luaL_error(L, "out of memory");
                lua_pop(L, 1);
            }
        } else {
            v = scalar_text(L, lua_gettop(L), &vlen);
            if (!v)
                luaL_error(L, "parameter '%s' must be a string, number, boolean or array", k);
            if (oc_kv_add(kv, k, klen, v, vlen) != 0)
                luaL_error(L, "out of memory");
        }
        lua_pop(L, 1);
    }
    kv_sort(kv);
}

/* ---- outputs ------------------------------------------------------------------- */

static void push_json(lua_State *L, json_t *v, int depth)
{
    const char *key;
    json_t *m;
    size_t i;
    luaL_checkstack(L, 3, "JSON too deep");
    if (depth > JSON_DEPTH_MAX) {
        lua_pushnil(L);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach(v, key, m) {
            push_json(L, m, depth + 1);
            lua_setfield(L, -2, key);
        }
        break;
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, m) {
            push_json(L, m, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: lua_pushnil(L); break;
    }
}

static void push_token(lua_State *L, const oc_token *t)
{
    lua_createtable(L, 0, 10);
    set_string_field(L, "access_token", t->access_token);
    set_string_field(L, "refresh_token", t->refresh_token);
    set_string_field(L, "token_type", t->token_type);
    set_string_field(L, "scope", t->scope);
    if (t->expires_in > 0) {
        lua_pushinteger(L, t->expires_in);
        lua_setfield(L, -2, "expires_in");
        lua_pushinteger(L, t->expires_at_ms / 1000);
        lua_setfield(L, -2, "expires_at");
    }
    lua_pushinteger(L, t->obtained_ms);
    lua_setfield(L, -2, "obtained_at_ms");
    if (t->created_at) {
        lua_pushinteger(L, t->created_at);
        lua_setfield(L, -2, "created_at");
    }
    if (t->extra) {
        push_json(L, t->extra, 0);
        lua_setfield(L, -2, "extra");
    }
}

/* Response headers: lower-case names, repeated ones joined with ", ", and a
   metatable that lower-cases lookups. */
static void push_headers(lua_State *L, const oc_response *r)
{
    size_t pos = 0;
    const char *name, *value;
    lua_createtable(L, 0, (int)r->nheaders);
    while (oc_response_next_header(r, &pos, &name, &value)) {
        if (lua_getfield(L, -1, name) == LUA_TSTRING) {
            lua_pushliteral(L, ", ");
            lua_pushstring(L, value);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushstring(L, value);
        }
        lua_setfield(L, -2, name);
    }
    luaL_setmetatable(L, HEADERS_MT);
}

static int headers_index(lua_State *L)
{
    size_t len, i;
    const char *k = lua_tolstring(L, 2, &len);
    luaL_Buffer b;
    if (!k || lua_type(L, 2) != LUA_TSTRING)
        return 0;
    luaL_buffinit(L, &b);
    for (i = 0; i < len; i++)
        luaL_addchar(&b, (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]));
    luaL_pushresult(&b);
    lua_rawget(L, 1);
    return 1;
}

/* ---- stores ---------------------------------------------------------------------- */

static int store_gc(lua_State *L)
{
    lstore *s = luaL_checkudata(L, 1, STORE_MT);
    oc_store_release(s->s);
    s->s = NULL;
    return 0;
}

/* The shared in-process store for memory://name, made on first use. The
   registry keeps it for the process's lifetime, as CData's memory:// does. */
static oc_store *memory_store(lua_State *L, const char *name)
{
    lstore *s;
    oc_error err;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, MEMORY_STORES);
    if (lua_getfield(L, -1, name) == LUA_TUSERDATA) {
        s = lua_touserdata(L, -1);
        lua_pop(L, 2);
        return s->s;
    }
    lua_pop(L, 1);
    s = lua_newuserdatauv(L, sizeof *s, 0);
    s->s = NULL;
    luaL_setmetatable(L, STORE_MT);
    if (oc_store_memory_new(name, &s->s, &err) != OC_OK)
        luaL_error(L, "out of memory");
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    return s->s;
}

/* ---- the client ------------------------------------------------------------------ */

static lclient *check_client(lua_State *L, int i)
{
    lclient *lc = luaL_checkudata(L, i, CLIENT_MT);
    if (!lc->c)
        luaL_error(L, "attempt to use a closed client");
    return lc;
}

static void clear_inputs(lclient *lc)
{
    struct curl_slist *h;
    oc_kv_free(&lc->query);
    for (h = lc->headers; h; h = h->next)
        oc_wipe(h->data, strlen(h->data));
    curl_slist_free_all(lc->headers);
    lc->headers = NULL;
}

/* close, __gc and __close: safe to call twice. */
static int client_close(lua_State *L)
{
    lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
    clear_inputs(lc);
    oc_response_free(&lc->resp);
    oc_client_free(lc->c);
    lc->c = NULL;
    return 0;
}

/* core.client(options, profile) -> client | nil, err */
static int l_client(lua_State *L)
{
    lbox *cfgbox, *profbox;
    lclient *lc;
    oc_store *store = NULL;
    const char *loc;
    oc_error err;

    oc_error_clear(&err);
    luaL_checktype(L, 2, LUA_TTABLE);
    cfgbox = box_new(L, BOX_CONFIG);
    if (!read_config(L, 1, cfgbox->p, &err))
        return push_error(L, &err);
    profbox = box_new(L, BOX_PROFILE);
    if (!read_profile(L, 2, profbox->p, &err))
        return push_error(L, &err);
    loc = oc_config_get(cfgbox->p, OC_P_OAUTH_SETTINGS_LOCATION);
    if (loc && strncmp(loc, "memory://", 9) == 0)
        store = memory_store(L, loc + 9);

    lc = lua_newuserdatauv(L, sizeof *lc, 1);
    memset(lc, 0, sizeof *lc);
    oc_response_init(&lc->resp);
    luaL_setmetatable(L, CLIENT_MT);
    if (oc_client_new(cfgbox->p, profbox->p, store, &lc->c, &err) != OC_OK)
        return push_error(L, &err);
    return 1;
}

static int client_connect(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_connect(lc->c, &err) != OC_OK)
        return push_error(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int client_login(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_login(lc->c, &err) != OC_OK)
        return push_error(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/*
 * client:request(method, target [, query [, headers [, body [, fail_on_http]]]])
 *   -> status, headers, body | nil, err
 * With fail_on_http, an HTTP status >= 400 gives nil, err (err.status,
 * err.body, err.headers) instead.
 */
static int client_request(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_api_request req;
    oc_error err;
    size_t blen = 0;

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
        read_kv(L, 4, &lc->query);
        req.query = &lc->query;
    }
    if (lua_istable(L, 5)) {
        lua_pushnil(L);
        while (lua_next(L, 5)) { /* key, value */
            struct curl_slist *n;
            size_t vlen;
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "header names must be strings");
            if (!scalar_text(L, lua_gettop(L), &vlen))
                luaL_error(L, "header '%s' must be a string or number", lua_tostring(L, -2));
            lua_pushvalue(L, -2);
            lua_pushliteral(L, ": ");
            lua_pushvalue(L, -3);
            lua_concat(L, 3); /* key, value, "Name: value" */
            n = curl_slist_append(lc->headers, lua_tostring(L, -1));
            if (!n)
                luaL_error(L, "out of memory");
            lc->headers = n;
            lua_pop(L, 2);
        }
        req.headers = lc->headers;
    }

    oc_error_clear(&err);
    if (oc_client_request(lc->c, &req, &lc->resp, &err) != OC_OK) {
        clear_inputs(lc);
        return push_error(L, &err);
    }
    clear_inputs(lc);
    if (lua_toboolean(L, 7) && lc->resp.status >= 400) {
        oc_client_http_error(lc->c, req.method, req.target, &lc->resp, &err);
        push_error(L, &err);
        lua_pushlstring(L, lc->resp.body.data ? lc->resp.body.data : "", lc->resp.body.len);
        lua_setfield(L, -2, "body");
        push_headers(L, &lc->resp);
        lua_setfield(L, -2, "headers");
        oc_response_reset(&lc->resp);
        return 2;
    }
    lua_pushinteger(L, lc->resp.status);
    push_headers(L, &lc->resp);
    lua_pushlstring(L, lc->resp.body.data ? lc->resp.body.data : "", lc->resp.body.len);
    oc_response_reset(&lc->resp);
    return 3;
}

/* client:token([force]) -> token table | nil, err */
static int client_token(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const oc_token *t;
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_token(lc->c, lua_toboolean(L, 2), &t, &err) != OC_OK)
        return push_error(L, &err);
    push_token(L, t);
    return 1;
}

/* client:authorization_url([redirect_uri]) -> url, state, verifier | nil, err */
static int client_authorization_url(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    const char *redirect = luaL_optstring(L, 2, NULL);
    char *url, *state, *verifier;
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_authorization_url(lc->c, redirect, &url, &state, &verifier, &err) != OC_OK)
        return push_error(L, &err);
    /* Box them before pushing strings, which may raise. (A failure to make
       a box leaks the strings not yet boxed; only out of memory can cause it.) */
    box_string(L, url);
    box_string(L, state);
    box_string(L, verifier);
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
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    clear_inputs(lc);
    if (lua_istable(L, 3))
        read_kv(L, 3, &lc->query);
    oc_error_clear(&err);
    if (oc_client_exchange_code(lc->c, code, &lc->query, verifier, redirect, &err) != OC_OK) {
        clear_inputs(lc);
        return push_error(L, &err);
    }
    clear_inputs(lc);
    if (oc_client_token(lc->c, 0, &t, &err) != OC_OK)
        return push_error(L, &err);
    push_token(L, t);
    return 1;
}

static int client_forget(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    oc_error err;
    oc_error_clear(&err);
    if (oc_client_forget(lc->c, &err) != OC_OK)
        return push_error(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int client_generation(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    lua_pushinteger(L, (lua_Integer)oc_client_generation(lc->c));
    return 1;
}

static int client_api_url(lua_State *L)
{
    lclient *lc = check_client(L, 1);
    lua_pushstring(L, oc_client_api_url(lc->c));
    return 1;
}

static int client_tostring(lua_State *L)
{
    lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
    if (lc->c)
        lua_pushfstring(L, "oauthconnect.client (%s)", oc_client_api_url(lc->c));
    else
        lua_pushliteral(L, "oauthconnect.client (closed)");
    return 1;
}

/* ---- module functions ------------------------------------------------------------ */

/* Turns integral floats (|x| <= 2^53) into integers, walking tables. */
static void integerize(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "JSON too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            lua_Number n = lua_tonumber(L, -1);
            if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, (lua_Integer)n);
                lua_rawset(L, idx); /* replacing an existing key's value is allowed during lua_next */
            }
        } else if (lua_type(L, -1) == LUA_TTABLE && depth < JSON_DEPTH_MAX * 8) {
            integerize(L, -1, depth + 1);
        }
        lua_pop(L, 1);
    }
}

/*
 * core.integerize(value) -> value: old lua-cjson (Debian 12's 2.1.0) decodes
 * every number as a float, so an id 1001 would print as "1001.0" and build
 * wrong URLs. JSON has one number type; integral values become integers.
 */
static int l_integerize(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TTABLE)
        integerize(L, 1, 0);
    else if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1)) {
        lua_Number n = lua_tonumber(L, 1);
        if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n)
            lua_pushinteger(L, (lua_Integer)n);
        else
            lua_pushvalue(L, 1);
        return 1;
    }
    lua_settop(L, 1);
    return 1;
}

/* core.parse(connection_string) -> { CanonicalName = value, ... } | nil, err */
static int l_parse(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lbox *box = box_new(L, BOX_CONFIG);
    oc_error err;
    int p;
    oc_error_clear(&err);
    if (oc_config_parse(box->p, s, len, &err) != OC_OK)
        return push_error(L, &err);
    lua_newtable(L);
    for (p = 0; p < OC_P__COUNT; p++) {
        if (oc_config_is_set(box->p, (oc_prop)p)) {
            lua_pushstring(L, oc_config_get(box->p, (oc_prop)p));
            lua_setfield(L, -2, oc_prop_name((oc_prop)p));
        }
    }
    return 1;
}

/* core.property_name(name) -> canonical name | nil (case-insensitive lookup) */
static int l_property_name(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int p = oc_prop_lookup(s, len);
    if (p < 0)
        return 0;
    lua_pushstring(L, oc_prop_name((oc_prop)p));
    return 1;
}

/* core.properties() -> { {name, type, default, secret, allowed = {...}, doc}, ... } */
static int l_properties(lua_State *L)
{
    static const char *const type_names[] = { "string", "url", "enum", "seconds", "milliseconds",
                                               "boolean", "port", "count" };
    int p;
    lua_createtable(L, OC_P__COUNT, 0);
    for (p = 0; p < OC_P__COUNT; p++) {
        const oc_prop_info *info = oc_prop_get_info((oc_prop)p);
        lua_createtable(L, 0, 6);
        lua_pushstring(L, info->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, type_names[info->type]);
        lua_setfield(L, -2, "type");
        if (info->def) {
            lua_pushstring(L, info->def);
            lua_setfield(L, -2, "default");
        }
        lua_pushboolean(L, (info->flags & OC_PF_SECRET) != 0);
        lua_setfield(L, -2, "secret");
        if (info->allowed) {
            const char *s = info->allowed;
            int i = 1;
            lua_newtable(L);
            while (*s) {
                size_t n = strcspn(s, "|");
                lua_pushlstring(L, s, n);
                lua_rawseti(L, -2, i++);
                s += n + (s[n] == '|');
            }
            lua_setfield(L, -2, "allowed");
        }
        lua_pushstring(L, info->doc);
        lua_setfield(L, -2, "doc");
        lua_rawseti(L, -2, p + 1);
    }
    return 1;
}

static const luaL_Reg client_methods[] = {
    { "connect", client_connect },
    { "login", client_login },
    { "request", client_request },
    { "token", client_token },
    { "authorization_url", client_authorization_url },
    { "exchange_code", client_exchange_code },
    { "forget", client_forget },
    { "generation", client_generation },
    { "api_url", client_api_url },
    { "close", client_close },
    { NULL, NULL }
};

static const luaL_Reg module_functions[] = {
    { "client", l_client },
    { "parse", l_parse },
    { "property_name", l_property_name },
    { "properties", l_properties },
    { "error", l_error },
    { "integerize", l_integerize },
    { NULL, NULL }
};

static void new_metatable(lua_State *L, const char *name, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    if (gc) { /* __gc first, before any object gets this metatable */
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
}

/*
 * libcurl's global init is the one process-wide state: done here once, when
 * the module is first loaded, before any handle exists. It is never undone
 * (other modules in the process may use libcurl too).
 */
__attribute__((visibility("default"))) int luaopen_oauthconnect_core(lua_State *L);

int luaopen_oauthconnect_core(lua_State *L)
{
    static int curl_ready = 0;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return luaL_error(L, "oauthconnect: libcurl failed to initialise");
        curl_ready = 1;
    }

    new_metatable(L, CLIENT_MT, client_close);
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

    new_metatable(L, STORE_MT, store_gc);
    lua_pop(L, 1);
    new_metatable(L, BOX_MT, box_gc);
    lua_pop(L, 1);
    new_metatable(L, ERROR_MT, NULL);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    new_metatable(L, HEADERS_MT, NULL);
    lua_pushcfunction(L, headers_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newlib(L, module_functions);
    lua_pushliteral(L, OC_VERSION);
    lua_setfield(L, -2, "_VERSION");
    luaL_getmetatable(L, ERROR_MT);
    lua_setfield(L, -2, "error_mt");
    return 1;
}
