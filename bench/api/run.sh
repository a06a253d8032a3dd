#!/usr/bin/env bash
# API server benchmark: GET, LIST, CREATE, UPDATE, PATCH throughput and p99 with wrk on
# loopback (64 connections); watch fan-out; durable writes/s against etcd (Debian etcd-server,
# started here on loopback) in the same run; RSS with 100,000 pods; start time over them.
# Env: DROVER_BIN (default build/drover), DURATION (seconds per wrk run, default 10),
# PODS (default 100000), CONNS (default 64).
set -u
cd "$(dirname "$0")/../.."
DROVER=${DROVER_BIN:-$PWD/build/drover}
DUR=${DURATION:-10}
PODS=${PODS:-100000}
CONNS=${CONNS:-64}
B=$PWD/bench/api
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk (scripts/deps.sh)"; exit 1; }

TMP=$(mktemp -d /tmp/drv-bench-api-XXXXXX)
SRV_PID=""; ETCD_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  [ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null && wait "$ETCD_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
URL=https://127.0.0.1:$PORT

start_server() {
  "$DROVER" server --data-dir "$TMP/data" --listen 127.0.0.1:$PORT >>"$TMP/server.log" 2>&1 &
  SRV_PID=$!
  local t0; t0=$(date +%s%N)
  for _ in $(seq 1 600); do
    [ -f "$TMP/data/kubeconfig" ] && curl -sf --cacert "$TMP/data/ca.crt" "$URL/healthz" >/dev/null 2>&1 && break
    sleep 0.01
  done
  START_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
stop_server() { kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=""; }

start_server
TOKEN=$(awk '/token:/{print $2}' "$TMP/data/kubeconfig")
CA=$TMP/data/ca.crt
AUTH="Authorization: Bearer $TOKEN"

# wrk_run LABEL PATH [SCRIPT [SCRIPT ARGS...]]: prints "LABEL req/s p99"
wrk_run() {
  local label=$1 path=$2; shift 2
  local script=()
  if [ $# -gt 0 ]; then script=(-s "$1"); shift; fi
  local out; out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -H "$AUTH" "${script[@]}" "$URL$path" -- "$@" 2>&1)
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  printf "%-34s %10s req/s   p99 %8s\n" "$label" "$rps" "$p99"
  echo "$out" | grep -E "unexpected|Non-2xx|Socket errors" | head -3
}

echo "drover API benchmark — $(date -u +%F), $(nproc) cores, kernel $(uname -r), $CONNS connections, ${DUR}s per run"
/usr/bin/python3 $B/tool.py seed 127.0.0.1 $PORT "$CA" "$TOKEN" configmap u 1000 >/dev/null
/usr/bin/python3 $B/tool.py seed 127.0.0.1 $PORT "$CA" "$TOKEN" pod p 1000 >/dev/null

wrk_run "GET pod" /api/v1/namespaces/default/pods/p-7
wrk_run "LIST 100 pods (limit=100)" "/api/v1/namespaces/default/pods?limit=100"
wrk_run "LIST pods, label selector" "/api/v1/namespaces/default/pods?labelSelector=app%3Dbench&limit=50"
wrk_run "CREATE configmap (durable)" /api/v1/namespaces/default/configmaps $B/create.lua configmap c
CONNS_SAVED=$CONNS; CONNS=16
wrk_run "CREATE configmap, 16 connections" /api/v1/namespaces/default/configmaps $B/create.lua configmap c16
CONNS=$CONNS_SAVED
wrk_run "UPDATE configmap (PUT, durable)" /api/v1/namespaces/default/configmaps $B/update.lua put 1000 u
wrk_run "PATCH configmap (merge, durable)" /api/v1/namespaces/default/configmaps $B/update.lua patch 1000 u
/usr/bin/python3 $B/tool.py watchfan 127.0.0.1 $PORT "$CA" "$TOKEN" 100 500

# etcd, same machine, same wrk, raw durable puts through its HTTP gateway
EPORT=$(free_port); EPEER=$(free_port)
etcd --data-dir "$TMP/etcd" --listen-client-urls http://127.0.0.1:$EPORT --advertise-client-urls http://127.0.0.1:$EPORT \
  --listen-peer-urls http://127.0.0.1:$EPEER --initial-advertise-peer-urls http://127.0.0.1:$EPEER \
  --initial-cluster default=http://127.0.0.1:$EPEER >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
for _ in $(seq 1 300); do curl -sf http://127.0.0.1:$EPORT/health >/dev/null 2>&1 && break; sleep 0.02; done
out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s $B/etcdput.lua "http://127.0.0.1:$EPORT" 2>&1)
printf "%-34s %10s req/s   p99 %8s\n" "etcd 3.4 put (durable, raw KV)" "$(echo "$out" | awk '/Requests\/sec/{print $2}')" "$(echo "$out" | awk '$1=="99%"{print $2}')"
kill $ETCD_PID; wait $ETCD_PID 2>/dev/null; ETCD_PID=""

# memory with $PODS pods, then start time over that store
/usr/bin/python3 $B/tool.py seed 127.0.0.1 $PORT "$CA" "$TOKEN" pod big "$PODS"
RSS=$(awk '/VmRSS/{print $2}' /proc/$SRV_PID/status)
echo "RSS with $PODS+ pods stored: $((RSS / 1024)) MiB"
stop_server
start_server
echo "restart over the store: healthy after ${START_MS} ms ($(grep -o 'started in [0-9]* ms' "$TMP/server.log" | tail -1))"
