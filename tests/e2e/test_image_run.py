"""drover run: image config → OCI spec → container, pulling when missing."""
import os
import shutil
import tempfile
import time

import pytest

from conftest import drover
import imagelib as L


@pytest.fixture(scope="module")
def env():
    root = tempfile.mkdtemp(prefix=f"drv-run-{os.getpid()}-")
    reg = L.Registry(os.path.join(root, "reg"))
    img = L.Image([(L.busybox_layer(), "gzip"), (L.tar_layer([{"name": "etc/.wh.group"}]), "zstd")],
                  config={"Entrypoint": ["/bin/echo"], "Cmd": ["hello", "from", "image"],
                          "Env": ["PATH=/bin", "X=1"], "User": "app", "WorkingDir": "/tmp"})
    ref = reg.push_image("drover/run", "v1", img)
    yield root, ref
    reg.stop()
    for line in reversed(open("/proc/self/mountinfo").read().splitlines()):
        if line.split()[4].startswith(root):
            os.system(f"umount -l {line.split()[4]}")
    shutil.rmtree(root, ignore_errors=True)


def run(root, *args, check=True):
    return drover("run", "--data-dir", os.path.join(root, "d"), *args, check=check, timeout=120)


def test_run_image_defaults_and_overrides(env):
    root, ref = env
    p = run(root, "--rm", ref)
    assert p.stdout == "hello from image\n"
    assert run(root, "--rm", ref, "args", "replace", "cmd").stdout == "args replace cmd\n"
    # user from the image (name → uid/gid via its /etc/passwd), workdir, env, exit code
    p = run(root, "--rm", "--entrypoint", "/bin/sh", ref, "-c", "id -u; id -g; pwd; echo $X; exit 3",
            check=False)
    assert p.returncode == 3
    assert p.stdout.split() == ["1000", "1001", "/tmp", "1"]
    p = run(root, "--rm", "-e", "X=over", "-e", "Y=2", "-w", "/", "-u", "0:0", "--entrypoint", "/bin/sh",
            ref, "-c", "id -u; pwd; echo $X $Y; test -e /etc/group || echo whiteout-ok")
    assert p.stdout.split() == ["0", "/", "over", "2", "whiteout-ok"]
    # --rm leaves nothing behind
    assert os.listdir(os.path.join(root, "d", "containers")) == []
    assert not [l for l in open("/proc/self/mountinfo") if os.path.join(root, "d") in l]


def test_run_detached_rm(env):
    root, ref = env
    name = f"bg-{os.getpid()}"
    p = run(root, "-d", "--rm", "--name", name, "--entrypoint", "/bin/sleep", ref, "0.5")
    assert p.stdout.strip() == name
    bundle = os.path.join(root, "d", "containers", name)
    deadline = time.time() + 20
    while os.path.exists(bundle) and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(bundle)


def test_run_errors(env):
    root, ref = env
    p = run(root, "--rm", ref.replace(":v1", ":missing"), check=False)
    assert p.returncode == 125 and "404" in p.stderr
    p = run(root, "--rm", "-u", "nosuchuser", ref, check=False)
    assert p.returncode == 125 and "no such user" in p.stderr
    assert os.listdir(os.path.join(root, "d", "containers")) == []


def test_run_forwards_signals(env):
    import signal
    import subprocess
    root, ref = env
    p = subprocess.Popen([os.environ.get("DROVER_BIN", "build/drover"), "run", "--rm", "--data-dir",
                          os.path.join(root, "d"), "--entrypoint", "/bin/sh", ref, "-c",
                          "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 7, err
    assert "got-term" in out
    assert os.listdir(os.path.join(root, "d", "containers")) == []
