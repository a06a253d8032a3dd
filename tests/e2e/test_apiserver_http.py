"""The API server over HTTP and python3-kubernetes: auth, errors, limits, watch semantics,
durability across kill -9, restart over the same data dir, and a bounded load test."""
import json
import os
import subprocess
import threading
import time


from apiserver import Server, wait_for
from conftest import DROVER



def cm(name, **labels):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels}, "data": {"k": name}}


def test_auth(srv):
    code, st = srv.http("GET", "/api/v1/namespaces", token=None)
    assert code == 401 and st["kind"] == "Status" and st["reason"] == "Unauthorized"
    code, st = srv.http("GET", "/api/v1/namespaces", token="not-a-token")
    assert code == 401
    code, _ = srv.http("GET", "/healthz", token=None)
    assert code == 200
    code, v = srv.http("GET", "/version", token=None)
    assert code == 200 and v["major"] == "1"
    # `drover token create` takes effect on the running server
    tok = subprocess.run([DROVER, "token", "--data-dir", srv.dir, "create", "alice", "--group", "system:masters"],
                         capture_output=True, text=True, check=True).stdout.strip()
    wait_for(lambda: srv.http("GET", "/api/v1/namespaces", token=tok)[0] == 200, timeout=5,
             what="new token accepted")
    subprocess.run([DROVER, "token", "--data-dir", srv.dir, "revoke", "alice"], check=True,
                   capture_output=True)
    wait_for(lambda: srv.http("GET", "/api/v1/namespaces", token=tok)[0] == 401, timeout=5,
             what="revoked token refused")


def test_errors(srv):
    code, st = srv.http("GET", "/api/v1/namespaces/default/frobs")
    assert code == 404 and st["reason"] == "NotFound"
    code, st = srv.http("GET", "/api/v1/namespaces/default/configmaps/nope")
    assert code == 404 and st["details"]["name"] == "nope"
    code, st = srv.http("POST", "/api/v1/namespaces/default/configmaps", body="{not json")
    assert code == 400 and st["kind"] == "Status"
    # kind does not match the path
    code, st = srv.http("POST", "/api/v1/namespaces/default/configmaps",
                        body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert code == 400 and "kind" in st["message"]
    code, st = srv.http("POST", "/api/v1/configmaps", body=cm("x"))
    assert code == 405 and st["reason"] == "MethodNotAllowed"
    code, st = srv.http("POST", "/api/v1/namespaces/nons/configmaps", body=cm("x"))
    assert code == 404 and "nons" in st["message"]
    code, st = srv.http("POST", "/api/v1/namespaces/default/configmaps",
                        body="x" * (4 * 1024 * 1024))
    assert code == 413
    code, _ = srv.http("GET", "/api/v1/namespaces/default/configmaps/x")
    assert code == 404  # nothing partial stored


def test_create_update_conflict_generate_name(srv):
    code, o = srv.http("POST", "/api/v1/namespaces/default/configmaps", body=cm("cc1"))
    assert code == 201
    rv = o["metadata"]["resourceVersion"]
    code, st = srv.http("POST", "/api/v1/namespaces/default/configmaps", body=cm("cc1"))
    assert code == 409 and st["reason"] == "AlreadyExists"
    o["data"] = {"k": "2"}
    code, o2 = srv.http("PUT", "/api/v1/namespaces/default/configmaps/cc1", body=o)
    assert code == 200 and int(o2["metadata"]["resourceVersion"]) > int(rv)
    o["data"] = {"k": "3"}  # still carries the old resourceVersion
    code, st = srv.http("PUT", "/api/v1/namespaces/default/configmaps/cc1", body=o)
    assert code == 409 and st["reason"] == "Conflict"
    g = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    code, o3 = srv.http("POST", "/api/v1/namespaces/default/configmaps", body=g)
    assert code == 201 and o3["metadata"]["name"].startswith("gen-") and len(o3["metadata"]["name"]) == 9
    code, _ = srv.http("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", body=cm("dry1"))
    assert code == 201
    assert srv.http("GET", "/api/v1/namespaces/default/configmaps/dry1")[0] == 404


def test_list_pages_and_selectors(srv):
    for i in range(7):
        srv.http("POST", "/api/v1/namespaces/default/configmaps", body=cm(f"pg{i}", page="yes"))
    names, cont = [], ""
    while True:
        code, l = srv.http("GET", f"/api/v1/namespaces/default/configmaps?labelSelector=page%3Dyes&limit=3&continue={cont}")
        assert code == 200 and l["kind"] == "ConfigMapList"
        names += [i["metadata"]["name"] for i in l["items"]]
        cont = l["metadata"].get("continue")
        if not cont:
            break
    assert names == [f"pg{i}" for i in range(7)]
    code, l = srv.http("GET", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dpg3")
    assert [i["metadata"]["name"] for i in l["items"]] == ["pg3"]
    code, l = srv.http("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=page%3Dyes")
    assert code == 200
    code, l = srv.http("GET", "/api/v1/namespaces/default/configmaps?labelSelector=page%3Dyes")
    assert l["items"] == []


def test_finalizers_and_preconditions(srv):
    body = cm("fin1")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    code, o = srv.http("POST", "/api/v1/namespaces/default/configmaps", body=body)
    assert code == 201
    code, st = srv.http("DELETE", "/api/v1/namespaces/default/configmaps/fin1",
                        body={"preconditions": {"uid": "wrong"}})
    assert code == 409
    code, o = srv.http("DELETE", "/api/v1/namespaces/default/configmaps/fin1")
    assert code in (200, 202) and o["metadata"]["deletionTimestamp"]
    code, o = srv.http("GET", "/api/v1/namespaces/default/configmaps/fin1")
    assert code == 200 and o["metadata"]["deletionTimestamp"]
    # removing the last finalizer finishes the deletion
    code, _ = srv.http("PATCH", "/api/v1/namespaces/default/configmaps/fin1",
                       body={"metadata": {"finalizers": None}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert code == 200
    assert srv.http("GET", "/api/v1/namespaces/default/configmaps/fin1")[0] == 404


def read_events(resp, n, timeout=10):
    evs = []
    deadline = time.time() + timeout
    while len(evs) < n and time.time() < deadline:
        line = resp.readline()
        if not line:
            break
        evs.append(json.loads(line))
    return evs


def open_watch(srv, path):
    import urllib.request
    req = urllib.request.Request(srv.url + path, headers={"Authorization": "Bearer " + srv.token()})
    return urllib.request.urlopen(req, context=srv.ssl_context(), timeout=15)


def test_watch_semantics(srv):
    code, l = srv.http("GET", "/api/v1/namespaces/default/configmaps")
    rv = l["metadata"]["resourceVersion"]
    srv.http("POST", "/api/v1/namespaces/default/configmaps", body=cm("w1", sel="a"))
    srv.http("PATCH", "/api/v1/namespaces/default/configmaps/w1", body={"metadata": {"labels": {"sel": "b"}}},
             headers={"Content-Type": "application/merge-patch+json"})
    srv.http("DELETE", "/api/v1/namespaces/default/configmaps/w1")
    # from a resourceVersion, with a selector: leaving the selector is a DELETED
    r = open_watch(srv, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&labelSelector=sel%3Da")
    evs = read_events(r, 2)
    r.close()
    assert [e["type"] for e in evs] == ["ADDED", "DELETED"]
    # watch-list: initial events then the initial-events-end bookmark
    r = open_watch(srv, "/api/v1/namespaces?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
    evs = read_events(r, 5)
    r.close()
    assert [e["type"] for e in evs[:4]] == ["ADDED"] * 4
    assert evs[4]["type"] == "BOOKMARK"
    assert evs[4]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
    # timeoutSeconds ends the stream
    t0 = time.time()
    r = open_watch(srv, f"/api/v1/namespaces?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    while r.readline():
        pass
    assert time.time() - t0 < 5


def test_python_client(srv):
    from kubernetes import client, config, watch
    config.load_kube_config(srv.kubeconfig)
    v1 = client.CoreV1Api()
    apps = client.AppsV1Api()
    assert "default" in [n.metadata.name for n in v1.list_namespace().items]
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="pyd", labels={"app": "pyd"}),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels={"app": "pyd"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "pyd"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))))
    apps.create_namespaced_deployment("default", dep)
    apps.patch_namespaced_deployment("pyd", "default", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("pyd", "default").spec.replicas == 3
    sc = apps.read_namespaced_deployment_scale("pyd", "default")
    assert sc.spec.replicas == 3
    l = v1.list_namespaced_config_map("default")
    seen = []

    def writer():
        time.sleep(0.3)
        v1.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pyw")))
        v1.delete_namespaced_config_map("pyw", "default")

    t = threading.Thread(target=writer)
    t.start()
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=l.metadata.resource_version,
                       timeout_seconds=10):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    assert seen == [("ADDED", "pyw"), ("DELETED", "pyw")]
    apps.delete_namespaced_deployment("pyd", "default")


def test_secret_encrypted_at_rest(srv):
    s = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec1"},
         "stringData": {"password": "hunter2-plain-text"}}
    code, o = srv.http("POST", "/api/v1/namespaces/default/secrets", body=s)
    assert code == 201
    for name in ("store.db", "store.db-wal"):
        p = os.path.join(srv.dir, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                data = f.read()
            assert b"hunter2" not in data and b"aHVudGVyMi" not in data


def test_data_dir_in_use(srv):
    p = subprocess.run([DROVER, "server", "--data-dir", srv.dir, "--listen", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "in use" in p.stderr


def test_rate_limit(tmp_path):
    s = Server(extra=["--max-requests-per-second", "5"])
    try:
        codes = [s.http("GET", "/api/v1/namespaces")[0] for _ in range(40)]
        assert 429 in codes and 200 in codes
    finally:
        s.cleanup()


def test_kill9_loses_no_acknowledged_write_and_restart_resumes():
    s = Server()
    try:
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(wid):
            i = 0
            while not stop.is_set() and i < 2000:
                try:
                    code, _ = s.http("POST", "/api/v1/namespaces/default/configmaps",
                                     body=cm(f"k9-{wid}-{i}"), timeout=5)
                except OSError:
                    return
                if code == 201:
                    with lock:
                        acked.append(f"k9-{wid}-{i}")
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 300, timeout=30, what="300 acknowledged writes")
        s.kill9()
        stop.set()
        for t in threads:
            t.join()
        code, l = None, None
        s.start()
        code, l = s.http("GET", "/api/v1/namespaces/default/configmaps")
        names = {i["metadata"]["name"] for i in l["items"]}
        missing = [n for n in acked if n not in names]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        # a watch from before the restart goes on from the kept history
        r = open_watch(s, "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2")
        ev = json.loads(r.readline())
        while ev["object"]["metadata"]["name"] == "kube-root-ca.crt":  # the server's own, from its start
            ev = json.loads(r.readline())
        r.close()
        assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"].startswith("k9-"), ev
    finally:
        s.cleanup()


def test_concurrent_clients_load(srv):
    """64 clients for a bounded time; the server keeps answering /healthz quickly."""
    errors = []
    lat = []
    stop = time.time() + 6

    def client_loop(cid):
        i = 0
        while time.time() < stop and i < 400:
            t0 = time.time()
            if i % 4 == 0:
                code, _ = srv.http("POST", "/api/v1/namespaces/default/configmaps", body=cm(f"ld-{cid}-{i}"))
                ok = code == 201
            else:
                code, _ = srv.http("GET", "/api/v1/namespaces/default/configmaps?limit=5")
                ok = code == 200
            lat.append(time.time() - t0)
            if not ok:
                errors.append(code)
            i += 1

    threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(64)]
    for t in threads:
        t.start()
    health = []
    while any(t.is_alive() for t in threads):
        t0 = time.time()
        code, _ = srv.http("GET", "/healthz")
        health.append((code, time.time() - t0))
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert not errors, errors[:10]
    assert all(c == 200 for c, _ in health)
    assert max(d for _, d in health) < 2.0
    srv.http("DELETE", "/api/v1/namespaces/default/configmaps")


def test_bad_list_and_watch_parameters_are_bad_requests(srv):
    # resourceVersion=abc, limit=abc and fieldSelector=status.phase=== were taken (as revision 0,
    # no limit, phase "=") where Kubernetes answers 400 BadRequest
    base = "/api/v1/namespaces/default/pods"
    for q, msg in (("resourceVersion=abc", 'invalid resource version "abc"'),
                   ("resourceVersion=-1", 'invalid resource version "-1"'),
                   ("limit=abc", 'invalid limit "abc"'),
                   ("fieldSelector=status.phase%3D%3D%3D", "unescaped character in value"),
                   ("watch=1&resourceVersion=abc", 'invalid resource version "abc"'),
                   ("watch=1&fieldSelector=status.phase%3D%3D%3D", "unescaped character in value")):
        code, st = srv.http("GET", f"{base}?{q}", timeout=10)
        assert code == 400 and st["reason"] == "BadRequest" and msg in st["message"], (q, st)
    # what stays valid: a revision, "0", no limit when negative (as Kubernetes), escaped '='
    for q in ("resourceVersion=0", "resourceVersion=1", "limit=-1", "limit=5",
              "fieldSelector=metadata.name%3Da%5C%3Db"):
        code, st = srv.http("GET", f"{base}?{q}", timeout=10)
        assert code == 200 and st["kind"] == "PodList", (q, st)
