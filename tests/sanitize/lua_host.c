/*
 * A minimal lua5.4 for the sanitizer run: the same interpreter library, but
 * a main program built with AddressSanitizer, so the instrumented module can
 * be loaded without LD_PRELOAD (which every child process, Python and curl
 * included, would inherit). It does what `lua5.4 script args...` and
 * `lua5.4 -e chunk` do for the test suite: `arg`, os.exit, error messages,
 * and lua.c's Ctrl-C (an "interrupted!" error at the next Lua instruction),
 * which the command's interrupted login relies on.
 */
#include <signal.h>
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

static lua_State *running; /* the state a SIGINT interrupts */

/* The hook a SIGINT sets: removes itself and raises lua.c's error. */
static void stop_running(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

/* SIGINT while the script runs: as lua.c, a second Ctrl-C kills the
   process, and the first stops the script at its next instruction (a hook
   is the only thing a signal handler may safely set on a Lua state). */
static void on_interrupt(int sig)
{
    signal(sig, SIG_DFL);
    lua_sethook(running, stop_running, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* The message handler: the error with a traceback, as lua.c prints it. */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Runs `script args...` or `-e chunk` as lua5.4 does; exit status 1 on error. */
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
        running = L;
        signal(SIGINT, on_interrupt);
        status = lua_pcall(L, argc - first, 0, base);
        signal(SIGINT, SIG_DFL);
    }
    if (status != LUA_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_close(L);
    return 0;
}
