/* Lua values to core inputs and core results to Lua values. */
#include <stdlib.h>
#include <string.h>

#include "lua_binding.h"
#include "oc_crypto.h"
#include "oc_mem.h"

/* ---- boxes ------------------------------------------------------------------------ */

int oc_lua_box_gc(lua_State *L)
{
    oc_lua_box *b = luaL_checkudata(L, 1, OC_LUA_BOX_MT);
    switch (b->kind) {
    case OC_BOX_CONFIG: oc_config_free(b->p); break;
    case OC_BOX_PROFILE: oc_profile_free(b->p); break;
    case OC_BOX_STRING: oc_free_secret(b->p); break;
    case OC_BOX_JSON: json_decref(b->p); break;
    case OC_BOX_KV:
        if (b->p)
            oc_kv_free(b->p);
        free(b->p);
        break;
    }
    b->p = NULL;
    return 0;
}

oc_lua_box *oc_lua_box_new(lua_State *L, oc_box_kind kind)
{
    oc_lua_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->kind = kind;
    b->p = NULL;
    luaL_setmetatable(L, OC_LUA_BOX_MT);
    if (kind == OC_BOX_CONFIG)
        b->p = oc_config_new();
    else if (kind == OC_BOX_PROFILE)
        b->p = oc_profile_new();
    else if (kind == OC_BOX_KV)
        b->p = calloc(1, sizeof(oc_kv));
    if (!b->p && kind != OC_BOX_STRING && kind != OC_BOX_JSON)
        luaL_error(L, "out of memory");
    return b;
}

/* ---- errors -------------------------------------------------------------------------- */

/* [-0, +0] t[k] = v on the table at the top, when v is not empty. */
static void set_string_field(lua_State *L, const char *k, const char *v)
{
    if (v && *v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

int oc_lua_fail(lua_State *L, const oc_error *e)
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
    luaL_setmetatable(L, OC_LUA_ERROR_MT);
    return 2;
}

int oc_lua_error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    if (!lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "oauthconnect error");
    }
    return 1;
}

/* [-0, +1] The text operand i of a concatenation: an error's message, or a
   string or number as Lua would join it; anything else raises as Lua does. */
static void push_concat_operand(lua_State *L, int i)
{
    if (lua_type(L, i) == LUA_TTABLE && lua_getmetatable(L, i)) {
        int is_error;
        luaL_getmetatable(L, OC_LUA_ERROR_MT);
        is_error = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (is_error) {
            lua_pushcfunction(L, oc_lua_error_tostring);
            lua_pushvalue(L, i);
            lua_call(L, 1, 1);
            return;
        }
    }
    if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER) {
        lua_pushvalue(L, i);
        lua_tostring(L, -1); /* a number becomes its text, as Lua's .. makes it */
        return;
    }
    luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
}

int oc_lua_error_concat(lua_State *L)
{
    push_concat_operand(L, 1);
    push_concat_operand(L, 2);
    lua_concat(L, 2);
    return 1;
}

/* ---- inputs ------------------------------------------------------------------------- */

const char *oc_lua_scalar(lua_State *L, int i, size_t *len)
{
    switch (lua_type(L, i)) {
    case LUA_TSTRING:
    case LUA_TNUMBER: /* converted in place: callers pass values, never lua_next keys */
        return lua_tolstring(L, i, len);
    case LUA_TBOOLEAN:
        *len = lua_toboolean(L, i) ? 4 : 5;
        return lua_toboolean(L, i) ? "true" : "false";
    default:
        return NULL;
    }
}

int oc_lua_read_config(lua_State *L, int idx, oc_config *cfg, oc_error *err)
{
    unsigned char seen[OC_P__COUNT];
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return oc_config_parse(cfg, s, len, err) == OC_OK;
    }
    luaL_argcheck(L, lua_istable(L, idx), idx, "expected a connection string or an options table");
    memset(seen, 0, sizeof seen);
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* key, value */
        size_t klen, vlen;
        const char *k, *v;
        int p;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "option names must be strings");
        k = lua_tolstring(L, -2, &klen);
        /* names ignore case, so {oauthclientid=..., OAuthClientId=...} names
           one property twice, and which value won would depend on hashing */
        if ((p = oc_prop_lookup(k, klen)) >= 0) {
            if (seen[p])
                luaL_error(L, "the options give %s twice, spelled differently (names ignore case)",
                           oc_prop_name((oc_prop)p));
            seen[p] = 1;
        }
        v = oc_lua_scalar(L, lua_gettop(L), &vlen);
        if (!v)
            luaL_error(L, "option '%s' must be a string, number or boolean", k);
        if (lua_type(L, -1) == LUA_TBOOLEAN) {
            /* true for a token or a URL is a mistake in the caller's table;
               an unknown name is left to oc_config_set's clear error */
            if (p >= 0 && oc_prop_get_info((oc_prop)p)->type != OC_PT_BOOL)
                luaL_error(L, "option '%s' must be a string or number, not a boolean", k);
        }
        if (oc_config_set(cfg, k, klen, v, vlen, err) != OC_OK) {
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);
    }
    return 1;
}

int oc_lua_read_profile(lua_State *L, int idx, oc_profile *p, oc_error *err)
{
    const oc_field_info *f;
    idx = lua_absindex(L, idx);
    luaL_argcheck(L, lua_istable(L, idx), idx, "expected a provider profile table");
    for (f = oc_profile_fields(); f->name; f++) {
        int t;
        lua_getfield(L, idx, f->name);
        t = lua_type(L, -1);
        if (t != LUA_TNIL) {
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
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* Insertion sort by name: keeps each pair together, and repeated names in
   their order, so URLs do not depend on table iteration order. */
static void kv_sort(oc_kv *kv)
{
    size_t i, j;
    for (i = 1; i < kv->n; i++) {
        char *n = kv->name[i], *v = kv->value[i];
        for (j = i; j > 0 && strcmp(kv->name[j - 1], n) > 0; j--) {
            kv->name[j] = kv->name[j - 1];
            kv->value[j] = kv->value[j - 1];
        }
        kv->name[j] = n;
        kv->value[j] = v;
    }
}

void oc_lua_read_kv(lua_State *L, int idx, oc_kv *kv)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* key, value */
        size_t klen, vlen;
        const char *k, *v;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "parameter names must be strings");
        k = lua_tolstring(L, -2, &klen);
        if (lua_istable(L, -1)) {
            int i, n = (int)lua_rawlen(L, -1);
            for (i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, i); /* key, array, item */
                v = oc_lua_scalar(L, lua_gettop(L), &vlen);
                if (!v)
                    luaL_error(L, "parameter '%s' holds a value that is not a string, number or boolean", k);
                if (oc_kv_add(kv, k, klen, v, vlen) != 0)
                    luaL_error(L, "out of memory");
                lua_pop(L, 1);
            }
        } else {
            v = oc_lua_scalar(L, lua_gettop(L), &vlen);
            if (!v)
                luaL_error(L, "parameter '%s' must be a string, number, boolean or array", k);
            if (oc_kv_add(kv, k, klen, v, vlen) != 0)
                luaL_error(L, "out of memory");
        }
        lua_pop(L, 1);
    }
    kv_sort(kv);
}

/* ---- outputs ---------------------------------------------------------------------- */

/* [-0, +1] A JSON value as Lua values (deeper than the limit: nil). */
static void push_json(lua_State *L, json_t *v, int depth)
{
    const char *key;
    json_t *m;
    size_t i;
    luaL_checkstack(L, 3, "JSON too deep");
    if (depth > OC_LUA_JSON_DEPTH_MAX) {
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
            lua_rawseti(L, -2, (int)i + 1);
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

void oc_lua_push_json(lua_State *L, json_t *v)
{
    push_json(L, v, 0);
}

void oc_lua_push_token(lua_State *L, const oc_token *t)
{
    lua_createtable(L, 0, 10);
    set_string_field(L, "access_token", t->access_token);
    set_string_field(L, "refresh_token", t->refresh_token);
    set_string_field(L, "token_type", t->token_type);
    set_string_field(L, "scope", t->scope);
    if (t->expires_in > 0) {
        lua_pushinteger(L, (lua_Integer)t->expires_in);
        lua_setfield(L, -2, "expires_in");
        lua_pushinteger(L, (lua_Integer)(t->expires_at_ms / 1000));
        lua_setfield(L, -2, "expires_at");
    }
    lua_pushinteger(L, (lua_Integer)t->obtained_ms);
    lua_setfield(L, -2, "obtained_at_ms");
    if (t->created_at) {
        lua_pushinteger(L, (lua_Integer)t->created_at);
        lua_setfield(L, -2, "created_at");
    }
    if (t->extra) {
        push_json(L, t->extra, 0);
        lua_setfield(L, -2, "extra");
    }
}

/* [-0, +1] The table of a "name\0value\0..." block; a malformed tail is
   ignored. */
static void push_header_block(lua_State *L, const char *p, size_t len, size_t hint)
{
    const char *end = p + len;
    lua_createtable(L, 0, (int)hint);
    while (p < end) {
        const char *nend = memchr(p, '\0', (size_t)(end - p)), *value, *vend;
        if (!nend)
            break;
        value = nend + 1;
        if (!(vend = memchr(value, '\0', (size_t)(end - value))))
            break;
        lua_pushlstring(L, p, (size_t)(nend - p)); /* headers, name */
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_type(L, -1) == LUA_TSTRING) { /* repeated: joined as RFC 9110 5.3 allows */
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, value, (size_t)(vend - value));
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, value, (size_t)(vend - value));
        }
        lua_rawset(L, -3);
        p = vend + 1;
    }
    luaL_setmetatable(L, OC_LUA_HEADERS_MT);
}

void oc_lua_push_headers(lua_State *L, const oc_response *r)
{
    push_header_block(L, r->headers.data ? r->headers.data : "", r->headers.len, r->nheaders);
}

void oc_lua_push_raw_headers(lua_State *L, const oc_response *r)
{
    lua_pushlstring(L, r->headers.data ? r->headers.data : "", r->headers.len);
}

int oc_lua_headers(lua_State *L)
{
    size_t len;
    const char *raw = luaL_checklstring(L, 1, &len);
    push_header_block(L, raw, len, 8);
    return 1;
}

int oc_lua_headers_index(lua_State *L)
{
    size_t len, i;
    const char *k;
    luaL_Buffer b;
    if (lua_type(L, 2) != LUA_TSTRING)
        return 0;
    k = lua_tolstring(L, 2, &len);
    luaL_buffinit(L, &b);
    for (i = 0; i < len; i++)
        luaL_addchar(&b, (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]));
    luaL_pushresult(&b);
    lua_rawget(L, 1);
    return 1;
}
