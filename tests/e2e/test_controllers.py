"""Control loops end to end: `drover up` (API server + scheduler + controllers in-process) driven
by the machine's kubectl, with synthetic nodes played by a fake kubelet (tests/e2e/fakekubelet.py)
that renews leases and marks bound pods Running/Ready through the status subresource."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import DROVER, run, terminate  # noqa: E402
import fakekubelet  # noqa: E402

from kubernetes import client, watch  # noqa: E402

PID = os.getpid()
NODES = ["ctl-%d-n%d" % (PID, i) for i in range(3)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(what, fn, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # the condition's own errors mean "not yet"
            last = e
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


class Cluster:
    def __init__(self, d, kubeconfig, kubelet):
        self.dir, self.kubeconfig, self.kubelet = d, kubeconfig, kubelet
        self.api = kubelet.api_client
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)

    def kubectl(self, *args, check=True, timeout=60, input=None):
        return run("kubectl", "--kubeconfig", self.kubeconfig, *args, check=check, timeout=timeout, input=input)

    def apply(self, ns, manifest):
        return self.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(manifest))

    def namespace(self, name):
        self.kubectl("apply", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        return name

    def get(self, ns, *what):
        return json.loads(self.kubectl("get", "-n", ns, *what, "-o", "json").stdout)


@pytest.fixture(scope="module")
def cluster():
    d = tempfile.mkdtemp(prefix="drv-ctl-e2e-")
    port = free_port()
    log = open(os.path.join(d, "up.log"), "w")
    proc = subprocess.Popen([DROVER, "up", "--no-agent", "--data-dir", d, "--listen", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    kubelet = None
    try:
        kc = os.path.join(d, "kubeconfig")
        wait_for("drover up", lambda: os.path.exists(kc) and run(
            "kubectl", "--kubeconfig", kc, "get", "ns", check=False).returncode == 0, timeout=30)
        kubelet = fakekubelet.FakeKubelet(kc, NODES)
        kubelet.start()
        for n in NODES:
            kubelet.core.patch_node(n, {"metadata": {"labels": {"drover-e2e": str(PID)}}})
        c = Cluster(d, kc, kubelet)
        c.proc = proc
        yield c
    finally:
        if kubelet:
            kubelet.stop()
        terminate(proc)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def deployment(name, replicas=3, image="nginx:1.25", **spec):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"nodeSelector": {"drover-e2e": str(PID)},
                                        "containers": [{"name": "c", "image": image,
                                                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}
    d["spec"].update(spec)
    return d


def ready_pods(c, ns, app):
    pods = c.core.list_namespaced_pod(ns, label_selector="app=" + app).items
    return [p for p in pods if not p.metadata.deletion_timestamp and p.status.conditions and
            any(x.type == "Ready" and x.status == "True" for x in p.status.conditions)]


def test_apply_rollout_status_and_scale(cluster):
    ns = cluster.namespace("roll-%d" % PID)
    cluster.apply(ns, deployment("web"))
    out = cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s").stdout
    assert "successfully rolled out" in out
    rs = cluster.get(ns, "rs")["items"]
    assert len(rs) == 1
    h = rs[0]["metadata"]["labels"]["pod-template-hash"]
    assert rs[0]["metadata"]["name"] == "web-" + h
    assert rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = cluster.get(ns, "pods")["items"]
    assert len(pods) == 3 and all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for p in pods)
    cluster.kubectl("scale", "-n", ns, "deploy/web", "--replicas=5")
    wait_for("5 ready", lambda: len(ready_pods(cluster, ns, "web")) == 5)
    cluster.kubectl("scale", "-n", ns, "deploy/web", "--replicas=2")
    wait_for("2 pods", lambda: len(cluster.core.list_namespaced_pod(ns, label_selector="app=web").items) == 2)
    cluster.kubectl("wait", "-n", ns, "--for=condition=Available", "deploy/web", "--timeout=30s")
    d = cluster.get(ns, "deploy", "web")
    st = d["status"]
    assert st["replicas"] == 2 and st["availableReplicas"] == 2 and st["updatedReplicas"] == 2
    assert st["observedGeneration"] == d["metadata"]["generation"]
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_set_image_respects_max_unavailable(cluster):
    ns = cluster.namespace("img-%d" % PID)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}
    cluster.apply(ns, deployment("web", replicas=6, strategy=strategy))
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    # watch every pod change during the rollout; count ready, non-terminating pods
    state, low = {}, [6]
    stop = threading.Event()
    w = watch.Watch()

    def observe():
        rv = cluster.core.list_namespaced_pod(ns).metadata.resource_version
        for ev in w.stream(cluster.core.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=60):
            p = ev["object"]
            ok = (ev["type"] != "DELETED" and not p.metadata.deletion_timestamp and p.status.conditions and
                  any(x.type == "Ready" and x.status == "True" for x in p.status.conditions))
            state[p.metadata.name] = bool(ok)
            low[0] = min(low[0], sum(state.values()))
            if stop.is_set():
                break

    for p in ready_pods(cluster, ns, "web"):
        state[p.metadata.name] = True
    t = threading.Thread(target=observe, daemon=True)
    t.start()
    time.sleep(0.5)
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=nginx:1.26")
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=90s")
    stop.set()
    w.stop()
    assert low[0] >= 5, "ready pods fell to %d (maxUnavailable 1 of 6)" % low[0]
    imgs = {p.spec.containers[0].image for p in ready_pods(cluster, ns, "web")}
    assert imgs == {"nginx:1.26"}
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_history_undo_restart_pause_resume(cluster):
    ns = cluster.namespace("hist-%d" % PID)
    cluster.apply(ns, deployment("web"))
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    cluster.kubectl("annotate", "-n", ns, "deploy/web", "kubernetes.io/change-cause=to 1.26", "--overwrite")
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=nginx:1.26")
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    hist = cluster.kubectl("rollout", "history", "-n", ns, "deploy/web").stdout
    assert "to 1.26" in hist and "\n1 " in hist and "\n2 " in hist
    cluster.kubectl("rollout", "undo", "-n", ns, "deploy/web")
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    d = cluster.get(ns, "deploy", "web")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert "Rolled back deployment" in cluster.kubectl("describe", "-n", ns, "deploy/web").stdout
    # restart: a new ReplicaSet from the restartedAt template annotation
    before = {r["metadata"]["name"] for r in cluster.get(ns, "rs")["items"]}
    cluster.kubectl("rollout", "restart", "-n", ns, "deploy/web")
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    after = {r["metadata"]["name"] for r in cluster.get(ns, "rs")["items"]}
    assert len(after - before) == 1
    # pause: template changes wait; resume rolls them out
    cluster.kubectl("rollout", "pause", "-n", ns, "deploy/web")
    cluster.kubectl("set", "image", "-n", ns, "deploy/web", "c=nginx:1.27")
    wait_for("Progressing DeploymentPaused", lambda: any(
        c["type"] == "Progressing" and c["reason"] == "DeploymentPaused"
        for c in cluster.get(ns, "deploy", "web")["status"].get("conditions", [])))
    time.sleep(1)
    assert all(r["spec"]["template"]["spec"]["containers"][0]["image"] != "nginx:1.27"
               for r in cluster.get(ns, "rs")["items"])
    cluster.kubectl("rollout", "resume", "-n", ns, "deploy/web")
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    imgs = {p.spec.containers[0].image for p in ready_pods(cluster, ns, "web")}
    assert imgs == {"nginx:1.27"}
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_recreate_and_progress_deadline(cluster):
    ns = cluster.namespace("pdl-%d" % PID)
    cluster.apply(ns, deployment("rec", replicas=2, strategy={"type": "Recreate"}))
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/rec", "--timeout=60s")
    cluster.kubectl("set", "image", "-n", ns, "deploy/rec", "c=nginx:1.26")
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/rec", "--timeout=60s")
    cluster.apply(ns, deployment("bad", replicas=2, image="registry.invalid/does-not-exist:1",
                                 progressDeadlineSeconds=3))
    p = cluster.kubectl("rollout", "status", "-n", ns, "deploy/bad", "--timeout=60s", check=False)
    assert p.returncode != 0 and "exceeded its progress deadline" in p.stderr
    conds = {c["type"]: c for c in cluster.get(ns, "deploy", "bad")["status"]["conditions"]}
    assert conds["Progressing"]["status"] == "False"
    assert conds["Progressing"]["reason"] == "ProgressDeadlineExceeded"
    assert conds["Available"]["reason"] == "MinimumReplicasUnavailable"
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_delete_cascade(cluster):
    ns = cluster.namespace("gc-%d" % PID)
    for name in ("bg", "fg", "or"):
        cluster.apply(ns, deployment(name, replicas=2))
    for name in ("bg", "fg", "or"):
        cluster.kubectl("rollout", "status", "-n", ns, "deploy/" + name, "--timeout=60s")

    def count(kind, app):
        return len(cluster.get(ns, kind, "-l", "app=" + app)["items"])

    cluster.kubectl("delete", "-n", ns, "deploy/bg", "--cascade=background")
    wait_for("background cascade", lambda: count("rs", "bg") == 0 and count("pods", "bg") == 0)
    cluster.kubectl("delete", "-n", ns, "deploy/fg", "--cascade=foreground")
    # foreground: once the delete returns, the dependents are gone already
    assert count("rs", "fg") == 0
    wait_for("foreground pods", lambda: count("pods", "fg") == 0)
    cluster.kubectl("delete", "-n", ns, "deploy/or", "--cascade=orphan")
    time.sleep(2)
    rs = cluster.get(ns, "rs", "-l", "app=or")["items"]
    assert len(rs) == 1 and not rs[0]["metadata"].get("ownerReferences")
    assert count("pods", "or") == 2
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_namespace_deletion_removes_contents(cluster):
    ns = cluster.namespace("nsdel-%d" % PID)
    cluster.apply(ns, deployment("web", replicas=2))
    cluster.apply(ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}})
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    cluster.kubectl("delete", "ns", ns, "--timeout=60s")
    p = cluster.kubectl("get", "ns", ns, check=False)
    assert p.returncode != 0 and "NotFound" in p.stderr
    assert not cluster.core.list_namespaced_pod(ns).items
    assert not cluster.apps.list_namespaced_deployment(ns).items


def test_namespaces_get_a_default_service_account(cluster):
    ns = cluster.namespace("sa-%d" % PID)
    sa = wait_for("default service account", lambda: cluster.core.read_namespaced_service_account("default", ns))
    assert sa.metadata.namespace == ns
    assert cluster.core.read_namespaced_service_account("default", "default").metadata.name == "default"
    cluster.kubectl("delete", "ns", ns, "--timeout=60s")
    p = cluster.kubectl("get", "ns", ns, check=False)
    assert p.returncode != 0 and "NotFound" in p.stderr


def test_unschedulable_reason_in_describe(cluster):
    ns = cluster.namespace("unsched-%d" % PID)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
           "spec": {"nodeSelector": {"drover-e2e": str(PID)},
                    "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "1000"}}}]}}
    cluster.apply(ns, pod)
    msg = "0/%d nodes are available: " % len(NODES)

    def described():
        out = cluster.kubectl("describe", "pod", "-n", ns, "huge").stdout
        return "FailedScheduling" in out and msg in out and out

    out = wait_for("FailedScheduling event", described)
    assert "Insufficient cpu" in out
    cond = [c for c in cluster.get(ns, "pod", "huge")["status"]["conditions"] if c["type"] == "PodScheduled"][0]
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable" and msg in cond["message"]
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_service_cluster_ip_and_endpoints(cluster):
    ns = cluster.namespace("svc-%d" % PID)
    cluster.apply(ns, deployment("web", replicas=2))
    cluster.apply(ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    ip = wait_for("cluster IP", lambda: cluster.get(ns, "svc", "web")["spec"].get("clusterIP"))
    a, b = (int(x) for x in ip.split(".")[:2])
    assert a == 10 and 96 <= b < 112  # 10.96.0.0/12

    def eps():
        subsets = cluster.get(ns, "endpoints", "web").get("subsets") or []
        addrs = [x["ip"] for s in subsets for x in s.get("addresses", [])]
        return len(addrs) == 2 and addrs

    addrs = wait_for("endpoints", eps)
    pod_ips = {p.status.pod_ip for p in ready_pods(cluster, ns, "web")}
    assert set(addrs) == pod_ips
    sl = cluster.get(ns, "endpointslices", "web")
    assert sl["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert {e["addresses"][0] for e in sl["endpoints"]} == pod_ips
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_node_failure_replaces_pods_once(cluster):
    ns = cluster.namespace("nodefail-%d" % PID)
    cluster.apply(ns, deployment("web", replicas=6))
    cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
    victim = NODES[0]
    on_victim = [p.metadata.name for p in ready_pods(cluster, ns, "web") if p.spec.node_name == victim]
    assert on_victim, "spread should have put pods on every node"
    t0 = time.time()
    cluster.kubelet.cut_off(victim)
    wait_for("node NotReady with the unreachable taint", lambda: any(
        t.key == "node.kubernetes.io/unreachable" and t.effect == "NoExecute"
        for t in (cluster.core.read_node(victim).spec.taints or [])), timeout=20)
    t_taint = time.time() - t0

    def replaced():
        ready = ready_pods(cluster, ns, "web")
        return len(ready) == 6 and all(p.spec.node_name != victim for p in ready)

    wait_for("replacements on the other nodes", replaced, timeout=40)
    t_repl = time.time() - t0
    print("node cut off: tainted after %.1f s, all replaced and ready after %.1f s" % (t_taint, t_repl))
    assert t_taint < 10 and t_repl < 30, (t_taint, t_repl)  # 5 s grace + 10 s eviction by default
    cluster.kubelet.restore(victim)
    # the node is back: its old pods were marked for deletion and go; nothing runs twice
    wait_for("victim's pods gone", lambda: not [
        p for p in cluster.core.list_namespaced_pod(ns).items if p.spec.node_name == victim], timeout=30)
    wait_for("taint removed", lambda: not any(
        t.key.startswith("node.kubernetes.io/") for t in (cluster.core.read_node(victim).spec.taints or [])))
    assert len(ready_pods(cluster, ns, "web")) == 6
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_restart_resumes_without_acting_twice(tmp_path):
    """Kill `drover up` (server and loops) mid-rollout and start it again on the same data:
    the loops relist, carry on, and leave exactly the declared pods."""
    d = str(tmp_path)
    kc = os.path.join(d, "kubeconfig")
    port = free_port()
    nodes = ["rst-%d-n%d" % (PID, i) for i in range(2)]

    def up():
        log = open(os.path.join(d, "up.log"), "a")
        p = subprocess.Popen([DROVER, "up", "--no-agent", "--data-dir", d, "--listen", "127.0.0.1:%d" % port],
                             stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for("drover up", lambda: os.path.exists(kc) and run(
            "kubectl", "--kubeconfig", kc, "get", "ns", check=False).returncode == 0, timeout=30)
        return p

    proc = up()
    kubelet = None
    try:
        kubelet = fakekubelet.FakeKubelet(kc, nodes)
        kubelet.start()
        for n in nodes:
            kubelet.core.patch_node(n, {"metadata": {"labels": {"drover-e2e": str(PID)}}})
        c = Cluster(d, kc, kubelet)
        c.apply("default", deployment("web", replicas=8))
        c.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
        c.kubectl("set", "image", "deploy/web", "c=nginx:1.26")
        proc.kill()
        proc.wait()
        proc = up()
        c.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
        wait_for("exactly 8 pods", lambda: len(c.core.list_namespaced_pod("default", label_selector="app=web").items) == 8)
        time.sleep(2)  # nothing else may appear once settled
        pods = c.core.list_namespaced_pod("default", label_selector="app=web").items
        assert len(pods) == 8 and {p.spec.containers[0].image for p in pods} == {"nginx:1.26"}
        rs = c.get("default", "rs")["items"]
        assert sorted(r["spec"]["replicas"] for r in rs) == [0, 8]
    finally:
        if kubelet:
            kubelet.stop()
        terminate(proc)


def test_standalone_loops_over_http_survive_server_restart(tmp_path):
    """`drover scheduler` and `drover controllers` alone, over HTTP with a kubeconfig, against
    `drover server`; the server restarts under them and they carry on from where they were."""
    d = str(tmp_path)
    kc = os.path.join(d, "kubeconfig")
    port = free_port()
    nodes = ["http-%d-n%d" % (PID, i) for i in range(2)]
    procs = {}

    def start(name, *args):
        log = open(os.path.join(d, name + ".log"), "a")
        procs[name] = subprocess.Popen([DROVER, *args], stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def server():
        start("server", "server", "--data-dir", d, "--listen", "127.0.0.1:%d" % port)
        wait_for("drover server", lambda: os.path.exists(kc) and run(
            "kubectl", "--kubeconfig", kc, "get", "ns", check=False).returncode == 0, timeout=30)

    kubelet = None
    try:
        server()
        start("scheduler", "scheduler", "--kubeconfig", kc)
        start("controllers", "controllers", "--kubeconfig", kc)
        kubelet = fakekubelet.FakeKubelet(kc, nodes)
        kubelet.start()
        for n in nodes:
            kubelet.core.patch_node(n, {"metadata": {"labels": {"drover-e2e": str(PID)}}})
        c = Cluster(d, kc, kubelet)
        c.apply("default", deployment("web", replicas=3))
        c.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
        procs["server"].terminate()
        procs["server"].wait(timeout=60)
        server()
        c.kubectl("scale", "deploy/web", "--replicas=5")
        wait_for("5 ready after the restart", lambda: len(ready_pods(c, "default", "web")) == 5, timeout=60)
        for name in ("scheduler", "controllers"):
            assert procs[name].poll() is None, name + " exited"
            procs[name].terminate()
            assert procs[name].wait(timeout=60) == 0
    finally:
        if kubelet:
            kubelet.stop()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def test_scheduler_constraints_through_the_api(cluster):
    """nodeSelector, taints/tolerations and required pod anti-affinity, from the pod spec as
    kubectl sends it, to placements and the reasons shown for the pod that cannot go."""
    ns = cluster.namespace("sched-%d" % PID)
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "one"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    d = deployment("one", replicas=len(NODES) + 1)
    d["spec"]["template"]["spec"]["affinity"] = anti
    cluster.apply(ns, d)

    def placed():
        pods = cluster.core.list_namespaced_pod(ns, label_selector="app=one").items
        bound = [p.spec.node_name for p in pods if p.spec.node_name]
        return len(pods) == len(NODES) + 1 and len(bound) == len(NODES) and bound

    bound = wait_for("one pod per node", placed)
    assert sorted(bound) == sorted(NODES)
    pending = [p for p in cluster.core.list_namespaced_pod(ns, label_selector="app=one").items
               if not p.spec.node_name][0]

    def reason():
        out = cluster.kubectl("describe", "pod", "-n", ns, pending.metadata.name).stdout
        return "didn't match pod anti-affinity rules" in out and out

    out = wait_for("anti-affinity reason", reason)
    assert "0/%d nodes are available: %d node(s) didn't match pod anti-affinity rules." % (
        len(NODES), len(NODES)) in out
    # a tainted node takes only pods that tolerate the taint
    victim = NODES[1]
    cluster.core.patch_node(victim, {"spec": {"taints": [{"key": "dedicated", "value": "ci", "effect": "NoSchedule"}]}})
    try:
        t = deployment("tol", replicas=4)
        t["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": victim}
        t["spec"]["template"]["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "ci",
                                                         "effect": "NoSchedule"}]
        cluster.apply(ns, t)
        cluster.kubectl("rollout", "status", "-n", ns, "deploy/tol", "--timeout=60s")
        assert {p.spec.node_name for p in ready_pods(cluster, ns, "tol")} == {victim}
        u = deployment("untol", replicas=1)
        u["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": victim}
        cluster.apply(ns, u)

        def untol():
            pods = cluster.core.list_namespaced_pod(ns, label_selector="app=untol").items
            conds = pods and pods[0].status.conditions or []
            return [c.message for c in conds if c.type == "PodScheduled" and c.status == "False"]

        msg = wait_for("taint reason", untol)[0]
        assert "1 node(s) had untolerated taint {dedicated: ci}" in msg
        assert "didn't match Pod's node affinity/selector" in msg
    finally:
        cluster.core.patch_node(victim, {"spec": {"taints": None}})
    cluster.kubectl("delete", "ns", ns, "--wait=false")


def test_second_instance_stands_by(cluster):
    """A `drover controllers` and a `drover scheduler` started against `drover up`, which runs
    its own: the Leases keep them standing by, so nothing is done twice."""
    host = socket.gethostname()
    procs = []
    try:
        for verb in ("controllers", "scheduler"):
            procs.append(subprocess.Popen([DROVER, verb, "--kubeconfig", cluster.kubeconfig],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        coord = client.CoordinationV1Api(cluster.api)
        for name in ("drover-controllers", "default-scheduler"):
            lease = coord.read_namespaced_lease(name, "kube-system")
            assert lease.spec.holder_identity == "%s_%d" % (host, cluster.proc.pid)
        ns = cluster.namespace("standby-%d" % PID)
        cluster.apply(ns, deployment("web", replicas=5))
        cluster.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
        cluster.kubectl("scale", "-n", ns, "deploy/web", "--replicas=7")
        wait_for("7 ready", lambda: len(ready_pods(cluster, ns, "web")) == 7)
        time.sleep(2)
        assert len(cluster.core.list_namespaced_pod(ns).items) == 7
        assert len(cluster.get(ns, "rs")["items"]) == 1
        for name in ("drover-controllers", "default-scheduler"):
            lease = coord.read_namespaced_lease(name, "kube-system")
            assert lease.spec.holder_identity == "%s_%d" % (host, cluster.proc.pid)
        cluster.kubectl("delete", "ns", ns, "--wait=false")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
