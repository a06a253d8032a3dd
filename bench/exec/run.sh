#!/usr/bin/env bash
# kubectl exec/attach through drover up: latency next to kubectl's floor, attach round trip,
# throughput each way. Args: samples (default 30), megabytes (default 10).
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 bench/exec/bench.py "${1:-30}" "${2:-10}"
