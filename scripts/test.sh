#!/usr/bin/env bash
# `make test`: builds, runs every suite (unit, unit under ASan+UBSan, fuzz smoke, end-to-end)
# and ends with one line "N passed, N failed" over all of them. Exit status 0 only if none failed.
set -u
cd "$(dirname "$0")/.."
bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

RESULTS=$PWD/build/test-results
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
PY=/usr/bin/python3
status=0

suite() { echo; echo "=== $1 ==="; }

suite "build"
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
if ! ninja -C build; then
  echo "build: FAILED" > "$RESULTS/build.failed"
fi

# cmocka writes one JUnit file per group (group name = test name, by convention).
run_unit() {  # builddir prefix
  CMOCKA_MESSAGE_OUTPUT=xml CMOCKA_XML_FILE="$RESULTS/$2-%g.xml" \
    meson test -C "$1" --suite unit --print-errorlogs --num-processes 2
  cp "$1/meson-logs/testlog.junit.xml" "$RESULTS/$2-meson.junit" 2>/dev/null || true
}

if [ ! -f "$RESULTS/build.failed" ]; then
  suite "unit"
  run_unit build unit

  suite "unit (AddressSanitizer + UndefinedBehaviorSanitizer)"
  [ -f build-asan/build.ninja ] || CC=clang meson setup build-asan --buildtype=debug \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  if ninja -C build-asan; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      run_unit build-asan asan
  else
    echo "asan build: FAILED" > "$RESULTS/asan-build.failed"
  fi

  if [ -d tests/fuzz ] && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
    suite "fuzz (short runs over the seed corpus)"
    bash tests/fuzz/run.sh "$RESULTS" || true
  fi

  suite "end-to-end"
  if [ "$(id -u)" != 0 ]; then
    echo "end-to-end tests need root (namespaces, cgroups, mounts)" > "$RESULTS/e2e.failed"
  else
    DROVER_BIN=$PWD/build/drover timeout 3000 $PY -m pytest tests/e2e -q -p no:cacheprovider \
      --junitxml="$RESULTS/e2e.xml" -o junit_family=xunit2
    rc=$?
    # pytest exit 5 = no tests collected: not a failure of the run
    [ $rc -eq 0 ] || [ $rc -eq 5 ] || [ -f "$RESULTS/e2e.xml" ] || echo "pytest exit $rc" > "$RESULTS/e2e.failed"
  fi
fi

echo
$PY scripts/summarize_tests.py "$RESULTS" || status=1
exit $status
