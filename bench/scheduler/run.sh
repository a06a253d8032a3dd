#!/usr/bin/env bash
# Scheduler placements/s, in-process on one core: the fast search (drv_sched_place) against the
# exhaustive scorer (every node scored, as Kubernetes with percentageOfNodesToScore=100) on the
# same synthetic cluster, with the placement quality of the fast one relative to the exhaustive
# one (per decision, sampled, and end state). 100,000 pending pods; 450, 5,000, 10,000 nodes.
# usage: bench/scheduler/run.sh [BUILD_DIR]   (default: build)
set -eu
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
[ -f "$BUILD/build.ninja" ] || { echo "no build in $BUILD (run make first)" >&2; exit 1; }
ninja -C "$BUILD" src/scheduler/libdrv_scheduler.a src/common/libdrv_common.a >/dev/null
BIN=$(mktemp /tmp/bench_scheduler.XXXXXX)
trap 'rm -f "$BIN"' EXIT
cc -O2 -D_GNU_SOURCE -Isrc bench/scheduler/bench_scheduler.c "$BUILD/src/scheduler/libdrv_scheduler.a" \
  "$BUILD/src/common/libdrv_common.a" -ljansson -lm -o "$BIN"
PODS=${PODS:-100000}
EXH=${EXHAUSTIVE_PODS:-2000}
printf '%-7s %-7s %12s %14s %8s %10s %10s\n' nodes mode fast/s exhaustive/s ratio q_mean q_min
for n in 450 5000 10000; do
  for mode in spread pack; do
    out=$(taskset -c 0 "$BIN" "$n" "$PODS" "$mode" "$EXH")
    /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%-7d %-7s %12.0f %14.0f %7.1fx %10.5f %10.5f" % (r["nodes"], r["strategy"], r["fast_per_s"], r["exhaustive_per_s"], r["speedup"], r["decision_quality_mean"], r["decision_quality_min"]))' "$out"
  done
done
