#!/bin/sh
# Runs every C test case under valgrind memcheck: any memory error or
# definite leak fails the case. Prints one line per failing case and a
# summary "valgrind: N passed, M failed". Usage: tests/valgrind.sh [build-dir]
set -u
BUILD=${1:-build}
passed=0
failed=0
for exe in "$BUILD"/tests/c/test_*; do
  [ -x "$exe" ] || continue
  src="$(dirname "$0")/c/$(basename "$exe").c"
  for case in $(sed -n 's/^OC_TEST(\([a-z0-9_]*\)).*/\1/p' "$src"); do
    log=$(mktemp)
    if valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --track-fds=no "$exe" "$case" >"$log" 2>&1; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "valgrind: $(basename "$exe") $case FAILED"
      tail -n 40 "$log"
    fi
    rm -f "$log"
  done
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
