#!/usr/bin/env bash
# RBAC authorizer cost: GET of one ConfigMap with wrk on loopback as an administrator
# (system:masters: no rules looked at) and as a user allowed by a RoleBinding while the policy
# holds BINDINGS other bindings (the authorizer walks them all), closed loop; and a refused
# GET (403) as a user nothing grants. Prints req/s, p50, p99 and the ratio to the admin run.
# There is no peer here (no Kubernetes API server on this machine): the admin run is the
# baseline. Env: DROVER_BIN (default build/drover), DURATION (default 10), CONNS (default 64),
# BINDINGS (default 200).
set -u
cd "$(dirname "$0")/../.."
DROVER=${DROVER_BIN:-$PWD/build/drover}
DUR=${DURATION:-10}
CONNS=${CONNS:-64}
BINDINGS=${BINDINGS:-200}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk (scripts/deps.sh)"; exit 1; }
. "$PWD/bench/server_lib.sh"
bench_server rbac
export KUBECONFIG=$TMP/data/kubeconfig
ADMIN=$(awk '/token:/{print $2}' "$KUBECONFIG")
USER_TOK=$("$DROVER" token --data-dir "$TMP/data" create --user bench --group bench-group)
NOBODY_TOK=$("$DROVER" token --data-dir "$TMP/data" create --user nobody)
kubectl create configmap x --from-literal=k=v >/dev/null
# filler policy: BINDINGS bindings for other users, then the one that grants the read
{
  for i in $(seq 1 "$BINDINGS"); do
    cat <<Y
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: filler-$i, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: other-$i, apiGroup: rbac.authorization.k8s.io}]
Y
  done
} | kubectl apply -f - >/dev/null
kubectl create role cm-reader --verb=get --resource=configmaps >/dev/null
kubectl create rolebinding bench-reads --role=cm-reader --group=bench-group >/dev/null
PATH_CM=/api/v1/namespaces/default/configmaps/x
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/data/ca.crt" -H "Authorization: Bearer $USER_TOK" "$URL$PATH_CM")" = 200 ] && break
  sleep 0.05
done

run() { # LABEL TOKEN
  local out; out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $2" "$URL$PATH_CM" 2>&1)
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/{printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  printf "%-44s %8s req/s   p50 %8s   p99 %8s\n" "$1" "$rps" "$p50" "$p99" >&2
  echo "$rps"
}
echo "drover RBAC benchmark — $(date -u +%F), $(nproc) cores, kernel $(uname -r), $CONNS connections, ${DUR}s per run, $BINDINGS filler bindings"
A=$(run "GET configmap as admin (system:masters)" "$ADMIN")
U=$(run "GET configmap as RBAC user ($BINDINGS+ bindings)" "$USER_TOK")
N=$(run "GET configmap refused (403)" "$NOBODY_TOK")
awk -v a="$A" -v u="$U" -v n="$N" 'BEGIN { if (a > 0) printf "ratio RBAC user / admin: %.2f, refused / admin: %.2f\n", u / a, n / a }'
