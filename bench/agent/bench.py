"""Agent benchmark: pod start latency (created → Running, image present) over N pods on one
node, the agent's RSS with N pods running, and its idle CPU. drover server + drover agent on
loopback, pods without a pod network (loopback only). Peer: a kubelet cannot run here (no
container runtime service, no images from a registry); its published SLO is p99 ≤ 5 s."""
import json
import os
import shutil
import ssl
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
os.environ.setdefault("DROVER_BIN", os.path.join(HERE, "..", "..", "build", "drover"))
from apiserver import Server  # noqa: E402
import agentlib as A  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def proc_rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_mem_kb(pid):
    """Pss and Uss (private pages) from smaps_rollup: RSS counts shared library pages in full."""
    v = {}
    for line in open(f"/proc/{pid}/smaps_rollup"):
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            v[parts[0][:-1]] = int(parts[1])
    return v.get("Pss", 0), v.get("Private_Clean", 0) + v.get("Private_Dirty", 0)


def smaps_breakdown(pid):
    """Rss per mapping group from /proc/PID/smaps: each shared object (file), [heap], thread
    stacks and other anonymous memory; with its private dirty part (the rest is clean file
    pages, shared with any other process mapping the same file)."""
    groups, name = {}, None
    for line in open(f"/proc/{pid}/smaps"):
        parts = line.split()
        if not parts:
            continue
        if not parts[0].endswith(":") or "-" in parts[0]:
            path = parts[5] if len(parts) > 5 else ""
            name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
            continue
        if parts[0] in ("Rss:", "Private_Dirty:"):
            g = groups.setdefault(name, [0, 0])
            g[0 if parts[0] == "Rss:" else 1] += int(parts[1])
    return sorted(((v[0], v[1], k) for k, v in groups.items() if v[0]), reverse=True)


def anon_detail(pid):
    """Anonymous mappings (size kB, Rss kB), largest Rss first: thread stacks show as 8 MB (or
    their set size) mappings next to a guard page, malloc arenas as 64 MB reservations."""
    out, cur = [], None
    for line in open(f"/proc/{pid}/smaps"):
        parts = line.split()
        if parts and "-" in parts[0] and not parts[0].endswith(":"):
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            cur = [(hi - lo) // 1024, 0] if len(parts) <= 5 or parts[5] == "[heap]" else None
            if cur is not None:
                out.append(cur)
        elif cur is not None and parts and parts[0] == "Rss:":
            cur[1] = int(parts[1])
    return sorted((tuple(x) for x in out if x[1]), key=lambda x: -x[1])


def proc_cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def thread_ticks(pid, tid):
    try:
        f = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return 0


def main():
    root = tempfile.mkdtemp(prefix=f"drv-bench-agent-{os.getpid()}-")
    s = Server(data_dir=os.path.join(root, "server"))
    data = os.path.join(root, "node")
    A.import_busybox(data, root)
    a = A.Agent(s, data, "bench")
    running = {}
    cv = threading.Condition()
    stop = threading.Event()

    def watcher():
        ctx = ssl.create_default_context(cafile=os.path.join(s.dir, "ca.crt"))
        req = urllib.request.Request(s.url + "/api/v1/namespaces/default/pods?watch=1",
                                     headers={"Authorization": "Bearer " + s.token()})
        with urllib.request.urlopen(req, context=ctx, timeout=600) as r:
            for line in r:
                if stop.is_set():
                    return
                ev = json.loads(line)
                o = ev["object"]
                st = o.get("status", {})
                if st.get("phase") == "Running" and all("running" in c["state"] for c in st.get("containerStatuses", [])):
                    with cv:
                        running.setdefault(o["metadata"]["name"], time.monotonic())
                        cv.notify_all()
    t = threading.Thread(target=watcher, daemon=True)
    t.start()
    try:
        A.wait_for(lambda: s.http("GET", "/api/v1/nodes/bench")[0] == 200, what="node")
        # Warm-up pod (first-use caches: image lookup, cgroup layout).
        lat = []
        for i in range(N + 1):
            name = f"p{i}"
            body = A.pod(name, "bench", [A.ctr("c", "exec sleep 100000")])
            t0 = time.monotonic()
            A.create_pod(s, body)
            with cv:
                cv.wait_for(lambda: name in running, timeout=30)
            if name not in running:
                raise AssertionError(f"{name} did not start: {a.logtext()}")
            if i > 0:
                lat.append((running[name] - t0) * 1000)
        time.sleep(3)
        rss = proc_rss_kb(a.proc.pid)
        pss, uss = proc_mem_kb(a.proc.pid)
        c0 = proc_cpu_ticks(a.proc.pid)
        tasks0 = {t: thread_ticks(a.proc.pid, t) for t in os.listdir(f"/proc/{a.proc.pid}/task")}
        time.sleep(10)
        idle = (proc_cpu_ticks(a.proc.pid) - c0) / os.sysconf("SC_CLK_TCK") / 10 * 100
        per = sorted(((thread_ticks(a.proc.pid, t) - v, t) for t, v in tasks0.items()), reverse=True)
        print("idle CPU ticks per thread over 10 s:", per[:4])
        print(f"pods: {N}")
        print(f"start latency created->Running: p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
              f"max {max(lat):.1f} ms (goal p50 <= 50 ms, p99 <= 200 ms)")
        print(f"agent RSS with {N + 1} pods: {rss / 1024:.1f} MB (goal < 10 MB); PSS {pss / 1024:.1f} MB, "
              f"private (USS) {uss / 1024:.1f} MB")
        print("agent RSS by mapping (kB, private dirty kB):",
              ", ".join(f"{k} {r} ({d})" for r, d, k in smaps_breakdown(a.proc.pid)))
        print(f"agent threads: {len(os.listdir(f'/proc/{a.proc.pid}/task'))}; anonymous mappings (size kB, Rss kB):",
              anon_detail(a.proc.pid)[:24])
        print(f"agent idle CPU with {N + 1} pods: {idle:.1f} % of one core")
        print(f"ratio to Kubernetes' p99 SLO (5 s): {pct(lat, 99) / 5000:.3f}")
    finally:
        stop.set()
        A.delete_all_pods(s, timeout=120)
        a.cleanup()
        s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
