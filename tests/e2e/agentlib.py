"""Helpers for the node agent suites: a busybox image imported into an agent's data dir, a
`drover agent` process, and a clean-up that leaves no container, sandbox, mount or cgroup behind
(containers outlive the agent by design, so the tests remove them explicitly)."""
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import imagelib as L
from apiserver import Server, free_port
from conftest import DROVER, Process, run

IMAGE = "drover.test/busybox:v1"


def import_busybox(data_dir, root):
    layout = os.path.join(root, "layout")
    if not os.path.exists(layout):
        img = L.Image([(L.busybox_layer(), "gzip")], config={"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]})
        img.write_layout(layout, tag="v1")
    run(DROVER, "image", "import", "--data-dir", data_dir, "--name", IMAGE, layout, timeout=120)


def wait_for(cond, timeout=30, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = cond()
        except (AssertionError, KeyError, IndexError, ValueError, TypeError, OSError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Agent(Process):
    def __init__(self, server, data_dir, node, extra=(), netns=None, server_url=None, token=None):
        self.server, self.dir, self.node = server, data_dir, node
        self.extra, self.netns = list(extra), netns
        self.server_url, self.token = server_url, token
        self.proc = None
        os.makedirs(data_dir, exist_ok=True)
        self.start()

    def cmd(self):
        c = [DROVER, "agent", "--data-dir", self.dir, "--node-name", self.node]
        if self.server_url:
            c += ["--server", self.server_url, "--token", self.token]
        else:
            c += ["--kubeconfig", self.server.kubeconfig, "--node-ip", "127.0.0.1", "--listen", "127.0.0.1:0"]
        c += self.extra
        if self.netns:
            # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup hierarchies.
            c = ["nsenter", f"--net=/run/netns/{self.netns}"] + c
        return c

    def start(self):
        self.log = open(os.path.join(self.dir, "agent.log"), "ab")
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)

    def logtext(self):
        try:
            with open(os.path.join(self.dir, "agent.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def cleanup(self):
        """Stops the agent and removes what it left running: containers, sandboxes, mounts."""
        self.stop()
        wrap = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
        rt_root = os.path.join(self.dir, "agent", "runtime")
        if os.path.isdir(rt_root):
            for cid in os.listdir(rt_root):
                subprocess.run(wrap + [DROVER, "runtime", "--root", rt_root, "delete", "-f", cid],
                               capture_output=True, timeout=60)
        for st in glob.glob(os.path.join(self.dir, "agent", "pods", "*", "sandbox.pid")):
            try:
                os.kill(int(open(st).read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for line in reversed(open("/proc/self/mountinfo").read().splitlines()):
            mp = line.split()[4]
            if mp.startswith(self.dir):
                subprocess.run(["umount", "-l", mp], capture_output=True)
        for uid_dir in glob.glob(os.path.join(self.dir, "agent", "pods", "*")):
            uid = os.path.basename(uid_dir)
            # the pod's cgroup: under its QoS class (kubepods[/burstable|/besteffort]), or the
            # older flat layout
            cgs = glob.glob(f"/sys/fs/cgroup/*/drover/pods/pod{uid}") + \
                glob.glob(f"/sys/fs/cgroup/*/drover/kubepods/pod{uid}") + \
                glob.glob(f"/sys/fs/cgroup/*/drover/kubepods/*/pod{uid}")
            for cg in cgs:
                for sub in sorted(glob.glob(cg + "/*/"), reverse=True):
                    try:
                        os.rmdir(sub)
                    except OSError:
                        pass
                try:
                    os.rmdir(cg)
                except OSError:
                    pass


def pod_status(server, name, ns="default"):
    code, obj = server.http("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    return obj.get("status", {}) if code == 200 else None


def ctr_status(server, pod, ctr, ns="default"):
    st = pod_status(server, pod, ns) or {}
    for c in st.get("containerStatuses", []) + st.get("initContainerStatuses", []):
        if c["name"] == ctr:
            return c
    return None


def create_pod(server, spec, ns="default"):
    code, obj = server.http("POST", f"/api/v1/namespaces/{ns}/pods", body=spec)
    assert code == 201, obj
    return obj


def pod(name, node, containers, **spec):
    s = {"nodeName": node, "containers": containers, "terminationGracePeriodSeconds": 2}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}


def ctr(name, script, **kw):
    c = {"name": name, "image": IMAGE, "command": ["sh", "-c", script]}
    c.update(kw)
    return c


def delete_all_pods(server, timeout=30):
    code, lst = server.http("GET", "/api/v1/pods")
    for p in lst.get("items", []) if code == 200 else []:
        server.http("DELETE", f"/api/v1/namespaces/{p['metadata']['namespace']}/pods/{p['metadata']['name']}")

    def none_left():
        c, l = server.http("GET", "/api/v1/pods")
        return c == 200 and not l.get("items")
    try:
        wait_for(none_left, timeout=timeout, what="pods removed")
    except AssertionError:
        pass


def running(server, name):
    st = pod_status(server, name) or {}
    return st.get("phase") == "Running" and all("running" in c["state"] for c in st.get("containerStatuses", [])) \
        and st.get("containerStatuses")


@contextlib.contextmanager
def server_with_agent(prefix, node, agent_kw=None):
    """A drover server and one registered agent with the busybox test image in a temporary
    root; afterwards their pods are deleted and both stopped, with everything they left.
    agent_kw: Agent's keyword arguments, or a function of the server returning them.
    Yields (root, server, agent)."""
    root = tempfile.mkdtemp(prefix=f"drv-{prefix}-{os.getpid()}-")
    s = a = None
    try:
        s = Server(data_dir=os.path.join(root, "server"))
        data = os.path.join(root, "node")
        import_busybox(data, root)
        kw = agent_kw(s) if callable(agent_kw) else dict(agent_kw or {})
        a = Agent(s, data, node, **kw)
        wait_for(lambda: s.http("GET", f"/api/v1/nodes/{node}")[0] == 200, what="node registered")
        yield root, s, a
    finally:
        if s and a:
            delete_all_pods(s, timeout=30)
        if a:
            a.cleanup()
        if s:
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def up_with_busybox(prefix, node):
    """`drover up` (server, control loops, local agent) in a temporary root with the busybox test
    image imported; afterwards its pods are deleted, it is stopped, and what its agent left
    (containers, mounts, cgroups) is removed. Yields the Server."""
    root = tempfile.mkdtemp(prefix=f"drv-{prefix}-{os.getpid()}-")
    data = os.path.join(root, "data")
    os.makedirs(data)
    import_busybox(data, root)
    s = Server(verb="up", data_dir=data,
               extra=["--agent-listen", f"127.0.0.1:{free_port()}", "--node-name", node,
                      "--allocate-node-cidrs=false"])
    try:
        yield s
    finally:
        try:
            delete_all_pods(s, timeout=30)
        except Exception:  # the server may be down after a failed test: clean up below anyway
            pass
        s.stop()
        leftover = object.__new__(Agent)
        leftover.dir, leftover.netns, leftover.proc, leftover.log = data, None, None, None
        leftover.cleanup()
        shutil.rmtree(root, ignore_errors=True)
