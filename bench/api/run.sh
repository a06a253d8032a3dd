#!/usr/bin/env bash
# API server benchmark: GET, LIST, CREATE, UPDATE, PATCH with wrk on loopback (64 connections),
# each twice: as fast as replies come (closed loop: the most req/s, and the p99 of a saturated
# server) and paced at the goal's load (open loop, pace.lua: p99 at that offered rate; GET
# 20,000/s, writes 10,000/s, LIST 5,000/s); watch fan-out with delivery latency; durable writes/s
# against etcd (Debian etcd-server, started here on loopback) in the same run; RSS with 100,000
# pods; start time over them.
# Env: DROVER_BIN (default build/drover), DURATION (seconds per wrk run, default 10),
# PODS (default 100000), CONNS (default 64), GET_RATE, WRITE_RATE, LIST_RATE (paced loads),
# ONLY (comma-separated cases to run: get,list,writes,watch,etcd,rss; default all of them).
set -u
cd "$(dirname "$0")/../.."
DROVER=${DROVER_BIN:-$PWD/build/drover}
DUR=${DURATION:-10}
PODS=${PODS:-100000}
CONNS=${CONNS:-64}
GET_RATE=${GET_RATE:-20000}
WRITE_RATE=${WRITE_RATE:-10000}
LIST_RATE=${LIST_RATE:-5000}
ONLY=${ONLY:-get,list,writes,watch,etcd,rss}
want() { case ",$ONLY," in *",$1,"*) return 0;; esac; return 1; }
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

# wrk_run LABEL RATE PATH SCRIPT [SCRIPT ARGS...]: RATE 0 = closed loop, else paced at RATE
# req/s; prints "LABEL load req/s p50 p99"
wrk_run() {
  local label=$1 rate=$2 path=$3 script=$4; shift 4
  local out; out=$(RATE=$rate WRK_THREADS=2 wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -H "$AUTH" \
    -s "$script" "$URL$path" -- "$@" 2>&1)
  local rps p50 p99 load=max
  [ "$rate" != 0 ] && load="@$rate/s"
  rps=$(echo "$out" | awk '/Requests\/sec/{printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  printf "%-34s %-9s %8s req/s   p50 %8s   p99 %8s\n" "$label" "$load" "$rps" "$p50" "$p99"
  echo "$out" | grep -E "unexpected|Non-2xx|Socket errors" | head -3
}
# both loads: closed loop, then paced
wrk_both() {
  local label=$1 rate=$2; shift 2
  wrk_run "$label" 0 "$@"
  wrk_run "$label" "$rate" "$@"
}

echo "drover API benchmark — $(date -u +%F), $(nproc) cores, kernel $(uname -r), $CONNS connections, ${DUR}s per run"
/usr/bin/python3 $B/tool.py fsyncprobe "$TMP/data"
/usr/bin/python3 $B/tool.py seed 127.0.0.1 $PORT "$CA" "$TOKEN" configmap u 1000 >/dev/null
/usr/bin/python3 $B/tool.py seed 127.0.0.1 $PORT "$CA" "$TOKEN" pod p 1000 >/dev/null

CM=/api/v1/namespaces/default/configmaps
if want get; then
  wrk_both "GET pod" $GET_RATE /api/v1/namespaces/default/pods/p-7 $B/get.lua
fi
if want list; then
  wrk_both "LIST 100 pods (limit=100)" $LIST_RATE "/api/v1/namespaces/default/pods?limit=100" $B/get.lua
  wrk_both "LIST pods, label selector" $LIST_RATE "/api/v1/namespaces/default/pods?labelSelector=app%3Dbench&limit=50" $B/get.lua
fi
if want writes; then
  wrk_run "CREATE configmap (durable)" 0 $CM $B/create.lua configmap c
  wrk_run "CREATE configmap (durable)" $WRITE_RATE $CM $B/create.lua configmap cp
  CONNS_SAVED=$CONNS; CONNS=16
  wrk_run "CREATE configmap, 16 connections" 0 $CM $B/create.lua configmap c16
  CONNS=$CONNS_SAVED
  wrk_both "UPDATE configmap (PUT, durable)" $WRITE_RATE $CM $B/update.lua put 1000 u
  wrk_both "PATCH configmap (merge, durable)" $WRITE_RATE $CM $B/update.lua patch 1000 u
  /usr/bin/python3 $B/tool.py fsyncprobe "$TMP/data"
fi
want watch && /usr/bin/python3 $B/tool.py watchfan 127.0.0.1 $PORT "$CA" "$TOKEN" 100 500

if want etcd; then
  # etcd, same machine, same wrk, raw durable puts through its HTTP gateway
  EPORT=$(free_port); EPEER=$(free_port)
  etcd --data-dir "$TMP/etcd" --listen-client-urls http://127.0.0.1:$EPORT --advertise-client-urls http://127.0.0.1:$EPORT \
    --listen-peer-urls http://127.0.0.1:$EPEER --initial-advertise-peer-urls http://127.0.0.1:$EPEER \
    --initial-cluster default=http://127.0.0.1:$EPEER >"$TMP/etcd.log" 2>&1 &
  ETCD_PID=$!
  for _ in $(seq 1 300); do curl -sf http://127.0.0.1:$EPORT/health >/dev/null 2>&1 && break; sleep 0.02; done
  out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s $B/etcdput.lua "http://127.0.0.1:$EPORT" 2>&1)
  printf "%-34s %-9s %8s req/s   p50 %8s   p99 %8s\n" "etcd 3.4 put (durable, raw KV)" max \
    "$(echo "$out" | awk '/Requests\/sec/{printf "%.0f", $2}')" "$(echo "$out" | awk '$1=="50%"{print $2}')" \
    "$(echo "$out" | awk '$1=="99%"{print $2}')"
  kill $ETCD_PID; wait $ETCD_PID 2>/dev/null; ETCD_PID=""
fi

want rss || exit 0
# memory with $PODS pods, then start time over that store
/usr/bin/python3 $B/tool.py seed 127.0.0.1 $PORT "$CA" "$TOKEN" pod big "$PODS"
RSS=$(awk '/VmRSS/{print $2}' /proc/$SRV_PID/status)
echo "RSS with $PODS+ pods stored: $((RSS / 1024)) MiB"
stop_server
start_server
echo "restart over the store: healthy after ${START_MS} ms ($(grep -o 'started in [0-9]* ms' "$TMP/server.log" | tail -1))"
