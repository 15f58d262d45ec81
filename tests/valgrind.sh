#!/bin/sh
# Runs every C test case under valgrind memcheck: any memory error or
# definite leak fails the case; a case that exits 77 (what this machine
# lacks: redis-server, an IPv6 loopback) is skipped, never passed. Prints one
# line per failing or skipped case and the summary
#   valgrind: N passed, M failed, K skipped
# Fails when a case failed, and when nothing ran at all (no test binaries in
# the build, or no cases found in them): a run that checked nothing is not
# a pass. Usage: tests/valgrind.sh [build-dir]
# VALGRIND_JOBS cases run at once (default 2).
set -u
BUILD=${1:-build}
JOBS=${VALGRIND_JOBS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0
binaries=0
# One "binary case" line per C test case; an empty source is a failure here.
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
  for case in $cases; do echo "$exe $case"; done
done >"$out/cases"

# Each case under memcheck, JOBS at a time (valgrind is CPU-bound: one per
# core halves the wall time); each leaves its exit status and log in $out.
# shellcheck disable=SC2016
xargs -P "$JOBS" -L 1 sh -c '
  tag=$(basename "$1").$2
  valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-fds=no "$1" "$2" >"$0/$tag.log" 2>&1
  echo $? >"$0/$tag.rc"' "$out" <"$out/cases"

passed=0
skipped=0
while read -r exe case; do
  tag=$(basename "$exe").$case
  rc=$(cat "$out/$tag.rc" 2>/dev/null || echo "no exit status")
  case $rc in
    0) passed=$((passed + 1)) ;;
    77)
      skipped=$((skipped + 1))
      echo "valgrind: $(basename "$exe") $case skipped: $(grep -m1 '^skipped:' "$out/$tag.log" | sed 's/^skipped: //')" ;;
    *)
      failed=$((failed + 1))
      echo "valgrind: $(basename "$exe") $case FAILED (exit status $rc)"
      tail -n 40 "$out/$tag.log" 2>/dev/null ;;
  esac
done <"$out/cases"
if [ $((passed + failed + skipped)) -eq 0 ]; then
  echo "valgrind: ran nothing ($binaries test binaries in $BUILD/tests/c)"
  failed=1
fi
echo "valgrind: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
