"""What a Kubernetes user expects of the API server beyond CRUD: node ports allocated in the
write path, the `kubernetes` Service and standard namespaces, duplicate fields refused or
warned about, oversize bodies answered with 413, plain HTTP on the HTTPS port answered with 400,
watches that resume across a restart, and paginated lists that stay one consistent snapshot."""
import json
import os
import socket
import ssl
import subprocess
import tempfile

import pytest

from apiserver import Server, free_port, wait_for

SVC = "/api/v1/namespaces/default/services"


@pytest.fixture(scope="module")
def srv():
    s = Server(extra=["--service-node-port-range", "30100-30104", "--max-body-bytes", "1000000"])
    yield s
    s.cleanup()


def svc(name, type_="NodePort", ports=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name},
                     "ports": ports or [{"port": 80, "targetPort": 8080}]}}


def node_ports(o):
    return [p.get("nodePort") for p in o["spec"]["ports"]]


def test_node_port_allocation(srv):
    code, a = srv.http("POST", SVC, body=svc("np-a", ports=[{"name": "http", "port": 80},
                                                            {"name": "https", "port": 443}]))
    assert code == 201, a
    pa = node_ports(a)
    assert len(set(pa)) == 2 and all(30100 <= p <= 30104 for p in pa)
    # an explicit port another Service holds: 422 naming the field
    code, st = srv.http("POST", SVC, body=svc("np-b", ports=[{"port": 80, "nodePort": pa[1]}]))
    assert code == 422 and st["reason"] == "Invalid", st
    assert st["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    assert "provided port is already allocated" in st["message"]
    # out of range
    code, st = srv.http("POST", SVC, body=svc("np-b", ports=[{"port": 80, "nodePort": 31000}]))
    assert code == 422 and "not in the valid range" in st["message"]
    assert "30100-30104" in st["message"]
    # LoadBalancer gets them too; the range (5 ports) fills up
    code, b = srv.http("POST", SVC, body=svc("np-b", "LoadBalancer",
                                             [{"name": "a", "port": 1}, {"name": "b", "port": 2}]))
    assert code == 201, b
    pb = node_ports(b)
    assert not set(pb) & set(pa)
    code, st = srv.http("POST", SVC, body=svc("np-c", ports=[{"name": "a", "port": 1},
                                                             {"name": "b", "port": 2}]))
    assert code == 500 and "range is full" in st["message"]
    code, _ = srv.http("GET", SVC + "/np-c")
    assert code == 404  # nothing stored
    # an update keeps the ports (a PUT without them too)
    b["spec"]["ports"] = [{"name": "a", "port": 1}, {"name": "b", "port": 2}]
    code, b2 = srv.http("PUT", SVC + "/np-b", body=b)
    assert code == 200 and node_ports(b2) == pb, b2
    # switching to ClusterIP frees them; deleting frees them
    code, a2 = srv.http("PATCH", SVC + "/np-a", body={"spec": {"type": "ClusterIP"}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert code == 200 and node_ports(a2) == [None, None], a2
    code, c = srv.http("POST", SVC, body=svc("np-c", ports=[{"port": 1, "nodePort": pa[0]}]))
    assert code == 201 and node_ports(c) == [pa[0]]
    code, _ = srv.http("DELETE", SVC + "/np-b")
    assert code == 200
    code, d = srv.http("POST", SVC, body=svc("np-d", ports=[{"name": "a", "port": 1, "nodePort": pb[0]},
                                                            {"name": "b", "port": 2}]))
    assert code == 201 and node_ports(d)[0] == pb[0], d
    # dry run allocates without keeping
    code, e = srv.http("POST", SVC + "?dryRun=All", body=svc("np-e"))
    assert code == 201 and node_ports(e)[0] in range(30100, 30105)
    for n in ("np-a", "np-c", "np-d"):
        srv.http("DELETE", SVC + "/" + n)


def test_node_ports_kubectl_and_health_check(srv):
    # kubectl's typed command (protobuf body) gets its port allocated too
    srv.kubectl("create", "service", "nodeport", "np-k", "--tcp=80:8080")
    out = srv.kubectl("get", "svc", "np-k", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout
    assert 30100 <= int(out) <= 30104
    assert f"80:{out}/TCP" in srv.kubectl("get", "svc", "np-k").stdout
    # an explicit port and a missing one in the same Service never collide
    code, a = srv.http("POST", SVC, body=svc("np-h", "LoadBalancer",
                                             [{"name": "a", "port": 1, "nodePort": 30104 if int(out) != 30104 else 30103},
                                              {"name": "b", "port": 2}]))
    assert code == 201 and len(set(node_ports(a)) | {int(out)}) == 3, a
    assert "healthCheckNodePort" not in a["spec"]
    # externalTrafficPolicy Local: a health check node port, kept across updates
    code, b = srv.http("PATCH", SVC + "/np-h", body={"spec": {"externalTrafficPolicy": "Local"}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert code == 200, b
    hc = b["spec"]["healthCheckNodePort"]
    assert 30100 <= hc <= 30104 and hc not in node_ports(b) + [int(out)]
    code, b = srv.http("PATCH", SVC + "/np-h", body={"metadata": {"labels": {"x": "y"}}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert code == 200 and b["spec"]["healthCheckNodePort"] == hc
    # 4 of the 5 ports are taken: one more Service fits, the next is refused
    assert srv.http("POST", SVC, body=svc("np-i"))[0] == 201
    code, st = srv.http("POST", SVC, body=svc("np-j"))
    assert code == 500 and "range is full" in st["message"], st
    # a patch with a repeated key: Strict refuses it, Warn says so
    body = '{"metadata":{"labels":{"x":"1","x":"2"}}}'
    code, _, st = raw_request(srv, "PATCH", SVC + "/np-h?fieldValidation=Strict", body,
                              "application/merge-patch+json")
    assert code == 400 and 'duplicate field "metadata.labels.x"' in st["message"], st
    code, warns, o = raw_request(srv, "PATCH", SVC + "/np-h?fieldValidation=Warn", body,
                                 "application/strategic-merge-patch+json")
    assert code == 200 and o["metadata"]["labels"]["x"] == "2" and len(warns) == 1, (warns, o)
    for n in ("np-k", "np-h", "np-i"):
        srv.http("DELETE", SVC + "/" + n)


def test_node_ports_survive_restart():
    s = Server(extra=["--service-node-port-range", "30200-30201"])
    try:
        code, a = s.http("POST", SVC, body=svc("r-a"))
        assert code == 201
        s.stop()
        s.start()
        code, b = s.http("POST", SVC, body=svc("r-b"))
        assert code == 201 and node_ports(b) != node_ports(a)
        code, st = s.http("POST", SVC, body=svc("r-c"))
        assert code == 500 and "range is full" in st["message"]
        # kubectl's view
        out = s.kubectl("get", "svc", "r-a", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout
        assert int(out) == node_ports(a)[0]
    finally:
        s.cleanup()


def test_service_range_and_history_flag_errors():
    d = tempfile.mkdtemp(prefix=f"drv-api-{os.getpid()}-")
    try:
        from conftest import DROVER
        for flag, bad in (("--service-node-port-range", "3000-20"),
                          ("--service-cluster-ip-range", "10.96.0.0/40"),
                          ("--watch-history", "0")):
            p = subprocess.run([DROVER, "server", "--data-dir", d, "--listen", "127.0.0.1:0", flag, bad],
                               capture_output=True, text=True, timeout=20)
            assert p.returncode != 0 and flag in p.stderr and bad in p.stderr, p.stderr
            assert not os.path.exists(os.path.join(d, "store.db"))
    finally:
        subprocess.run(["rm", "-rf", d])


def test_kubernetes_service_and_namespaces(srv):
    code, l = srv.http("GET", "/api/v1/namespaces")
    names = {n["metadata"]["name"] for n in l["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    code, k = srv.http("GET", SVC + "/kubernetes")
    assert code == 200, k
    assert k["spec"]["clusterIP"] == "10.96.0.1" and k["spec"]["type"] == "ClusterIP"
    assert k["spec"]["ports"][0]["port"] == 443 and k["spec"]["ports"][0]["name"] == "https"
    assert k["spec"]["ports"][0]["targetPort"] == srv.port
    code, ep = srv.http("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    assert code == 200
    assert ep["subsets"][0]["addresses"][0]["ip"] == "127.0.0.1"
    assert ep["subsets"][0]["ports"][0]["port"] == srv.port
    code, es = srv.http("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
    assert code == 200 and es["endpoints"][0]["addresses"] == ["127.0.0.1"]
    out = srv.kubectl("get", "svc", "kubernetes", "-o", "wide").stdout
    assert "10.96.0.1" in out and "443/TCP" in out
    # deleted, it comes back at the next start (as kube-apiserver's reconciler does); a start
    # on another port points it, its Endpoints and EndpointSlice there
    srv.http("DELETE", SVC + "/kubernetes")
    srv.stop()
    srv.start()
    code, k = srv.http("GET", SVC + "/kubernetes")
    assert code == 200 and k["spec"]["clusterIP"] == "10.96.0.1"
    srv.stop()
    srv.port = free_port()
    srv.start()
    code, k = srv.http("GET", SVC + "/kubernetes")
    assert k["spec"]["ports"][0]["targetPort"] == srv.port and k["spec"]["clusterIP"] == "10.96.0.1"
    code, ep = srv.http("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    assert ep["subsets"][0]["ports"][0]["port"] == srv.port
    code, es = srv.http("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
    assert es["ports"][0]["port"] == srv.port


def tls_exchange(srv, raw, read_all=True):
    """Sends raw bytes over TLS and returns what comes back until the server closes."""
    ctx = srv.ssl_context()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as t:
            try:
                t.sendall(raw)
            except OSError:
                pass  # the server may answer and close before reading it all
            out = b""
            while True:
                try:
                    b = t.recv(65536)
                except (OSError, ssl.SSLError):
                    break
                if not b:
                    break
                out += b
                if not read_all and b"\r\n\r\n" in out:
                    break
            return out


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode()
    if b"chunked" in head.lower():
        dechunked = b""
        while body:
            n, _, rest = body.partition(b"\r\n")
            size = int(n, 16)
            if size == 0:
                break
            dechunked += rest[:size]
            body = rest[size + 2:]
        body = dechunked
    return status, body


def test_huge_content_length_is_413(srv):
    tok = srv.token()
    req = (f"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Bearer {tok}\r\nContent-Type: application/json\r\n"
           f"Content-Length: 1000000000000\r\n\r\n").encode()
    status, body = split_response(tls_exchange(srv, req + b'{"a":'))
    assert " 413 " in status, status
    st = json.loads(body)
    assert st["kind"] == "Status" and st["reason"] == "RequestEntityTooLarge" and st["code"] == 413
    # a chunked body over the limit (no Content-Length) likewise
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    req = (f"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Bearer {tok}\r\nContent-Type: application/json\r\n"
           f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    status, body = split_response(tls_exchange(srv, req + body))
    assert " 413 " in status, status
    assert json.loads(body)["reason"] == "RequestEntityTooLarge"
    # kubectl shows the Status
    big = os.path.join(srv.dir, "big.txt")
    with open(big, "w") as f:
        f.write("x" * 1100000)
    p = srv.kubectl("create", "configmap", "too-big", "--from-file=k=" + big, check=False)
    assert p.returncode != 0 and "Request entity too large: limit is 1000000" in p.stderr, p.stderr
    assert srv.http("GET", CM + "/too-big")[0] == 404
    # the server still serves
    assert srv.http("GET", "/healthz")[0] == 200


def test_plain_http_to_https_port_is_400(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        out = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
    assert out.startswith(b"HTTP/1.0 400 Bad Request\r\n"), out
    assert out.endswith(b"\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
    # kubectl pointed at http:// gets a 400 (as from kube-apiserver), not a connection error
    p = srv.kubectl("--server", f"http://127.0.0.1:{srv.port}", "get", "ns", check=False)
    assert p.returncode != 0 and "(BadRequest)" in p.stderr, p.stderr
    # a connection that sends nothing does not hold up others
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        assert srv.http("GET", "/healthz")[0] == 200
    finally:
        idle.close()


CM = "/api/v1/namespaces/default/configmaps"
DUP_JSON = ('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","labels":{"a":"1"},'
            '"labels":{"b":"2"}},"data":{"k":"1","k":"2"}}')
DUP_YAML = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: '1'\n  j: '0'\n"
            "  k: '2'\n")


def raw_request(srv, method, path, body, ctype):
    """(status, headers, parsed body) with every Warning header kept."""
    import urllib.request
    import urllib.error
    req = urllib.request.Request(srv.url + path, data=body.encode(), method=method,
                                 headers={"Authorization": "Bearer " + srv.token(),
                                          "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, context=srv.ssl_context(), timeout=20) as r:
            return r.status, r.headers.get_all("Warning") or [], json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_all("Warning") or [], json.loads(e.read())


def test_duplicate_fields_strict_warn_ignore(srv):
    # Strict: 400 naming each duplicated field path, nothing stored (JSON and YAML)
    code, _, st = raw_request(srv, "POST", CM + "?fieldValidation=Strict", DUP_JSON % "dup-s",
                              "application/json")
    assert code == 400 and st["reason"] == "BadRequest", st
    assert 'strict decoding error: duplicate field "metadata.labels", duplicate field "data.k"' in st["message"]
    code, _, st = raw_request(srv, "POST", CM + "?fieldValidation=Strict", DUP_YAML % "dup-s",
                              "application/yaml")
    assert code == 400 and 'duplicate field "data.k"' in st["message"], st
    assert srv.http("GET", CM + "/dup-s")[0] == 404
    # kubectl create --raw sends the bytes as they are
    p = srv.kubectl("create", "--raw", CM + "?fieldValidation=Strict", "-f", "-",
                    input=DUP_JSON % "dup-k", check=False)
    assert p.returncode != 0 and "BadRequest" in p.stderr and "duplicate field" in p.stderr, p.stderr
    assert "data.k" in p.stderr
    assert srv.http("GET", CM + "/dup-k")[0] == 404
    # Warn: stored (the last value wins) with a Warning header per duplicate
    code, warns, o = raw_request(srv, "POST", CM + "?fieldValidation=Warn", DUP_YAML % "dup-w",
                                 "application/yaml")
    assert code == 201 and o["data"] == {"k": "2", "j": "0"}, o
    assert warns == ['299 - "duplicate field \\"data.k\\""'], warns
    # an update too
    code, warns, o = raw_request(srv, "PUT", CM + "/dup-w?fieldValidation=Warn", DUP_JSON % "dup-w",
                                 "application/json")
    assert code == 200 and o["metadata"]["labels"] == {"b": "2"}, o
    assert len(warns) == 2 and 'metadata.labels' in warns[0]
    # Ignore: stored, nothing said
    code, warns, o = raw_request(srv, "POST", CM + "?fieldValidation=Ignore", DUP_JSON % "dup-i",
                                 "application/json")
    assert code == 201 and not warns and o["data"] == {"k": "2"}
    for n in ("dup-w", "dup-i"):
        srv.http("DELETE", CM + "/" + n)


def test_paginated_list_is_one_snapshot(srv):
    def mk(name, v="1"):
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"pg": "yes"}}, "data": {"v": v}}
    for i in range(10):
        assert srv.http("POST", CM, body=mk(f"pg-{i:02d}"))[0] == 201
    q = CM + "?labelSelector=pg%3Dyes&limit=4"
    code, p1 = srv.http("GET", q)
    assert code == 200 and len(p1["items"]) == 4 and p1["metadata"]["continue"]
    rv = p1["metadata"]["resourceVersion"]
    # between pages: one created before the cursor and one after it, one deleted, one changed
    srv.http("POST", CM, body=mk("pg-00a"))
    srv.http("POST", CM, body=mk("pg-99"))
    srv.http("DELETE", CM + "/pg-05")
    srv.http("PATCH", CM + "/pg-06", body={"data": {"v": "2"}},
             headers={"Content-Type": "application/merge-patch+json"})
    items = list(p1["items"])
    cont = p1["metadata"]["continue"]
    while cont:
        code, p = srv.http("GET", q + "&continue=" + cont)
        assert code == 200 and p["metadata"]["resourceVersion"] == rv, p
        items += p["items"]
        cont = p["metadata"].get("continue")
    assert [i["metadata"]["name"] for i in items] == [f"pg-{i:02d}" for i in range(10)]
    assert all(i["data"]["v"] == "1" for i in items)
    # the same snapshot at that resourceVersion, asked for exactly
    code, l = srv.http("GET", CM + f"?labelSelector=pg%3Dyes&resourceVersion={rv}&resourceVersionMatch=Exact")
    assert code == 200 and len(l["items"]) == 10 and l["metadata"]["resourceVersion"] == rv
    # a fresh list sees the changes; kubectl and python3-kubernetes page through it
    names = srv.kubectl("get", "cm", "-l", "pg=yes", "--chunk-size=3", "-o", "name").stdout.split()
    assert len(names) == 11 and "configmap/pg-99" in names and "configmap/pg-05" not in names
    from kubernetes import client, config
    api = client.CoreV1Api(config.new_client_from_config(config_file=srv.kubeconfig))
    r = api.list_namespaced_config_map("default", label_selector="pg=yes", limit=5)
    got, first_rv = [i.metadata.name for i in r.items], r.metadata.resource_version
    srv.http("DELETE", CM + "/pg-99")
    while r.metadata._continue:
        r = api.list_namespaced_config_map("default", label_selector="pg=yes", limit=5,
                                           _continue=r.metadata._continue)
        assert r.metadata.resource_version == first_rv
        got += [i.metadata.name for i in r.items]
    assert len(got) == 11 and "pg-99" in got
    # a continue token that does not decode is a 400
    assert srv.http("GET", q + "&continue=bm9wZQ%3D%3D")[0] == 400
    for n in [f"pg-{i:02d}" for i in range(10)] + ["pg-00a"]:
        srv.http("DELETE", CM + "/" + n)


def open_watch(srv, path):
    import urllib.request
    req = urllib.request.Request(srv.url + path, headers={"Authorization": "Bearer " + srv.token()})
    return urllib.request.urlopen(req, context=srv.ssl_context(), timeout=15)


def test_watch_and_continue_across_restart():
    s = Server()
    try:
        for i in range(6):
            assert s.http("POST", CM, body={"metadata": {"name": f"rs-{i}"}, "data": {"v": "1"}})[0] == 201
        code, p1 = s.http("GET", CM + "?limit=3")
        rv = p1["metadata"]["resourceVersion"]
        s.http("PATCH", CM + "/rs-1", body={"data": {"v": "2"}},
               headers={"Content-Type": "application/merge-patch+json"})
        s.http("DELETE", CM + "/rs-4")
        s.stop()
        s.start()
        s.http("POST", CM, body={"metadata": {"name": "rs-9"}})
        # a watch from before the restart gets every event since, in order
        r = open_watch(s, CM + f"?watch=1&resourceVersion={rv}&timeoutSeconds=5")
        evs = [json.loads(r.readline()) for _ in range(3)]
        r.close()
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == \
            [("MODIFIED", "rs-1"), ("DELETED", "rs-4"), ("ADDED", "rs-9")], evs
        assert evs[0]["object"]["data"] == {"v": "2"}
        # the same through kubectl
        p = s.kubectl("get", "--raw", CM + f"?watch=1&resourceVersion={rv}&timeoutSeconds=1",
                      timeout=30)
        evs = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in evs]
        assert got == [("MODIFIED", "rs-1"), ("DELETED", "rs-4"), ("ADDED", "rs-9")], p.stdout
        # and through python3-kubernetes' watch
        from kubernetes import client, config, watch
        api = client.CoreV1Api(config.new_client_from_config(config_file=s.kubeconfig))
        got = [(e["type"], e["object"].metadata.name) for e in
               watch.Watch().stream(api.list_namespaced_config_map, "default", resource_version=rv,
                                    timeout_seconds=1)]
        assert got[:3] == [("MODIFIED", "rs-1"), ("DELETED", "rs-4"), ("ADDED", "rs-9")], got
        # the paginated list goes on from its snapshot
        items = list(p1["items"])
        cont = p1["metadata"]["continue"]
        while cont:
            code, p = s.http("GET", CM + "?limit=3&continue=" + cont)
            assert code == 200 and p["metadata"]["resourceVersion"] == rv
            items += p["items"]
            cont = p["metadata"].get("continue")
        names = [i["metadata"]["name"] for i in items]
        assert [n for n in names if n.startswith("rs-")] == [f"rs-{i}" for i in range(6)]
        assert next(i for i in items if i["metadata"]["name"] == "rs-1")["data"] == {"v": "1"}
    finally:
        s.cleanup()


def test_expired_continue_and_watch_with_short_history():
    s = Server(extra=["--watch-history", "20"])
    try:
        for i in range(5):
            assert s.http("POST", CM, body={"metadata": {"name": f"ex-{i}"}})[0] == 201
        code, p1 = s.http("GET", CM + "?limit=2")
        rv = p1["metadata"]["resourceVersion"]
        for i in range(25):  # more revisions than the history keeps
            s.http("POST", CM, body={"metadata": {"name": f"ey-{i:02d}"}})
        code, st = s.http("GET", CM + "?limit=2&continue=" + p1["metadata"]["continue"])
        assert code == 410 and st["reason"] == "Expired" and st["kind"] == "Status", st
        assert "continue parameter is too old" in st["message"]
        # the fresh token goes on from the same place, at the current revision
        code, p2 = s.http("GET", CM + "?limit=100&continue=" + st["metadata"]["continue"])
        assert code == 200 and int(p2["metadata"]["resourceVersion"]) > int(rv)
        assert [i["metadata"]["name"] for i in p2["items"]][:3] == ["ex-2", "ex-3", "ex-4"]
        code, st = s.http("GET", CM + f"?resourceVersion={rv}&resourceVersionMatch=Exact")
        assert code == 410 and st["reason"] == "Expired" and "too old resource version" in st["message"]
        # a watch from there: 410 as an ERROR event, also after a restart; recent ones go on
        r = open_watch(s, CM + f"?watch=1&resourceVersion={rv}")
        ev = json.loads(r.readline())
        r.close()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410
        code, l = s.http("GET", CM)
        recent = int(l["metadata"]["resourceVersion"]) - 5
        s.stop()
        s.start()
        r = open_watch(s, CM + f"?watch=1&resourceVersion={rv}")
        assert json.loads(r.readline())["object"]["code"] == 410
        r.close()
        r = open_watch(s, CM + f"?watch=1&resourceVersion={recent}")
        ev = json.loads(r.readline())
        r.close()
        assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "ey-20", ev
    finally:
        s.cleanup()
