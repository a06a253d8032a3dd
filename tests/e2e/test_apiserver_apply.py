"""Server-side apply with field managers on `drover server`, with the machine's kubectl
(`apply --server-side`, `--force-conflicts`, `--field-manager`, `scale`, `label`) and
python3-kubernetes: metadata.managedFields (manager, operation, fieldsV1), conflicts as 409
naming the field and the other manager, co-ownership, fields removed when their only applier
stops applying them."""
import json
import os

import pytest
from kubernetes import client, config

from apiserver import WEB_DEPLOYMENT

DEPLOY = WEB_DEPLOYMENT

SIDECAR = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: edge}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: side
        image: busybox:1.36
"""



@pytest.fixture
def ns(srv):
    name = f"ssa-{os.getpid()}-{os.urandom(2).hex()}"
    srv.kubectl("create", "namespace", name)
    yield name
    srv.kubectl("delete", "namespace", name, "--wait=false", check=False)


def managers(srv, ns):
    d = json.loads(srv.kubectl("get", "deploy", "web", "-n", ns, "-o", "json", "--show-managed-fields").stdout)
    return d, {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
               for e in d["metadata"].get("managedFields", [])}


def test_apply_records_owners_and_conflicts_with_scale(srv, ns):
    out = srv.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=DEPLOY).stdout
    assert "serverside-applied" in out
    d, m = managers(srv, ns)
    f = m[("kubectl", "Apply", "")]
    assert f["f:spec"]["f:replicas"] == {} and f["f:metadata"]["f:labels"] == {"f:app": {}}
    c = f["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert set(c) == {".", "f:name", "f:image", "f:command"}
    assert all(e["fieldsType"] == "FieldsV1" and e["apiVersion"] == "apps/v1" and e["time"]
               for e in d["metadata"]["managedFields"])
    # kubectl hides them unless asked
    assert "managedFields" not in srv.kubectl("get", "deploy", "web", "-n", ns, "-o", "yaml").stdout
    # scaling takes .spec.replicas over
    srv.kubectl("scale", "deploy", "web", "-n", ns, "--replicas=5")
    d, m = managers(srv, ns)
    assert m[("kubectl", "Update", "scale")] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in m[("kubectl", "Apply", "")]["f:spec"]
    # re-applying replicas: 2 conflicts, named as Kubernetes names it
    p = srv.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=DEPLOY, check=False)
    assert p.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: '
            '.spec.replicas') in p.stderr, p.stderr
    assert json.loads(srv.kubectl("get", "deploy", "web", "-n", ns, "-o", "json").stdout)["spec"]["replicas"] == 5
    code, st = srv.http("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/web?fieldManager=kubectl",
                        body=DEPLOY, headers={"Content-Type": "application/apply-patch+yaml"})
    assert code == 409 and st["reason"] == "Conflict"
    assert st["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                        "message": 'conflict with "kubectl" with subresource "scale" using apps/v1'}]
    code, st = srv.http("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/web",
                        body=DEPLOY, headers={"Content-Type": "application/apply-patch+yaml"})
    assert code == 400 and "fieldManager" in st["message"]
    # forced: the applier owns replicas again, the scaler's entry is gone
    srv.kubectl("apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-", input=DEPLOY)
    d, m = managers(srv, ns)
    assert d["spec"]["replicas"] == 2
    assert ("kubectl", "Update", "scale") not in m and "f:replicas" in m[("kubectl", "Apply", "")]["f:spec"]
    # an ordinary write names its manager too
    srv.kubectl("label", "deploy", "web", "-n", ns, "team=a")
    d, m = managers(srv, ns)
    assert m[("kubectl-label", "Update", "")] == {"f:metadata": {"f:labels": {"f:team": {}}}}


def test_two_appliers_co_own_and_removal(srv, ns):
    srv.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=DEPLOY)
    # a second manager: same replicas (co-owned, no conflict), its own label and container
    srv.kubectl("apply", "--server-side", "--field-manager=sidecar", "-n", ns, "-f", "-", input=SIDECAR)
    d, m = managers(srv, ns)
    assert [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    assert d["metadata"]["labels"] == {"app": "web", "tier": "edge"}
    assert "f:replicas" in m[("sidecar", "Apply", "")]["f:spec"] and "f:replicas" in m[("kubectl", "Apply", "")]["f:spec"]
    # the first applier's manifest knows nothing of the sidecar: nothing of it goes
    srv.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=DEPLOY)
    d, _ = managers(srv, ns)
    assert [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    # fields an applier stops applying go when nobody else owns them ...
    no_command = DEPLOY.replace('        command: ["sleep", "3600"]\n', "")
    srv.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=no_command)
    d, _ = managers(srv, ns)
    assert "command" not in d["spec"]["template"]["spec"]["containers"][0]
    # ... and stay while another applier still owns them (replicas: both)
    only_label = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {tier: edge}\n"
    srv.kubectl("apply", "--server-side", "--field-manager=sidecar", "-n", ns, "-f", "-", input=only_label)
    d, m = managers(srv, ns)
    assert [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["web"]
    assert d["spec"]["replicas"] == 2 and d["metadata"]["labels"]["tier"] == "edge"
    assert m[("sidecar", "Apply", "")] == {"f:metadata": {"f:labels": {"f:tier": {}}}}


def test_apply_with_python_client(srv, ns):
    config.load_kube_config(config_file=srv.kubeconfig)
    api = client.ApiClient()
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py", "namespace": ns},
            "data": {"a": "1", "b": "2"}}
    path = f"/api/v1/namespaces/{ns}/configmaps/py"
    for data, expect in (({"a": "1", "b": "2"}, {"a": "1", "b": "2"}), ({"a": "3"}, {"a": "3"})):
        body["data"] = data
        _, code, _ = api.call_api(path, "PATCH", query_params=[("fieldManager", "py"), ("force", "false")],
                                  header_params={"Content-Type": "application/apply-patch+yaml",
                                                 "Accept": "application/json"},
                                  body=json.dumps(body), auth_settings=["BearerToken"], _preload_content=False,
                                  _return_http_data_only=False)
        assert code in (200, 201)
        cm = client.CoreV1Api().read_namespaced_config_map("py", ns)
        assert cm.data == expect
        entry = [e for e in cm.metadata.managed_fields if e.manager == "py"][0]
        assert entry.operation == "Apply" and entry.fields_type == "FieldsV1"
        assert set(entry.fields_v1["f:data"]) == {f"f:{k}" for k in expect}
