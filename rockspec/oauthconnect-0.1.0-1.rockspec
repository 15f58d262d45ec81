rockspec_format = "3.0"
package = "oauthconnect"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/oauthconnect/oauthconnect.git",
  tag = "v0.1.0",
}
description = {
  summary = "OAuth 2 connections for Lua: Jumpseller, BigCommerce, Keap and any OAuth 2 server",
  detailed = [[
A C core (libcurl, OpenSSL, jansson, libmicrohttpd, hiredis) with a thin Lua
layer: browser login, token refresh that never loses a rotated refresh token,
a 0600 settings file or Redis with cross-process locking, and signed API
requests. Builds for Lua 5.4 and for LuaJIT (OpenResty). The command
`oauthconnect` is the rock oauthconnect-cli.
]],
  license = "MIT",
  homepage = "https://github.com/oauthconnect/oauthconnect",
}
-- Lua 5.4 or LuaJIT (luarocks --lua-version=5.1 with LuaJIT's headers:
-- LUA_INCDIR=/usr/include/luajit-2.1); CMake refuses other Lua versions by name.
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
-- Checked by luarocks before anything compiles: a missing one is named, with
-- the variables (CURL_DIR, JANSSON_INCDIR, ...) that point luarocks at it.
-- libcurl is checked by curl-config: Debian keeps curl/curl.h in a multiarch
-- directory (/usr/include/x86_64-linux-gnu) luarocks does not search, and
-- curl-config ships with the headers in every distribution's dev package.
-- Debian: apt-get install libcurl4-openssl-dev libssl-dev libjansson-dev libmicrohttpd-dev libhiredis-dev
external_dependencies = {
  CURL = { program = "curl-config", library = "curl" },
  OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
  JANSSON = { header = "jansson.h", library = "jansson" },
  MICROHTTPD = { header = "microhttpd.h", library = "microhttpd" },
  HIREDIS = { header = "hiredis/hiredis.h", library = "hiredis" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    -- the Lua luarocks builds for: CMake tells LuaJIT from 5.4 by these headers
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA_CDIR = "$(LIBDIR)",
    LUA_LDIR = "$(LUADIR)",
    -- where luarocks found the C libraries: CMake takes them from there
    CURL_ROOT = "$(CURL_DIR)",
    OPENSSL_ROOT_DIR = "$(OPENSSL_DIR)",
    JANSSON_INCDIR = "$(JANSSON_INCDIR)",
    JANSSON_LIBDIR = "$(JANSSON_LIBDIR)",
    MICROHTTPD_INCDIR = "$(MICROHTTPD_INCDIR)",
    MICROHTTPD_LIBDIR = "$(MICROHTTPD_LIBDIR)",
    HIREDIS_INCDIR = "$(HIREDIS_INCDIR)",
    HIREDIS_LIBDIR = "$(HIREDIS_LIBDIR)",
    OC_BUILD_TESTS = "OFF",
    -- the command is the rock oauthconnect-cli
    OC_INSTALL_COMMAND = "OFF",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
  },
}
