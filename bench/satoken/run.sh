#!/usr/bin/env bash
# Service account token cost: GET of one ConfigMap with wrk on loopback with a service account
# token (a JWT: verified once, then its claims cached; the time, service account and bound pod
# checks run on every request) next to the same GET with a static token from DIR/tokens, both
# allowed by the same RBAC binding (a User and the ServiceAccount), runs alternating A/B so the
# machine's load hits both. There is no Kubernetes API server on this machine to compare with:
# the static token is the baseline. Prints req/s and p99 per run, the medians and the ratio.
# Env: DROVER_BIN (default build/drover), DURATION (default 5), CONNS (default 32), ROUNDS (3).
set -u
cd "$(dirname "$0")/../.."
DROVER=${DROVER_BIN:-$PWD/build/drover}
DUR=${DURATION:-5}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk (scripts/deps.sh)"; exit 1; }
. "$PWD/bench/server_lib.sh"
bench_server satoken
export KUBECONFIG=$TMP/data/kubeconfig
STATIC=$("$DROVER" token --data-dir "$TMP/data" create --user bench)
kubectl create serviceaccount bench >/dev/null
kubectl run pinned --image=busybox --overrides='{"spec":{"serviceAccountName":"bench","nodeName":"nowhere"}}' >/dev/null
SA=$(kubectl create token bench --bound-object-kind=Pod --bound-object-name=pinned)
kubectl create configmap x --from-literal=k=v >/dev/null
kubectl create role cm-reader --verb=get --resource=configmaps >/dev/null
kubectl create rolebinding bench-reads --role=cm-reader --user=bench --serviceaccount=default:bench >/dev/null
PATH_CM=/api/v1/namespaces/default/configmaps/x
for tok in "$STATIC" "$SA"; do
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/data/ca.crt" -H "Authorization: Bearer $tok" "$URL$PATH_CM")" = 200 ] && break
    sleep 0.05
  done
done

run() { # LABEL TOKEN → prints req/s on stdout
  local out; out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $2" "$URL$PATH_CM" 2>&1)
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/{printf "%.0f", $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  printf "%-40s %8s req/s   p99 %8s\n" "$1" "$rps" "$p99" >&2
  echo "$rps"
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "drover service account token benchmark — $(date -u +%F), $(nproc) cores, kernel $(uname -r), $CONNS connections, ${DUR}s per run, $ROUNDS rounds"
S="" T=""
for _ in $(seq 1 "$ROUNDS"); do
  S="$S $(run "GET configmap, static token" "$STATIC")"
  T="$T $(run "GET configmap, bound service account token" "$SA")"
done
MS=$(echo $S | median) MT=$(echo $T | median)
echo "median static token: $MS req/s, service account token: $MT req/s"
awk -v s="$MS" -v t="$MT" 'BEGIN { if (s > 0) printf "ratio service account / static: %.2f\n", t / s }'
