"""kubectl attach (stdin, tty, output only), `kubectl run -i`, and exec edge cases, with the real
kubectl against `drover up`: the container's stdin is held by the pod's sandbox, so an attach
still reaches it after kill -9 of `drover up`."""
import json
import os
import select
import subprocess
import time

import pytest

import agentlib
from agentlib import IMAGE
from apiserver import KUBECTL, wait_for


@pytest.fixture(scope="module")
def up():
    with agentlib.up_with_busybox("attach", f"att-{os.getpid()}") as s:
        yield s


def make_pod(up, name, script, restart="Never", **ctr):
    c = {"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script]}
    c.update(ctr)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [c], "restartPolicy": restart, "terminationGracePeriodSeconds": 1}}
    up.kubectl("apply", "-f", "-", input=json.dumps(pod))
    wait_for(lambda: json.loads(up.kubectl("get", "pod", name, "-o", "json").stdout)["status"].get("phase") == "Running",
             timeout=60, what=f"{name} running")


def ctr_state(up, name):
    st = json.loads(up.kubectl("get", "pod", name, "-o", "json").stdout)["status"]
    return st["containerStatuses"][0]


def kubectl_popen(up, *args, tty=False):
    env = dict(os.environ, KUBECONFIG=up.kubeconfig)
    cmd = [KUBECTL, *args]
    if tty:
        # `script` gives kubectl a terminal of its own (123 columns, 45 rows)
        cmd = ["script", "-qec", "stty cols 123 rows 45; " + " ".join(cmd), "/dev/null"]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def read_until(p, want, timeout=30):
    """Reads p's stdout until it contains want; returns what was read."""
    out = b""
    deadline = time.time() + timeout
    while want.encode() not in out:
        left = deadline - time.time()
        if left <= 0:
            raise AssertionError(f"no {want!r} in kubectl's output: {out!r}")
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"kubectl ended without {want!r}: {out!r} {p.stderr.read()!r}")
            out += chunk
    return out.decode(errors="replace")


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)


def test_attach_stdin_survives_kill9_of_up(up):
    make_pod(up, "att", 'echo ready; while read l; do echo "got:$l"; [ "$l" = quit ] && exit 0; done',
             stdin=True)
    wait_for(lambda: "ready" in up.kubectl("logs", "att").stdout, what="att ready")
    p = kubectl_popen(up, "attach", "-i", "att")
    try:
        p.stdin.write(b"one\n")
        p.stdin.flush()
        read_until(p, "got:one")
    finally:
        stop(p)
    pid_before = ctr_state(up, "att")["containerID"]
    # kill -9 of drover up: the sandbox keeps the stdin pipe open, the restarted agent re-adopts
    up.kill9()
    up.start()
    wait_for(lambda: up.kubectl("get", "pod", "att", check=False).returncode == 0, what="server back")
    p = kubectl_popen(up, "attach", "-i", "att")
    try:
        p.stdin.write(b"two\n")
        p.stdin.flush()
        read_until(p, "got:two")
        out, err = p.communicate(input=b"quit\n", timeout=30)
        assert p.returncode == 0, err
    finally:
        stop(p)
    c = ctr_state(up, "att")
    assert c["containerID"] == pid_before and c["restartCount"] == 0
    wait_for(lambda: "got:quit" in up.kubectl("logs", "att").stdout, what="quit in the logs")
    logs = up.kubectl("logs", "att").stdout
    assert "got:one" in logs and "got:two" in logs


def test_run_interactive_with_stdin_once(up):
    """`kubectl run -i --rm`: kubectl creates the pod with stdin and stdinOnce and attaches; the
    end of its input is the container's EOF, so the shell exits and the pod is removed."""
    p = up.kubectl("run", "-i", "--rm", "--restart=Never", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent",
                   "runi", "--", "sh", input="echo hello-$((40+2))\nexit 3\n", check=False, timeout=120)
    assert "hello-42" in p.stdout, (p.stdout, p.stderr)
    # the pod's exit code comes back, then kubectl deletes it
    assert p.returncode == 3, (p.stdout, p.stderr)
    wait_for(lambda: up.kubectl("get", "pod", "runi", check=False).returncode != 0, timeout=60,
             what="runi removed")
    # and without exit: EOF ends the shell
    p = up.kubectl("run", "-i", "--rm", "--restart=Never", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent",
                   "runi2", "--", "sh", input="echo bye-$((1+1))\n", check=False, timeout=120)
    assert p.returncode == 0 and "bye-2" in p.stdout, (p.stdout, p.stderr)


def test_attach_tty_resize_and_logs(up):
    make_pod(up, "tty", "exec sh", stdin=True, tty=True)
    p = kubectl_popen(up, "attach", "-it", "tty", tty=True)
    try:
        p.stdin.write(b"stty size; echo tty-$((6*7))\n")
        p.stdin.flush()
        out = read_until(p, "tty-42")
        # kubectl's terminal size reached the container's terminal (TIOCSWINSZ)
        assert "45 123" in out, out
    finally:
        stop(p)  # detached: the shell keeps its terminal (no stdinOnce)
    # the sandbox holds the terminal across kill -9 of drover up: the same shell answers
    up.kill9()
    up.start()
    wait_for(lambda: up.kubectl("get", "pod", "tty", check=False).returncode == 0, what="server back")
    p = kubectl_popen(up, "attach", "-it", "tty", tty=True)
    try:
        p.stdin.write(b"echo again-$((3*3)); busybox tty; exit\n")
        p.stdin.flush()
        out = read_until(p, "again-9")
        out += p.communicate(timeout=30)[0].decode(errors="replace")
        assert "/dev/pts/" in out or "/dev/console" in out, out
    finally:
        stop(p)
    wait_for(lambda: ctr_state(up, "tty")["state"].get("terminated"), what="tty shell exited")
    assert ctr_state(up, "tty")["restartCount"] == 0
    # a TTY container's output is in its log too
    logs = up.kubectl("logs", "tty").stdout
    assert "tty-42" in logs and "45 123" in logs and "again-9" in logs, logs


def test_attach_output_only_and_stdin_refused(up):
    make_pod(up, "plain", "for i in $(seq 1 100); do echo line-$i; sleep 0.1; done; exec sleep 1000")
    p = kubectl_popen(up, "attach", "plain")
    try:
        read_until(p, "line-")
    finally:
        stop(p)
    p = up.kubectl("attach", "-i", "plain", input="x\n", check=False, timeout=30)
    assert p.returncode != 0 and "stdin: true" in p.stderr, (p.stdout, p.stderr)
    assert "SPDY" not in p.stderr and "upgrade request" not in p.stderr


def test_exec_missing_command_with_unread_stdin(up):
    make_pod(up, "exm", "exec sleep 1000", restart="Always")
    data = "x" * 2_000_000
    for _ in range(3):
        p = up.kubectl("exec", "-i", "exm", "--", "/no/such/cmd", input=data, check=False, timeout=30)
        assert p.returncode != 0
        assert "error executing command in container" in p.stderr and "/no/such/cmd" in p.stderr, p.stderr
        assert "reset" not in p.stderr and "SPDY" not in p.stderr, p.stderr


def test_exec_stdin_does_not_block_output(up):
    """The process writes 3 MB before it reads any of its 4 MB of stdin: the agent keeps the
    output flowing while stdin waits (blocking writes to the pipe would deadlock both)."""
    make_pod(up, "exio", "exec sleep 1000", restart="Always")
    n_out, data = 3_000_000, "0123456789abcdef" * 250_000
    p = up.kubectl("exec", "-i", "exio", "--", "sh", "-c",
                   f"head -c {n_out} /dev/zero | tr '\\0' x; echo; busybox wc -c", input=data,
                   check=False, timeout=90)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert len(lines[0]) == n_out and lines[1].strip() == str(len(data)), (len(p.stdout), p.stderr)


def test_exec_into_stopped_container_message(up):
    up.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "half"},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [
            {"name": "run", "image": IMAGE, "command": ["sleep", "1000"]},
            {"name": "done", "image": IMAGE, "command": ["true"]}]}}))
    wait_for(lambda: any(c["name"] == "done" and c["state"].get("terminated")
                         for c in json.loads(up.kubectl("get", "pod", "half", "-o", "json").stdout)["status"]
                         .get("containerStatuses", [])), timeout=60, what="done exited")
    for verb in (["exec", "half", "-c", "done", "--", "true"], ["attach", "half", "-c", "done"]):
        t0 = time.monotonic()
        p = up.kubectl(*verb, check=False, timeout=30)
        assert p.returncode != 0
        assert 'container not found ("done")' in p.stderr, p.stderr
        assert "SPDY" not in p.stderr and "upgrade request" not in p.stderr, p.stderr
        assert time.monotonic() - t0 < 10


def test_exec_into_unscheduled_pod_message(up):
    """Refused before any agent is involved: kubectl retries with SPDY and shows the reason."""
    up.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nohost"},
        "spec": {"nodeSelector": {"drover.test/none": "x"}, "containers": [
            {"name": "c", "image": IMAGE, "command": ["sleep", "1000"]}]}}))
    p = up.kubectl("exec", "nohost", "--", "true", check=False, timeout=30)
    assert p.returncode != 0 and "does not have a host assigned" in p.stderr, p.stderr
    up.kubectl("delete", "pod", "nohost", "--wait=false")


def test_run_it_with_a_terminal(up):
    """`kubectl run -it --rm`: a shell on the container's terminal; its exit code comes back."""
    env = dict(os.environ, KUBECONFIG=up.kubeconfig)
    cmd = ["script", "-qec", f"stty cols 100 rows 30; {KUBECTL} run -it --rm --restart=Never --image={IMAGE} "
           "--image-pull-policy=IfNotPresent runit -- sh", "/dev/null"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out = read_until(p, "/ # ", timeout=60)  # the prompt, though it has no newline
        o, _ = p.communicate(input=b"echo itworks-$((2*21)); exit 5\n", timeout=60)
        out += o.decode(errors="replace")
        assert "itworks-42" in out and p.returncode == 5, out
    finally:
        stop(p)
    wait_for(lambda: up.kubectl("get", "pod", "runit", check=False).returncode != 0, timeout=60,
             what="runit removed")
