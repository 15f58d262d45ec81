/*
 * Redis on the wire for the nginx driver's cosocket store
 * (lua/oauthconnect/store/redis.lua): hiredis formats the commands and
 * parses the replies here, nginx moves the bytes. The location is parsed
 * as the C store parses it, and the scripts are the C store's own.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "lua_binding.h"
#include "oc_mem.h"
#include "oc_redis.h"
#include "oc_store.h"

#define OC_LUA_REDIS_READER_MT "oauthconnect.redis_reader"

static void set_string(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* core.redis_target(location) -> { host, port, tls, user, password, db,
   key, lock_key, shown, lease_ms, renew_ms, scripts = {...} } | nil, err */
int oc_lua_redis_target(lua_State *L)
{
    const char *location = luaL_checkstring(L, 1);
    static const char *const scripts[] = { "save", "remove", "unlock", "renew", NULL };
    oc_redis_target t;
    oc_error err;
    int i;
    oc_error_clear(&err);
    if (oc_redis_parse(location, &t, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    lua_createtable(L, 0, 12);
    set_string(L, "host", t.host);
    set_int(L, "port", (lua_Integer)t.port);
    lua_pushboolean(L, t.tls);
    lua_setfield(L, -2, "tls");
    set_string(L, "user", t.user);
    set_string(L, "password", t.password);
    set_int(L, "db", t.db);
    set_string(L, "key", t.key);
    lua_pushfstring(L, "%s:lock", t.key);
    lua_setfield(L, -2, "lock_key");
    set_string(L, "shown", t.shown);
    set_int(L, "lease_ms", OC_REDIS_LEASE_MS);
    set_int(L, "renew_ms", OC_REDIS_RENEW_MS);
    lua_newtable(L);
    for (i = 0; scripts[i]; i++)
        set_string(L, scripts[i], oc_store_redis_script(scripts[i]));
    lua_setfield(L, -2, "scripts");
    oc_redis_target_free(&t);
    return 1;
}

/* core.redis_format(arg, ...) -> the command in RESP, as hiredis writes it. */
int oc_lua_redis_format(lua_State *L)
{
    enum { MAX_ARGS = 16 };
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    char *cmd = NULL;
    int i, n = lua_gettop(L), len;
    luaL_argcheck(L, n >= 1 && n <= MAX_ARGS, 1, "1 to 16 command arguments");
    for (i = 0; i < n; i++)
        argv[i] = luaL_checklstring(L, i + 1, &lens[i]);
    if ((len = redisFormatCommandArgv(&cmd, n, argv, lens)) < 0)
        return luaL_error(L, "out of memory");
    lua_pushlstring(L, cmd, (size_t)len);
    oc_wipe(cmd, (size_t)len); /* AUTH carries the password */
    redisFreeCommand(cmd);
    return 1;
}

/* [-0, +1] A reply as Lua: string, integer, nil (Redis nil), an array,
   { status = text } or { error = text }. */
static void push_reply(lua_State *L, const redisReply *r, int depth)
{
    size_t i;
    luaL_checkstack(L, 3, "Redis reply too deep");
    switch (r->type) {
    case REDIS_REPLY_STRING:
        lua_pushlstring(L, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        lua_pushinteger(L, (lua_Integer)r->integer);
        break;
    case REDIS_REPLY_ARRAY:
        lua_createtable(L, (int)r->elements, 0);
        for (i = 0; depth < 8 && i < r->elements; i++) {
            push_reply(L, r->element[i], depth + 1);
            lua_rawseti(L, -2, (int)i + 1);
        }
        break;
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        lua_createtable(L, 0, 1);
        lua_pushlstring(L, r->str, r->len);
        lua_setfield(L, -2, r->type == REDIS_REPLY_STATUS ? "status" : "error");
        break;
    default:
        lua_pushnil(L);
        break;
    }
}

typedef struct lreader {
    redisReader *reader;
} lreader;

static lreader *check_reader(lua_State *L)
{
    lreader *r = luaL_checkudata(L, 1, OC_LUA_REDIS_READER_MT);
    if (!r->reader)
        luaL_error(L, "attempt to use a closed Redis reader");
    return r;
}

static int reader_gc(lua_State *L)
{
    lreader *r = luaL_checkudata(L, 1, OC_LUA_REDIS_READER_MT);
    if (r->reader) {
        redisReaderFree(r->reader);
        r->reader = NULL;
    }
    return 0;
}

/* reader:feed(bytes) */
static int reader_feed(lua_State *L)
{
    lreader *r = check_reader(L);
    size_t len;
    const char *bytes = luaL_checklstring(L, 2, &len);
    if (redisReaderFeed(r->reader, bytes, len) != REDIS_OK)
        return luaL_error(L, "out of memory");
    return 0;
}

/* reader:reply() -> true, value (a whole reply) | false (more bytes needed)
   | nil, message (not Redis's protocol) */
static int reader_reply(lua_State *L)
{
    lreader *r = check_reader(L);
    void *out = NULL;
    if (redisReaderGetReply(r->reader, &out) != REDIS_OK) {
        lua_pushnil(L);
        lua_pushstring(L, "the answer is not Redis's protocol");
        return 2;
    }
    if (!out) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(L, 1);
    push_reply(L, out, 0);
    if (((redisReply *)out)->type == REDIS_REPLY_STRING)
        oc_wipe(((redisReply *)out)->str, ((redisReply *)out)->len);
    freeReplyObject(out);
    return 2;
}

/* core.redis_reader() -> a reader for one connection's replies */
int oc_lua_redis_reader(lua_State *L)
{
    lreader *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->reader = NULL;
    if (luaL_newmetatable(L, OC_LUA_REDIS_READER_MT)) {
        static const luaL_Reg methods[] = { { "feed", reader_feed }, { "reply", reader_reply }, { NULL, NULL } };
        lua_pushcfunction(L, reader_gc);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
    if (!(r->reader = redisReaderCreate()))
        return luaL_error(L, "out of memory");
    return 1;
}
