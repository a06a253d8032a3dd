"""exec/attach benchmark against `drover up` with the real kubectl: `kubectl exec true` latency
next to `kubectl get pod` (kubectl's own start and one API round trip: the floor exec adds to),
the `kubectl attach -i` round trip (a line in, the container's echo out), and exec throughput
each way. Peer: a kubelet cannot run here (no container runtime service), so the reference in
the same run is kubectl's floor."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
os.environ.setdefault("DROVER_BIN", os.path.join(HERE, "..", "..", "build", "drover"))
import agentlib as A  # noqa: E402
import test_attach as T  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
MB = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def timed(f, n):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        f()
        out.append((time.monotonic() - t0) * 1000)
    return out


def main():
    with A.up_with_busybox("bench-bx", f"bx-{os.getpid()}") as up:
        T.make_pod(up, "bx", 'while read l; do echo "got:$l"; done', restart="Always", stdin=True)
        floor = timed(lambda: up.kubectl("get", "pod", "bx", "-o", "name"), N)
        ex = timed(lambda: up.kubectl("exec", "bx", "--", "true"), N)
        p = T.kubectl_popen(up, "attach", "-i", "bx")
        att = []
        try:
            for i in range(N + 1):
                t0 = time.monotonic()
                p.stdin.write(f"{i}\n".encode())
                p.stdin.flush()
                T.read_until(p, f"got:{i}\n")
                if i:  # the first one pays for the session's start
                    att.append((time.monotonic() - t0) * 1000)
        finally:
            T.stop(p)
        n = MB * 1_000_000
        t0 = time.monotonic()
        r = up.kubectl("exec", "-i", "bx", "--", "busybox", "wc", "-c", input="x" * n, timeout=600)
        t_in = time.monotonic() - t0
        assert r.stdout.strip() == str(n), r.stdout
        t0 = time.monotonic()
        r = up.kubectl("exec", "bx", "--", "busybox", "head", "-c", str(n), "/dev/zero", timeout=600)
        t_out = time.monotonic() - t0
        assert len(r.stdout) == n, len(r.stdout)
        load = open("/proc/loadavg").read().split()[0]
        print(f"load average {load}, {N} samples each")
        print(f"kubectl get pod (floor)   p50 {pct(floor, 50):6.0f} ms  p99 {pct(floor, 99):6.0f} ms")
        print(f"kubectl exec true         p50 {pct(ex, 50):6.0f} ms  p99 {pct(ex, 99):6.0f} ms  "
              f"(x{pct(ex, 50) / pct(floor, 50):.2f} the floor)")
        print(f"attach -i round trip      p50 {pct(att, 50):6.1f} ms  p99 {pct(att, 99):6.1f} ms")
        print(f"exec stdin  {MB} MB: {t_in:6.2f} s ({MB / t_in:.1f} MB/s)")
        print(f"exec stdout {MB} MB: {t_out:6.2f} s ({MB / t_out:.1f} MB/s)")


if __name__ == "__main__":
    main()
