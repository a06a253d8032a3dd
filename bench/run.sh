#!/usr/bin/env bash
# `make bench`: every benchmark, each measuring drover and its peer in the same run.
# Long-running; not part of `make test`. Figures go to docs/benchmarks.md by hand, with date/machine.
set -u
cd "$(dirname "$0")/.."
for b in bench/*/run.sh; do
  [ -x "$b" ] || continue
  echo "=== $b ==="
  bash "$b" || echo "benchmark $b failed"
done
