"""Helpers for the image tests and benchmark: build images from /bin/busybox at test time
(tar + gzip/zstd + JSON, digests computed here), run Debian's docker-registry on loopback, push
through the distribution API, and a small registry facade that adds auth or faults."""
import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import socket
import socketserver
import subprocess
import tarfile
import threading
import time
import base64
import urllib.parse

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
BUSYBOX = "/bin/busybox"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- layers ----

def tar_layer(entries):
    """entries: list of dicts {name, type: file|dir|symlink|hardlink|chardev, data, mode, target,
    uid, gid, mtime}. Returns uncompressed tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mode = e.get("mode", 0o755 if e.get("type") == "dir" else 0o644)
            ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
            ti.mtime = e.get("mtime", 1700000000)
            typ = e.get("type", "file")
            data = None
            if typ == "dir":
                ti.type = tarfile.DIRTYPE
            elif typ == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, e["target"]
            elif typ == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, e["target"]
            elif typ == "chardev":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, e.get("major", 1), e.get("minor", 3)
            elif typ == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                data = e.get("data", b"")
                if isinstance(data, str):
                    data = data.encode()
                ti.size = len(data)
            if "xattrs" in e:
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def busybox_layer(extra=()):
    """A base layer: /bin/busybox, sh/ls/cat/echo/true links, /etc/passwd + group."""
    bb = open(BUSYBOX, "rb").read()
    entries = [
        {"name": "bin", "type": "dir"},
        {"name": "bin/busybox", "data": bb, "mode": 0o755},
    ]
    for app in ("sh", "ls", "cat", "echo", "true", "id", "env", "pwd", "sleep", "stat", "test"):
        entries.append({"name": "bin/" + app, "type": "symlink", "target": "busybox"})
    entries += [
        {"name": "etc", "type": "dir"},
        {"name": "etc/passwd", "data": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1001::/home/app:/bin/sh\n"},
        {"name": "etc/group", "data": "root:x:0:\nnogroup:x:65534:\napp:x:1001:\n"},
        {"name": "tmp", "type": "dir", "mode": 0o1777},
    ]
    entries += list(extra)
    return tar_layer(entries)


def compress(raw, kind):
    if kind == "gzip":
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if kind == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, capture_output=True, check=True).stdout
    return raw


class Image:
    """An image as blobs: layers (compressed), config, manifest; docker=True → schema2 types."""

    def __init__(self, layers, config=None, docker=False, arch="amd64"):
        # layers: list of (raw tar bytes, "gzip"|"zstd"|"none")
        self.blobs = {}
        self.layer_descs = []
        diff_ids = []
        for raw, comp in layers:
            data = compress(raw, comp)
            if docker:
                mt = DOCKER_LAYER
            else:
                mt = OCI_LAYER + {"gzip": "+gzip", "zstd": "+zstd", "none": ""}[comp]
            d = sha(data)
            self.blobs[d] = data
            self.layer_descs.append({"mediaType": mt, "digest": d, "size": len(data)})
            diff_ids.append(sha(raw))
        cfg = {
            "architecture": arch, "os": "linux", "created": "2024-01-02T03:04:05Z",
            "config": {"Env": ["PATH=/bin", "GREETING=hello"], "Cmd": ["/bin/sh"], "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        if config:
            cfg["config"].update(config)
        self.config = json.dumps(cfg, sort_keys=True).encode()
        self.config_digest = sha(self.config)
        self.blobs[self.config_digest] = self.config
        self.manifest_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        man = {
            "schemaVersion": 2, "mediaType": self.manifest_type,
            "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                       "digest": self.config_digest, "size": len(self.config)},
            "layers": self.layer_descs,
        }
        self.manifest = json.dumps(man).encode()
        self.digest = sha(self.manifest)
        self.diff_ids = diff_ids

    def write_layout(self, d, tag="latest"):
        """Writes an OCI image layout (for skopeo/umoci and `drover image import`)."""
        os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
        for dg, data in list(self.blobs.items()) + [(self.digest, self.manifest)]:
            with open(os.path.join(d, "blobs", "sha256", dg[7:]), "wb") as f:
                f.write(data)
        with open(os.path.join(d, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with open(os.path.join(d, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": self.digest, "size": len(self.manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)


def index_for(images, docker=False):
    mt = DOCKER_LIST if docker else OCI_INDEX
    doc = {"schemaVersion": 2, "mediaType": mt, "manifests": [
        {"mediaType": im.manifest_type, "digest": im.digest, "size": len(im.manifest),
         "platform": {"architecture": arch, "os": "linux"}} for im, arch in images]}
    data = json.dumps(doc).encode()
    return data, mt, sha(data)


# ---- registry ----

class Registry:
    """Debian's docker-registry on 127.0.0.1:<free port>, storage in a temp dir."""

    def __init__(self, root, extra_config=""):
        self.root = root
        self.storage = os.path.join(root, "storage")
        os.makedirs(self.storage, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        cfg = os.path.join(root, "config.yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:{self.port}
  secret: drover-test-{os.getpid()}
""" + extra_config)
        self.log = open(os.path.join(root, "registry.log"), "w")
        self.proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", cfg],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/v2/", headers={"Authorization": "Bearer probe"})
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("docker-registry did not start: " + open(self.log.name).read())
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def _req(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        # any bearer passes the registry's "silly" auth; registries without auth ignore it
        c.request(method, path, body=body, headers=dict(headers or {}, Authorization="Bearer push"))
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def push_blob(self, repo, data):
        d = sha(data)
        r, _ = self._req("HEAD", f"/v2/{repo}/blobs/{d}")
        if r.status == 200:
            return d
        r, _ = self._req("POST", f"/v2/{repo}/blobs/uploads/")
        assert r.status == 202, r.status
        loc = urllib.parse.urlparse(r.getheader("Location"))
        q = loc.query + ("&" if loc.query else "") + "digest=" + urllib.parse.quote(d)
        r, body = self._req("PUT", f"{loc.path}?{q}", body=data,
                            headers={"Content-Type": "application/octet-stream"})
        assert r.status == 201, (r.status, body)
        return d

    def push_manifest(self, repo, ref, data, mt):
        r, body = self._req("PUT", f"/v2/{repo}/manifests/{ref}", body=data, headers={"Content-Type": mt})
        assert r.status == 201, (r.status, body)

    def push_image(self, repo, tag, img):
        for data in img.blobs.values():
            self.push_blob(repo, data)
        self.push_manifest(repo, tag, img.manifest, img.manifest_type)
        return f"{self.host}/{repo}:{tag}"

    def push_index(self, repo, tag, images, docker=False):
        for im, _ in images:
            for data in im.blobs.values():
                self.push_blob(repo, data)
            self.push_manifest(repo, im.digest, im.manifest, im.manifest_type)
        data, mt, d = index_for(images, docker)
        self.push_manifest(repo, tag, data, mt)
        return f"{self.host}/{repo}:{tag}", d

    def blob_data_path(self, digest):
        h = digest[7:]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256", h[:2], h, "data")


# ---- facade: auth and faults in front of a registry ----

class Facade:
    """An HTTP front for a registry. mode: "bearer" (token from /token, optionally requiring
    basic creds there), "basic" (basic auth on every request), None. fail_blobs: answer the first
    N blob GETs with 503. cut_blobs: send only half of the first N blob bodies, then close."""

    def __init__(self, upstream_port, mode=None, user="alice", password="s3cret",
                 fail_blobs=0, cut_blobs=0, token_needs_basic=True, tls=None, stall_blobs=0):
        self.upstream = upstream_port
        self.mode, self.user, self.password = mode, user, password
        self.fail_blobs, self.cut_blobs, self.stall_blobs = fail_blobs, cut_blobs, stall_blobs
        self.stop_event = threading.Event()
        self.token_needs_basic = token_needs_basic
        self.tokens = set()
        self.seen_ranges = []
        self.token_requests = 0
        facade = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _basic_ok(self):
                want = "Basic " + base64.b64encode(f"{facade.user}:{facade.password}".encode()).decode()
                return self.headers.get("Authorization") == want

            def _deny(self, challenge):
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                self.send_response(401)
                self.send_header("WWW-Authenticate", challenge)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                host = self.headers.get("Host")
                if self.path.startswith("/token"):
                    facade.token_requests += 1
                    if facade.token_needs_basic and not self._basic_ok():
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    tok = base64.b64encode(os.urandom(12)).decode()
                    facade.tokens.add(tok)
                    body = json.dumps({"token": tok}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if facade.mode == "bearer":
                    auth = self.headers.get("Authorization", "")
                    if not (auth.startswith("Bearer ") and auth[7:] in facade.tokens):
                        repo = self.path.split("/")[2] if self.path.count("/") > 2 else ""
                        return self._deny(f'Bearer realm="{facade.scheme}://{host}/token",service="facade",'
                                          f'scope="repository:{repo}:pull"')
                elif facade.mode == "basic" and not self._basic_ok():
                    return self._deny('Basic realm="facade"')
                is_blob = "/blobs/sha256:" in self.path and self.command == "GET"
                if is_blob and facade.fail_blobs > 0:
                    facade.fail_blobs -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if is_blob:
                    facade.seen_ranges.append(self.headers.get("Range"))
                hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
                c = http.client.HTTPConnection("127.0.0.1", facade.upstream, timeout=30)
                c.request(self.command, self.path, headers=hdrs)
                r = c.getresponse()
                # follow the registry's own redirects server-side
                body = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("content-type", "docker-content-digest", "content-range",
                                     "www-authenticate", "location", "accept-ranges"):
                        self.send_header(k, v)
                if is_blob and facade.stall_blobs > 0 and r.status in (200, 206) and len(body) > 2:
                    # half the body, then nothing until the facade stops (a hung transfer)
                    facade.stall_blobs -= 1
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    facade.stop_event.wait(60)
                    self.close_connection = True
                    return
                if is_blob and facade.cut_blobs > 0 and r.status in (200, 206) and len(body) > 2:
                    facade.cut_blobs -= 1
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = _handle
            do_HEAD = _handle

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = S(("127.0.0.1", 0), H)
        self.scheme = "http"
        if tls:  # (certfile, keyfile)
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
