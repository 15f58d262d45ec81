rockspec_format = "3.0"
package = "oauthconnect"
version = "scm-1"
source = {
  url = "git+https://github.com/oauthconnect/oauthconnect.git",
}
description = {
  summary = "OAuth 2 connections for Lua: Jumpseller, BigCommerce, Keap and any OAuth 2 server",
  detailed = [[
A C core (libcurl, OpenSSL, jansson, libmicrohttpd) with a thin Lua layer:
browser login, token refresh that never loses a rotated refresh token, a
0600 settings file with cross-process locking, and signed API requests.
]],
  license = "MIT",
  homepage = "https://github.com/oauthconnect/oauthconnect",
}
dependencies = {
  "lua >= 5.4",
  "lua-cjson",
  "argparse",
  "dkjson",
  "lua-term",
  "luasystem",
}
-- The C libraries (libcurl, OpenSSL, jansson, libmicrohttpd) are found by
-- CMake through pkg-config, which knows Debian's multiarch include paths;
-- on Debian: apt-get install libcurl4-openssl-dev libssl-dev libjansson-dev libmicrohttpd-dev
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    LUA_CDIR = "$(LIBDIR)",
    LUA_LDIR = "$(LUADIR)",
    OC_BUILD_TESTS = "OFF",
    OC_INSTALL_COMMAND = "OFF",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
  },
  install = {
    bin = { oauthconnect = "bin/oauthconnect" },
  },
}
