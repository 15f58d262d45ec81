#!/bin/sh
# The arithmetic of scripts/ci-summary, fed each part missing, malformed,
# failing and skipping. Each scenario_NAME is a ctest case (ci.NAME, see
# tests/c/CMakeLists.txt); with no argument every scenario runs.
#   tests/ci/summary_test.sh [NAME]
set -u
cd "$(dirname "$0")/../.."
# CI runs this with OC_CI=1; each scenario sets it itself where it matters
unset OC_CI
SUMMARY="$(pwd)/scripts/ci-summary"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

# A run as .ci/run leaves it: every part passed.
good_run() {
  d="$work/$1"
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/parts" <<'PARTS'
test tests
rerun luajit
rerun sanitized =tests
rerun valgrind
check fuzz
check bench-smoke
check mutations
PARTS
  part "$d" tests "tests: 383 passed, 0 failed, 0 skipped" 0
  part "$d" luajit "luajit: 299 passed, 0 failed, 0 skipped" 0
  part "$d" sanitized "sanitized: 383 passed, 0 failed, 0 skipped" 0
  part "$d" valgrind "valgrind: 84 passed, 0 failed, 0 skipped" 0
  part "$d" fuzz "fuzz: 6 passed, 0 failed, 0 skipped" 0
  part "$d" bench-smoke "bench-smoke: 1 passed, 0 failed, 0 skipped" 0
  part "$d" mutations "mutations: 3 passed, 0 failed, 0 skipped" 0
  echo "$d"
}

# part DIR NAME SUMMARY RC: a log with some output before the summary.
part() {
  printf 'some output\n%s: not a summary line\n%s\n' "$2" "$3" >"$1/$2.log"
  echo "$4" >"$1/$2.rc"
}

# expect DIR STATUS "LINE..." : runs the summary; the exit status must be
# STATUS and every given line must be in the output, the last one last.
expect() {
  d=$1; want=$2; shift 2
  out=$("$SUMMARY" "$d" 2>&1); got=$?
  ok=1
  [ "$got" -eq "$want" ] || { echo "exit status $got, expected $want"; ok=0; }
  last=""
  for l in "$@"; do
    printf '%s\n' "$out" | grep -qxF -- "$l" || { echo "missing line: $l"; ok=0; }
    last=$l
  done
  [ "$(printf '%s\n' "$out" | tail -n 1)" = "$last" ] || { echo "last line is not: $last"; ok=0; }
  if [ $ok -eq 0 ]; then
    echo "--- output of ci-summary $d:"; printf '%s\n' "$out"; echo "---"
    fails=$((fails + 1))
  fi
}

scenario_all_parts_pass() {
  d=$(good_run pass)
  expect "$d" 0 "tests: 383/383" "reruns: luajit 299/299, sanitized 383/383, valgrind 84/84" \
    "checks: fuzz 6/6, bench smoke ok, mutations 3/3" "0 skipped" "383 passed, 0 failed"
}

scenario_each_part_missing() {
  for p in tests luajit sanitized valgrind fuzz bench-smoke mutations; do
    d=$(good_run "missing-$p")
    rm "$d/$p.log"
    if [ "$p" = tests ]; then
      # the distinct tests are gone: nothing passed, and sanitized has nothing to compare with
      expect "$d" 1 "FAILED: part 'tests' printed no summary" "0 skipped" "0 passed, 1 failed"
    else
      expect "$d" 1 "FAILED: part '$p' printed no summary" "0 skipped" "383 passed, 1 failed"
    fi
    # a log without the summary line is the same as no log
    d=$(good_run "nosummary-$p")
    echo "configure: error: something broke" >"$d/$p.log"
    echo 2 >"$d/$p.rc"
    if [ "$p" = tests ]; then
      expect "$d" 1 "FAILED: part 'tests' printed no summary" "0 passed, 1 failed"
    else
      expect "$d" 1 "FAILED: part '$p' printed no summary" "383 passed, 1 failed"
    fi
  done
}

scenario_malformed_summary() {
  d=$(good_run old-form)
  part "$d" valgrind "valgrind: 84 passed, 0 failed" 0
  expect "$d" 1 "FAILED: part 'valgrind' printed a malformed summary: valgrind: 84 passed, 0 failed" \
    "383 passed, 1 failed"
  d=$(good_run garbage)
  part "$d" fuzz "fuzz: six passed, none failed, 0 skipped" 0
  expect "$d" 1 "FAILED: part 'fuzz' printed a malformed summary: fuzz: six passed, none failed, 0 skipped" \
    "383 passed, 1 failed"
}

scenario_failing_parts() {
  d=$(good_run fail-tests)
  part "$d" tests "tests: 381 passed, 2 failed, 0 skipped" 1
  part "$d" sanitized "sanitized: 381 passed, 2 failed, 0 skipped" 1
  expect "$d" 1 "tests: 381/383" "381 passed, 4 failed"
  d=$(good_run fail-rerun)
  part "$d" luajit "luajit: 298 passed, 1 failed, 0 skipped" 1
  expect "$d" 1 "reruns: luajit 298/299, sanitized 383/383, valgrind 84/84" "383 passed, 1 failed"
  d=$(good_run fail-check)
  part "$d" bench-smoke "bench-smoke: 0 passed, 1 failed, 0 skipped" 1
  part "$d" fuzz "fuzz: 5 passed, 1 failed, 0 skipped" 1
  expect "$d" 1 "checks: fuzz 5/6, bench smoke FAILED, mutations 3/3" "383 passed, 2 failed"
}

scenario_skips_are_never_passes() {
  d=$(good_run skip)
  part "$d" tests "tests: 381 passed, 0 failed, 2 skipped" 0
  part "$d" sanitized "sanitized: 381 passed, 0 failed, 2 skipped" 0
  expect "$d" 0 "tests: 381/381 (2 skipped)" "4 skipped" "381 passed, 0 failed"
}

scenario_skips_fail_in_ci() {
  d=$(good_run skip-ci)
  part "$d" tests "tests: 381 passed, 0 failed, 2 skipped" 0
  part "$d" sanitized "sanitized: 381 passed, 0 failed, 2 skipped" 0
  OC_CI=1 expect "$d" 1 \
    "FAILED: part 'tests' skipped 2; in CI nothing may be skipped (CI installs redis-server and needs an IPv6 loopback)" \
    "4 skipped" "381 passed, 4 failed"
}

scenario_exit_status_without_a_failure() {
  d=$(good_run rc)
  echo 2 >"$d/valgrind.rc"
  expect "$d" 1 "FAILED: part 'valgrind' exited with status 2, though its summary reports no failure" \
    "383 passed, 1 failed"
  d=$(good_run no-rc)
  rm "$d/fuzz.rc"
  expect "$d" 1 "FAILED: part 'fuzz' left no exit status" "383 passed, 1 failed"
}

scenario_a_part_that_ran_nothing() {
  d=$(good_run nothing)
  part "$d" valgrind "valgrind: 0 passed, 0 failed, 0 skipped" 0
  expect "$d" 1 "FAILED: part 'valgrind' ran nothing" "383 passed, 1 failed"
  d=$(good_run nothing-at-all)
  printf 'test tests\n' >"$d/parts"
  part "$d" tests "tests: 0 passed, 0 failed, 0 skipped" 0
  expect "$d" 1 "FAILED: part 'tests' ran nothing" "0 passed, 1 failed"
}

scenario_a_rerun_that_ran_fewer_tests() {
  d=$(good_run fewer)
  part "$d" sanitized "sanitized: 380 passed, 0 failed, 0 skipped" 0
  expect "$d" 1 "FAILED: part 'sanitized' ran 380 tests, part 'tests' 383" "383 passed, 1 failed"
}

scenario_the_last_summary_counts() {
  d=$(good_run last)
  printf 'tests: 383 passed, 0 failed, 0 skipped\nretrying\ntests: 382 passed, 1 failed, 0 skipped\n' >"$d/tests.log"
  echo 1 >"$d/tests.rc"
  expect "$d" 1 "382 passed, 1 failed"
}

scenario_no_list_of_parts() {
  d="$work/empty"; mkdir -p "$d"
  expect "$d" 1 "0 passed, 1 failed"
}

# scripts/run-suite's own count, on a ctest project with a case of each
# outcome and a spec with a pending test: skips are skipped, not passed.
scenario_run_suite_counts_each_outcome() {
  d="$work/suite"; mkdir -p "$d/src"
  cat >"$d/src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(outcomes NONE)
enable_testing()
add_test(NAME o.pass COMMAND true)
add_test(NAME o.fail COMMAND false)
add_test(NAME o.skip COMMAND sh -c "exit 77")
set_tests_properties(o.skip PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME o.disabled COMMAND true)
set_tests_properties(o.disabled PROPERTIES DISABLED TRUE)
add_test(NAME o.missing COMMAND /nonexistent/program)
add_test(NAME o.crash COMMAND sh -c "kill -SEGV $$")
CMAKE
  cat >"$d/outcomes_spec.lua" <<'SPEC'
describe("outcomes", function()
  it("passes", function() end)
  pending("is not written yet")
end)
SPEC
  cmake -S "$d/src" -B "$d/build" >/dev/null 2>&1 || { echo "cmake failed"; fails=$((fails + 1)); return; }
  out=$(OC_SPECS="$d/outcomes_spec.lua" ./scripts/run-suite outcomes "$d/build" lua5.4 2>&1); got=$?
  last=$(printf '%s\n' "$out" | tail -n 1)
  if [ "$last" != "outcomes: 2 passed, 3 failed, 3 skipped" ] || [ "$got" -eq 0 ] ||
     ! printf '%s\n' "$out" | grep -qx '  o.skip'; then
    echo "run-suite: exit status $got, last line: $last"
    printf '%s\n' "$out" | tail -n 25
    fails=$((fails + 1))
  fi
}

# tests/valgrind.sh with no test binaries ran nothing: a failure, not a pass.
scenario_valgrind_that_ran_nothing_fails() {
  d="$work/nobuild"; mkdir -p "$d/tests/c"
  out=$(tests/valgrind.sh "$d" 2>&1); got=$?
  last=$(printf '%s\n' "$out" | tail -n 1)
  if [ "$got" -eq 0 ] || [ "$last" != "valgrind: 0 passed, 1 failed, 0 skipped" ]; then
    echo "valgrind.sh on an empty build: exit status $got, last line: $last"
    fails=$((fails + 1))
  fi
}

# fuzz/run prints its summary when a step stops it under set -e: here its
# setup step fails (a stand-in scripts/setup in a copy of the layout).
scenario_fuzz_run_summary_after_a_failed_step() {
  d="$work/fuzzcopy"; mkdir -p "$d/fuzz" "$d/scripts"
  cp fuzz/run "$d/fuzz/run"
  printf '#!/bin/sh\nexit 3\n' >"$d/scripts/setup"
  chmod +x "$d/scripts/setup"
  out=$("$d/fuzz/run" 1 connstr jwt 2>&1); got=$?
  last=$(printf '%s\n' "$out" | tail -n 1)
  if [ "$got" -eq 0 ] || [ "$last" != "fuzz: 0 passed, 2 failed, 0 skipped" ]; then
    echo "fuzz/run with a failing step: exit status $got, last line: $last"
    fails=$((fails + 1))
  fi
}

names=$(sed -n 's/^scenario_\([a-z_]*\)() {$/\1/p' "$0")
if [ $# -gt 0 ]; then
  echo "$names" | grep -qx "$1" || { echo "no scenario $1"; exit 2; }
  names=$1
fi
for n in $names; do
  before=$fails
  "scenario_$n"
  [ "$fails" -eq "$before" ] && echo "ok: $n" || echo "FAILED: $n"
done
[ "$fails" -eq 0 ]
