#!/usr/bin/env bash
# Pod volumes: ConfigMap update -> files of N running pods (default 50), agent idle CPU with them.
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 bench/volumes/bench.py "${1:-50}"
