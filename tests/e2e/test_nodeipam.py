"""Node IPAM end to end: `drover up` with no --pod-cidr anywhere. Its controllers give the node
a pod CIDR from --cluster-cidr, its agent waits for it and puts pods on the bridge: a pod
reaches another pod's IP, and a ClusterIP Service in front of it. Everything runs in a network
namespace this test creates (bridge, routes, iptables rules and pod traffic stay in it), with a
unique bridge name and cluster CIDR besides."""
import ipaddress
import os
import random
import shutil
import subprocess
import tempfile

import pytest

import agentlib as A
import netnslib as N
from agentlib import ctr, wait_for
from conftest import DROVER, Process, run

PID = os.getpid() % 100000
NS = f"drvipam{PID}"
BRIDGE = f"drvi{PID}"
NODE = f"ipam-{PID}"


def in_ns(*args):
    return N.nsenter(NS, *args)


class Up(Process, N.KubectlIn):
    def __init__(self, root):
        self.root = root
        self.data = os.path.join(root, "data")
        self.kubeconfig = os.path.join(self.data, "kubeconfig")
        self.cidr_octet = random.randint(100, 250)
        self.cluster_cidr = f"10.{self.cidr_octet}.0.0/16"
        self.proc = None
        self.log = None

    def start(self):
        port, aport = random.randint(20000, 40000), random.randint(40001, 60000)
        self.log = open(os.path.join(self.root, "up.log"), "ab")
        self.proc = subprocess.Popen(in_ns(DROVER, "up", "--data-dir", self.data, "--listen", f"127.0.0.1:{port}",
                                           "--agent-listen", f"127.0.0.1:{aport}", "--node-name", NODE,
                                           "--bridge", BRIDGE, "--cluster-cidr", self.cluster_cidr),
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            assert self.proc.poll() is None, f"drover up exited {self.proc.returncode}: {self.logtext()}"
            return os.path.exists(self.kubeconfig) and \
                self.kubectl("get", "--raw", "/healthz", check=False).returncode == 0
        wait_for(up, timeout=30, what="drover up")

    def logtext(self):
        try:
            with open(os.path.join(self.root, "up.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def in_ns(self, *args):
        return in_ns(*args)



@pytest.fixture(scope="module")
def up():
    N.kill_and_delete(NS)
    root = tempfile.mkdtemp(prefix=f"drv-ipam-{PID}-")
    run("ip", "netns", "add", NS)
    u = Up(root)
    try:
        run("ip", "-n", NS, "link", "set", "lo", "up")
        A.import_busybox(u.data, root)
        u.start()
        yield u
    finally:
        try:
            # pods first: containers outlive drover
            u.kubectl("delete", "services,pods", "--all", "--timeout=40s", check=False, timeout=60)
        except Exception:
            pass
        u.stop()
        leftover = object.__new__(A.Agent)
        leftover.dir, leftover.netns, leftover.proc, leftover.log = u.data, NS, None, None
        leftover.cleanup()
        # the bridge, veths, routes and iptables rules go with the namespace
        N.kill_and_delete(NS)
        shutil.rmtree(root, ignore_errors=True)


def web_pod(name, labels=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [ctr(
                "web", f"mkdir -p /w && echo hello-{name} > /w/index.html && exec busybox httpd -f -p 8080 -h /w",
                ports=[{"containerPort": 8080}])]}}


def wget_from(u, pod, url, what, timeout=30):
    """Output of wget in pod (retried: rules and routes take a moment); the last error when none."""
    last = {}

    def once():
        p = u.kubectl("exec", pod, "--", "busybox", "wget", "-qO-", url, check=False)
        last["p"] = p
        return p.stdout if p.returncode == 0 else None
    try:
        return wait_for(once, timeout=timeout, what=what)
    except AssertionError:
        p = last.get("p")
        raise AssertionError(f"{what}: {url} from {pod}: rc {p.returncode if p else None} "
                             f"stderr {p.stderr if p else None}\n{u.logtext()}")


def pod_ip(u, name):
    p = u.get(f"/api/v1/namespaces/default/pods/{name}") or {}
    st = p.get("status", {})
    if st.get("phase") != "Running" or not st.get("podIP"):
        return None
    return st["podIP"]


def test_node_gets_pod_cidr_and_pods_talk(up):
    node = wait_for(lambda: (up.get(f"/api/v1/nodes/{NODE}") or {}).get("spec", {}).get("podCIDR") and
                    up.get(f"/api/v1/nodes/{NODE}"), timeout=20, what="spec.podCIDR")
    cidr = node["spec"]["podCIDR"]
    # the first node gets the cluster CIDR's first /24
    assert cidr == f"10.{up.cidr_octet}.0.0/24", node["spec"]
    assert node["spec"].get("podCIDRs") == [cidr]
    assert "pod CIDR " + cidr in up.logtext()
    net = ipaddress.ip_network(cidr)
    # the agent sets the bridge up on the first address of it (once it has seen the CIDR)
    gw = f"{net.network_address + 1}/24"
    wait_for(lambda: gw in run("ip", "-n", NS, "-4", "-o", "addr", "show", "dev", BRIDGE, check=False).stdout,
             timeout=20, what=f"bridge {BRIDGE} on {gw}")

    up.apply(web_pod("web", {"app": "ipamweb"}))
    up.apply(web_pod("client"))
    ips = {n: wait_for(lambda n=n: pod_ip(up, n), timeout=90, what=f"{n} running with an IP") for n in ("web", "client")}
    for n, ip in ips.items():
        assert ipaddress.ip_address(ip) in net, (n, ip, cidr)
    assert ips["web"] != ips["client"]

    # pod → pod over the bridge
    out = wget_from(up, "client", f"http://{ips['web']}:8080/index.html", "wget pod IP")
    assert "hello-web" in out

    # pod → ClusterIP Service → pod (the agent's iptables rules in this namespace)
    up.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ipamweb"},
              "spec": {"selector": {"app": "ipamweb"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    vip = wait_for(lambda: (up.get("/api/v1/namespaces/default/services/ipamweb") or {}).get("spec", {})
                   .get("clusterIP"), timeout=20, what="clusterIP")
    out = wget_from(up, "client", f"http://{vip}/index.html", "wget ClusterIP")
    assert "hello-web" in out


def test_node_ipam_flags_are_checked(tmpdir_root):
    for args, flag in ((["--cluster-cidr", "10.244.0/16"], "--cluster-cidr"),
                       (["--cluster-cidr", "10.244.0.0/16", "--node-cidr-mask-size", "8"], "--node-cidr-mask-size"),
                       (["--allocate-node-cidrs=maybe"], "--allocate-node-cidrs")):
        p = run(DROVER, "up", "--data-dir", tmpdir_root, *args, check=False, timeout=20)
        assert p.returncode == 2 and flag in p.stderr, (args, p.stderr)
        p = run(DROVER, "controllers", *args, check=False, timeout=20)
        assert p.returncode == 2 and flag in p.stderr, (args, p.stderr)
    # nothing was started
    assert not os.path.exists(os.path.join(tmpdir_root, "kubeconfig"))


def test_range_full_release_and_restart(tmpdir_root):
    """Two /24s in the range: a third Node gets CIDRAssignmentFailed, then the subnet a deleted
    Node frees; a restarted control plane hands out neither of the held subnets again."""
    from apiserver import Server
    octet = random.randint(100, 250)
    flags = ["--no-agent", "--cluster-cidr", f"10.{octet}.0.0/23", "--node-cidr-mask-size", "24"]
    s = Server(verb="up", data_dir=tmpdir_root, extra=flags)

    def node(name):
        code, obj = s.http("POST", "/api/v1/nodes", body={"apiVersion": "v1", "kind": "Node",
                                                           "metadata": {"name": name}})
        assert code == 201, obj

    def cidr(name):
        code, obj = s.http("GET", f"/api/v1/nodes/{name}")
        return obj.get("spec", {}).get("podCIDR") if code == 200 else None

    try:
        node("n1")
        assert wait_for(lambda: cidr("n1"), timeout=20, what="n1 podCIDR") == f"10.{octet}.0.0/24"
        node("n2")
        assert wait_for(lambda: cidr("n2"), timeout=20, what="n2 podCIDR") == f"10.{octet}.1.0/24"
        node("n3")

        def failed_event():
            code, ev = s.http("GET", "/api/v1/events")
            return [e for e in ev.get("items", []) if e.get("reason") == "CIDRAssignmentFailed"
                    and e["involvedObject"].get("name") == "n3"]
        ev = wait_for(failed_event, timeout=20, what="CIDRAssignmentFailed event")
        assert ev[0]["type"] == "Warning" and ev[0]["involvedObject"]["kind"] == "Node", ev
        assert cidr("n3") is None
        code, _ = s.http("DELETE", "/api/v1/nodes/n1")
        assert code == 200
        assert wait_for(lambda: cidr("n3"), timeout=20, what="n3 gets n1's subnet") == f"10.{octet}.0.0/24"

        # restart: the subnets held come from the Nodes; none is handed out twice
        s.stop()
        s.start()
        node("n4")
        # the range is full while n2 and n3 hold both subnets: n4 gets none
        assert wait_for(lambda: [e for e in s.http("GET", "/api/v1/events")[1].get("items", [])
                                 if e.get("reason") == "CIDRAssignmentFailed"
                                 and e["involvedObject"].get("name") == "n4"], timeout=20, what="n4 failed")
        assert cidr("n4") is None
        assert {cidr("n2"), cidr("n3")} == {f"10.{octet}.0.0/24", f"10.{octet}.1.0/24"}
    finally:
        s.stop()


def test_agent_waits_for_cidr_from_controllers(tmpdir_root):
    """A separate `drover agent` (no --pod-cidr) against a control plane whose controllers hold
    their Lease: it waits for node IPAM and sets its bridge up on the assigned CIDR."""
    ns, bridge = f"drvipb{PID}", f"drvj{PID}"
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    run("ip", "netns", "add", ns)
    octet = random.randint(100, 250)
    cp = os.path.join(tmpdir_root, "cp")
    os.makedirs(cp)
    log = open(os.path.join(tmpdir_root, "cp.log"), "ab")
    procs = []
    try:
        run("ip", "-n", ns, "link", "set", "lo", "up")
        port = random.randint(20000, 40000)
        procs.append(subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", DROVER, "up", "--no-agent",
                                       "--data-dir", cp, "--listen", f"127.0.0.1:{port}",
                                       "--cluster-cidr", f"10.{octet}.0.0/16"], stdout=log, stderr=subprocess.STDOUT))
        kc = os.path.join(cp, "kubeconfig")
        wait_for(lambda: os.path.exists(kc), timeout=20, what="kubeconfig")
        node = f"ipamb-{PID}"
        adir = os.path.join(tmpdir_root, "agent")
        os.makedirs(adir)
        agent = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", DROVER, "agent", "--kubeconfig", kc,
                                  "--data-dir", adir, "--node-name", node, "--node-ip", "127.0.0.1",
                                  "--listen", "127.0.0.1:0", "--bridge", bridge],
                                 stdout=log, stderr=subprocess.STDOUT)
        procs.append(agent)

        def bridge_addr():
            p = run("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", bridge, check=False)
            return p.returncode == 0 and f"10.{octet}.0.1/24" in p.stdout
        wait_for(bridge_addr, timeout=30, what="agent bridge on the assigned CIDR")
        text = open(os.path.join(tmpdir_root, "cp.log")).read()
        assert f"node {node}: pod CIDR 10.{octet}.0.0/24 assigned by the control plane" in text, text[-3000:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        log.close()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
