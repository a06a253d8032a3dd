"""Multi-node: 3 test hosts as network namespaces on a bridge (all addresses inside namespaces
this test creates), one `drover agent` per host with its own pod CIDR, and `drover server`,
`drover controllers` and `drover scheduler` on a fourth. Pods reach pods on other hosts, a
ClusterIP Service balances over pods of all hosts and has a DNS name, a NodePort answers on every
node, and a host
cut off from the network has its pods replaced elsewhere — and stopped when it comes back."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import agentlib as A
import netnslib as N
from agentlib import ctr, wait_for
from conftest import DROVER, run

PID = os.getpid() % 100000
SW = f"drvt{PID}sw"
HOSTS = [f"drvt{PID}h{i}" for i in range(4)]  # h0: control plane; h1..h3: nodes
NET = "10.123.0"


def host_ip(i):
    return f"{NET}.{10 + i}"


def ns_run(ns, *args, check=True, timeout=60, **kw):
    return run("ip", "netns", "exec", ns, *args, check=check, timeout=timeout, **kw)


class Cluster(N.KubectlIn):
    def __init__(self, root):
        self.root = root
        self.procs = []
        self.agents = []
        self.kubeconfig = os.path.join(root, "cp", "kubeconfig")

    def in_ns(self, *args):
        return ["ip", "netns", "exec", HOSTS[0], *args]

    def spawn(self, ns, args, log):
        f = open(os.path.join(self.root, log), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=f, stderr=subprocess.STDOUT)
        self.procs.append((p, f))
        return p


def setup_network():
    run("ip", "netns", "add", SW)
    run("ip", "-n", SW, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", SW, "link", "set", "br0", "up")
    for i, h in enumerate(HOSTS):
        run("ip", "netns", "add", h)
        run("ip", "-n", SW, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0", "netns", h)
        run("ip", "-n", SW, "link", "set", f"v{i}", "master", "br0", "up")
        run("ip", "-n", h, "addr", "add", f"{host_ip(i)}/24", "dev", "eth0")
        run("ip", "-n", h, "link", "set", "eth0", "up")
        run("ip", "-n", h, "link", "set", "lo", "up")
        run("ip", "-n", h, "route", "add", "default", "dev", "eth0")


def teardown_network():
    N.kill_and_delete(*HOSTS, SW)


@pytest.fixture(scope="module")
def cluster():
    teardown_network()
    root = tempfile.mkdtemp(prefix=f"drv-net-{PID}-")
    setup_network()
    c = Cluster(root)
    try:
        cp = os.path.join(root, "cp")
        c.spawn(HOSTS[0], [DROVER, "server", "--data-dir", cp, "--listen", f"{host_ip(0)}:6443"], "server.log")
        wait_for(lambda: os.path.exists(c.kubeconfig) and
                 c.kubectl("get", "--raw", "/healthz", check=False).returncode == 0, timeout=30, what="server up")
        c.spawn(HOSTS[0], [DROVER, "controllers", "--kubeconfig", c.kubeconfig, "--node-monitor-grace", "3",
                           "--pod-eviction-timeout", "2", "--service-cidr", "10.123.200.0/24"], "controllers.log")
        c.spawn(HOSTS[0], [DROVER, "scheduler", "--kubeconfig", c.kubeconfig], "scheduler.log")
        token = [l.split(":", 1)[1].strip() for l in open(c.kubeconfig) if l.strip().startswith("token:")][0]
        for i in (1, 2, 3):
            d = os.path.join(root, f"node{i}")
            A.import_busybox(d, root)
            a = A.Agent(None, d, f"node{i}", netns=HOSTS[i], server_url=f"https://{host_ip(0)}:6443", token=token,
                        extra=["--pod-cidr", f"10.123.{10 + i}.0/24"])
            c.agents.append(a)

        def ready():
            nodes = c.get("/api/v1/nodes") or {"items": []}
            ok = [n for n in nodes["items"] if any(x["type"] == "Ready" and x["status"] == "True"
                                                   for x in n["status"].get("conditions", []))]
            return len(ok) == 3
        wait_for(ready, timeout=30, what="3 nodes Ready")
        yield c
    finally:
        try:
            # The agents stop and remove the containers themselves (cgroups, mounts, veths).
            c.kubectl("delete", "deployments,services", "--all", "--wait=false", check=False, timeout=20)
            c.kubectl("delete", "pods", "--all", "--timeout=40s", check=False, timeout=60)
        except Exception:
            pass
        for a in c.agents:
            a.cleanup()
        N.stop_procs(c.procs)
        teardown_network()
        shutil.rmtree(root, ignore_errors=True)


def web_pod(name, node, labels):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [ctr(
                "web", f"mkdir -p /w && echo {name} > /w/index.html && exec busybox httpd -f -p 8080 -h /w",
                ports=[{"containerPort": 8080}],
                readinessProbe={"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1})]}}


def pod_ip(c, name):
    p = c.get(f"/api/v1/namespaces/default/pods/{name}")
    return p and p["status"].get("phase") == "Running" and p["status"].get("podIP")


def test_pod_to_pod_across_hosts_and_services(cluster):
    c = cluster
    for i in (1, 2, 3):
        c.apply(web_pod(f"web{i}", f"node{i}", {"app": "web"}))
    ips = {i: wait_for(lambda i=i: pod_ip(c, f"web{i}"), timeout=30, what=f"web{i} running") for i in (1, 2, 3)}
    for i in (1, 2, 3):
        assert ips[i].startswith(f"10.123.{10 + i}.")
    # From the pod on node1 to the pods on node2 and node3, through the routes between hosts.
    for j in (2, 3):
        out = wait_for(lambda j=j: c.kubectl("exec", "web1", "--", "busybox", "wget", "-qO-",
                                             f"http://{ips[j]}:8080/index.html", check=False).stdout,
                       timeout=20, what=f"web1 → web{j}")
        assert out == f"web{j}\n"
    out = c.kubectl("exec", "web2", "--", "busybox", "ping", "-c", "1", "-W", "2", ips[3]).stdout
    assert "1 packets received" in out

    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"type": "NodePort", "selector": {"app": "web"},
                      "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]}})
    svc = wait_for(lambda: (c.get("/api/v1/namespaces/default/services/web") or {}).get("spec", {}).get("clusterIP")
                   and c.get("/api/v1/namespaces/default/services/web"), what="cluster IP")
    vip = svc["spec"]["clusterIP"]

    def backends():
        seen = set()
        for _ in range(30):
            p = c.kubectl("exec", "web1", "--", "busybox", "wget", "-qO-", f"http://{vip}/index.html",
                          check=False)
            if p.returncode == 0:
                seen.add(p.stdout.strip())
            if len(seen) == 3:
                break
        return seen
    seen = wait_for(lambda: len(backends()) >= 2 and backends(), timeout=40, what="ClusterIP balancing")
    assert seen <= {"web1", "web2", "web3"}
    # Cluster DNS on each node: the Service's name resolves to its ClusterIP, and a short name
    # through the pod's search path reaches the Service.
    out = wait_for(lambda: c.kubectl("exec", "web2", "--", "busybox", "nslookup", "web.default.svc.cluster.local",
                                     check=False).stdout, timeout=20, what="nslookup")
    assert vip in out, out
    p = c.kubectl("exec", "web2", "--", "busybox", "nslookup", "nosuch.default.svc.cluster.local", check=False)
    assert p.returncode != 0 or "NXDOMAIN" in p.stdout + p.stderr or "can't find" in p.stdout + p.stderr
    out = wait_for(lambda: c.kubectl("exec", "web3", "--", "busybox", "wget", "-qO-", "http://web/index.html",
                                     check=False).stdout, timeout=20, what="wget by service name")
    assert out.strip() in ("web1", "web2", "web3")
    # NodePort: any node's address, from the control-plane host.
    for i in (1, 2, 3):
        out = wait_for(lambda i=i: ns_run(HOSTS[0], "busybox", "wget", "-qO-",
                                          f"http://{host_ip(i)}:30080/index.html", check=False).stdout,
                       timeout=20, what=f"NodePort on node{i}")
        assert out.strip() in ("web1", "web2", "web3")


def test_host_port_from_another_host(cluster):
    """A container's hostPort answers on its node's address from another host (PREROUTING on
    the node), and only on that node; the rule goes with the pod."""
    c = cluster
    hp = 18000 + PID % 1000
    p = web_pod("hostport", "node2", {"app": "hostport"})
    p["spec"]["containers"][0]["ports"] = [{"containerPort": 8080, "hostPort": hp}]
    c.apply(p)
    wait_for(lambda: pod_ip(c, "hostport"), timeout=30, what="hostport pod running")

    def get(i):
        r = ns_run(HOSTS[0], "busybox", "wget", "-qO-", f"http://{host_ip(i)}:{hp}/index.html", check=False)
        return r.stdout if r.returncode == 0 else None
    assert wait_for(lambda: get(2), timeout=20, what="hostPort on node2") == "hostport\n"
    assert get(1) is None  # nothing listens on node1's port
    c.kubectl("delete", "pod", "hostport", "--timeout=30s", timeout=60)
    wait_for(lambda: get(2) is None, timeout=20, what="hostPort rule gone with the pod")


def test_host_cut_off_pods_replaced_and_not_run_twice(cluster):
    c = cluster
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cut"},
             "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "cut"}},
                      "template": {"metadata": {"labels": {"app": "cut"}},
                                   "spec": {"terminationGracePeriodSeconds": 1,
                                            "containers": [ctr("c", "exec sleep 100000")]}}}})

    def pods():
        lst = c.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dcut") or {"items": []}
        return lst["items"]

    def running_pods():
        return [p for p in pods() if p["status"].get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]
    wait_for(lambda: len(running_pods()) == 3, timeout=40, what="3 replicas running")
    by_node = {}
    for p in running_pods():
        by_node.setdefault(p["spec"]["nodeName"], []).append(p["metadata"]["name"])
    victim_node = max(by_node, key=lambda n: len(by_node[n]))
    victims = set(by_node[victim_node])
    vi = int(victim_node[-1])
    agent = c.agents[vi - 1]
    uids = {p["metadata"]["uid"] for p in running_pods() if p["metadata"]["name"] in victims}

    run("ip", "-n", SW, "link", "set", f"v{vi}", "down")  # the host drops off the network
    t0 = time.time()

    def replaced():
        ok = [p for p in running_pods() if p["metadata"]["name"] not in victims]
        return len(ok) == 3 and all(p["spec"]["nodeName"] != victim_node for p in ok
                                    if p["metadata"]["name"] not in victims)
    wait_for(replaced, timeout=60, what="replacements running on other hosts")
    took = time.time() - t0
    # The cut-off host still runs its containers (it cannot know yet).
    assert any(os.path.isdir(os.path.join(agent.dir, "agent", "pods", u)) for u in uids)

    run("ip", "-n", SW, "link", "set", f"v{vi}", "up")  # it comes back
    wait_for(lambda: not any(os.path.isdir(os.path.join(agent.dir, "agent", "pods", u)) for u in uids),
             timeout=40, what="the old pods stopped on the returning host")
    wait_for(lambda: not (set(p["metadata"]["name"] for p in pods()) & victims), timeout=30,
             what="old pod objects gone")
    assert len(running_pods()) == 3
    print(f"replacement running {took:.1f}s after the host was cut off")
