"""port-forward benchmark against `drover up` with the real kubectl: the time from starting
`kubectl port-forward` to its "Forwarding from" line next to `kubectl get pod` (kubectl's own
start and one API round trip: the floor), a small HTTP GET on a new forwarded connection (two
SPDY streams opened, the agent's connect inside the pod, the answer, both streams closed) and
the throughput of one large GET, for kubectl's WebSocket tunnel and its plain SPDY/3.1 upgrade.
Peer: a kubelet cannot run here (no container runtime service), so the reference in the same run
is kubectl's floor."""
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
os.environ.setdefault("DROVER_BIN", os.path.join(HERE, "..", "..", "build", "drover"))
import agentlib as A  # noqa: E402
from apiserver import wait_for  # noqa: E402
from test_portforward import Forward  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
MB = int(sys.argv[2]) if len(sys.argv) > 2 else 64


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def get(port, path):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        n = 0
        while True:
            c = s.recv(1 << 20)
            if not c:
                return n
            n += len(c)


def main():
    with A.up_with_busybox("bench-pfb", f"pfb-{os.getpid()}") as up:
        script = (f"mkdir -p /www && echo ok > /www/small && dd if=/dev/zero of=/www/big bs=1000000 count={MB} "
                  "2>/dev/null && echo ready && exec httpd -f -p 127.0.0.1:8080 -h /www")
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pfb"},
               "spec": {"containers": [{"name": "c", "image": A.IMAGE, "imagePullPolicy": "IfNotPresent",
                                        "command": ["sh", "-c", script]}], "terminationGracePeriodSeconds": 1}}
        up.kubectl("apply", "-f", "-", input=json.dumps(pod))
        wait_for(lambda: json.loads(up.kubectl("get", "pod", "pfb", "-o", "json").stdout)["status"].get("phase") == "Running",
                 timeout=60, what="pfb running")
        floor = []
        for _ in range(N):
            t0 = time.monotonic()
            up.kubectl("get", "pod", "pfb", "-o", "name")
            floor.append((time.monotonic() - t0) * 1000)
        # httpd starts once the file is written
        wait_for(lambda: "ready" in up.kubectl("logs", "pfb", check=False).stdout, timeout=60, interval=0.2,
                 what="httpd up")
        print(f"load average {open('/proc/loadavg').read().split()[0]}, {N} samples each, {MB} MB GETs")
        print(f"kubectl get pod (floor)       p50 {pct(floor, 50):6.0f} ms  p99 {pct(floor, 99):6.0f} ms")
        for ws in ("true", "false"):
            name = "WebSocket tunnel" if ws == "true" else "SPDY/3.1 upgrade"
            starts = []
            for _ in range(max(5, N // 3)):
                t0 = time.monotonic()
                f = Forward(up, "pfb", 8080, env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": ws})
                starts.append((time.monotonic() - t0) * 1000)
                f.stop()
            f = Forward(up, "pfb", 8080, env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": ws})
            try:
                small = []
                for _ in range(N):
                    t0 = time.monotonic()
                    assert get(f.port, "/small") > 0
                    small.append((time.monotonic() - t0) * 1000)
                rates = []
                for _ in range(3):
                    t0 = time.monotonic()
                    n = get(f.port, "/big")
                    rates.append(n / 1e6 / (time.monotonic() - t0))
                    assert n > MB * 1_000_000
            finally:
                f.stop()
            print(f"{name}: port-forward start p50 {pct(starts, 50):5.0f} ms; "
                  f"small GET p50 {pct(small, 50):5.1f} ms p99 {pct(small, 99):5.1f} ms; "
                  f"{MB} MB GET " + ", ".join(f"{r:.0f}" for r in rates) + " MB/s")


if __name__ == "__main__":
    main()
