#!/bin/sh
# Builds and installs both rockspecs (the library, then the command) into a
# private tree, then checks that a plain lua5.4 finds and loads every module
# from there, and that the command's wrapper runs.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cd "$ROOT"
VERSION=$(sed -n 's/^#define OC_VERSION "\(.*\)"$/\1/p' csrc/oc_version.h)
# the private tree is luarocks' own for this run, so the command's wrapper
# gets its paths (see tests/packaging/run)
printf 'rocks_trees = { [[%s]] }\n' "$tree" >"$tree/config.lua"
export LUAROCKS_CONFIG="$tree/config.lua"
for spec in rockspec/oauthconnect-"$VERSION"-*.rockspec rockspec/oauthconnect-cli-"$VERSION"-*.rockspec; do
  luarocks --lua-version=5.4 --tree="$tree" make --deps-mode=none "$spec" >"$tree/log" 2>&1 ||
    { cat "$tree/log"; exit 1; }
  # everything in the tree asked for, nothing elsewhere
  if grep "Installing: " "$tree/log" | grep -v "Installing: $tree" | grep -q .; then
    echo "$spec installed files outside $tree:"
    grep "Installing: " "$tree/log" | grep -v "Installing: $tree"
    exit 1
  fi
  case "$spec" in
    */oauthconnect-"$VERSION"-*)
      # the library rock leaves the command to oauthconnect-cli
      [ ! -e "$tree/bin/oauthconnect" ] || { echo "the library rock installed bin/oauthconnect"; exit 1; } ;;
  esac
done
[ -x "$tree/bin/oauthconnect" ] || { echo "no $tree/bin/oauthconnect"; exit 1; }
cd "$tree"
"$tree/bin/oauthconnect" --version | grep -qx "oauthconnect $VERSION" || { echo "oauthconnect --version failed"; exit 1; }
LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" \
LUA_CPATH="$tree/lib/lua/5.4/?.so;;" \
lua5.4 -e '
  local j = require "jumpseller"
  assert(package.searchpath("oauthconnect.core", package.cpath):find(os.getenv("PWD"), 1, true))
  assert(type(j.connect) == "function")
  require "oauthconnect"
  require "oauthconnect.cli"
  print("rockspec install ok: " .. j._VERSION)'
