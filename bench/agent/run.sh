#!/usr/bin/env bash
# Node agent: pod start latency p50/p99 over N pods (default 100), agent RSS, idle CPU.
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 bench/agent/bench.py "${1:-100}"
