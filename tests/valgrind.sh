#!/bin/sh
# Runs every C test case under valgrind memcheck: any memory error or
# definite leak fails the case; a case that exits 77 (what this machine
# lacks: redis-server, an IPv6 loopback) is skipped, never passed. Prints one
# line per failing or skipped case and the summary
#   valgrind: N passed, M failed, K skipped
# Fails when a case failed, and when nothing ran at all (no test binaries in
# the build, or no cases found in them): a run that checked nothing is not
# a pass. Usage: tests/valgrind.sh [build-dir]
set -u
BUILD=${1:-build}
passed=0
failed=0
skipped=0
binaries=0
for exe in "$BUILD"/tests/c/test_*; do
  [ -x "$exe" ] || continue
  binaries=$((binaries + 1))
  src="$(dirname "$0")/c/$(basename "$exe").c"
  cases=$(sed -n 's/^OC_TEST(\([a-z0-9_]*\)).*/\1/p' "$src" 2>/dev/null)
  if [ -z "$cases" ]; then
    failed=$((failed + 1))
    echo "valgrind: $(basename "$exe"): no cases found in $src"
    continue
  fi
  for case in $cases; do
    log=$(mktemp)
    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --track-fds=no "$exe" "$case" >"$log" 2>&1
    rc=$?
    case $rc in
      0) passed=$((passed + 1)) ;;
      77)
        skipped=$((skipped + 1))
        echo "valgrind: $(basename "$exe") $case skipped: $(grep -m1 '^skipped:' "$log" | sed 's/^skipped: //')" ;;
      *)
        failed=$((failed + 1))
        echo "valgrind: $(basename "$exe") $case FAILED (exit status $rc)"
        tail -n 40 "$log" ;;
    esac
    rm -f "$log"
  done
done
if [ $((passed + failed + skipped)) -eq 0 ]; then
  echo "valgrind: ran nothing ($binaries test binaries in $BUILD/tests/c)"
  failed=1
fi
echo "valgrind: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
