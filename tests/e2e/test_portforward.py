"""kubectl port-forward with the real kubectl against `drover up`: kubectl's SPDY/3.1 session is
relayed by the API server to the agent, which connects to the port inside the pod's network
namespace (busybox httpd in the test image)."""
import json
import os
import re
import select
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import agentlib
from agentlib import IMAGE
from apiserver import KUBECTL, wait_for


@pytest.fixture(scope="module")
def up():
    with agentlib.up_with_busybox("pf", f"pf-{os.getpid()}") as s:
        yield s


@pytest.fixture(scope="module")
def web(up):
    """A pod serving /www on 127.0.0.1:8080 inside its own network namespace (so only a forward
    into that namespace reaches it): index.html and a 1.2 MB file."""
    script = ("mkdir -p /www && echo hello-from-drover > /www/index.html && "
              "seq 1 200000 > /www/big && "
              "exec httpd -f -p 127.0.0.1:8080 -h /www")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                    "command": ["sh", "-c", script]}],
                    "terminationGracePeriodSeconds": 1}}
    up.kubectl("apply", "-f", "-", input=json.dumps(pod))
    wait_for(lambda: json.loads(up.kubectl("get", "pod", "web", "-o", "json").stdout)["status"].get("phase") == "Running",
             timeout=60, what="web running")
    return "web"


class Forward:
    """`kubectl port-forward pod/NAME :PORT` running; .port is the local port kubectl chose."""

    def __init__(self, up, pod, remote, env=None, args=()):
        env = dict(os.environ, KUBECONFIG=up.kubeconfig, **(env or {}))
        # stderr to a file: kubectl -v logs would fill a pipe nobody reads and stop kubectl
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen([KUBECTL, "port-forward", *args, f"pod/{pod}", f":{remote}"],
                                  stdout=subprocess.PIPE, stderr=self.err, env=env)
        out = b""
        deadline = time.time() + 30
        while True:
            m = re.search(rb"Forwarding from 127\.0\.0\.1:(\d+)", out)
            if m:
                self.port = int(m.group(1))
                break
            left = deadline - time.time()
            if left <= 0 or self.p.poll() is not None:
                raise AssertionError(f"kubectl port-forward did not start: {out!r} {self.stop()!r}")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                out += os.read(self.p.stdout.fileno(), 4096)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.seek(0)
        err = self.err.read().decode(errors="replace")
        self.p.stdout.close()
        self.err.close()
        return err


def http_get(port, path, timeout=20):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_get_through_forward(up, web):
    f = Forward(up, web, 8080)
    try:
        head, body = http_get(f.port, "/index.html")
        assert head.startswith(b"HTTP/1.") and b" 200" in head.split(b"\r\n")[0], head
        assert body == b"hello-from-drover\n"
        # a second connection over the same session
        _, body = http_get(f.port, "/index.html")
        assert body == b"hello-from-drover\n"
    finally:
        f.stop()


@pytest.mark.parametrize("websockets", ["true", "false"])
def test_transports(up, web, websockets):
    """kubectl's default, SPDY/3.1 tunneled in WebSocket binary messages, and its plain SPDY/3.1
    upgrade (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)."""
    f = Forward(up, web, 8080, env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets}, args=["-v=8"])
    try:
        assert http_get(f.port, "/index.html")[1] == b"hello-from-drover\n"
    finally:
        err = f.stop()
    # kubectl -v=8 logs the tunnel's reads, or the 101 of its SPDY upgrade
    if websockets == "true":
        assert "tunneling_connection.go" in err, err[-3000:]
    else:
        assert "Upgrade: SPDY/3.1" in err and "tunneling_connection.go" not in err, err[-3000:]


@pytest.mark.parametrize("websockets", ["true", "false"])
def test_large_and_concurrent(up, web, websockets):
    """1.2 MB (18 windows of 64 KiB) on two connections at once, byte for byte, both transports."""
    want = "".join(f"{i}\n" for i in range(1, 200001)).encode()
    f = Forward(up, web, 8080, env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets})
    try:
        results, errors = [None, None], []

        def get(i):
            try:
                results[i] = http_get(f.port, "/big")[1]
            except Exception as e:  # reported below
                errors.append(e)
        ts = [threading.Thread(target=get, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors
        for r in results:
            assert r is not None and len(r) == len(want) and r == want
    finally:
        f.stop()


def test_port_nothing_listens_on(up, web):
    """kubectl prints the agent's error for the connection (kubelet's words). kubectl v1.32 then
    ends the whole forward itself ("lost connection to pod": client-go closes its session on any
    forwarding error); the
    pod, the agent and the server are unharmed: a new forward works at once."""
    f = Forward(up, web, 8081)
    try:
        with socket.create_connection(("127.0.0.1", f.port), timeout=20) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.settimeout(20)
            assert s.recv(100) == b""  # closed without an answer
        wait_for(lambda: f.p.poll() is not None, timeout=20, what="kubectl port-forward to end")
    finally:
        err = f.stop()
    assert "an error occurred forwarding" in err and "error forwarding port 8081 to pod web" in err, err
    assert "connect: connection refused" in err, err
    f = Forward(up, web, 8080)
    try:
        assert http_get(f.port, "/index.html")[1] == b"hello-from-drover\n"
    finally:
        f.stop()


def test_unknown_pod(up):
    env = dict(os.environ, KUBECONFIG=up.kubeconfig)
    r = subprocess.run([KUBECTL, "port-forward", "pod/nope", ":80"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode != 0 and 'pods "nope" not found' in r.stderr, r.stderr
