#!/bin/sh
# Builds and installs the rockspec into a private tree, then checks that a
# plain lua5.4 finds and loads every module from there.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cd "$ROOT"
luarocks --lua-version=5.4 --tree="$tree" make --deps-mode=none rockspec/oauthconnect-scm-1.rockspec >"$tree/log" 2>&1 ||
  { cat "$tree/log"; exit 1; }
cd "$tree"
# everything in the tree asked for: the command too, and nothing elsewhere
if grep "Installing: " "$tree/log" | grep -v "Installing: $tree" | grep -q .; then
  echo "the rockspec installed files outside $tree:"
  grep "Installing: " "$tree/log" | grep -v "Installing: $tree"
  exit 1
fi
[ -x "$tree/bin/oauthconnect" ] || { echo "no $tree/bin/oauthconnect"; exit 1; }
LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" \
LUA_CPATH="$tree/lib/lua/5.4/?.so;;" \
lua5.4 -e '
  local j = require "jumpseller"
  assert(package.searchpath("oauthconnect.core", package.cpath):find(os.getenv("PWD"), 1, true))
  assert(type(j.connect) == "function")
  require "oauthconnect"
  print("rockspec install ok: " .. j._VERSION)'
