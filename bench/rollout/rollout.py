"""bench/rollout: time for a 100-replica Deployment to become Available and to finish a rolling
update, against `drover up` (API server + scheduler + controllers in-process), with pods on
synthetic nodes whose fake kubelet marks them Ready as soon as they are bound (no containers),
so the control loops' own cost shows. Prints medians of RUNS runs as JSON."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import fakekubelet  # noqa: E402
from conftest import terminate  # noqa: E402

DROVER = os.environ.get("DROVER_BIN", os.path.join(ROOT, "build", "drover"))
REPLICAS = int(os.environ.get("REPLICAS", "100"))
NODES = int(os.environ.get("NODES", "20"))
RUNS = int(os.environ.get("RUNS", "3"))


def kubectl(kc, *args, input=None, timeout=300):
    p = subprocess.run(["kubectl", "--kubeconfig", kc, *args], input=input, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode:
        raise RuntimeError("kubectl %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def cpu_s(pid):
    """CPU seconds (user + system) the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    d = tempfile.mkdtemp(prefix="drv-bench-rollout-")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(d, "up.log"), "w")
    proc = subprocess.Popen([DROVER, "up", "--no-agent", "--data-dir", d, "--listen", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    kc = os.path.join(d, "kubeconfig")
    kubelet = None
    try:
        for _ in range(300):
            if os.path.exists(kc) and subprocess.run(["kubectl", "--kubeconfig", kc, "get", "ns"],
                                                     capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        nodes = ["bench-n%03d" % i for i in range(NODES)]
        kubelet = fakekubelet.WatchKubelet(kc, nodes, cpu="64", memory="256Gi", pods="250")
        kubelet.start()
        for n in nodes:
            kubelet.core.patch_node(n, {"metadata": {"labels": {"drover-bench": "rollout"}}})
        avail, update, cpu = [], [], []
        for r in range(RUNS):
            ns = "bench-%d" % r
            kubectl(kc, "apply", "-f", "-", input=json.dumps(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
                   "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}},
                            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"nodeSelector": {"drover-bench": "rollout"},
                                                  "containers": [{"name": "c", "image": "nginx:1.25",
                                                                  "resources": {"requests": {"cpu": "100m"}}}]}}}}
            c0 = cpu_s(proc.pid)
            t0 = time.time()
            kubectl(kc, "apply", "-f", "-", input=json.dumps(dep))
            kubectl(kc, "wait", "-n", ns, "--for=condition=Available", "deploy/web", "--timeout=300s")
            kubectl(kc, "rollout", "status", "-n", ns, "deploy/web", "--timeout=300s")
            avail.append(time.time() - t0)
            t1 = time.time()
            kubectl(kc, "set", "image", "-n", ns, "deploy/web", "c=nginx:1.26")
            kubectl(kc, "rollout", "status", "-n", ns, "deploy/web", "--timeout=300s")
            update.append(time.time() - t1)
            cpu.append(cpu_s(proc.pid) - c0)
            kubectl(kc, "delete", "ns", ns, "--wait=false")
        print(json.dumps({"replicas": REPLICAS, "nodes": NODES, "runs": RUNS,
                          "available_s_median": round(statistics.median(avail), 2),
                          "rolling_update_s_median": round(statistics.median(update), 2),
                          "drover_cpu_s_median": round(statistics.median(cpu), 2),
                          "available_s": [round(x, 2) for x in avail],
                          "rolling_update_s": [round(x, 2) for x in update]}))
    finally:
        if kubelet:
            kubelet.stop()
        terminate(proc)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
