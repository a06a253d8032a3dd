"""Docker acceptance: Debian's dockerd (started here, private dirs and socket) runs containers
through `--runtime drover` (containerd-shim-runc-v2 driving drover-runtime)."""
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import DROVER

RUNTIME = os.path.join(os.path.dirname(os.path.abspath(DROVER)), "drover-runtime")
BUSYBOX = "/bin/busybox"


def image_tar(out, tag):
    """A docker-save archive with one layer: busybox-static and a few applet links."""
    lb = io.BytesIO()
    with tarfile.open(fileobj=lb, mode="w") as t:
        for d in ("bin", "tmp", "etc", "proc", "sys", "dev"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o1777 if d == "tmp" else 0o755
            t.addfile(ti)
        t.add(BUSYBOX, "bin/busybox")
        for a in ("sh", "echo", "sleep", "true", "cat", "id"):
            ti = tarfile.TarInfo("bin/" + a)
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            t.addfile(ti)
    layer = lb.getvalue()
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
                      "rootfs": {"type": "layers",
                                 "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    with tarfile.open(out, "w") as t:
        for name, data in ((cid + ".json", cfg), ("layer0/layer.tar", layer),
                           ("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": [tag],
                                                          "Layers": ["layer0/layer.tar"]}]).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def unmount_under(path):
    mounts = [l.split()[4] for l in open("/proc/self/mountinfo")]
    for m in sorted((m for m in mounts if m.startswith(path + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


@pytest.fixture(scope="module")
def dockerd():
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root")
    if not shutil.which("dockerd") or not shutil.which("docker"):
        pytest.skip("docker.io is not installed (scripts/deps.sh)")
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static missing (scripts/deps.sh)")
    base = tempfile.mkdtemp(prefix=f"drv-docker-{os.getpid()}-")
    sock = f"/tmp/drv-docker-{os.getpid()}.sock"
    log = open(os.path.join(base, "dockerd.log"), "w")
    p = subprocess.Popen(["dockerd", "--data-root", os.path.join(base, "data"),
                          "--exec-root", os.path.join(base, "exec"),
                          "--pidfile", os.path.join(base, "dockerd.pid"), "-H", "unix://" + sock,
                          "--bridge=none", "--iptables=false", "--ip-masq=false",
                          "--add-runtime", f"drover={RUNTIME}"],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    env = dict(os.environ, DOCKER_HOST="unix://" + sock)
    ok = False
    end = time.time() + 60
    while time.time() < end and p.poll() is None:
        if subprocess.run(["docker", "info"], env=env, capture_output=True).returncode == 0:
            ok = True
            break
        time.sleep(0.2)
    try:
        if not ok:
            log.flush()
            tail = open(os.path.join(base, "dockerd.log")).read()[-800:]
            pytest.skip(f"dockerd could not start here (exit {p.poll()}): {tail}")
        tar = os.path.join(base, "image.tar")
        image_tar(tar, "drvtest:latest")
        subprocess.run(["docker", "load", "-i", tar], env=env, check=True, capture_output=True)
        yield env
    finally:
        if p.poll() is None:
            ids = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], env=env, capture_output=True)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        log.close()
        unmount_under(base)
        shutil.rmtree(base, ignore_errors=True)
        if os.path.exists(sock):
            os.unlink(sock)


def docker(env, *args, check=True, timeout=120):
    p = subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {args} exited {p.returncode}: {p.stderr}")
    return p


def test_docker_run_attached(dockerd):
    p = docker(dockerd, "run", "--runtime", "drover", "--rm", "drvtest", "echo", "hi")
    assert p.stdout == "hi\n"
    p = docker(dockerd, "run", "--runtime", "drover", "--rm", "drvtest", "sh", "-c", "exit 3", check=False)
    assert p.returncode == 3
    p = subprocess.run(["docker", "run", "--runtime", "drover", "--rm", "-i", "drvtest", "cat"],
                       env=dockerd, input="stdin-ok\n", capture_output=True, text=True, timeout=120)
    assert p.stdout == "stdin-ok\n"


def test_docker_run_detached_exec_stop(dockerd):
    cid = docker(dockerd, "run", "-d", "--runtime", "drover", "drvtest", "sleep", "1000").stdout.strip()
    try:
        st = json.loads(docker(dockerd, "inspect", cid).stdout)[0]["State"]
        assert st["Running"] and st["Pid"] > 0
        assert docker(dockerd, "exec", cid, "sh", "-c", "echo exec-ok").stdout == "exec-ok\n"
        docker(dockerd, "stop", "-t", "2", cid)
        st = json.loads(docker(dockerd, "inspect", cid).stdout)[0]["State"]
        assert not st["Running"]
    finally:
        docker(dockerd, "rm", "-f", cid, check=False)
