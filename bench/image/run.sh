#!/usr/bin/env bash
# Image pull + unpack: drover vs skopeo copy + umoci unpack of the same multi-layer image from the
# same local docker-registry, in one run; and root filesystem preparation per container.
# Usage: bench/image/run.sh [RUNS]   (DROVER_BIN overrides build/drover)
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 bench/image/bench.py "${1:-5}"
