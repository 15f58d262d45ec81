/*
 * The module oauthconnect.core: the functions that need no client, and the
 * registration of everything. Only luaopen_oauthconnect_core is exported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lua_binding.h"
#include "oc_buf.h"
#include "oc_store.h"
#include "oc_time.h"
#include "oc_url.h"
#include "oc_version.h"

/* Turns integral floats (|x| <= 2^53) into integers, walking the tables of
   a decoded JSON document (a tree: no cycles, no shared tables; the depth
   limit is the only guard). */
static void integerize(lua_State *L, int idx, int depth)
{
    if (depth > OC_LUA_JSON_DEPTH_MAX * 8)
        return;
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "value too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* key, value */
        int t = lua_type(L, -1);
        if (t == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            lua_Number n = lua_tonumber(L, -1);
            if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, (lua_Integer)n);
                lua_rawset(L, idx); /* replacing an existing key's value is allowed during lua_next */
            }
        } else if (t == LUA_TTABLE) {
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
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TTABLE) {
        integerize(L, 1, 0);
    } else if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1)) {
        lua_Number n = lua_tonumber(L, 1);
        if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n)
            lua_pushinteger(L, (lua_Integer)n);
        else
            lua_pushvalue(L, 1);
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
    luaL_setmetatable(L, OC_LUA_ERROR_MT);
    return 1;
}

/*
 * core.check_callback(query, props) -> true | nil, err: a web-flow callback's
 * query (a table; its state the caller's to check) judged as the desktop
 * login judges one: the error the server sent instead of a code, its words
 * redacted of the secrets in props (connection properties) before any cut.
 */
static int l_check_callback(lua_State *L)
{
    oc_lua_box *cfg, *kv;
    oc_error err;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    cfg = oc_lua_box_new(L, OC_BOX_CONFIG);
    kv = oc_lua_box_new(L, OC_BOX_KV);
    if (!kv->p)
        return luaL_error(L, "out of memory");
    oc_error_clear(&err);
    oc_lua_read_kv(L, 1, kv->p);
    if (!oc_lua_read_config(L, 2, cfg->p, &err) ||
        oc_check_callback_params(cfg->p, kv->p, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.error_codes() -> { {code, meaning}, ... }: every err.code the core
   gives, in oc_errors.h's order ("ok" left out: no error carries it). */
static int l_error_codes(lua_State *L)
{
    int c;
    lua_createtable(L, OC_E__COUNT - 1, 0);
    for (c = 1; c < OC_E__COUNT; c++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, oc_code_name((oc_code)c));
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, oc_strerror((oc_code)c));
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, c);
    }
    return 1;
}

/* core.parse(connection_string) -> { CanonicalName = value, ... } | nil, err */
static int l_parse(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    oc_lua_box *box = oc_lua_box_new(L, OC_BOX_CONFIG);
    oc_error err;
    int p;
    oc_error_clear(&err);
    if (oc_config_parse(box->p, s, len, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    lua_newtable(L);
    for (p = 0; p < OC_P__COUNT; p++) {
        if (oc_config_is_set(box->p, (oc_prop)p)) {
            lua_pushstring(L, oc_config_get(box->p, (oc_prop)p));
            lua_setfield(L, -2, oc_prop_name((oc_prop)p));
        }
    }
    return 1;
}

/* core.read_private_file(path [, label]) -> text | false (absent) | nil, err:
   a file that may hold secrets, refused when others could read or swap it. */
static int l_read_private_file(lua_State *L)
{
    enum { PRIVATE_FILE_MAX = 1024 * 1024 };
    const char *path = luaL_checkstring(L, 1);
    const char *label = luaL_optstring(L, 2, "file");
    oc_lua_box *box = oc_lua_box_new(L, OC_BOX_STRING);
    oc_buf buf;
    oc_error err;
    size_t len;
    int found;
    oc_error_clear(&err);
    if (oc_read_private_file(path, label, PRIVATE_FILE_MAX, &buf, &found, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    if (!found) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (!(box->p = oc_buf_steal(&buf, &len)))
        return luaL_error(L, "out of memory");
    lua_pushlstring(L, box->p, len);
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

/*
 * core.profile_fields() -> { "name", "pkce", ... }, { name = "string", pkce = "boolean",
 * code_auth = "client_auth", ... }, { name = "short name: ...", ... }: the fields the
 * core reads (csrc/oc_profile_fields.h), in its order, each one's kind and its
 * description. lua/oauthconnect/profile_fields.lua adds the fields only the Lua
 * layer reads.
 */
static int l_profile_fields(lua_State *L)
{
    static const char *const kind_names[] = { "string", "boolean", "client_auth" };
    const oc_field_info *f;
    int i = 1;
    lua_newtable(L);
    lua_newtable(L);
    lua_newtable(L);
    for (f = oc_profile_fields(); f->name; f++) {
        lua_pushstring(L, f->name);
        lua_rawseti(L, -4, i++);
        lua_pushstring(L, kind_names[f->kind]);
        lua_setfield(L, -3, f->name);
        lua_pushstring(L, f->doc);
        lua_setfield(L, -2, f->name);
    }
    return 3;
}

/*
 * core.check_url(url, name) -> true | nil, err: url as the core takes an
 * endpoint (an absolute http(s) URL; https, or http to a loopback host only;
 * no #fragment), name standing for it in the message and err.property.
 */
static int l_check_url(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    const char *name = luaL_checkstring(L, 2);
    oc_error err;
    oc_error_clear(&err);
    if (oc_url_check_secure(url, name, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.same_origin(a, b) -> boolean: the two absolute URLs share scheme,
   host and port (false when either does not parse). */
static int l_same_origin(lua_State *L)
{
    lua_pushboolean(L, oc_url_same_origin(luaL_checkstring(L, 1), luaL_checkstring(L, 2)));
    return 1;
}

/*
 * core.read_data_file(path, label, max) -> text | false (no such file) | nil, message:
 * a file that holds no secret (a provider profile), read whole. Only a
 * regular file of at most max bytes is read; a FIFO or a device is refused
 * without blocking on it (opened O_NONBLOCK, judged by fstat). The buffer is
 * a userdata made before the file is opened, so nothing can raise while the
 * descriptor is held.
 */
static int l_read_data_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *label = luaL_checkstring(L, 2);
    lua_Integer max = luaL_checkinteger(L, 3);
    char *buf;
    struct stat st;
    size_t len = 0;
    int fd, e;
    luaL_argcheck(L, max > 0 && max <= 16 * 1024 * 1024, 3, "1 byte to 16 MiB");
    buf = lua_newuserdatauv(L, (size_t)max + 1, 0);
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        if (e == ENOENT) {
            lua_pushboolean(L, 0);
            return 1;
        }
        lua_pushnil(L);
        lua_pushfstring(L, "cannot open the %s %s: %s", label, path, strerror(e));
        return 2;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read the %s %s: it is not a regular file", label, path);
        return 2;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)max + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            close(fd);
            lua_pushnil(L);
            lua_pushfstring(L, "cannot read the %s %s: %s", label, path, strerror(e));
            return 2;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > (size_t)max) {
            close(fd);
            lua_pushnil(L);
            lua_pushfstring(L, "the %s %s is larger than %d bytes", label, path, (int)max);
            return 2;
        }
    }
    close(fd);
    lua_pushlstring(L, buf, len);
    return 1;
}

/*
 * core.list_dir(path) -> { name, ... } (unsorted; "." and ".." left out) | false (no
 * such directory) | nil, message. The table is made before the directory is
 * opened; only running out of memory while a name is added could raise (and
 * leave the directory open).
 */
static int l_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct dirent *d;
    DIR *dir;
    int i = 1;
    lua_newtable(L);
    if (!(dir = opendir(path))) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            lua_pushboolean(L, 0);
            return 1;
        }
        lua_pushnil(L);
        lua_pushfstring(L, "cannot list the directory %s: %s", path, strerror(e));
        return 2;
    }
    while ((d = readdir(dir)) != NULL) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        lua_pushstring(L, d->d_name);
        lua_rawseti(L, -2, i++);
    }
    closedir(dir);
    return 1;
}

/* core.sleep(seconds) -> true | false: a plain sleep, for the Lua driver
   outside nginx; false when a signal cut it short, so that a Ctrl-C (whose
   handler in lua.c acts at the next Lua instruction) ends a long wait now. */
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s <= 86400, 1, "0 to 86400 seconds");
    lua_pushboolean(L, oc_sleep_ms_once((int64_t)(s * 1000.0 + 0.5)));
    return 1;
}

static const luaL_Reg module_functions[] = {
    { "client", oc_lua_client_new },
    { "profile_fields", l_profile_fields },
    { "check_url", l_check_url },
    { "same_origin", l_same_origin },
    { "read_data_file", l_read_data_file },
    { "list_dir", l_list_dir },
    { "parse", l_parse },
    { "check_callback", l_check_callback },
    { "property_name", l_property_name },
    { "read_private_file", l_read_private_file },
    { "properties", l_properties },
    { "error", l_error },
    { "error_codes", l_error_codes },
    { "integerize", l_integerize },
    { "headers", oc_lua_headers },
    { "verify_hmac_sha256", oc_lua_verify_hmac_sha256 },
    { "verify_jwt_hs256", oc_lua_verify_jwt_hs256 },
    { "sleep", l_sleep },
    { "redis_target", oc_lua_redis_target },
    { "redis_format", oc_lua_redis_format },
    { "redis_reader", oc_lua_redis_reader },
    { NULL, NULL }
};

/*
 * libcurl's global init is the one process-wide state: done once, when the
 * module is first loaded (from any Lua state or thread), before any handle
 * exists. It is never undone: other modules in the process may use libcurl.
 */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

__attribute__((visibility("default"))) int luaopen_oauthconnect_core(lua_State *L);

int luaopen_oauthconnect_core(lua_State *L)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return luaL_error(L, "oauthconnect: libcurl failed to initialise");

    oc_lua_open_client(L);
    oc_lua_open_call(L);
    luaL_newmetatable(L, OC_LUA_BOX_MT);
    lua_pushcfunction(L, oc_lua_box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, OC_LUA_ERROR_MT);
    lua_pushcfunction(L, oc_lua_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, oc_lua_error_concat);
    lua_setfield(L, -2, "__concat");
    lua_pop(L, 1);
    luaL_newmetatable(L, OC_LUA_HEADERS_MT);
    lua_pushcfunction(L, oc_lua_headers_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newlib(L, module_functions);
    lua_pushliteral(L, OC_VERSION);
    lua_setfield(L, -2, "_VERSION");
    luaL_getmetatable(L, OC_LUA_ERROR_MT);
    lua_setfield(L, -2, "error_mt");
    return 1;
}
