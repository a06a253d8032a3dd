"""Volume benchmark: how fast a ConfigMap update reaches the files of running pods, and what N
pods mounting ConfigMap + Secret + downwardAPI volumes cost the agent while idle. drover server
+ one drover agent on loopback (pods without a pod network), busybox image imported beforehand.
Peer: a kubelet cannot run here (no CRI runtime); Kubernetes documents the delay of a mounted
ConfigMap update as the kubelet sync period (1 min by default) plus its cache's propagation
delay, i.e. up to about a minute and more."""
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
os.environ.setdefault("DROVER_BIN", os.path.join(HERE, "..", "..", "build", "drover"))
from apiserver import Server  # noqa: E402
import agentlib as A  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
DISTINCT = len(sys.argv) > 2 and sys.argv[2] == "distinct"  # each pod its own ConfigMap
UPDATES = 20


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def main():
    root = tempfile.mkdtemp(prefix=f"drv-benchvol-{os.getpid()}-")
    s = a = None
    try:
        s = Server(data_dir=os.path.join(root, "server"))
        data = os.path.join(root, "node")
        A.import_busybox(data, root)
        node = f"bv{os.getpid()}"
        a = A.Agent(s, data, node)
        A.wait_for(lambda: s.http("GET", f"/api/v1/nodes/{node}")[0] == 200, what="node")
        for kind, body in (("configmaps", {"v": "0"}), ("secrets", {"s": "eA=="})):
            obj = {"apiVersion": "v1", "kind": "ConfigMap" if kind == "configmaps" else "Secret",
                   "metadata": {"name": "shared"}, "data": body}
            assert s.http("POST", f"/api/v1/namespaces/default/{kind}", body=obj)[0] == 201
        for i in range(N if DISTINCT else 0):
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"own{i}"}, "data": {"v": "0"}}
            assert s.http("POST", "/api/v1/namespaces/default/configmaps", body=obj)[0] == 201
        uids = []
        for i in range(N):
            p = A.pod(f"v{i}", node, [A.ctr("c", "exec sleep 100000", volumeMounts=[
                {"name": "cfg", "mountPath": "/cfg"}, {"name": "sec", "mountPath": "/sec"},
                {"name": "info", "mountPath": "/info"}])], volumes=[
                {"name": "cfg", "configMap": {"name": f"own{i}" if DISTINCT else "shared"}}, {"name": "sec", "secret": {"secretName": "shared"}},
                {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}])
            uids.append(A.create_pod(s, p)["metadata"]["uid"])
        A.wait_for(lambda: all(A.running(s, f"v{i}") for i in range(N)), timeout=300, interval=0.5, what="pods running")
        files = [os.path.join(data, "agent", "pods", u, "volumes", "cfg", "v") for u in uids]
        if DISTINCT:  # the agent's memory with one watch per pod, then done
            time.sleep(3)
            rss = [l for l in open(f"/proc/{a.proc.pid}/status") if l.startswith("VmRSS")][0].split()[1]
            print(f"N={N} pods each mounting its own ConfigMap (+ the shared Secret): agent RSS {int(rss) / 1024:.1f} MB")
            return
        first, last = [], []
        for k in range(1, UPDATES + 1):
            code, cur = s.http("GET", "/api/v1/namespaces/default/configmaps/shared")
            cur["data"]["v"] = str(k)
            t0 = time.time()
            assert s.http("PUT", "/api/v1/namespaces/default/configmaps/shared", body=cur)[0] == 200
            pending, t_first = set(files), None
            while pending:
                for f in list(pending):
                    try:
                        if open(f).read() == str(k):
                            pending.discard(f)
                            t_first = t_first or time.time()
                    except OSError:
                        pass
                time.sleep(0.002)
            first.append((t_first - t0) * 1000)
            last.append((time.time() - t0) * 1000)
            time.sleep(0.3)
        time.sleep(3)
        rss = [l for l in open(f"/proc/{a.proc.pid}/status") if l.startswith("VmRSS")][0].split()[1]
        print(f"agent RSS with {N} such pods: {int(rss) / 1024:.1f} MB")
        pid, hz = a.proc.pid, os.sysconf("SC_CLK_TCK")
        c0, t0 = cpu_ticks(pid), time.time()
        time.sleep(10)
        cpu = (cpu_ticks(pid) - c0) / hz / (time.time() - t0) * 100
        print(f"N={N} pods, each mounting one shared ConfigMap, one Secret and a downwardAPI volume; {UPDATES} updates")
        print(f"update -> file of the first pod: p50 {statistics.median(first):.0f} ms, p99 {pct(first, 99):.0f} ms")
        print(f"update -> files of all {N} pods: p50 {statistics.median(last):.0f} ms, p99 {pct(last, 99):.0f} ms")
        print(f"agent idle CPU with {N} such pods: {cpu:.1f} % of one core")
        print("Kubernetes (documented): kubelet sync period 60 s + cache delay; ratio of p50s "
              f"~{statistics.median(last) / 60000:.4f}")
    finally:
        if s and a:
            A.delete_all_pods(s, timeout=60)
        if a:
            a.cleanup()
        if s:
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
