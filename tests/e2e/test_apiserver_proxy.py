"""kubectl logs / exec / top through `drover server`, with a small stand-in node agent on
loopback speaking the agent side of docs/api.md (the real agent has its own suite)."""
import base64
import hashlib
import json
import socket
import socketserver
import ssl
import threading
import time

import pytest

from apiserver import Server, free_port


BULK = 60000  # stdout bytes in one frame for test_exec_output_in_full_tls_records


class AgentHandler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode()
        headers = {}
        while True:
            h = self.rfile.readline().decode()
            if h in ("\r\n", "\n", ""):
                break
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        method, path, _ = line.split(" ", 2)
        self.server.seen.append((path, headers.get("authorization", "")))
        if path.startswith("/containerLogs/"):
            body = "".join(f"line {i}\n" for i in range(5)).encode()
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body)
            return
        if path.startswith("/exec/") and "command=refuse" in path:
            # a refusal on a kept-alive HTTP/1.1 connection, chunked: the server must not wait for EOF
            msg = b"refused: bad command\n"
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + b"%x\r\n" % 8 + msg[:8] + b"\r\n" + b"%x\r\n" % (len(msg) - 8) + msg[8:] + b"\r\n0\r\n\r\n")
            self.wfile.flush()
            time.sleep(30)
            return
        if path.startswith("/exec/") and headers.get("upgrade", "").lower() == "websocket":
            key = headers["sec-websocket-key"]
            acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            proto = headers.get("sec-websocket-protocol", "").split(",")[0].strip()
            self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              f"Sec-WebSocket-Accept: {acc}\r\nSec-WebSocket-Protocol: {proto}\r\n\r\n").encode())

            def frame(payload):
                n = len(payload)
                hdr = bytes([0x82, n]) if n < 126 else bytes([0x82, 126]) + n.to_bytes(2, "big")
                return hdr + payload

            if "command=bulk" in path:
                self.wfile.write(frame(b"\x01" + b"z" * BULK))
            else:
                self.wfile.write(frame(b"\x01hello from exec\n"))
            self.wfile.write(frame(b'\x03{"metadata":{},"status":"Success"}'))
            self.wfile.write(bytes([0x88, 0]))
            self.wfile.flush()
            time.sleep(0.5)
            return
        self.wfile.write(b"HTTP/1.0 404 Not Found\r\n\r\nno such path")


class Agent(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.port = free_port()
        self.seen = []
        super().__init__(("127.0.0.1", self.port), AgentHandler)


@pytest.fixture(scope="module")
def env():
    s = Server()
    a = Agent()
    t = threading.Thread(target=a.serve_forever, daemon=True)
    t.start()
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": a.port}}}}
    assert s.http("POST", "/api/v1/nodes", body=node)[0] == 201
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "px"},
           "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}
    assert s.http("POST", "/api/v1/namespaces/default/pods", body=pod)[0] == 201
    yield s, a
    a.shutdown()
    a.server_close()
    s.cleanup()


def test_logs(env):
    s, a = env
    out = s.kubectl("logs", "px", "--tail=5").stdout
    assert out == "".join(f"line {i}\n" for i in range(5))
    path, auth = a.seen[-1]
    assert path.startswith("/containerLogs/default/px/c?") and "tailLines=5" in path
    assert auth.startswith("Bearer ") and len(auth) > 20


def test_exec(env):
    s, a = env
    p = s.kubectl("exec", "px", "--", "echo", "hi", check=False)
    assert "hello from exec" in p.stdout, p.stderr
    path, _ = a.seen[-1]
    assert path.startswith("/exec/default/px/c?") and "command=echo" in path


def test_exec_refused_by_agent(env):
    s, _ = env
    t0 = time.monotonic()
    code, st = s.http("GET", "/api/v1/namespaces/default/pods/px/exec?command=refuse&stdout=true",
                      headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, timeout=10)
    assert time.monotonic() - t0 < 5
    assert code == 400 and st["reason"] == "BadRequest" and st["message"] == "refused: bad command", st


def test_top_from_pushed_metrics(env):
    s, _ = env
    push = {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": "n1"},
            "timestamp": "2026-01-01T00:00:00Z", "window": "10s", "usage": {"cpu": "250m", "memory": "512Mi"},
            "pods": [{"metadata": {"name": "px", "namespace": "default"}, "timestamp": "2026-01-01T00:00:00Z",
                      "window": "10s", "containers": [{"name": "c", "usage": {"cpu": "5m", "memory": "10Mi"}}]}]}
    assert s.http("PUT", "/apis/metrics.k8s.io/v1beta1/nodes/n1", body=push)[0] == 200
    raw = json.loads(s.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes").stdout)
    assert raw["kind"] == "NodeMetricsList" and raw["items"][0]["usage"]["cpu"] == "250m"
    out = s.kubectl("top", "pod", "px").stdout
    assert "px" in out and "5m" in out
    out = s.kubectl("top", "node").stdout
    assert "n1" in out and "250m" in out


def test_exec_output_in_full_tls_records(env):
    """The relay hands the client large TLS records: libmicrohttpd 0.9.75's own forwarding of an
    upgraded TLS connection sent 4 bytes per record (0.3-1 MB/s). Counts the records a 60 KB
    frame arrives in, read from the raw bytes on the wire (no timing)."""
    s, _ = env
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = s.ssl_context().wrap_bio(inc, out, server_hostname="127.0.0.1")
    wire = bytearray()  # everything the server sent, as it came
    plain = bytearray()
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        def flush():
            data = out.read()
            if data:
                sock.sendall(data)

        def receive():
            data = sock.recv(65536)
            if data:
                wire.extend(data)
                inc.write(data)
            else:
                inc.write_eof()
            return bool(data)

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                assert receive(), "server closed during the handshake"
        flush()
        tls.write((f"GET /api/v1/namespaces/default/pods/px/exec?command=bulk&stdout=true HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{s.port}\r\nAuthorization: Bearer {s.token()}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n").encode())
        flush()
        while b'"status":"Success"' not in plain:  # the Status frame follows the bulk one
            try:
                plain.extend(tls.read(65536))
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                break
            if not receive():
                break
    assert plain.startswith(b"HTTP/1.1 101"), bytes(plain[:200])
    assert b"\x01" + b"z" * BULK in plain, len(plain)
    records, i = 0, 0
    while i + 5 <= len(wire):
        records += 1
        i += 5 + int.from_bytes(wire[i + 3:i + 5], "big")
    # 60 KB fits in 4 full records; the handshake, tickets and the 101 add a few. 4-byte records: 15,000
    assert records < 60, records
