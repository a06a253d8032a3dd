#!/usr/bin/env bash
# Short fuzzing runs for `make test`: each harness runs over its seed corpus plus a bounded number
# of new inputs. A crash, leak or sanitizer report fails that harness. Usage: run.sh RESULTS_DIR
set -u
cd "$(dirname "$0")/../.."
results=${1:-build/test-results}
mkdir -p "$results"
secs=${DROVER_FUZZ_SECONDS:-15}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz --buildtype=debug -Dfuzz=true -Db_lundef=false >/dev/null || exit 1
fi
ninja -C build-fuzz || { echo "fuzz build failed" > "$results/fuzz-build.failed"; exit 1; }
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  seeds=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
  log=$results/fuzz-$name.log
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$results/fuzz-$name-" \
      "$work" >"$log" 2>&1; then
    body=""
  else
    body="<failure message=\"fuzzer found a crash; see $log\"/>"
    tail -30 "$log"
  fi
  printf '<testsuite name="fuzz"><testcase classname="fuzz" name="%s">%s</testcase></testsuite>\n' \
    "$name" "$body" > "$results/fuzz-$name.xml"
  rm -rf "$work"
done
