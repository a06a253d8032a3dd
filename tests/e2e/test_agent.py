"""The node agent on one node: real containers from a locally imported busybox image, driven
through `drover server` and kubectl. Pods share localhost, logs, probes, restarts with back-off,
init containers and volumes, graceful deletion, bad input, metrics, and kill -9 of the agent
with re-adoption of its containers."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import agentlib as A
from agentlib import ctr, pod, wait_for


@pytest.fixture(scope="module")
def env():
    node = f"n{os.getpid()}"
    with A.server_with_agent("agent", node) as (root, s, a):
        yield {"server": s, "agent": a, "node": node, "root": root}


def agent_port(env):
    code, n = env["server"].http("GET", f"/api/v1/nodes/{env['node']}")
    return n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]


def test_node_registration_and_lease(env):
    s, node = env["server"], env["node"]
    code, n = s.http("GET", f"/api/v1/nodes/{node}")
    labels = n["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == node and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] == "amd64"
    for k in ("cpu", "memory", "pods", "ephemeral-storage"):
        assert k in n["status"]["capacity"] and k in n["status"]["allocatable"]
    assert n["status"]["capacity"]["cpu"] == str(os.cpu_count())
    assert n["status"]["capacity"]["ephemeral-storage"] not in ("", "0")
    assert {"type": "InternalIP", "address": "127.0.0.1"} in n["status"]["addresses"]
    ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"
    code, l1 = s.http("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}")
    assert code == 200 and l1["spec"]["holderIdentity"] == node
    wait_for(lambda: s.http("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}")[1]
             ["spec"]["renewTime"] != l1["spec"]["renewTime"], timeout=5, what="lease renewed")
    with urllib.request.urlopen(f"http://127.0.0.1:{agent_port(env)}/healthz", timeout=5) as r:
        assert r.read() == b"ok"
    # The next heartbeat (every 10 s) moves lastHeartbeatTime only: Ready did not change.
    def beat():
        c = [c for c in s.http("GET", f"/api/v1/nodes/{node}")[1]["status"]["conditions"] if c["type"] == "Ready"][0]
        return c["lastHeartbeatTime"] != ready["lastHeartbeatTime"] and c
    later = wait_for(beat, timeout=25, what="node heartbeat")
    assert later["lastTransitionTime"] == ready["lastTransitionTime"], (ready, later)


def test_two_containers_share_localhost_and_logs(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("web", node, [
        ctr("server", "mkdir -p /www && echo hello-from-web > /www/index.html && echo serving && exec busybox httpd -f -p 8080 -h /www"),
        ctr("client", "until busybox wget -qO- http://127.0.0.1:8080/; do sleep 0.2; done; echo done >&2; exec sleep 1000"),
    ]))
    wait_for(lambda: A.running(s, "web"), what="pod web running")
    st = A.pod_status(s, "web")
    assert st["hostIP"] == "127.0.0.1" and st["podIP"]
    assert all(c["containerID"].startswith("drover://") for c in st["containerStatuses"])
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds["PodScheduled"] == "True" and conds["Initialized"] == "True"
    wait_for(lambda: {c["type"]: c["status"] for c in A.pod_status(s, "web")["conditions"]}["Ready"] == "True",
             what="Ready condition")
    out = wait_for(lambda: s.kubectl("logs", "web", "-c", "client").stdout.count("hello-from-web") and
                   s.kubectl("logs", "web", "-c", "client").stdout, what="client logs")
    assert "hello-from-web\n" in out and "done\n" in out
    assert s.kubectl("logs", "web", "-c", "server", "--tail=1").stdout == "serving\n"
    ts = s.kubectl("logs", "web", "-c", "server", "--timestamps").stdout
    assert ts.split(" ", 1)[1] == "serving\n" and ts[4] == "-" and ts.split(" ")[0].endswith("Z")
    # Straight from the agent, the CRI file format underneath.
    url = f"http://127.0.0.1:{agent_port(env)}/containerLogs/default/web/server?tailLines=1"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + s.token()}),
                                timeout=5) as r:
        assert r.read() == b"serving\n"
    # Without a token the API server accepts, no logs.
    for hdr in ({}, {"Authorization": "Bearer not-a-token"}):
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=hdr), timeout=5)
            raise AssertionError("logs served without a valid token")
        except urllib.error.HTTPError as e:
            assert e.code == 401
    logs = [os.path.join(dp, f) for dp, _, fs in os.walk(env["agent"].dir) for f in fs if f == "0.log"]
    line = open([l for l in logs if "/server/" in l][0]).readline()
    assert " stdout F serving" in line


def test_follow_logs(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("ticker", node, [ctr("t", "i=0; while [ $i -lt 1000 ]; do echo tick $i; i=$((i+1)); sleep 0.2; done")]))
    wait_for(lambda: A.running(s, "ticker"), what="ticker running")
    p = subprocess.Popen(["/usr/bin/kubectl", "logs", "-f", "ticker", "--tail=1"], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, KUBECONFIG=s.kubeconfig))
    try:
        seen = [p.stdout.readline() for _ in range(3)]
        nums = [int(l.split()[1]) for l in seen]
        assert nums[1] == nums[0] + 1 and nums[2] == nums[1] + 1, seen
    finally:
        p.kill()
        p.wait()
    # kubectl attach (output only): what the container writes from now on.
    p = subprocess.Popen(["/usr/bin/kubectl", "attach", "ticker"], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, KUBECONFIG=s.kubeconfig))
    try:
        seen = [p.stdout.readline() for _ in range(2)]
        assert all(l.startswith("tick ") for l in seen), seen
        assert int(seen[1].split()[1]) == int(seen[0].split()[1]) + 1
    finally:
        p.kill()
        p.wait()
    # With stdin: refused with a reason (the container was not started with stdin: true); the
    # agent's Status reaches kubectl (tests/e2e/test_attach.py covers attach with stdin).
    p = s.kubectl("attach", "-i", "ticker", input="x\n", check=False, timeout=30)
    assert p.returncode != 0 and "stdin: true" in p.stderr, p.stderr


def test_restart_backoff_previous_logs_and_phases(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("crash", node, [ctr("c", "echo run; exit 3")]))
    c = wait_for(lambda: (A.ctr_status(s, "crash", "c") or {}).get("restartCount", 0) >= 1 and
                 A.ctr_status(s, "crash", "c"), what="a restart")
    assert c["lastState"]["terminated"]["exitCode"] == 3
    assert c["lastState"]["terminated"]["reason"] == "Error"
    c = wait_for(lambda: "waiting" in A.ctr_status(s, "crash", "c")["state"] and A.ctr_status(s, "crash", "c"),
                 what="back-off")
    assert c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert "back-off 10s" in c["state"]["waiting"]["message"] or "back-off 20s" in c["state"]["waiting"]["message"]
    assert s.kubectl("logs", "crash", "--previous").stdout == "run\n"

    A.create_pod(s, pod("ok", node, [ctr("c", "echo fine")], restartPolicy="Never"))
    A.create_pod(s, pod("bad", node, [ctr("c", "exit 7")], restartPolicy="Never"))
    wait_for(lambda: A.pod_status(s, "ok")["phase"] == "Succeeded", what="Succeeded")
    wait_for(lambda: A.pod_status(s, "bad")["phase"] == "Failed", what="Failed")
    t = A.ctr_status(s, "ok", "c")["state"]["terminated"]
    assert t["exitCode"] == 0 and t["reason"] == "Completed"
    t = A.ctr_status(s, "bad", "c")["state"]["terminated"]
    assert t["exitCode"] == 7 and t["reason"] == "Error"


def test_init_containers_env_workdir_and_volumes(env):
    s, node = env["server"], env["node"]
    host_dir = os.path.join(env["root"], "hostpath")
    os.makedirs(host_dir)
    with open(os.path.join(host_dir, "from-host"), "w") as f:
        f.write("host-data\n")
    spec = pod("vols", node, [ctr("main", "cat /data/msg /host/from-host; echo $GREETING $MY_POD; pwd; exec sleep 1000",
                                  env=[{"name": "GREETING", "value": "hi"},
                                       {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                                  workingDir="/tmp",
                                  volumeMounts=[{"name": "scratch", "mountPath": "/data"},
                                                {"name": "host", "mountPath": "/host", "readOnly": True}])],
               initContainers=[ctr("init", "echo written-by-init > /data/msg",
                                   volumeMounts=[{"name": "scratch", "mountPath": "/data"}])],
               volumes=[{"name": "scratch", "emptyDir": {}},
                        {"name": "host", "hostPath": {"path": host_dir}}])
    A.create_pod(s, spec)
    wait_for(lambda: A.running(s, "vols"), what="vols running")
    init = A.pod_status(s, "vols")["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed"
    out = wait_for(lambda: "/tmp" in s.kubectl("logs", "vols").stdout and s.kubectl("logs", "vols").stdout,
                   what="vols logs")
    assert out == "written-by-init\nhost-data\nhi vols\n/tmp\n"


def test_probes(env):
    s, node = env["server"], env["node"]
    # Readiness over HTTP: the server appears after 2 s; the pod turns Ready only then.
    A.create_pod(s, pod("ready", node, [ctr(
        "c", "sleep 2; mkdir -p /w; echo ok > /w/index.html; exec busybox httpd -f -p 8081 -h /w",
        readinessProbe={"httpGet": {"path": "/index.html", "port": 8081}, "periodSeconds": 1})]))
    wait_for(lambda: A.running(s, "ready"), what="ready running")
    assert A.ctr_status(s, "ready", "c")["ready"] is False
    wait_for(lambda: A.ctr_status(s, "ready", "c")["ready"], timeout=15, what="readiness")
    # Liveness (exec) failing after the file goes: restarted.
    A.create_pod(s, pod("live", node, [ctr(
        "c", "touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 1000",
        livenessProbe={"exec": {"command": ["cat", "/tmp/alive"]}, "periodSeconds": 1, "failureThreshold": 2})]))
    wait_for(lambda: A.ctr_status(s, "live", "c")["restartCount"] >= 1, timeout=20, what="liveness restart")
    # TCP startup probe gates readiness.
    A.create_pod(s, pod("tcp", node, [ctr(
        "c", "sleep 1; exec busybox nc -ll -p 9090 -e cat",
        startupProbe={"tcpSocket": {"port": 9090}, "periodSeconds": 1, "failureThreshold": 20})]))
    c = wait_for(lambda: A.ctr_status(s, "tcp", "c")["started"] and A.ctr_status(s, "tcp", "c"), timeout=15,
                 what="startup probe")
    assert c["ready"] is True


def test_bad_input_reported(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("noimage", node, [{"name": "c", "image": "drover.test/missing:v1", "imagePullPolicy": "Never"}]))
    A.create_pod(s, pod("nocmd", node, [{"name": "c", "image": A.IMAGE, "command": ["/no/such/binary"]}]))
    A.create_pod(s, pod("pull", node, [{"name": "c", "image": "127.0.0.1:1/nothing:v1"}]))
    w = wait_for(lambda: A.ctr_status(s, "noimage", "c")["state"].get("waiting"), what="noimage waiting")
    assert w["reason"] == "ErrImageNeverPull" and "missing" in w["message"]
    w = wait_for(lambda: A.ctr_status(s, "pull", "c")["state"].get("waiting", {}).get("reason") in
                 ("ErrImagePull", "ImagePullBackOff") and A.ctr_status(s, "pull", "c")["state"]["waiting"],
                 what="pull error")
    assert "127.0.0.1:1" in w["message"]
    c = wait_for(lambda: A.ctr_status(s, "nocmd", "c")["restartCount"] >= 1 and A.ctr_status(s, "nocmd", "c"),
                 what="nocmd restarts")
    assert c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    last = c["lastState"]["terminated"]
    assert last["exitCode"] != 0
    # The agent keeps serving others, even while a registry never answers a pull.
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        A.create_pod(s, pod("hang", node, [{"name": "c", "image": f"127.0.0.1:{silent.getsockname()[1]}/x:v1"}]))
        wait_for(lambda: A.ctr_status(s, "hang", "c")["state"]["waiting"]["reason"] == "ContainerCreating",
                 what="hang pulling")
        t0 = time.time()
        A.create_pod(s, pod("after", node, [ctr("c", "exec sleep 1000")]))
        wait_for(lambda: A.running(s, "after"), what="other pod still runs")
        assert time.time() - t0 < 5
    finally:
        silent.close()


def test_graceful_termination(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("grace", node, [ctr("c", "trap 'echo got TERM; exit 0' TERM; echo up; while true; do sleep 0.1; done")],
                        terminationGracePeriodSeconds=10))
    wait_for(lambda: A.running(s, "grace"), what="grace running")
    wait_for(lambda: s.kubectl("logs", "grace").stdout == "up\n", what="trap installed")
    t0 = time.time()
    s.kubectl("delete", "pod", "grace", "--wait=false")
    wait_for(lambda: s.http("GET", "/api/v1/namespaces/default/pods/grace")[0] == 404, timeout=15, what="pod gone")
    assert time.time() - t0 < 8  # the container stopped on SIGTERM, well before the grace period
    # A container ignoring SIGTERM is killed when its grace period ends.
    A.create_pod(s, pod("stubborn", node, [ctr("c", "trap '' TERM; while true; do sleep 0.1; done")],
                        terminationGracePeriodSeconds=2))
    wait_for(lambda: A.running(s, "stubborn"), what="stubborn running")
    t0 = time.time()
    s.kubectl("delete", "pod", "stubborn", "--wait=false")
    wait_for(lambda: s.http("GET", "/api/v1/namespaces/default/pods/stubborn")[0] == 404, timeout=15, what="stubborn gone")
    assert time.time() - t0 >= 1.5


def test_metrics(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("busy", node, [ctr("c", "exec sleep 1000", resources={
        "requests": {"cpu": "100m", "memory": "16Mi"}, "limits": {"cpu": "500m", "memory": "64Mi"}})]))
    wait_for(lambda: A.running(s, "busy"), what="busy running")

    def scrape():
        with urllib.request.urlopen(f"http://127.0.0.1:{agent_port(env)}/metrics", timeout=5) as r:
            return r.read().decode()
    text = wait_for(lambda: 'pod="busy"' in scrape() and scrape(), what="busy in metrics")
    for name in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                 "container_network_receive_bytes_total", "container_spec_memory_limit_bytes"):
        assert f"# TYPE {name} " in text
    lim = [l for l in text.splitlines() if l.startswith("container_spec_memory_limit_bytes") and 'pod="busy"' in l]
    assert lim and lim[0].split()[1] == str(64 * 1024 * 1024)
    assert A.pod_status(s, "busy")["qosClass"] == "Burstable"
    out = wait_for(lambda: "busy" in s.kubectl("top", "pod", "busy", check=False).stdout and
                   s.kubectl("top", "pod", "busy").stdout, what="kubectl top")
    assert "busy" in out


def test_kill9_agent_keeps_containers_and_readopts(env):
    s, node, a = env["server"], env["node"], env["agent"]
    A.create_pod(s, pod("keep", node, [ctr("c", "exec sleep 1000")]))
    A.create_pod(s, pod("gone", node, [ctr("c", "exec sleep 1000")]))
    wait_for(lambda: A.running(s, "keep") and A.running(s, "gone"), what="both running")

    def pid_of(name):
        code, obj = s.http("GET", f"/api/v1/namespaces/default/pods/{name}")
        uid = obj["metadata"]["uid"]
        st = json.load(open(os.path.join(a.dir, "agent", "pods", uid, "state.json")))
        return st["containers"][0]["pid"], uid

    keep_pid, _ = pid_of("keep")
    gone_pid, gone_uid = pid_of("gone")
    assert os.path.exists(f"/proc/{keep_pid}")
    a.kill9()
    time.sleep(0.5)
    assert os.path.exists(f"/proc/{keep_pid}") and os.path.exists(f"/proc/{gone_pid}")
    # Deleted while the agent is down: the pod object waits for the agent (graceful deletion).
    s.http("DELETE", "/api/v1/namespaces/default/pods/gone")
    a.start()
    wait_for(lambda: s.http("GET", "/api/v1/namespaces/default/pods/gone")[0] == 404, timeout=20, what="gone removed")
    wait_for(lambda: not os.path.exists(f"/proc/{gone_pid}"), timeout=10, what="gone's container stopped")
    assert not os.path.exists(os.path.join(a.dir, "agent", "pods", gone_uid))
    # The kept one was re-adopted, not restarted.
    time.sleep(1.5)
    c = A.ctr_status(s, "keep", "c")
    assert "running" in c["state"] and c["restartCount"] == 0
    assert os.path.exists(f"/proc/{keep_pid}")
    assert json.load(open(os.path.join(a.dir, "agent", "pods",
                                       s.http("GET", "/api/v1/namespaces/default/pods/keep")[1]["metadata"]["uid"],
                                       "state.json")))["containers"][0]["pid"] == keep_pid


def test_exec(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("ex", node, [ctr("c", "echo secret > /tmp/f; exec sleep 1000")]))
    wait_for(lambda: A.running(s, "ex"), what="ex running")
    wait_for(lambda: s.kubectl("exec", "ex", "--", "cat", "/tmp/f", check=False).stdout == "secret\n",
             what="exec output")
    p = s.kubectl("exec", "ex", "--", "sh", "-c", "echo out; echo err >&2; exit 4", check=False)
    assert p.stdout == "out\n" and "err" in p.stderr and p.returncode == 4
    p = s.kubectl("exec", "-i", "ex", "--", "sh", "-c", "tr a-z A-Z", input="hello stdin\n")
    assert p.stdout == "HELLO STDIN\n"
    # Same namespaces as the container: its hostname and its own pid namespace.
    assert s.kubectl("exec", "ex", "--", "busybox", "hostname").stdout == "ex\n"
    assert "sleep 1000" in s.kubectl("exec", "ex", "--", "busybox", "ps").stdout
    # An exec gets the container's capabilities (Docker's default set), never the agent's full set.
    caps = s.kubectl("exec", "ex", "--", "sh", "-c", "grep CapEff /proc/self/status").stdout.split()[1]
    assert int(caps, 16) == 0xa80425fb, caps
    # With a terminal (kubectl -it under `script`, which gives kubectl a pty of its own).
    p = subprocess.run(["script", "-qec", f"/usr/bin/kubectl --kubeconfig {s.kubeconfig} exec -it ex -- "
                        "sh -c 'busybox tty; busybox stty size'", "/dev/null"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "/dev/pts/" in p.stdout, (p.stdout, p.stderr)


def test_exec_bulk_both_ways(env):
    """Megabytes through the server's WebSocket relay, each way, byte for byte (a full socket
    buffer must wait for room, not end the session)."""
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("bulk", node, [ctr("c", "exec sleep 1000")]))
    wait_for(lambda: A.running(s, "bulk"), what="bulk running")
    n = 3_000_000
    p = s.kubectl("exec", "bulk", "--", "sh", "-c", f"head -c {n} /dev/zero | tr '\\0' a", check=False)
    assert p.returncode == 0 and len(p.stdout) == n and p.stdout.count("a") == n, (len(p.stdout), p.stderr)
    data = "0123456789abcdef" * (n // 16)
    p = s.kubectl("exec", "-i", "bulk", "--", "busybox", "wc", "-c", input=data, check=False)
    assert p.returncode == 0 and p.stdout.strip() == str(len(data)), (p.stdout, p.stderr)
    p = s.kubectl("exec", "-i", "bulk", "--", "busybox", "cat", input=data, check=False)
    assert p.returncode == 0 and p.stdout == data, (len(p.stdout), p.stderr)


def test_exec_into_exited_container(env):
    """The agent accepts the handshake and ends the session at once with kubelet's Status on the
    error channel (kubectl prints it instead of falling back to SPDY); the server's relay ends with
    it and keeps no thread behind."""
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("gone", node, [ctr("run", "exec sleep 1000"), ctr("done", "exit 0")],
                        restartPolicy="Never"))
    wait_for(lambda: A.ctr_status(s, "gone", "done")["state"].get("terminated"), what="done exited")

    def threads():
        with open(f"/proc/{s.proc.pid}/status") as f:
            return int([l for l in f if l.startswith("Threads:")][0].split()[1])

    def ws_exec():
        return s.http("GET", "/api/v1/namespaces/default/pods/gone/exec?command=true&stdout=true&container=done",
                      headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                               "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}, timeout=10)

    ws_exec()
    before = threads()
    for _ in range(4):
        t0 = time.monotonic()
        code, st = ws_exec()
        assert code == 101, (code, st)
        p = s.kubectl("exec", "gone", "-c", "done", "--", "true", check=False, timeout=20)
        assert p.returncode != 0 and 'container not found ("done")' in p.stderr, p.stderr
        assert time.monotonic() - t0 < 10
    # threads of finished connections may take a moment to end
    wait_for(lambda: threads() <= before, timeout=10, what=f"server threads back to {before}")


def test_python_client_bool_params(env):
    """python3-kubernetes spells booleans "True": exec's stdout=True and logs' follow=True and
    timestamps=True must all be honoured."""
    import re
    from kubernetes import client, config
    from kubernetes.stream import stream
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("pyc", node, [ctr("c", "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.3; done")]))
    wait_for(lambda: A.running(s, "pyc"), what="pyc running")
    config.load_kube_config(s.kubeconfig)
    v1 = client.CoreV1Api()
    out = stream(v1.connect_get_namespaced_pod_exec, "pyc", "default", command=["echo", "from-python"],
                 stderr=True, stdin=False, stdout=True, tty=False, _request_timeout=30)
    assert out == "from-python\n", out
    resp = v1.read_namespaced_pod_log("pyc", "default", follow=True, timestamps=True,
                                      _preload_content=False, _request_timeout=20)
    try:
        lines, buf = [], b""
        deadline = time.monotonic() + 15
        for chunk in resp.stream(1024):
            buf += chunk
            *done, buf = buf.split(b"\n")
            lines += [l.decode() for l in done]
            # following: lines written after the request arrive on the same response
            if len(lines) >= 2 and int(lines[-1].rsplit("line", 1)[1]) >= int(lines[0].rsplit("line", 1)[1]) + 8:
                break
            assert time.monotonic() < deadline, lines
        else:
            raise AssertionError(f"the log ended: follow=True was not honoured: {lines}")
    finally:
        resp.release_conn()
    for l in lines:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line\d+$", l), l


def test_oom_killed_and_impossible_limit(env):
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("oom", node, [ctr("c", "busybox head -c 200m /dev/zero | busybox tail",
                                          resources={"limits": {"memory": "16Mi"}})], restartPolicy="Never"))
    t = wait_for(lambda: A.ctr_status(s, "oom", "c")["state"].get("terminated"), timeout=30, what="oom terminated")
    assert t["reason"] == "OOMKilled" and t["exitCode"] == 137, t
    assert A.pod_status(s, "oom")["phase"] == "Failed"
    # A memory limit no process fits in: the pod says why, the agent goes on.
    A.create_pod(s, pod("tiny", node, [ctr("c", "echo hi", resources={"limits": {"memory": "1"}})]))
    c = wait_for(lambda: A.ctr_status(s, "tiny", "c")["restartCount"] >= 1 and A.ctr_status(s, "tiny", "c"),
                 timeout=30, what="tiny fails")
    last = c["lastState"]["terminated"]
    assert last["reason"] == "StartError" and "memory.limit" in last["message"], last
    assert c["state"]["waiting"]["reason"] == "CrashLoopBackOff"


def test_host_network_pod(env):
    s, node = env["server"], env["node"]
    from apiserver import free_port
    port = free_port()
    A.create_pod(s, pod("hostnet", node, [ctr("c", f"mkdir -p /w; echo on-host > /w/i; exec busybox httpd -f -p 127.0.0.1:{port} -h /w")],
                        hostNetwork=True))
    wait_for(lambda: A.running(s, "hostnet"), what="hostnet running")
    assert A.pod_status(s, "hostnet")["podIP"] == "127.0.0.1"
    body = wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/i", timeout=2).read(), what="served on the host")
    assert body == b"on-host\n"


def _status_fields(s, pod_name, ctr_name=None):
    args = ["exec", pod_name] + (["-c", ctr_name] if ctr_name else []) + ["--", "cat", "/proc/1/status"]
    out = s.kubectl(*args).stdout
    return {l.split(":", 1)[0]: l.split(":", 1)[1].strip() for l in out.splitlines() if ":" in l}


def test_security_context(env):
    """Pod and container securityContext: users and groups (the container's over the pod's),
    capabilities add/drop, no_new_privs, seccomp profiles, runAsNonRoot refusal, privileged."""
    s, node = env["server"], env["node"]
    os.makedirs(os.path.join(env["agent"].dir, "seccomp"), exist_ok=True)
    with open(os.path.join(env["agent"].dir, "seccomp", "deny-mkdir.json"), "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}, f)
    A.create_pod(s, pod("sec", node, [
        ctr("user", "exec sleep 1000", securityContext={
            "runAsUser": 1001, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CAP_CHOWN"]}}),
        ctr("root", "exec sleep 1000", securityContext={
            "runAsUser": 0, "runAsGroup": 0, "capabilities": {"drop": ["all"], "add": ["NET_ADMIN"]},
            "seccompProfile": {"type": "Unconfined"}}),
        ctr("local", "exec sleep 1000", securityContext={
            "runAsUser": 0, "seccompProfile": {"type": "Localhost", "localhostProfile": "deny-mkdir.json"}}),
    ], securityContext={"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000], "fsGroup": 2000,
                        "seccompProfile": {"type": "RuntimeDefault"}}))
    wait_for(lambda: A.running(s, "sec"), what="sec running")
    st = _status_fields(s, "sec", "user")
    assert st["Uid"].split()[0] == "1001" and st["Gid"].split()[0] == "3000", st
    assert sorted(st["Groups"].split()) == ["2000", "4000"], st
    assert int(st["CapBnd"], 16) == (1 << 10) | (1 << 0), st
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
    # An exec runs as the container's user, not as root.
    assert s.kubectl("exec", "sec", "-c", "user", "--", "busybox", "id", "-u").stdout == "1001\n"
    st = _status_fields(s, "sec", "root")
    assert st["Uid"].split()[0] == "0" and int(st["CapEff"], 16) == 1 << 12, st
    assert st["NoNewPrivs"] == "0" and st["Seccomp"] == "0", st
    st = _status_fields(s, "sec", "local")
    assert st["Seccomp"] == "2" and int(st["CapEff"], 16) == 0xa80425fb, st
    p = s.kubectl("exec", "sec", "-c", "local", "--", "busybox", "mkdir", "/tmp/x", check=False)
    assert p.returncode != 0
    # runAsNonRoot with an image that runs as root: refused before anything is created.
    uid = A.create_pod(s, pod("nonroot", node, [ctr("c", "exec sleep 1000")],
                              securityContext={"runAsNonRoot": True}))["metadata"]["uid"]
    w = wait_for(lambda: A.ctr_status(s, "nonroot", "c")["state"].get("waiting", {}).get("reason") ==
                 "CreateContainerConfigError" and A.ctr_status(s, "nonroot", "c")["state"]["waiting"],
                 what="runAsNonRoot refusal")
    assert w["message"] == (f'container has runAsNonRoot and image will run as root (pod: "nonroot_default({uid})", '
                            "container: c)"), w
    # ... but a non-root runAsUser satisfies it.
    A.create_pod(s, pod("nonroot-ok", node, [ctr("c", "exec sleep 1000")],
                        securityContext={"runAsNonRoot": True, "runAsUser": 1234}))
    wait_for(lambda: A.running(s, "nonroot-ok"), what="nonroot-ok running")
    # privileged: every capability, no seccomp, the node's devices.
    A.create_pod(s, pod("priv", node, [ctr("c", "exec sleep 1000", securityContext={"privileged": True})]))
    wait_for(lambda: A.running(s, "priv"), what="priv running")
    st = _status_fields(s, "priv")
    # (every capability the node itself holds: the agent cannot give more than its bounding set)
    host_bnd = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapBnd:")][0]
    assert int(st["CapEff"], 16) == int(host_bnd, 16), st
    assert st["NoNewPrivs"] == "0" and st["Seccomp"] == "0", st
    ndev = len(s.kubectl("exec", "priv", "--", "ls", "/dev").stdout.split())
    assert ndev > len(s.kubectl("exec", "nonroot-ok", "--", "ls", "/dev").stdout.split())
    for n in ("sec", "nonroot", "nonroot-ok", "priv"):
        s.http("DELETE", f"/api/v1/namespaces/default/pods/{n}")


def test_exec_env_and_workdir(env):
    """An exec gets the container's environment (image env + pod env) and working directory;
    TERM only with a terminal."""
    s, node = env["server"], env["node"]
    # An exec probe runs the same way: as the container's user, with its env and cwd.
    probe = {"exec": {"command": ["sh", "-c", '[ "$FOO" = bar ] && [ "$(pwd)" = /tmp ] && [ "$(busybox id -u)" = 1001 ]']},
             "periodSeconds": 1}
    A.create_pod(s, pod("exenv", node, [ctr("c", "exec sleep 1000", workingDir="/tmp", readinessProbe=probe,
                                            securityContext={"runAsUser": 1001},
                                            env=[{"name": "FOO", "value": "bar"}])]))
    wait_for(lambda: A.running(s, "exenv"), what="exenv running")
    wait_for(lambda: A.ctr_status(s, "exenv", "c")["ready"], what="exec probe passes")
    out = s.kubectl("exec", "exenv", "--", "sh", "-c", "echo $FOO $PATH ${TERM-none}; pwd").stdout
    assert out == "bar /bin none\n/tmp\n", out
    p = subprocess.run(["script", "-qec", f"/usr/bin/kubectl --kubeconfig {s.kubeconfig} exec -it exenv -- "
                        "sh -c 'echo T=$TERM F=$FOO'", "/dev/null"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "T=xterm F=bar" in p.stdout, (p.stdout, p.stderr)
    s.http("DELETE", "/api/v1/namespaces/default/pods/exenv")


def test_env_from_configmaps_secrets_and_fields(env):
    """env valueFrom configMapKeyRef/secretKeyRef/fieldRef and envFrom (with a prefix) resolved
    through the API; a missing ConfigMap is CreateContainerConfigError until it exists."""
    import base64
    s, node = env["server"], env["node"]
    code, _ = s.http("POST", "/api/v1/namespaces/default/configmaps", body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "envcm"}, "data": {"color": "blue", "size": "L"}})
    assert code == 201
    code, _ = s.http("POST", "/api/v1/namespaces/default/secrets", body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "envsec"},
        "data": {"password": base64.b64encode(b"s3cr3t!").decode(), "user": base64.b64encode(b"admin").decode()}})
    assert code == 201
    A.create_pod(s, pod("envpod", node, [ctr("c", "env | sort > /tmp/env; exec sleep 1000", env=[
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "envcm", "key": "color"}}},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "envsec", "key": "password"}}},
        {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "x", "optional": True}}},
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "PODIP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOSTIP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "size", "value": "overridden"},
        {"name": "COMBO", "value": "$(COLOR)-$(NAME)-$(UNDEFINED)-$$(COLOR)"}],
        envFrom=[{"configMapRef": {"name": "envcm"}}, {"secretRef": {"name": "envsec"}, "prefix": "SEC_"}])]))
    wait_for(lambda: A.running(s, "envpod"), what="envpod running")
    st = A.pod_status(s, "envpod")
    code, obj = s.http("GET", "/api/v1/namespaces/default/pods/envpod")
    got = dict(l.split("=", 1) for l in wait_for(
        lambda: s.kubectl("exec", "envpod", "--", "cat", "/tmp/env").stdout, what="env file").splitlines())
    assert got["COLOR"] == "blue" and got["PASS"] == "s3cr3t!" and "OPT" not in got, got
    assert got["NAME"] == "envpod" and got["NS"] == "default" and got["UID"] == obj["metadata"]["uid"], got
    assert got["PODIP"] == st["podIP"] and got["HOSTIP"] == "127.0.0.1" and got["NODE"] == node, got
    assert got["color"] == "blue" and got["size"] == "overridden", got
    assert got["SEC_password"] == "s3cr3t!" and got["SEC_user"] == "admin", got
    assert got["COMBO"] == "blue-envpod-$(UNDEFINED)-$(COLOR)", got
    # A ConfigMap that does not exist yet: the container waits, then starts once it does.
    A.create_pod(s, pod("envlater", node, [ctr("c", "echo $V $(V); exec sleep 1000", env=[
        {"name": "V", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "v"}}}])]))
    w = wait_for(lambda: A.ctr_status(s, "envlater", "c")["state"]["waiting"]["reason"] == "CreateContainerConfigError"
                 and A.ctr_status(s, "envlater", "c")["state"]["waiting"], what="config error")
    assert w["message"] == 'configmap "later" not found', w
    code, _ = s.http("POST", "/api/v1/namespaces/default/configmaps", body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}, "data": {"w": "1"}})
    w = wait_for(lambda: A.ctr_status(s, "envlater", "c")["state"]["waiting"]["message"].startswith("couldn't")
                 and A.ctr_status(s, "envlater", "c")["state"]["waiting"], timeout=40, what="missing key")
    assert w["message"] == "couldn't find key v in ConfigMap default/later", w
    code, cm = s.http("GET", "/api/v1/namespaces/default/configmaps/later")
    cm["data"]["v"] = "now-here"
    assert s.http("PUT", "/api/v1/namespaces/default/configmaps/later", body=cm)[0] == 200
    wait_for(lambda: A.running(s, "envlater"), timeout=60, what="envlater running")
    # (the command's $(V) is expanded by the agent, $V by the shell)
    wait_for(lambda: s.kubectl("logs", "envlater").stdout == "now-here now-here\n", what="value in the container")
    for n in ("envpod", "envlater"):
        s.http("DELETE", f"/api/v1/namespaces/default/pods/{n}")


def test_events(env):
    """The agent records kubelet's Events on the pod: Pulled, Created, Started, Unhealthy,
    BackOff, Killing, Failed, with the container's fieldPath, source kubelet and the node."""
    s, node = env["server"], env["node"]
    A.create_pod(s, pod("evt", node, [
        ctr("ok", "exec sleep 1000", readinessProbe={"exec": {"command": ["false"]}, "periodSeconds": 1}),
        ctr("crash", "exit 1"),
        ctr("cfg", "exec sleep 1000", env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nosuch", "key": "k"}}}]),
        ctr("never", "true", image="drover.test/absent:v1", imagePullPolicy="Never"),
        ctr("pull", "true", image="127.0.0.1:1/absent:v1"),
    ]))

    def events():
        code, l = s.http("GET", "/api/v1/namespaces/default/events")
        return [e for e in l["items"] if e["involvedObject"]["name"] == "evt"]

    def have(reason, ctr_name):
        return [e for e in events() if e["reason"] == reason
                and e["involvedObject"].get("fieldPath") == f"spec.containers{{{ctr_name}}}"]

    for reason, c in (("Pulled", "ok"), ("Created", "ok"), ("Started", "ok"), ("Unhealthy", "ok"),
                      ("BackOff", "crash"), ("Failed", "cfg")):
        wait_for(lambda: have(reason, c), timeout=30, what=f"{reason} event for {c}")
    e = have("BackOff", "crash")[0]
    assert e["message"].startswith("Back-off restarting failed container crash in pod evt_default("), e
    assert e["type"] == "Warning" and e["source"] == {"component": "kubelet", "host": node}, e
    assert e["involvedObject"]["kind"] == "Pod" and e["involvedObject"]["namespace"] == "default", e
    assert have("Started", "ok")[0]["message"] == "Started container ok"
    assert have("Failed", "cfg")[0]["message"] == 'Error: secret "nosuch" not found'
    assert have("Unhealthy", "ok")[0]["message"].startswith("Readiness probe failed")
    for reason, c in (("Pulling", "pull"), ("Failed", "pull"), ("BackOff", "pull"), ("ErrImageNeverPull", "never")):
        wait_for(lambda: have(reason, c), timeout=30, what=f"{reason} event for {c}")
    assert have("Pulling", "pull")[0]["message"] == 'Pulling image "127.0.0.1:1/absent:v1"'
    assert have("Failed", "pull")[0]["message"].startswith('Failed to pull image "127.0.0.1:1/absent:v1": ')
    assert have("BackOff", "pull")[0]["message"] == 'Back-off pulling image "127.0.0.1:1/absent:v1"'
    assert have("ErrImageNeverPull", "never")[0]["message"] == \
        'Container image "drover.test/absent:v1" is not present with pull policy of Never'
    s.http("DELETE", "/api/v1/namespaces/default/pods/evt")
    wait_for(lambda: have("Killing", "ok"), timeout=30, what="Killing event")
    assert have("Killing", "ok")[0]["message"] == "Stopping container ok"


def test_image_user_and_run_as_non_root(env):
    """The image's User (a name resolved in its /etc/passwd) runs the container; runAsNonRoot
    with a non-numeric image user cannot be verified and is refused, as Kubernetes does."""
    import imagelib as L
    s, node = env["server"], env["node"]
    layout = os.path.join(env["root"], "layout-app")
    L.Image([(L.busybox_layer(), "gzip")], config={"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"], "User": "app"}) \
        .write_layout(layout, tag="v1")
    image = "drover.test/busybox-app:v1"
    A.run(A.DROVER, "image", "import", "--data-dir", env["agent"].dir, "--name", image, layout, timeout=120)
    A.create_pod(s, pod("appuser", node, [ctr("c", "exec sleep 1000", image=image)]))
    wait_for(lambda: A.running(s, "appuser"), what="appuser running")
    st = _status_fields(s, "appuser")
    assert st["Uid"].split()[0] == "1000" and st["Gid"].split()[0] == "1001", st
    uid = A.create_pod(s, pod("appnonroot", node, [ctr("c", "exec sleep 1000", image=image)],
                              securityContext={"runAsNonRoot": True}))["metadata"]["uid"]
    w = wait_for(lambda: A.ctr_status(s, "appnonroot", "c")["state"]["waiting"]["reason"] == "CreateContainerConfigError"
                 and A.ctr_status(s, "appnonroot", "c")["state"]["waiting"], what="non-numeric refusal")
    assert w["message"] == ("container has runAsNonRoot and image has non-numeric user (app), cannot verify user is "
                            f'non-root (pod: "appnonroot_default({uid})", container: c)'), w
    for n in ("appuser", "appnonroot"):
        s.http("DELETE", f"/api/v1/namespaces/default/pods/{n}")
