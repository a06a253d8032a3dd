# Sourced by the benches that measure one `drover server`: bench_server NAME starts it on a
# free loopback port over a temp data dir and waits until it answers; it is stopped and the
# dir removed on exit. Sets TMP, PORT, URL, SRV_PID; needs DROVER.
bench_server_cleanup() {
  [ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  rm -rf "$TMP"
}

bench_server() {
  TMP=$(mktemp -d "/tmp/drv-bench-$1-XXXXXX")
  SRV_PID=""
  trap bench_server_cleanup EXIT
  PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  URL=https://127.0.0.1:$PORT
  "$DROVER" server --data-dir "$TMP/data" --listen 127.0.0.1:$PORT >>"$TMP/server.log" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 1 600); do
    [ -f "$TMP/data/kubeconfig" ] && curl -sf --cacert "$TMP/data/ca.crt" "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  echo "drover server did not start: $(tail -3 "$TMP/server.log")" >&2
  exit 1
}
