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
printf '%-7s %-13s %12s %14s %8s %10s %10s %10s\n' nodes mode fast/s exhaustive/s ratio q_mean q_min q_end
for run in "450 spread" "450 pack" "5000 spread" "5000 pack" "10000 spread" "10000 pack" \
           "10000 spread mixed" "10000 pack mixed"; do
  set -- $run
  n=$1 mode=$2
  out=$(MIXED=$([ "${3:-}" = mixed ] && echo 1 || echo 0) taskset -c 0 "$BIN" "$n" "$PODS" "$mode" "$EXH")
  /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%-7d %-13s %12.0f %14.0f %7.1fx %10.5f %10.5f %10.5f" % (r["nodes"], r["strategy"], r["fast_per_s"], r["exhaustive_per_s"], r["speedup"], r["decision_quality_mean"], r["decision_quality_min"], r["end_state_quality"]))' "$out"
done
