/*
 * A minimal lua5.4 for the sanitizer run: the same interpreter library, but
 * a main program built with AddressSanitizer, so the instrumented module can
 * be loaded without LD_PRELOAD (which every child process, Python and curl
 * included, would inherit). It does what `lua5.4 script args...` and
 * `lua5.4 -e chunk` do for the test suite: `arg`, os.exit, error messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/*
 * LeakSanitizer in Debian's clang 14 misreads glibc 2.36's dynamic TLS
 * blocks (it logs ranges such as "DTLS 5 at 0x17a-0x10000127c") and its
 * tracer dies with SIGSEGV, failing whichever process happened to load a
 * library with dynamic TLS (GnuTLS, p11-kit). Not scanning TLS avoids it;
 * that can only add reports (a block reachable from TLS alone), never hide
 * a leak. Children inherit nothing from this: each sanitized process is
 * this host again.
 */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "use_tls=0:print_suppressions=0";
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    int i, first = 1, status;
    if (!L)
        return 1;
    luaL_openlibs(L);
    if (argc > 2 && strcmp(argv[1], "-e") == 0) {
        status = luaL_loadstring(L, argv[2]);
        first = 3;
    } else if (argc > 1) {
        status = luaL_loadfile(L, argv[1]);
        first = 2;
    } else {
        fprintf(stderr, "usage: %s script [args...] | -e chunk\n", argv[0]);
        lua_close(L);
        return 1;
    }
    lua_createtable(L, argc, 0); /* arg, as lua.c builds it */
    for (i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - (first - 1));
    }
    lua_setglobal(L, "arg");
    if (status == LUA_OK) {
        int base = lua_gettop(L);
        lua_pushcfunction(L, traceback);
        lua_insert(L, base);
        for (i = first; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - first, 0, base);
    }
    if (status != LUA_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_close(L);
    return 0;
}
