"""The machine's real kubectl against `drover server`, KUBECONFIG = the written file, no flags."""
import json
import os
import subprocess
import time

from apiserver import KUBECTL, WEB_DEPLOYMENT

DEPLOY = WEB_DEPLOYMENT + """        env:
        - {name: A, value: "1"}
"""

POD = """apiVersion: v1
kind: Pod
metadata:
  name: solo
  labels: {app: solo, tier: db}
spec:
  containers:
  - name: c
    image: busybox:1.36
"""



def test_version_and_discovery(srv):
    out = srv.kubectl("version", "-o", "json").stdout
    v = json.loads(out)
    assert v["serverVersion"]["major"] == "1"
    res = srv.kubectl("api-resources").stdout
    for line in ("deployments", "replicasets", "pods", "horizontalpodautoscalers", "leases", "events"):
        assert line in res
    assert " po " in res.replace("\t", " ") or "po   " in res
    assert "deploy" in res


def test_apply_get_formats(srv, tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text(DEPLOY + "---\n" + POD)
    out = srv.kubectl("apply", "-f", str(f)).stdout
    assert "deployment.apps/web created" in out and "pod/solo created" in out
    # re-applying the same manifest changes nothing
    assert "unchanged" in srv.kubectl("apply", "-f", str(f)).stdout
    d = json.loads(srv.kubectl("get", "deploy", "web", "-o", "json").stdout)
    assert d["spec"]["replicas"] == 2 and d["metadata"]["generation"] == 1
    assert d["metadata"]["uid"] and d["metadata"]["resourceVersion"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in d["metadata"]["annotations"]
    y = srv.kubectl("get", "pod", "solo", "-o", "yaml").stdout
    assert "name: solo" in y and "restartPolicy: Always" in y  # defaults applied
    assert srv.kubectl("get", "pods", "-o", "name").stdout.strip() == "pod/solo"
    assert srv.kubectl("get", "pod", "solo", "-o", "jsonpath={.spec.containers[0].image}").stdout == "busybox:1.36"
    assert "solo" in srv.kubectl("get", "pods", "-o", "wide").stdout
    assert "solo" in srv.kubectl("get", "pods", "-l", "tier=db").stdout
    assert "solo" not in srv.kubectl("get", "pods", "-l", "tier=web").stdout
    assert "solo" in srv.kubectl("get", "pods", "--field-selector", "metadata.name=solo").stdout
    assert "solo" not in srv.kubectl("get", "pods", "--field-selector", "metadata.name=x").stdout
    allns = srv.kubectl("get", "pods", "-A").stdout
    assert "default" in allns and "solo" in allns
    # an edited manifest: only what changed changes
    f.write_text(DEPLOY.replace("replicas: 2", "replicas: 4"))
    assert "configured" in srv.kubectl("apply", "-f", str(f)).stdout
    d2 = json.loads(srv.kubectl("get", "deploy", "web", "-o", "json").stdout)
    assert d2["spec"]["replicas"] == 4 and d2["metadata"]["generation"] == 2
    assert d2["metadata"]["uid"] == d["metadata"]["uid"]


def test_apply_folder_and_stdin(srv, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for i in range(3):
        (d / f"cm{i}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fold-{i}\ndata:\n  k: v{i}\n")
    out = srv.kubectl("apply", "-f", str(d)).stdout
    assert out.count("created") == 3
    out = srv.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-stdin\n").stdout
    assert "configmap/from-stdin created" in out
    srv.kubectl("delete", "-f", str(d))
    assert "fold-0" not in srv.kubectl("get", "cm").stdout


def test_label_annotate_patch_scale(srv):
    srv.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pc}\ndata: {a: '1'}\n")
    srv.kubectl("label", "cm", "pc", "team=x")
    srv.kubectl("label", "cm", "pc", "team=y", "--overwrite")
    srv.kubectl("annotate", "cm", "pc", "note=hello")
    srv.kubectl("annotate", "cm", "pc", "note=bye", "--overwrite")
    cm = json.loads(srv.kubectl("get", "cm", "pc", "-o", "json").stdout)
    assert cm["metadata"]["labels"]["team"] == "y"
    assert cm["metadata"]["annotations"]["note"] == "bye"
    srv.kubectl("patch", "cm", "pc", "--type", "merge", "-p", '{"data":{"b":"2"}}')
    srv.kubectl("patch", "cm", "pc", "--type", "json", "-p", '[{"op":"replace","path":"/data/a","value":"9"}]')
    cm = json.loads(srv.kubectl("get", "cm", "pc", "-o", "json").stdout)
    assert cm["data"] == {"a": "9", "b": "2"}
    srv.kubectl("apply", "-f", "-", input=DEPLOY.replace("name: web\n  labels", "name: pat\n  labels"))
    # strategic merge: containers merged by name, env by name
    srv.kubectl("patch", "deploy", "pat", "--type", "strategic", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}')
    d = json.loads(srv.kubectl("get", "deploy", "pat", "-o", "json").stdout)
    c = d["spec"]["template"]["spec"]["containers"]
    assert len(c) == 1 and c[0]["image"] == "busybox:1.36"
    assert {e["name"] for e in c[0]["env"]} == {"A", "B"}
    srv.kubectl("scale", "deploy", "pat", "--replicas=5")
    assert srv.kubectl("get", "deploy", "pat", "-o", "jsonpath={.spec.replicas}").stdout == "5"
    scale = srv.kubectl("get", "--raw", "/apis/apps/v1/namespaces/default/deployments/pat/scale").stdout
    assert json.loads(scale)["spec"]["replicas"] == 5
    srv.kubectl("delete", "deploy", "pat")
    out = srv.kubectl("get", "deploy", "pat", check=False)
    assert out.returncode != 0 and "NotFound" in out.stderr


def test_watch(srv):
    env = dict(os.environ, KUBECONFIG=srv.kubeconfig)
    p = subprocess.Popen([KUBECTL, "get", "configmaps", "-w", "--output-watch-events"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(0.5)
        srv.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\n")
        srv.kubectl("delete", "configmap", "watched")
        lines = []
        deadline = time.time() + 10
        while time.time() < deadline:
            line = p.stdout.readline()
            lines.append(line)
            if "DELETED" in line and "watched" in line:
                break
        text = "".join(lines)
        assert "ADDED" in text and "watched" in text and "DELETED" in text
    finally:
        p.kill()
        p.wait()


def test_explain(srv):
    out = srv.kubectl("explain", "deployment.spec").stdout
    assert "replicas" in out and "DeploymentSpec" in out


def test_bad_manifest_rejected(srv, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(DEPLOY.replace("name: web\n  labels", "name: bad\n  labels").replace("replicas: 2", "replicas: 2\n  replicass: 3"))
    p = srv.kubectl("apply", "-f", str(f), check=False)
    assert p.returncode != 0
    assert "replicass" in p.stderr
    assert srv.kubectl("get", "deploy", "bad", check=False).returncode != 0
    # an invalid value is refused with the field named, nothing stored
    f.write_text(POD.replace("name: solo", "name: Bad_Name"))
    p = srv.kubectl("apply", "-f", str(f), check=False)
    assert p.returncode != 0 and "metadata.name" in p.stderr
    assert "Bad_Name" not in srv.kubectl("get", "pods").stdout


def test_unknown_resource_and_dry_run(srv):
    p = srv.kubectl("get", "frobnicators", check=False)
    assert p.returncode != 0
    srv.kubectl("create", "--dry-run=server", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\n")
    assert srv.kubectl("get", "cm", "dry", check=False).returncode != 0


def test_typed_create_commands(srv, tmp_path):
    """kubectl's typed commands send protobuf bodies."""
    srv.kubectl("create", "configmap", "tc", "--from-literal=a=1", "--from-literal=b=2")
    assert json.loads(srv.kubectl("get", "cm", "tc", "-o", "jsonpath={.data}").stdout) == {"a": "1", "b": "2"}
    srv.kubectl("create", "secret", "generic", "ts", "--from-literal=pw=x")
    assert srv.kubectl("get", "secret", "ts", "-o", "jsonpath={.data.pw}").stdout == "eA=="
    srv.kubectl("create", "namespace", "tns")
    srv.kubectl("create", "serviceaccount", "tsa")
    srv.kubectl("create", "deployment", "td", "--image=busybox:1.36", "--replicas=0", "--port=80")
    d = json.loads(srv.kubectl("get", "deploy", "td", "-o", "json").stdout)
    assert d["spec"]["replicas"] == 0
    assert d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 80
    srv.kubectl("create", "service", "clusterip", "tsv", "--tcp=80:8080")
    svc = json.loads(srv.kubectl("get", "svc", "tsv", "-o", "json").stdout)
    assert svc["spec"]["ports"][0]["targetPort"] == 8080
    srv.kubectl("autoscale", "deployment", "td", "--min=1", "--max=4", "--cpu-percent=60")
    hpa = json.loads(srv.kubectl("get", "hpa", "td", "-o", "json").stdout)
    assert hpa["spec"]["maxReplicas"] == 4
    # set image/env/resources patch the pod template
    srv.kubectl("set", "image", "deployment/td", "busybox=busybox:1.37")
    srv.kubectl("set", "env", "deployment/td", "FOO=bar")
    srv.kubectl("set", "resources", "deployment/td", "--limits=cpu=200m,memory=64Mi")
    c = json.loads(srv.kubectl("get", "deploy", "td", "-o", "json").stdout)["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "busybox:1.37" and {"name": "FOO", "value": "bar"} in c["env"]
    assert c["resources"]["limits"]["memory"] == "64Mi"
    out = srv.kubectl("describe", "deployment", "td").stdout
    assert "busybox:1.37" in out
    # without the namespace controller (drover up runs it) the namespace stays Terminating
    srv.kubectl("delete", "namespace", "tns", "--wait=false")
    ns = json.loads(srv.kubectl("get", "ns", "tns", "-o", "json").stdout)
    assert ns["status"]["phase"] == "Terminating"
    p = srv.kubectl("-n", "tns", "create", "configmap", "late", check=False)
    assert p.returncode != 0 and "because it is being terminated" in p.stderr
