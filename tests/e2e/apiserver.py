"""Starts `drover server` (or `drover up`) on a free loopback port with a temp data dir, and
talks to it with the real kubectl (KUBECONFIG = the written file, no extra flags) or HTTP."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from conftest import DROVER, Process

KUBECTL = "/usr/bin/kubectl"

# A two-replica busybox Deployment that the kubectl suites apply and change.
WEB_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox:1.36
        command: ["sleep", "3600"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(Process):
    def __init__(self, verb="server", data_dir=None, extra=()):
        self.own_dir = data_dir is None
        self.dir = data_dir or tempfile.mkdtemp(prefix=f"drv-api-{os.getpid()}-")
        self.verb = verb
        self.extra = list(extra)
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def kubeconfig(self):
        return os.path.join(self.dir, "kubeconfig")

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        self.log = open(os.path.join(self.dir, f"{self.verb}.log"), "ab") if os.path.isdir(self.dir) else None
        if self.log is None:
            os.makedirs(self.dir, exist_ok=True)
            self.log = open(os.path.join(self.dir, f"{self.verb}.log"), "ab")
        self.proc = subprocess.Popen(
            [DROVER, self.verb, "--data-dir", self.dir, "--listen", f"127.0.0.1:{self.port}"] + self.extra,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"drover {self.verb} exited {self.proc.returncode}: {self.logtext()}")
            if os.path.exists(self.kubeconfig):
                try:
                    code, _ = self.http("GET", "/healthz")
                    if code == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"drover {self.verb} did not come up: {self.logtext()}")

    def logtext(self):
        try:
            with open(os.path.join(self.dir, f"{self.verb}.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def token(self):
        with open(self.kubeconfig) as f:
            for line in f:
                if line.strip().startswith("token:"):
                    return line.split(":", 1)[1].strip()
        return ""

    def ssl_context(self):
        return ssl.create_default_context(cafile=os.path.join(self.dir, "ca.crt"))

    def http(self, method, path, body=None, headers=None, token=True, timeout=30):
        """Returns (status, parsed JSON or text)."""
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = "Bearer " + self.token()
        elif token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=timeout) as r:
                code, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, raw = e.code, e.read()
        try:
            return code, json.loads(raw)
        except ValueError:
            return code, raw.decode(errors="replace")

    def kubectl(self, *args, check=True, input=None, timeout=60):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        env.pop("KUBERNETES_SERVICE_HOST", None)
        p = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, input=input,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(cond, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
