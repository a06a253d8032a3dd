"""The API types layer seen through the machine's real kubectl against `drover server`:
typed-client (protobuf) creates, 3-way apply edits, set/patch verbs, Table columns, discovery
names, OpenAPI for explain and strict field validation, Kubernetes' error texts."""
import json

WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: kweb, labels: {app: kweb}}
spec:
  replicas: 2
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}
  selector: {matchLabels: {app: kweb}}
  template:
    metadata: {labels: {app: kweb}}
    spec:
      containers:
      - name: a
        image: nginx:1
        ports: [{containerPort: 80}, {containerPort: 81}]
        env: [{name: X, value: "1"}, {name: "Y", value: "2"}]
      - name: b
        image: busybox:1.36
      volumes: [{name: v, emptyDir: {}}]
"""



def getj(srv, *args):
    return json.loads(srv.kubectl("get", *args, "-o", "json").stdout)


def test_kubectl_typed_creates(srv):
    """kubectl's generators send protobuf bodies; they are decoded, defaulted and stored."""
    srv.kubectl("create", "namespace", "tc")
    srv.kubectl("-n", "tc", "create", "deployment", "d1", "--image=nginx:1.27", "--replicas=3", "--port=80")
    srv.kubectl("-n", "tc", "create", "configmap", "c1", "--from-literal=a=b", "--from-literal=c=d")
    srv.kubectl("-n", "tc", "create", "secret", "generic", "s1", "--from-literal=pw=hunter2")
    srv.kubectl("-n", "tc", "create", "service", "clusterip", "s1", "--tcp=80:8080")
    srv.kubectl("-n", "tc", "create", "serviceaccount", "sa1")
    srv.kubectl("-n", "tc", "autoscale", "deployment", "d1", "--min=2", "--max=5", "--cpu-percent=70")
    d = getj(srv, "-n", "tc", "deploy", "d1")
    assert d["spec"]["replicas"] == 3
    assert d["spec"]["selector"] == {"matchLabels": {"app": "d1"}}
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:1.27" and c["ports"][0]["containerPort"] == 80
    assert c["imagePullPolicy"] == "IfNotPresent" and c["terminationMessagePath"] == "/dev/termination-log"
    assert d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert "creationTimestamp" in d["metadata"] and d["metadata"]["namespace"] == "tc"
    cm = getj(srv, "-n", "tc", "cm", "c1")
    assert cm["data"] == {"a": "b", "c": "d"}
    sec = getj(srv, "-n", "tc", "secret", "s1")
    assert sec["type"] == "Opaque" and sec["data"]["pw"] == "aHVudGVyMg=="
    svc = getj(srv, "-n", "tc", "svc", "s1")
    assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["sessionAffinity"] == "None"
    hpa = getj(srv, "-n", "tc", "hpa", "d1")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 5
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    v1 = json.loads(srv.kubectl("get", "--raw", "/apis/autoscaling/v1/namespaces/tc/horizontalpodautoscalers/d1").stdout)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    table = srv.kubectl("-n", "tc", "get", "hpa").stdout
    assert "Deployment/d1" in table and "cpu: <unknown>/70%" in table
    srv.kubectl("delete", "namespace", "tc", "--wait=false")


def test_kubectl_apply_edits_three_way(srv, tmp_path):
    f = tmp_path / "web.yaml"
    f.write_text(WEB)
    assert "created" in srv.kubectl("apply", "-f", str(f)).stdout
    assert "unchanged" in srv.kubectl("apply", "-f", str(f)).stdout
    # a change made by someone else (scale) survives a re-apply of an unrelated edit
    srv.kubectl("label", "deploy", "kweb", "owner=ops")
    edited = (WEB.replace("nginx:1", "nginx:2").replace(", {containerPort: 81}", "")
              .replace(', {name: "Y", value: "2"}', "").replace("maxSurge: 1", "maxSurge: 2")
              .replace("      - name: b\n        image: busybox:1.36\n", ""))
    f.write_text(edited)
    assert "configured" in srv.kubectl("apply", "-f", str(f)).stdout
    d = getj(srv, "deploy", "kweb")
    cs = d["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in cs] == ["a"]
    assert cs[0]["image"] == "nginx:2"
    assert [p["containerPort"] for p in cs[0]["ports"]] == [80]
    assert cs[0]["env"] == [{"name": "X", "value": "1"}]
    assert d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 2
    assert d["metadata"]["labels"]["owner"] == "ops"
    assert d["metadata"]["generation"] == 2
    # switching the strategy type drops rollingUpdate ($retainKeys)
    f.write_text(edited.replace("{type: RollingUpdate, rollingUpdate: {maxSurge: 2}}", "{type: Recreate}"))
    srv.kubectl("apply", "-f", str(f))
    assert getj(srv, "deploy", "kweb")["spec"]["strategy"] == {"type": "Recreate"}


def test_kubectl_set_and_patch_verbs(srv):
    srv.kubectl("apply", "-f", "-", input=WEB.replace("kweb", "kset"))
    srv.kubectl("set", "image", "deploy/kset", "a=nginx:3")
    srv.kubectl("set", "env", "deploy/kset", "-c", "a", "Z=9")
    srv.kubectl("set", "resources", "deploy/kset", "-c", "b", "--limits=cpu=200m,memory=64Mi")
    cs = getj(srv, "deploy", "kset")["spec"]["template"]["spec"]["containers"]
    a, b = cs
    assert a["image"] == "nginx:3" and {"name": "Z", "value": "9"} in a["env"]
    assert b["resources"]["limits"] == {"cpu": "200m", "memory": "64Mi"}
    assert b["resources"]["requests"] == {"cpu": "200m", "memory": "64Mi"}  # defaulted from limits
    # strategic merge directives: delete one container by its merge key
    srv.kubectl("patch", "deploy", "kset", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"b","$patch":"delete"}]}}}}')
    assert [c["name"] for c in getj(srv, "deploy", "kset")["spec"]["template"]["spec"]["containers"]] == ["a"]
    # JSON patch with an escaped pointer, then a failing test op answers 422 and changes nothing
    srv.kubectl("patch", "deploy", "kset", "--type", "json", "-p",
                '[{"op":"add","path":"/metadata/annotations/example.com~1note","value":"x"}]')
    assert getj(srv, "deploy", "kset")["metadata"]["annotations"]["example.com/note"] == "x"
    p = srv.kubectl("patch", "deploy", "kset", "--type", "json", "-p",
                    '[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":7}]',
                    check=False)
    assert p.returncode != 0
    assert getj(srv, "deploy", "kset")["spec"]["replicas"] == 2
    # a patch that makes the object invalid is refused with the field named
    p = srv.kubectl("patch", "deploy", "kset", "--type", "merge", "-p", '{"spec":{"replicas":-1}}', check=False)
    assert p.returncode != 0 and "spec.replicas: Invalid value: -1" in p.stderr


def test_kubectl_tables(srv):
    srv.kubectl("apply", "-f", "-", input=WEB.replace("kweb", "ktab"))
    out = srv.kubectl("get", "deploy", "ktab", "-o", "wide").stdout.splitlines()
    assert out[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert out[1].split()[:2] == ["ktab", "0/2"] and "a,b" in out[1] and "app=ktab" in out[1]
    srv.kubectl("run", "ktabpod", "--image=busybox:1.36", "--", "sleep", "100")
    out = srv.kubectl("get", "pod", "ktabpod", "-o", "wide").stdout.splitlines()
    assert out[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert out[1].split()[:4] == ["ktabpod", "0/1", "Pending", "0"]
    srv.kubectl("expose", "deploy", "ktab", "--port=80", "--target-port=8080", "--type=NodePort")
    head = srv.kubectl("get", "svc", "ktab").stdout.splitlines()[0].split()
    assert head == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert srv.kubectl("get", "ns").stdout.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    assert srv.kubectl("get", "cm", "-A").stdout.splitlines()[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    # the server-side table itself
    t = json.loads(srv.kubectl("get", "--raw", "/apis/apps/v1/namespaces/default/deployments").stdout)
    assert t["kind"] == "DeploymentList"
    code, t = srv.http("GET", "/api/v1/namespaces/default/pods",
                       headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert code == 200 and t["kind"] == "Table"
    assert [c["name"] for c in t["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    # `get all` goes through the "all" category
    allout = srv.kubectl("get", "all").stdout
    assert "deployment.apps/ktab" in allout and "pod/ktabpod" in allout and "service/ktab" in allout


def test_kubectl_discovery_names(srv):
    res = srv.kubectl("api-resources", "-o", "wide").stdout
    for short, name in [("po", "pods"), ("deploy", "deployments"), ("rs", "replicasets"), ("svc", "services"),
                        ("ep", "endpoints"), ("no", "nodes"), ("ns", "namespaces"), ("hpa", "horizontalpodautoscalers"),
                        ("cm", "configmaps"), ("sa", "serviceaccounts"), ("ev", "events")]:
        row = [l for l in res.splitlines() if l.split()[0] == name]
        assert row and short in row[0].split(), (short, name)
    assert "all" in [l for l in res.splitlines() if l.split()[0] == "pods"][0]
    srv.kubectl("get", "po,deploy,rs,svc,ep,cm,sa,hpa,ev,leases,endpointslices")
    srv.kubectl("get", "events.events.k8s.io")
    srv.kubectl("get", "hpa.v1.autoscaling")


def test_kubectl_explain_and_validation(srv, tmp_path):
    out = srv.kubectl("explain", "pod.spec.containers.ports").stdout
    assert "containerPort" in out and "-required-" in out
    out = srv.kubectl("explain", "hpa.spec").stdout
    assert "scaleTargetRef" in out and "maxReplicas" in out
    out = srv.kubectl("explain", "deployment.spec.strategy", "--recursive").stdout
    assert "rollingUpdate" in out and "maxSurge" in out
    f = tmp_path / "bad.yaml"
    f.write_text(WEB.replace("kweb", "kbad").replace("image: nginx:1", "image: nginx:1\n        imagePullPolicyy: Always"))
    p = srv.kubectl("apply", "-f", str(f), check=False)
    assert p.returncode != 0
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy"' in p.stderr
    # --validate=warn: stored, with the warning shown
    p = srv.kubectl("apply", "--validate=warn", "-f", str(f), check=False)
    assert p.returncode == 0 and "unknown field" in p.stderr
    srv.kubectl("delete", "deploy", "kbad")
    f.write_text(WEB.replace("kweb", "kbad").replace("containerPort: 81", "containerPort: 70000")
                 .replace("image: busybox:1.36", "image: ''"))
    p = srv.kubectl("apply", "-f", str(f), check=False)
    assert p.returncode != 0
    assert 'The Deployment "kbad" is invalid' in p.stderr
    assert "spec.template.spec.containers[0].ports[1].containerPort: Invalid value: 70000" in p.stderr
    assert "spec.template.spec.containers[1].image: Required value" in p.stderr
    assert srv.kubectl("get", "deploy", "kbad", check=False).returncode != 0


def test_kubectl_apply_nested_pod_types(srv, tmp_path):
    """kubectl computes apply patches from the OpenAPI v3 schemas: nested pod types (affinity,
    security contexts, probes, volume sources) must be described, or it warns and falls back."""
    f = tmp_path / "aff.yaml"
    m = """apiVersion: apps/v1
kind: Deployment
metadata: {name: kaff}
spec:
  selector: {matchLabels: {app: kaff}}
  template:
    metadata: {labels: {app: kaff}}
    spec:
      securityContext: {runAsUser: 1000, supplementalGroups: [1, 2]}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: disk, operator: In, values: [ssd]}]
      containers:
      - name: a
        image: nginx
        securityContext: {capabilities: {add: [NET_ADMIN]}}
        livenessProbe: {httpGet: {path: /, port: 80}}
        volumeMounts: [{name: v, mountPath: /v}]
      volumes: [{name: v, configMap: {name: cm}}]
"""
    f.write_text(m)
    p = srv.kubectl("apply", "-f", str(f))
    assert "warning" not in p.stderr.lower()
    f.write_text(m.replace("NET_ADMIN", "SYS_TIME").replace("ssd", "hdd").replace("[1, 2]", "[3]")
                 .replace("path: /,", "path: /healthz,").replace("configMap: {name: cm}", "emptyDir: {}"))
    p = srv.kubectl("apply", "-f", str(f))
    assert "warning" not in p.stderr.lower(), p.stderr
    s = getj(srv, "deploy", "kaff")["spec"]["template"]["spec"]
    assert s["securityContext"]["supplementalGroups"] == [3]
    assert s["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["hdd"]
    c = s["containers"][0]
    assert c["securityContext"]["capabilities"]["add"] == ["SYS_TIME"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert s["volumes"] == [{"name": "v", "emptyDir": {}}]  # the old source is gone ($retainKeys)
