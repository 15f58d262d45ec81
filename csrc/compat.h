/*
 * The few Lua C API differences between Lua 5.4 and the 5.1 ABI of LuaJIT
 * (OpenResty). Only the binding includes it.
 */
#ifndef OC_COMPAT_H
#define OC_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM < 502
#define lua_rawlen lua_objlen
/* LuaJIT 2.1 has the 5.2 registration helpers (its lauxlib.h defines
   luaL_newlib); plain Lua 5.1 has not. */
#ifndef luaL_newlib
#define luaL_newlib(L, l) (lua_newtable(L), luaL_register(L, NULL, l))
static inline void luaL_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    (void)nup; /* the binding registers no upvalues */
    for (; l->name; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
}
static inline void luaL_setmetatable(lua_State *L, const char *tname)
{
    luaL_getmetatable(L, tname);
    lua_setmetatable(L, -2);
}
#endif
static inline int lua_absindex_compat(lua_State *L, int i)
{
    return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + i + 1;
}
#define lua_absindex lua_absindex_compat
#endif

#if LUA_VERSION_NUM < 503
static inline int lua_isinteger_compat(lua_State *L, int i)
{
    lua_Number n;
    if (lua_type(L, i) != LUA_TNUMBER)
        return 0;
    n = lua_tonumber(L, i);
    /* range first: casting an out-of-range double is undefined */
    return n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(long long)n;
}
#define lua_isinteger lua_isinteger_compat
#endif

/* [-1, +0] Pops a table into the user value of the userdata at idx (made
   with one user value). */
#if LUA_VERSION_NUM >= 504
#define oc_lua_set_uservalue(L, idx) lua_setiuservalue(L, idx, 1)
#elif LUA_VERSION_NUM >= 502
#define oc_lua_set_uservalue(L, idx) lua_setuservalue(L, idx)
#else
#define oc_lua_set_uservalue(L, idx) lua_setfenv(L, idx)
#endif

/* [-0, +1] Pushes the user value of the userdata at idx. */
#if LUA_VERSION_NUM >= 504
#define oc_lua_get_uservalue(L, idx) lua_getiuservalue(L, idx, 1)
#elif LUA_VERSION_NUM >= 502
#define oc_lua_get_uservalue(L, idx) lua_getuservalue(L, idx)
#else
#define oc_lua_get_uservalue(L, idx) lua_getfenv(L, idx)
#endif

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, size, nuv) lua_newuserdata(L, size)
#define luaL_pushfail(L) lua_pushnil(L)
#endif

#endif
