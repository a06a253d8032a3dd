"""hostPort, and two agents sharing one network namespace (as two nodes on one host): a network
namespace this test creates holds `drover server`, `drover scheduler` and two `drover agent`s,
each with its own bridge, pod CIDR and node address (on the namespace's loopback). A container's hostPort
answers on the node's addresses, on localhost and from other pods (hairpin included), a hostIP
limits it to that address, the rule goes with the pod, the scheduler keeps a second pod with the
same hostPort off the node until the port is free, and the two agents' iptables chains neither
clobber each other nor get removed by the other's cleanup."""
import os
import random
import shutil
import subprocess
import tempfile

import pytest

import agentlib as A
import netnslib as N
from agentlib import ctr, wait_for
from conftest import DROVER, run

PID = os.getpid() % 100000
NS = f"drvhp{PID}"
NET = "10.77"
NODES = [f"hpa-{PID}", f"hpb-{PID}"]
NODE_IPS = [f"{NET}.0.1", f"{NET}.0.2"]
EXTRA_IP = f"{NET}.0.3"


def in_ns(*args):
    return N.nsenter(NS, *args)


def fetch(url, timeout=3):
    """The body at url from the namespace (the node itself), None when it does not answer."""
    get = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())"
    p = subprocess.run(in_ns("/usr/bin/python3", "-c", get, url, str(timeout)), capture_output=True, text=True,
                       timeout=timeout + 10)
    return p.stdout if p.returncode == 0 else None


class Env(N.KubectlIn):
    def __init__(self, root):
        self.root = root
        self.procs = []
        self.agents = []
        self.kubeconfig = os.path.join(root, "cp", "kubeconfig")

    def in_ns(self, *args):
        return in_ns(*args)

    def spawn(self, args, log):
        f = open(os.path.join(self.root, log), "ab")
        p = subprocess.Popen(in_ns(*args), stdout=f, stderr=subprocess.STDOUT)
        self.procs.append((p, f))
        return p

    def nat(self):
        return run(*in_ns("iptables-save", "-t", "nat")).stdout


def teardown_ns():
    N.kill_and_delete(NS)


@pytest.fixture(scope="module")
def env():
    teardown_ns()
    root = tempfile.mkdtemp(prefix=f"drv-hp-{PID}-")
    run("ip", "netns", "add", NS)
    e = Env(root)
    try:
        run("ip", "-n", NS, "link", "set", "lo", "up")
        # the nodes' addresses: local ones of the namespace (no dummy links on every kernel)
        for ip in NODE_IPS + [EXTRA_IP]:
            run("ip", "-n", NS, "addr", "add", f"{ip}/32", "dev", "lo")
        port = random.randint(20000, 40000)
        e.spawn([DROVER, "server", "--data-dir", os.path.join(root, "cp"), "--listen", f"127.0.0.1:{port}"],
                "server.log")
        wait_for(lambda: os.path.exists(e.kubeconfig) and
                 e.kubectl("get", "--raw", "/healthz", check=False).returncode == 0, timeout=30, what="server up")
        e.spawn([DROVER, "scheduler", "--kubeconfig", e.kubeconfig], "scheduler.log")
        token = [l.split(":", 1)[1].strip() for l in open(e.kubeconfig) if l.strip().startswith("token:")][0]
        for i, node in enumerate(NODES):
            d = os.path.join(root, f"node{i}")
            A.import_busybox(d, root)
            e.agents.append(A.Agent(None, d, node, netns=NS, server_url=f"https://127.0.0.1:{port}", token=token,
                                    extra=["--node-ip", NODE_IPS[i], "--listen", f"{NODE_IPS[i]}:0",
                                           "--pod-cidr", f"{NET}.{1 + i}.0/24", "--bridge", f"drvh{'ab'[i]}{PID}"]))

        def ready():
            nodes = e.get("/api/v1/nodes") or {"items": []}
            return len([n for n in nodes["items"] if any(x["type"] == "Ready" and x["status"] == "True"
                                                        for x in n["status"].get("conditions", []))]) == 2
        wait_for(ready, timeout=30, what="2 nodes Ready")
        yield e
    finally:
        try:
            e.kubectl("delete", "pods", "--all", "--timeout=40s", check=False, timeout=60)
        except Exception:
            pass
        for a in e.agents:
            a.cleanup()
        N.stop_procs(e.procs)
        # the bridges, veths and iptables rules go with the namespace
        teardown_ns()
        shutil.rmtree(root, ignore_errors=True)


def web(name, text, ports, node=None, selector=None):
    spec = {"terminationGracePeriodSeconds": 1, "containers": [ctr(
        "web", f"mkdir -p /w && echo {text} > /w/index.html && exec busybox httpd -f -p 8080 -h /w", ports=ports)]}
    if node:
        spec["nodeName"] = node
    if selector:
        spec["nodeSelector"] = selector
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def running(e, name):
    p = e.get(f"/api/v1/namespaces/default/pods/{name}")
    return p and p["status"].get("phase") == "Running" and p


def test_host_ports_two_agents_one_namespace(env):
    e = env
    hp_a, hp_b, hp_ip, hp_self = random.sample(range(18000, 19000), 4)
    e.apply(web("web-a", "hello-a", [{"containerPort": 8080, "hostPort": hp_a}], node=NODES[0]))
    e.apply(web("web-b", "hello-b", [{"containerPort": 8080, "hostPort": hp_b}], node=NODES[1]))
    e.apply(web("web-ip", "hello-ip", [{"containerPort": 8080, "hostPort": hp_ip, "hostIP": EXTRA_IP}], node=NODES[0]))
    for n in ("web-a", "web-b", "web-ip"):
        wait_for(lambda n=n: running(e, n), timeout=40, what=f"{n} running")

    # Both agents' hostPorts at once: neither agent's sync wipes the other's chains.
    a = wait_for(lambda: fetch(f"http://{NODE_IPS[0]}:{hp_a}/index.html"), timeout=20, what="hostPort on node A")
    assert a == "hello-a\n"
    b = wait_for(lambda: fetch(f"http://{NODE_IPS[1]}:{hp_b}/index.html"), timeout=20, what="hostPort on node B")
    assert b == "hello-b\n"
    assert fetch(f"http://{NODE_IPS[0]}:{hp_a}/index.html") == "hello-a\n"  # still there after B's syncs
    nat = e.nat()
    owners = {l.split()[0][1:] for l in nat.splitlines() if l.startswith(":DRV-") and l.split()[0].endswith("-HOSTPORTS")}
    assert len(owners) == 2, nat
    # localhost, as the portmap plugin allows
    assert wait_for(lambda: fetch(f"http://127.0.0.1:{hp_a}/index.html"), timeout=10,
                    what="hostPort on localhost") == "hello-a\n"
    # from a pod on the other bridge to node A's address, from one on the same bridge, and a pod
    # to its own hostPort (hairpin through the bridge, masqueraded): each turns Ready once it got
    # the page
    def until_ok(url, text):
        return (f"until busybox timeout 3 busybox wget -qO /tmp/got {url} && busybox grep -q {text} /tmp/got; "
                f"do sleep 0.3; done; touch /tmp/ok; exec sleep 3600")
    url_a = f"http://{NODE_IPS[0]}:{hp_a}/index.html"
    url_self = f"http://{NODE_IPS[0]}:{hp_self}/index.html"
    clients = {
        "client-b": (NODES[1], until_ok(url_a, "hello-a"), []),
        "client-a": (NODES[0], until_ok(url_a, "hello-a"), []),
        "self": (NODES[0], "mkdir -p /w && echo hello-self > /w/index.html && (busybox httpd -f -p 8080 -h /w &) && "
                 + until_ok(url_self, "hello-self"), [{"containerPort": 8080, "hostPort": hp_self}]),
    }
    for name, (node, script, ports) in clients.items():
        e.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                 "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [ctr(
                     "c", script, ports=ports, readinessProbe={"exec": {"command": ["busybox", "test", "-f", "/tmp/ok"]},
                                                               "periodSeconds": 1})]}})

    def ready(name):
        p = e.get(f"/api/v1/namespaces/default/pods/{name}") or {}
        return any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
    for name in clients:
        wait_for(lambda name=name: ready(name), timeout=40, what=f"{name} got its page through the hostPort")
    # hostIP: that address only
    assert wait_for(lambda: fetch(f"http://{EXTRA_IP}:{hp_ip}/index.html"), timeout=10,
                    what="hostPort on its hostIP") == "hello-ip\n"
    assert fetch(f"http://{NODE_IPS[0]}:{hp_ip}/index.html", timeout=2) is None

    # The scheduler keeps a second pod with the same hostPort off node A while web-a holds it.
    e.apply(web("dup", "hello-dup", [{"containerPort": 8080, "hostPort": hp_a}],
                selector={"kubernetes.io/hostname": NODES[0]}))

    def unschedulable():
        p = e.get("/api/v1/namespaces/default/pods/dup") or {}
        for c in p.get("status", {}).get("conditions", []):
            if c["type"] == "PodScheduled" and c["status"] == "False":
                return c
        return None
    cond = wait_for(unschedulable, timeout=20, what="dup unschedulable")
    assert "didn't have free ports for the requested pod ports" in cond.get("message", ""), cond
    assert not (e.get("/api/v1/namespaces/default/pods/dup") or {}).get("spec", {}).get("nodeName")

    # web-a goes: its rule goes with it, and the port is free for dup, which then serves on it.
    e.kubectl("delete", "pod", "web-a", "--timeout=40s", timeout=60)
    wait_for(lambda: f"--dport {hp_a} " not in e.nat() or
             "hello-dup" in (fetch(f"http://{NODE_IPS[0]}:{hp_a}/index.html", timeout=2) or ""),
             timeout=20, what="web-a's rule removed")
    wait_for(lambda: running(e, "dup"), timeout=60, what="dup scheduled and running once the port is free")
    assert wait_for(lambda: fetch(f"http://{NODE_IPS[0]}:{hp_a}/index.html"), timeout=20,
                    what="dup on the hostPort") == "hello-dup\n"
    # bound to the node directly, past the scheduler: the agent refuses it, as kubelet's admission
    e.apply(web("clash", "hello-clash", [{"containerPort": 8080, "hostPort": hp_a}], node=NODES[0]))

    def failed():
        st = (e.get("/api/v1/namespaces/default/pods/clash") or {}).get("status", {})
        return st.get("phase") == "Failed" and st
    st = wait_for(failed, timeout=20, what="clash rejected")
    assert st["reason"] == "NodePorts" and "didn't have free ports" in st["message"], st
    assert fetch(f"http://{NODE_IPS[0]}:{hp_a}/index.html") == "hello-dup\n"

    # Agent A's cleanup removes its chains only: B's rules keep working.
    A_agent = e.agents[0]
    A_agent.stop()
    run(*in_ns(DROVER, "agent", "--cleanup-iptables", "--data-dir", A_agent.dir, "--node-name", NODES[0]))
    nat = e.nat()
    left = {l.split()[0][1:] for l in nat.splitlines() if l.startswith(":DRV-") and l.split()[0].endswith("-HOSTPORTS")}
    assert len(left) == 1 and left < owners, nat
    assert fetch(f"http://{NODE_IPS[0]}:{hp_a}/index.html", timeout=2) is None
    assert fetch(f"http://{NODE_IPS[1]}:{hp_b}/index.html") == "hello-b\n"
    # back for the teardown (it removes the pods through the agents)
    A_agent.start()
