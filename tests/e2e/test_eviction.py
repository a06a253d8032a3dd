"""Pod-level cgroups and node-pressure eviction on one node (`drover server` + `drover agent`).

Pods get a cgroup under their QoS class (kubepods, kubepods/burstable, kubepods/besteffort)
holding the sandbox and the containers, with the pod's summed limits. Pressure is produced
without eating memory or disk: the agent is restarted with a hard threshold the machine already
crosses (memory.available<100Ti, then nodefs.available<1000Ti), as kubelet's --eviction-hard."""
import os
import subprocess
import time

import pytest

from apiserver import Server
from conftest import terminate
import agentlib as A
from agentlib import ctr, pod, wait_for

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cg_file(controller, rel, name):
    """A file of the group rel (e.g. drover/kubepods/pod<uid>) for a v1 controller or on v2."""
    base = "/sys/fs/cgroup" if V2 else f"/sys/fs/cgroup/{controller}"
    return os.path.join(base, rel, name)


def read(path):
    with open(path) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def env():
    node = f"ev{os.getpid()}"
    with A.server_with_agent("evict", node, {"extra": ["--eviction-hard", "", "--pod-max-pids", "200"]}) as (_, s, a):
        yield {"server": s, "agent": a, "node": node}


def restart_agent(a, flags):
    a.stop()
    a.extra = list(flags)
    a.start()


def condition(s, node, kind):
    code, n = s.http("GET", f"/api/v1/nodes/{node}")
    for c in n.get("status", {}).get("conditions", []) if code == 200 else []:
        if c["type"] == kind:
            return c
    return None


def uid_of(s, name):
    return s.http("GET", f"/api/v1/namespaces/default/pods/{name}")[1]["metadata"]["uid"]


def test_pod_cgroups_and_memory_eviction_order(env):
    s, node, agent = env["server"], env["node"], env["agent"]
    sleep = "exec sleep 3600"

    def hold(mb):  # tail keeps mb MiB while it waits to write them to sleep
        return f"busybox head -c {mb}m /dev/zero | busybox tail | busybox sleep 3600"
    # kubelet's order: pods over their requests first, the most over first (be 16 MiB over,
    # burst ~6 MiB over), then the others (guar, under its requests)
    A.create_pod(s, pod("be", node, [ctr("c", hold(16))]))
    A.create_pod(s, pod("burst", node, [ctr("c", hold(8), resources={"requests": {"memory": "1Mi"},
                                                                     "limits": {"memory": "64Mi"}}),
                                        ctr("d", sleep, resources={"requests": {"memory": "1Mi"},
                                                                   "limits": {"memory": "32Mi", "cpu": "200m"}})]))
    A.create_pod(s, pod("guar", node, [ctr("c", sleep, resources={"limits": {"memory": "32Mi", "cpu": "100m"}})]))
    for n in ("be", "burst", "guar"):
        wait_for(lambda n=n: A.running(s, n), timeout=40, what=f"{n} running")

    # QoS classes and the groups under their parents, with the pods' summed limits
    assert {n: A.pod_status(s, n)["qosClass"] for n in ("be", "burst", "guar")} == \
        {"be": "BestEffort", "burst": "Burstable", "guar": "Guaranteed"}
    u = {n: uid_of(s, n) for n in ("be", "burst", "guar")}
    groups = {"be": f"drover/kubepods/besteffort/pod{u['be']}", "burst": f"drover/kubepods/burstable/pod{u['burst']}",
              "guar": f"drover/kubepods/pod{u['guar']}"}
    if V2:
        assert read(cg_file("memory", groups["burst"], "memory.max")) == str(96 << 20)
        assert read(cg_file("memory", groups["guar"], "memory.max")) == str(32 << 20)
        assert read(cg_file("cpu", groups["guar"], "cpu.max")) == "10000 100000"
        assert read(cg_file("cpu", groups["be"], "cpu.weight")) == "1"
        assert read(cg_file("pids", groups["burst"], "pids.max")) == "200"
    else:
        assert int(read(cg_file("memory", groups["burst"], "memory.limit_in_bytes"))) == 96 << 20
        assert int(read(cg_file("memory", groups["guar"], "memory.limit_in_bytes"))) == 32 << 20
        assert read(cg_file("cpu", groups["guar"], "cpu.cfs_quota_us")) == "10000"
        # one container of burst has no cpu limit: no pod cpu quota
        assert read(cg_file("cpu", groups["burst"], "cpu.cfs_quota_us")) == "-1"
        assert read(cg_file("cpu", groups["be"], "cpu.shares")) == "2"
        assert read(cg_file("cpu", "drover/kubepods/besteffort", "cpu.shares")) == "2"
        assert read(cg_file("pids", groups["burst"], "pids.max")) == "200"
    # the sandbox sits in the pod's sandbox leaf, the containers in groups of their own beside it
    pods_dir = os.path.join(agent.dir, "agent", "pods", u["burst"])
    sandbox = read(os.path.join(pods_dir, "sandbox.pid"))
    wait_for(lambda: sandbox in read(cg_file("memory", groups["burst"] + "/sandbox", "cgroup.procs")).split(),
             timeout=10, what="sandbox in the pod's sandbox leaf")
    base = os.path.dirname(cg_file("memory", groups["burst"], "cgroup.procs"))
    subs = [d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)) and d != "sandbox"]
    assert len(subs) == 2, subs
    assert all(read(os.path.join(base, d, "cgroup.procs")) for d in subs)

    # Memory pressure: a threshold no machine clears. The restarted agent re-adopts the pods, then
    # evicts them one at a time in kubelet's order.
    before = s.http("GET", f"/api/v1/nodes/{node}")[1]["status"]
    restart_agent(agent, ["--eviction-hard", "memory.available<100Ti"])
    cond = wait_for(lambda: (condition(s, node, "MemoryPressure") or {}).get("status") == "True" and
                    condition(s, node, "MemoryPressure"), timeout=20, what="MemoryPressure")
    assert cond["reason"] == "KubeletHasInsufficientMemory", cond
    # and kubelet's event on the node, by the node's name as uid as `kubectl describe node` asks

    def pressure_event():
        evs = s.http("GET", f"/api/v1/events?fieldSelector=involvedObject.kind%3DNode,involvedObject.uid%3D{node}")[1]
        return [e for e in evs["items"] if e["reason"] == "NodeHasInsufficientMemory"]
    ev = wait_for(pressure_event, timeout=10, what="NodeHasInsufficientMemory event")[0]
    assert ev["message"] == f"Node {node} status is now: NodeHasInsufficientMemory", ev
    # the hard threshold is held back from allocatable (none was before: --eviction-hard "")
    n = s.http("GET", f"/api/v1/nodes/{node}")[1]["status"]
    assert n["allocatable"]["memory"] == "0Ki", n["allocatable"]
    assert before["allocatable"]["memory"] == before["capacity"]["memory"], before
    assert condition(s, node, "DiskPressure")["status"] == "False"
    failed_at = {}

    def all_failed():
        for n in ("be", "burst", "guar"):
            if n not in failed_at and (A.pod_status(s, n) or {}).get("phase") == "Failed":
                failed_at[n] = time.monotonic()
        return len(failed_at) == 3
    wait_for(all_failed, timeout=40, interval=0.05, what="all three evicted")
    assert failed_at["be"] < failed_at["burst"] < failed_at["guar"], failed_at
    st = A.pod_status(s, "burst")
    assert st["reason"] == "Evicted", st
    assert st["message"].startswith("The node was low on resource: memory. Threshold quantity: 100Ti, available: "), st
    assert "Container c was using " in st["message"] and "request is 1Mi" in st["message"], st["message"]
    assert all("terminated" in c["state"] for c in st["containerStatuses"]), st
    dt = [c for c in st["conditions"] if c["type"] == "DisruptionTarget"]
    assert dt and dt[0]["status"] == "True" and dt[0]["reason"] == "TerminationByKubelet", st["conditions"]
    # nothing of the evicted pods runs any more: the sandbox is gone with its group
    wait_for(lambda: not os.path.exists(cg_file("memory", groups["burst"], "cgroup.procs")), timeout=10,
             what="burst's cgroup removed")
    code, evs = s.http("GET", "/api/v1/namespaces/default/events")
    ev = [e for e in evs["items"] if e["involvedObject"]["name"] == "be" and e["reason"] == "Evicted"]
    assert ev and ev[0]["type"] == "Warning" and "low on resource: memory" in ev[0]["message"], ev

    # Admission under memory pressure: a BestEffort pod is refused before anything starts.
    A.create_pod(s, pod("late", node, [ctr("c", sleep)]))
    st = wait_for(lambda: (A.pod_status(s, "late") or {}).get("phase") == "Failed" and A.pod_status(s, "late"),
                  timeout=20, what="late rejected")
    assert st["reason"] == "Evicted" and st["message"] == "The node had condition: [MemoryPressure]. ", st
    assert not any(c.get("containerID") for c in st.get("containerStatuses", [])), st
    A.delete_all_pods(s, timeout=30)

    # Disk pressure: the condition, and every new pod refused.
    restart_agent(agent, ["--eviction-hard", "nodefs.available<1000Ti"])
    cond = wait_for(lambda: (condition(s, node, "DiskPressure") or {}).get("status") == "True" and
                    condition(s, node, "DiskPressure"), timeout=20, what="DiskPressure")
    assert cond["reason"] == "KubeletHasDiskPressure", cond
    assert condition(s, node, "MemoryPressure")["status"] == "False"
    A.create_pod(s, pod("late2", node, [ctr("c", sleep, resources={"limits": {"memory": "16Mi", "cpu": "100m"}})]))
    st = wait_for(lambda: (A.pod_status(s, "late2") or {}).get("phase") == "Failed" and A.pod_status(s, "late2"),
                  timeout=20, what="late2 rejected")
    assert st["message"] == "The node had condition: [DiskPressure]. ", st
    restart_agent(agent, ["--eviction-hard", ""])


def test_bad_eviction_flag_refused(tmp_path):
    for flag, msg in (("memory.free<1Gi", "unknown signal `memory.free`"),
                      ("nodefs.available<150%", "between 0% and 100%")):
        p = A.run(A.DROVER, "agent", "--data-dir", str(tmp_path), "--server", "https://127.0.0.1:1",
                  "--eviction-hard", flag, check=False, timeout=30)
        assert p.returncode != 0 and msg in p.stderr, p.stderr
    p = A.run(A.DROVER, "agent", "--data-dir", str(tmp_path), "--server", "https://127.0.0.1:1",
              "--eviction-pressure-transition-period", "5 minutes", check=False, timeout=30)
    assert p.returncode == 2 and "duration `5 minutes`" in p.stderr, p.stderr


def test_pressure_taints_from_node_conditions(env, tmp_path):
    """The node lifecycle controller turns the agent's pressure conditions into NoSchedule
    taints (TaintNodesByCondition) and takes them off again."""
    s, node, agent = env["server"], env["node"], env["agent"]

    def taints():
        code, n = s.http("GET", f"/api/v1/nodes/{node}")
        return {(t["key"], t["effect"]) for t in n.get("spec", {}).get("taints") or []} if code == 200 else set()
    restart_agent(agent, ["--eviction-hard", "memory.available<100Ti"])
    log = open(tmp_path / "controllers.log", "ab")
    ctl = subprocess.Popen([A.DROVER, "controllers", "--kubeconfig", s.kubeconfig], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for(lambda: ("node.kubernetes.io/memory-pressure", "NoSchedule") in taints(), timeout=30,
                     what="memory-pressure taint")
        except AssertionError:
            # say which side did not act: the agent's condition, or the controller's taint
            log.flush()
            raise AssertionError(f"no memory-pressure taint; node conditions: "
                                 f"{s.http('GET', f'/api/v1/nodes/{node}')[1].get('status', {}).get('conditions')}\n"
                                 f"agent log: {agent.logtext()[-3000:]}\n"
                                 f"controllers log: {open(tmp_path / 'controllers.log').read()[-3000:]}")
        restart_agent(agent, ["--eviction-hard", ""])
        wait_for(lambda: (condition(s, node, "MemoryPressure") or {}).get("status") == "False", timeout=20,
                 what="MemoryPressure False")
        wait_for(lambda: not any(k.startswith("node.kubernetes.io/") for k, _ in taints()), timeout=30,
                 what="taint removed")
    finally:
        terminate(ctl)
        log.close()


def test_up_passes_eviction_hard(tmp_path):
    """`drover up --eviction-hard`: its local agent uses the thresholds (and refuses bad ones)."""
    node = f"evup{os.getpid()}"
    s = Server(verb="up", data_dir=str(tmp_path / "data"),
               extra=["--agent-listen", "127.0.0.1:0", "--node-name", node, "--allocate-node-cidrs=false",
                      "--eviction-hard", "memory.available<100Ti"])
    try:
        cond = wait_for(lambda: (condition(s, node, "MemoryPressure") or {}).get("status") == "True" and
                        condition(s, node, "MemoryPressure"), timeout=30, what="MemoryPressure from drover up")
        assert cond["reason"] == "KubeletHasInsufficientMemory", cond
    finally:
        s.stop()
    p = A.run(A.DROVER, "up", "--data-dir", str(tmp_path / "bad"), "--listen", "127.0.0.1:0",
              "--eviction-hard", "memory.available<lots", check=False, timeout=60)
    assert p.returncode != 0 and "`lots` is not a quantity" in p.stderr, p.stderr
