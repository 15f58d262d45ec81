#!/bin/sh
# tests/ci/layers_test.sh CASE: tests/ci/layers must fail on a circle of
# calls and on the engine calling the blocking driver, and pass otherwise.
# Each case builds a small archive of its own.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
obj() { # obj NAME SOURCE: NAME.c.o in $dir
  printf '%s\n' "$2" >"$dir/$1.c"
  cc -c -o "$dir/$1.c.o" "$dir/$1.c"
}
case "$1" in
circle)
  obj oc_a 'void oc_b(void); void oc_a(void) { oc_b(); }'
  obj oc_b 'void oc_a(void); void oc_b(void) { oc_a(); }'
  want=1 ;;
engine_blocks)
  obj oc_easy 'void oc_easy_run(void) {}'
  obj oc_call_x 'void oc_easy_run(void); void oc_call_x(void) { oc_easy_run(); }'
  want=1 ;;
downward)
  obj oc_easy 'void oc_call_x(void); void oc_easy_run(void) { oc_call_x(); }'
  obj oc_call_x 'void oc_call_x(void) {}'
  want=0 ;;
*) echo "unknown case $1"; exit 2 ;;
esac
ar rcs "$dir/lib.a" "$dir"/*.o
if python3 "$here/layers" "$dir/lib.a" >"$dir/out" 2>&1; then got=0; else got=1; fi
cat "$dir/out"
[ "$got" -eq "$want" ] || { echo "layers exited $got, expected $want"; exit 1; }
