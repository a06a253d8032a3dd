#!/usr/bin/env bash
# 100-replica Deployment to Available, then a rolling update of it (maxSurge/maxUnavailable
# 25%), on 20 synthetic nodes, against `drover up`; medians of 3 runs. No peer runs here
# (no Kubernetes control plane on this machine): compare with kube-controller-manager's
# published behaviour in docs/benchmarks.md.  usage: bench/rollout/run.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
DROVER_BIN=$PWD/$BUILD/drover exec /usr/bin/python3 bench/rollout/rollout.py
