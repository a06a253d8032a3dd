"""drover-runtime (the runc-compatible OCI runtime) end to end, with a busybox-static bundle."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import DROVER, run, run_to_files

RUNTIME = os.path.join(os.path.dirname(os.path.abspath(DROVER)), "drover-runtime")
BUSYBOX = "/bin/busybox"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the runtime tests need root"),
    pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="busybox-static missing (scripts/deps.sh)"),
]

_n = [0]


def uid(prefix="t"):
    _n[0] += 1
    return f"{prefix}{os.getpid()}-{_n[0]}"


def make_rootfs(path):
    os.makedirs(os.path.join(path, "bin"))
    for d in ("proc", "sys", "dev", "etc", "tmp", "root"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for a in ("sh", "true", "false", "echo", "cat", "id", "hostname", "sleep", "touch", "ls", "grep", "ps", "readlink", "stat", "env", "pwd"):
        os.symlink("busybox", os.path.join(path, "bin", a))


class Env:
    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "state")
        self.ids = []

    def bundle(self, args, **over):
        b = tempfile.mkdtemp(prefix="bundle-", dir=self.base)
        os.chmod(b, 0o755)  # reachable for a user-namespaced root
        make_rootfs(os.path.join(b, "rootfs"))
        run(RUNTIME, "spec", "--bundle", b)
        cfg = json.load(open(os.path.join(b, "config.json")))
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["root"]["readonly"] = False
        for k, v in over.items():
            cfg[k] = v
        json.dump(cfg, open(os.path.join(b, "config.json"), "w"))
        return b

    def edit(self, bundle, fn):
        path = os.path.join(bundle, "config.json")
        cfg = json.load(open(path))
        fn(cfg)
        json.dump(cfg, open(path, "w"))

    def rt(self, *args, check=True, **kw):
        if args[0] == "create" or (args[0] in ("run", "exec") and ("-d" in args or "--detach" in args)):
            return self.rt_files(*args, check=check)
        return run(RUNTIME, "--root", self.root, *args, check=check, **kw)

    def rt_files(self, *args, check=True):
        """The container keeps the stdio it inherits: use files, not pipes, for create/-d."""
        return run_to_files([RUNTIME, "--root", self.root, *args], check=check)

    def new_id(self):
        i = uid()
        self.ids.append(i)
        return i

    def state(self, cid):
        return json.loads(self.rt("state", cid).stdout)

    def wait_status(self, cid, status, timeout=10):
        end = time.time() + timeout
        st = None
        while time.time() < end:
            st = self.state(cid)
            if st["status"] == status:
                return st
            time.sleep(0.02)
        raise AssertionError(f"{cid}: status {st and st['status']}, wanted {status}")


@pytest.fixture
def env():
    base = tempfile.mkdtemp(prefix="drv-rt-e2e-")
    os.chmod(base, 0o755)
    e = Env(base)
    yield e
    for cid in e.ids:
        subprocess.run([RUNTIME, "--root", e.root, "delete", "--force", cid], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def cgroup_exists(cid):
    return os.path.exists(f"/sys/fs/cgroup/pids/drover/{cid}") or os.path.exists(f"/sys/fs/cgroup/drover/{cid}")


def test_run_true_output_and_exit_codes(env):
    b = env.bundle(["/bin/true"])
    assert env.rt("run", "--bundle", b, env.new_id()).returncode == 0
    b = env.bundle(["/bin/sh", "-c", "echo hi; exit 3"])
    p = env.rt("run", "--bundle", b, env.new_id(), check=False)
    assert p.returncode == 3
    assert p.stdout == "hi\n"
    b = env.bundle(["/bin/false"])
    assert env.rt("run", "-b", b, env.new_id(), check=False).returncode == 1


def test_run_forwards_signals_to_the_container(env):
    """A foreground `run` passes the signals it gets (here SIGTERM) to the container's process."""
    b = env.bundle(["/bin/sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done"])
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen([RUNTIME, "--root", env.root, "run", "--bundle", b, env.new_id()],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            end = time.time() + 20
            while time.time() < end and "ready" not in open(f"/proc/self/fd/{out.fileno()}").read():
                time.sleep(0.02)
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=20) == 7
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out.seek(0)
        assert out.read() == "ready\ngot-term\n"


def test_lifecycle_create_start_state_kill_delete(env):
    b = env.bundle(["/bin/sleep", "1000"])
    cid = env.new_id()
    pidfile = os.path.join(env.base, "pid")
    env.rt("create", "--bundle", b, "--pid-file", pidfile, cid)
    st = env.state(cid)
    assert st["status"] == "created"
    assert st["pid"] == int(open(pidfile).read())
    assert st["bundle"] == os.path.realpath(b)
    assert st["ociVersion"]
    assert [c["id"] for c in json.loads(env.rt("list", "--format", "json").stdout)] == [cid]
    assert env.rt("list", "-q").stdout.split() == [cid]
    # not started yet: the process is blocked before exec
    assert "sleep" not in open(f"/proc/{st['pid']}/cmdline").read()
    env.rt("start", cid)
    st = env.wait_status(cid, "running")
    assert env.rt("start", cid, check=False).returncode != 0
    assert json.loads(env.rt("ps", "--format", "json", cid).stdout) == [st["pid"]]
    p = env.rt("delete", cid, check=False)
    assert p.returncode != 0 and "running" in p.stderr
    env.rt("kill", cid, "KILL")  # pid 1 of a pid namespace ignores TERM without a handler
    env.wait_status(cid, "stopped")
    env.rt("delete", cid)
    assert not os.path.exists(os.path.join(env.root, cid))
    assert not cgroup_exists(cid)
    assert env.rt("state", cid, check=False).returncode != 0


def test_pause_resume_and_kill_all(env):
    b = env.bundle(["/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    cid = env.new_id()
    env.rt("run", "-d", "--bundle", b, cid)
    env.wait_status(cid, "running")
    env.rt("pause", cid)
    assert env.state(cid)["status"] == "paused"
    env.rt("resume", cid)
    assert env.state(cid)["status"] == "running"
    end = time.time() + 5
    while len(json.loads(env.rt("ps", "--format", "json", cid).stdout)) < 3 and time.time() < end:
        time.sleep(0.02)
    assert len(json.loads(env.rt("ps", "--format", "json", cid).stdout)) == 3
    env.rt("kill", "--all", cid, "KILL")
    env.wait_status(cid, "stopped")
    env.rt("delete", cid)


def test_exec(env):
    b = env.bundle(["/bin/sleep", "1000"])
    cid = env.new_id()
    env.rt("run", "-d", "--bundle", b, cid)
    env.wait_status(cid, "running")
    p = env.rt("exec", cid, "/bin/sh", "-c", "echo out; echo $FOO; exit 4", "--env", "FOO=bar", check=False)
    # flags after the command belong to the command (runc semantics): FOO unset
    assert p.returncode == 4 and p.stdout.split("\n")[0] == "out"
    p = env.rt("exec", "--env", "FOO=bar", "--cwd", "/tmp", cid, "/bin/sh", "-c", "echo $FOO; pwd")
    assert p.stdout.split() == ["bar", "/tmp"]
    proc = {"args": ["/bin/sh", "-c", "id -u; cat /proc/self/status | grep CapEff"], "cwd": "/",
            "env": ["PATH=/bin"], "user": {"uid": 1000, "gid": 1000}}
    pf = os.path.join(env.base, "process.json")
    json.dump(proc, open(pf, "w"))
    out = env.rt("exec", "--process", pf, cid).stdout.split()
    assert out[0] == "1000" and out[-1] == "0000000000000000"
    pidfile = os.path.join(env.base, "exec.pid")
    env.rt("exec", "-d", "--pid-file", pidfile, cid, "/bin/sleep", "1000")
    epid = int(open(pidfile).read())
    assert epid in json.loads(env.rt("ps", "--format", "json", cid).stdout)
    # the exec'd process shares the container's pid namespace
    assert os.readlink(f"/proc/{epid}/ns/pid") == os.readlink(f"/proc/{env.state(cid)['pid']}/ns/pid")
    p = env.rt("exec", cid, "/nonexistent", check=False)
    assert p.returncode != 0 and "/nonexistent" in p.stderr
    env.rt("delete", "--force", cid)
    assert not os.path.exists(os.path.join(env.root, cid))


def test_readonly_rootfs_hostname_and_capabilities(env):
    b = env.bundle(["/bin/sh", "-c", "hostname; touch /x 2>/dev/null && echo writable || echo readonly; "
                    "grep CapEff /proc/self/status; grep CapBnd /proc/self/status; touch /tmp/ok 2>/dev/null || echo tmp-ro"],
                   hostname="drv-host")
    env.edit(b, lambda c: c["root"].update(readonly=True))
    out = env.rt("run", "--bundle", b, env.new_id()).stdout.split("\n")
    assert out[0] == "drv-host"
    assert out[1] == "readonly"
    want = (1 << 29) | (1 << 5) | (1 << 10)  # AUDIT_WRITE, KILL, NET_BIND_SERVICE
    assert int(out[2].split()[1], 16) == want
    assert int(out[3].split()[1], 16) == want


def test_user_namespace_mapping(env):
    b = env.bundle(["/bin/sh", "-c", "cat /proc/self/uid_map; cat /proc/self/gid_map; id -u"])

    def userns(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    env.edit(b, userns)
    out = env.rt("run", "--bundle", b, env.new_id()).stdout.split("\n")
    assert out[0].split() == ["0", "100000", "65536"]
    assert out[1].split() == ["0", "100000", "65536"]
    assert out[2] == "0"


def test_join_namespace_by_path(env):
    b = env.bundle(["/bin/sleep", "1000"])
    sandbox = env.new_id()
    env.rt("run", "-d", "--bundle", b, sandbox)
    spid = env.wait_status(sandbox, "running")["pid"]
    b2 = env.bundle(["/bin/sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc"])

    def join(c):
        for ns in c["linux"]["namespaces"]:
            if ns["type"] in ("network", "ipc"):
                ns["path"] = f"/proc/{spid}/ns/" + ("net" if ns["type"] == "network" else "ipc")
    env.edit(b2, join)
    out = env.rt("run", "--bundle", b2, env.new_id()).stdout.split()
    assert out == [os.readlink(f"/proc/{spid}/ns/net"), os.readlink(f"/proc/{spid}/ns/ipc")]


def mounts_now(under):
    """Host mounts whose line names `under` (the bundle): other tests mount and unmount
    elsewhere at the same time, so the whole table is no measure."""
    return sum(1 for line in open("/proc/self/mountinfo") if under in line)


@pytest.mark.parametrize("case", ["malformed", "namespace", "rootfs", "capability", "args", "mount"])
def test_bad_config_clear_error_nothing_left(env, case):
    b = env.bundle(["/bin/true"])
    path = os.path.join(b, "config.json")
    want = {
        "malformed": "config.json: line",
        "namespace": "linux.namespaces[0].type",
        "rootfs": "root.path",
        "capability": "process.capabilities.bounding[0]",
        "args": "process.args",
        "mount": "mounts[0]",
    }[case]
    if case == "malformed":
        open(path, "a").write("{")
    elif case == "namespace":
        env.edit(b, lambda c: c["linux"]["namespaces"][0].update(type="foo"))
    elif case == "rootfs":
        env.edit(b, lambda c: c["root"].update(path="/nonexistent-rootfs"))
    elif case == "capability":
        env.edit(b, lambda c: c["process"]["capabilities"]["bounding"].insert(0, "CAP_NOPE"))
    elif case == "args":
        env.edit(b, lambda c: c["process"].update(args=[]))
    elif case == "mount":
        # fails inside the init, after the cgroup and the namespaces exist (a name of this run:
        # a fixed one was once made on the host by something else running at the same time)
        src = f"/nonexistent-src-{os.getpid()}-{time.monotonic_ns()}"
        env.edit(b, lambda c: c["mounts"].insert(0, {"destination": "/mnt", "type": "bind",
                                                      "source": src, "options": ["bind"]}))
    cid = env.new_id()
    before = mounts_now(b)
    p = env.rt("create", "--bundle", b, cid, check=False)
    assert p.returncode != 0
    assert want in p.stderr, p.stderr
    assert len(p.stderr.strip().split("\n")) == 1
    assert not os.path.exists(os.path.join(env.root, cid))
    assert not cgroup_exists(cid)
    assert mounts_now(b) == before


def test_id_in_use(env):
    b = env.bundle(["/bin/sleep", "1000"])
    cid = env.new_id()
    env.rt("create", "--bundle", b, cid)
    p = env.rt("create", "--bundle", b, cid, check=False)
    assert p.returncode != 0 and "already exists" in p.stderr
    assert env.state(cid)["status"] == "created"
    env.rt("delete", cid)  # a created container is removed like runc does (containerd relies on it)
    assert not os.path.exists(os.path.join(env.root, cid)) and not cgroup_exists(cid)


def test_mount_destination_symlink_stays_inside_rootfs(env):
    host = os.path.join(env.base, f"hostdir{os.getpid()}")
    b = env.bundle(["/bin/sh", "-c", "touch /evil/file && echo done"])
    os.symlink(host, os.path.join(b, "rootfs", "evil"))  # absolute: must resolve inside the root
    env.edit(b, lambda c: c["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs"}))
    assert env.rt("run", "--bundle", b, env.new_id()).stdout == "done\n"
    assert not os.path.exists(host)
    assert os.path.isdir(os.path.join(b, "rootfs", host.lstrip("/")))


def test_hooks_get_state_on_stdin(env):
    b = env.bundle(["/bin/true"])
    out = os.path.join(env.base, "hooks")
    os.makedirs(out)
    hook = lambda name: {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}/{name}"]}
    env.edit(b, lambda c: c.update(hooks={k: [hook(k)] for k in
                                         ("prestart", "createRuntime", "poststart", "poststop")}))
    cid = env.new_id()
    env.rt("run", "--bundle", b, cid)
    for k in ("prestart", "createRuntime", "poststart", "poststop"):
        st = json.loads(open(os.path.join(out, k)).read())
        assert st["id"] == cid and st["bundle"] == os.path.realpath(b), k
    assert json.loads(open(os.path.join(out, "createRuntime")).read())["status"] == "created"
    assert json.loads(open(os.path.join(out, "poststop")).read())["status"] == "stopped"
    b = env.bundle(["/bin/true"])
    env.edit(b, lambda c: c.update(hooks={"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 5"],
                                                         "timeout": 1}]}))
    cid = env.new_id()
    p = env.rt("create", "--bundle", b, cid, check=False)
    assert p.returncode != 0 and "timed out" in p.stderr
    assert not os.path.exists(os.path.join(env.root, cid))


def test_console_socket_receives_pty(env):
    b = env.bundle(["/bin/sh", "-c", "test -t 0 && echo tty-ok"])
    env.edit(b, lambda c: c["process"].update(terminal=True))
    sock_path = os.path.join(env.base, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    cid = env.new_id()
    p = subprocess.Popen([RUNTIME, "--root", env.root, "create", "--bundle", b, "--console-socket", sock_path, cid],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, _ = srv.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    assert p.wait(timeout=30) == 0, p.stderr.read()
    assert msg.startswith(b"/dev/pts/") and len(fds) == 1
    env.rt("start", cid)
    data = b""
    end = time.time() + 10
    while b"tty-ok" not in data and time.time() < end:
        try:
            chunk = os.read(fds[0], 1024)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(fds[0])
    conn.close()
    srv.close()
    assert b"tty-ok" in data


def test_spec_and_features():
    d = tempfile.mkdtemp(prefix="drv-spec-")
    try:
        run(RUNTIME, "spec", "--bundle", d)
        cfg = json.load(open(os.path.join(d, "config.json")))
        assert cfg["process"]["args"] == ["sh"] and cfg["root"]["path"] == "rootfs"
        assert run(RUNTIME, "spec", "--bundle", d, check=False).returncode != 0
        f = json.loads(run(RUNTIME, "features").stdout)
        assert "user" in f["linux"]["namespaces"] and "poststop" in f["hooks"]
        caps = f["linux"]["capabilities"]
        assert caps[0] == "CAP_CHOWN" and caps[-1] == "CAP_CHECKPOINT_RESTORE" and len(caps) == 41
    finally:
        shutil.rmtree(d)


def test_run_terminal_without_console_socket_relays_pty(env):
    import pty
    b = env.bundle(["/bin/sh", "-c", "test -t 0 && echo is-a-tty; exit 5"])
    env.edit(b, lambda c: c["process"].update(terminal=True))
    master, slave = pty.openpty()
    p = subprocess.Popen([RUNTIME, "--root", env.root, "run", "--bundle", b, env.new_id()],
                         stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    end = time.time() + 20
    while time.time() < end:
        try:
            chunk = os.read(master, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if p.poll() is not None and b"is-a-tty" in out:
            break
    assert p.wait(timeout=20) == 5
    os.close(master)
    assert b"is-a-tty" in out


def test_no_pivot_sysctl_and_update(env):
    b = env.bundle(["/bin/sleep", "1000"])
    env.edit(b, lambda c: c["linux"].update(sysctl={"net.ipv4.ip_forward": "1", "kernel.shmmax": "65536"}))
    cid = env.new_id()
    env.rt("run", "-d", "--no-pivot", "--bundle", b, cid)
    env.wait_status(cid, "running")
    out = env.rt("exec", cid, "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax").stdout.split()
    assert out == ["1", "65536"]
    res = os.path.join(env.base, "res.json")
    json.dump({"pids": {"limit": 50}, "memory": {"limit": 64 << 20}}, open(res, "w"))
    env.rt("update", "--resources", res, cid)
    assert open(f"/sys/fs/cgroup/pids/drover/{cid}/pids.max").read().strip() == "50"
    env.rt("update", "--pids-limit", "60", cid)
    assert open(f"/sys/fs/cgroup/pids/drover/{cid}/pids.max").read().strip() == "60"
    env.rt("delete", "--force", cid)
    assert not cgroup_exists(cid)


def test_exec_terminal_without_console_socket_relays_pty(env):
    import pty
    b = env.bundle(["/bin/sleep", "1000"])
    cid = env.new_id()
    env.rt("run", "-d", "--bundle", b, cid)
    env.wait_status(cid, "running")
    master, slave = pty.openpty()
    p = subprocess.Popen([RUNTIME, "--root", env.root, "exec", "-t", cid, "sh", "-c", "test -t 0 && echo exec-tty; exit 4"],
                         stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    end = time.time() + 20
    while time.time() < end and b"exec-tty" not in out:
        try:
            chunk = os.read(master, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(timeout=20) == 4
    os.close(master)
    assert b"exec-tty" in out
    env.rt("delete", "--force", cid)
