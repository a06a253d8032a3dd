#!/usr/bin/env bash
# kubectl port-forward through drover up: forward start next to kubectl's floor, a new
# connection's small GET, throughput, over both of kubectl's transports. Args: samples
# (default 30), megabytes (default 64).
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 bench/portforward/bench.py "${1:-30}" "${2:-64}"
