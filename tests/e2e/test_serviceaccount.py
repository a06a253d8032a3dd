"""Service account tokens and ClusterIP allocation against `drover up`, with the real kubectl:
`kubectl create token` (TokenRequest), the token used with kubectl (RBAC answers, `auth whoami`),
TokenReview, the ServiceAccount admission of pods (the kube-api-access volume, a missing
service account refused), a busybox pod's /var/run/secrets/kubernetes.io/serviceaccount whose
token authenticates from the host until the pod is deleted, node restriction of token requests,
and `kubectl create service clusterip` answering with its allocated address."""
import base64
import json
import os

import pytest

import agentlib
from agentlib import IMAGE
from apiserver import Server, wait_for

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
NODE = f"sat-{os.getpid()}"


@pytest.fixture(scope="module")
def up():
    with agentlib.up_with_busybox("satok", NODE) as s:
        yield s


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def as_token(up, token, *args, check=False):
    return up.kubectl("--token", token, *args, check=check)


def whoami(up, token):
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, token=token)
    return code, obj


def test_create_token_rbac_whoami(up):
    up.kubectl("create", "serviceaccount", "robot")
    tok = up.kubectl("create", "token", "robot").stdout.strip()
    c = claims(tok)
    assert c["sub"] == "system:serviceaccount:default:robot"
    assert c["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert c["exp"] - c["iat"] == 3600 and c["nbf"] == c["iat"]
    sa_uid = json.loads(up.kubectl("get", "sa", "robot", "-o", "json").stdout)["metadata"]["uid"]
    assert c["kubernetes.io"]["serviceaccount"] == {"name": "robot", "uid": sa_uid}
    who = json.loads(as_token(up, tok, "auth", "whoami", "-o", "json", check=True).stdout)["status"]["userInfo"]
    assert who["username"] == "system:serviceaccount:default:robot"
    assert who["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]
    # RBAC decides: nothing granted yet, then a Role bound to the service account
    p = as_token(up, tok, "get", "pods")
    assert p.returncode != 0 and 'User "system:serviceaccount:default:robot" cannot list resource "pods"' in p.stderr
    up.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    up.kubectl("create", "rolebinding", "robot-reads", "--role=pod-reader", "--serviceaccount=default:robot")
    wait_for(lambda: as_token(up, tok, "get", "pods").returncode == 0, timeout=10, what="RBAC grants robot pods")
    p = as_token(up, tok, "get", "services")
    assert p.returncode != 0 and "Forbidden" in p.stderr
    # a token with an explicit lifetime and audience, and the errors kubectl users see
    tok2 = up.kubectl("create", "token", "robot", "--duration=20m", "--audience=vault").stdout.strip()
    assert claims(tok2)["exp"] - claims(tok2)["iat"] == 1200 and claims(tok2)["aud"] == ["vault"]
    assert as_token(up, tok2, "get", "pods").returncode != 0  # not meant for the API server
    p = up.kubectl("create", "token", "robot", "--duration=5m", check=False)
    assert p.returncode != 0 and "spec.expirationSeconds" in p.stderr and "less than 10 minutes" in p.stderr
    p = up.kubectl("create", "token", "nobody", check=False)
    assert p.returncode != 0 and 'serviceaccounts "nobody" not found' in p.stderr
    p = up.kubectl("create", "token", "robot", "--bound-object-kind=Pod", "--bound-object-name=nope", check=False)
    assert p.returncode != 0 and 'pods "nope" not found' in p.stderr
    # bound to a Node (kube 1.32's third kind)
    ntok = up.kubectl("create", "token", "robot", "--bound-object-kind=Node", f"--bound-object-name={NODE}").stdout.strip()
    node_uid = json.loads(up.kubectl("get", "node", NODE, "-o", "json").stdout)["metadata"]["uid"]
    assert claims(ntok)["kubernetes.io"]["node"] == {"name": NODE, "uid": node_uid}
    assert whoami(up, ntok)[0] == 201
        # a forged or broken token is no one
    assert whoami(up, tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB"))[0] == 401
    # the service account deleted (and made again: another uid): its tokens stop working
    up.kubectl("delete", "sa", "robot")
    up.kubectl("create", "sa", "robot")
    assert whoami(up, tok)[0] == 401
    p = as_token(up, tok, "get", "pods")
    assert p.returncode != 0 and "Unauthorized" in p.stderr


def test_token_review(up):
    up.kubectl("create", "sa", "reviewed")
    tok = up.kubectl("create", "token", "reviewed").stdout.strip()
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": tok}}
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=body)
    assert code == 201, obj
    assert obj["status"]["authenticated"] is True
    assert obj["status"]["user"]["username"] == "system:serviceaccount:default:reviewed"
    # an outside service checks the tokens minted for it
    vtok = up.kubectl("create", "token", "reviewed", "--audience=vault").stdout.strip()
    vbody = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
             "spec": {"token": vtok, "audiences": ["vault"]}}
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=vbody)
    assert code == 201 and obj["status"]["authenticated"] is True and obj["status"]["audiences"] == ["vault"], obj
    vbody["spec"]["audiences"] = ["elsewhere"]
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=vbody)
    assert code == 201 and obj["status"]["authenticated"] is False, obj
    del vbody["spec"]["audiences"]  # the server's own audience: a vault token is not for it
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=vbody)
    assert code == 201 and obj["status"]["authenticated"] is False, obj
    body["spec"]["token"] = "not-a-token"
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=body)
    assert code == 201 and obj["status"]["authenticated"] is False
    code, obj = up.http("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {}})
    assert code == 422 and obj["details"]["causes"][0]["field"] == "spec.token"
    names = up.kubectl("api-resources", "--api-group=authentication.k8s.io", "-o", "name").stdout.split()
    assert "tokenreviews.authentication.k8s.io" in names


def test_pod_token_volume(up):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tokpod"},
           "spec": {"containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                    "command": ["sleep", "3600"]}],
                    "initContainers": [{"name": "i", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                        "command": ["cat", SA_DIR + "/namespace"]}],
                    "terminationGracePeriodSeconds": 1}}
    up.kubectl("apply", "-f", "-", input=json.dumps(pod))
    spec = json.loads(up.kubectl("get", "pod", "tokpod", "-o", "json").stdout)["spec"]
    assert spec["serviceAccountName"] == "default"
    vols = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
    assert len(vols) == 1 and len(vols[0]["name"]) == len("kube-api-access-") + 5
    srcs = vols[0]["projected"]["sources"]
    assert srcs[0]["serviceAccountToken"] == {"expirationSeconds": 3607, "path": "token"}
    assert srcs[1]["configMap"]["name"] == "kube-root-ca.crt"
    for c in spec["containers"] + spec["initContainers"]:
        assert {"name": vols[0]["name"], "mountPath": SA_DIR, "readOnly": True} in c["volumeMounts"]
    wait_for(lambda: json.loads(up.kubectl("get", "pod", "tokpod", "-o", "json").stdout)["status"].get("phase")
             == "Running", timeout=60, what="tokpod running")
    assert up.kubectl("logs", "tokpod", "-c", "i").stdout.strip() == "default"
    tok = up.kubectl("exec", "tokpod", "--", "cat", SA_DIR + "/token").stdout
    ca = up.kubectl("exec", "tokpod", "--", "cat", SA_DIR + "/ca.crt").stdout
    with open(os.path.join(up.dir, "ca.crt")) as f:
        assert ca == f.read()
    env = up.kubectl("exec", "tokpod", "--", "env").stdout
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in env and "KUBERNETES_SERVICE_PORT=443" in env
    p = up.kubectl("exec", "tokpod", "--", "sh", "-c", "echo x > " + SA_DIR + "/token", check=False)
    assert p.returncode != 0  # read-only
    c = claims(tok)
    pod_uid = json.loads(up.kubectl("get", "pod", "tokpod", "-o", "json").stdout)["metadata"]["uid"]
    assert c["kubernetes.io"]["pod"] == {"name": "tokpod", "uid": pod_uid}
    assert c["exp"] - c["iat"] == 3607
    # the pod's token authenticates from the host as the pod's service account
    code, obj = whoami(up, tok)
    assert code == 201 and obj["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"
    ui = obj["status"]["userInfo"]
    sa_uid = json.loads(up.kubectl("get", "sa", "default", "-o", "json").stdout)["metadata"]["uid"]
    assert ui["uid"] == sa_uid, ui
    assert ui["extra"]["authentication.kubernetes.io/pod-name"] == ["tokpod"], ui
    assert ui["extra"]["authentication.kubernetes.io/pod-uid"] == [pod_uid], ui
    assert ui["extra"]["authentication.kubernetes.io/credential-id"] == ["JTI=" + c["jti"]], ui
    who = up.kubectl("--token", tok, "auth", "whoami").stdout
    assert "authentication.kubernetes.io/pod-name" in who and "tokpod" in who, who
    # ... until the pod is gone
    up.kubectl("delete", "pod", "tokpod", "--wait=true")
    wait_for(lambda: whoami(up, tok)[0] == 401, timeout=10, what="the deleted pod's token refused")


def test_admission(up):
    base = {"containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["true"]}],
            "restartPolicy": "Never", "nodeName": "elsewhere"}
    # a service account that does not exist
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nosa"},
           "spec": dict(base, serviceAccountName="ghost")}
    p = up.kubectl("create", "-f", "-", input=json.dumps(pod), check=False)
    assert p.returncode != 0
    assert 'error looking up service account default/ghost: serviceaccount "ghost" not found' in p.stderr
    assert up.kubectl("get", "pod", "nosa", check=False).returncode != 0
    # automountServiceAccountToken: false, on the pod or on its service account
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nomount"},
           "spec": dict(base, automountServiceAccountToken=False)}
    up.kubectl("create", "-f", "-", input=json.dumps(pod))
    assert "volumes" not in json.loads(up.kubectl("get", "pod", "nomount", "-o", "json").stdout)["spec"]
    up.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "ServiceAccount",
                                                      "metadata": {"name": "quiet"},
                                                      "automountServiceAccountToken": False}))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quietpod"},
           "spec": dict(base, serviceAccountName="quiet")}
    up.kubectl("create", "-f", "-", input=json.dumps(pod))
    assert "volumes" not in json.loads(up.kubectl("get", "pod", "quietpod", "-o", "json").stdout)["spec"]
    # a pod naming no imagePullSecrets gets its service account's
    up.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "ServiceAccount",
                                                      "metadata": {"name": "puller"},
                                                      "imagePullSecrets": [{"name": "regcred"}]}))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pulls"},
           "spec": dict(base, serviceAccountName="puller")}
    out = json.loads(up.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(pod)).stdout)
    assert out["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    up.kubectl("delete", "pod", "pulls", "--wait=false")
    # a new namespace has its default service account and the CA at once
    up.kubectl("create", "namespace", "satns")
    up.kubectl("get", "sa", "default", "-n", "satns")
    cm = json.loads(up.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "satns", "-o", "json").stdout)
    assert cm["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    # the root CA publisher puts back what is deleted
    up.kubectl("delete", "configmap", "kube-root-ca.crt", "-n", "satns")
    wait_for(lambda: up.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "satns", check=False).returncode == 0,
             timeout=15, what="kube-root-ca.crt published again")
    up.kubectl("delete", "pod", "nomount", "quietpod", "--wait=false")


def test_token_secret(up):
    """A Secret of type kubernetes.io/service-account-token gets a long-lived token bound to it."""
    up.kubectl("create", "sa", "ci")
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
              "metadata": {"name": "ci-token", "annotations": {"kubernetes.io/service-account.name": "ci"}}}
    up.kubectl("apply", "-f", "-", input=json.dumps(secret))

    def filled():
        d = json.loads(up.kubectl("get", "secret", "ci-token", "-o", "json").stdout)
        return d if d.get("data", {}).get("token") else None
    sec = wait_for(filled, timeout=15, what="the token controller fills ci-token")
    data = sec["data"]
    tok = base64.b64decode(data["token"]).decode()
    assert base64.b64decode(data["namespace"]) == b"default"
    assert base64.b64decode(data["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    sa_uid = json.loads(up.kubectl("get", "sa", "ci", "-o", "json").stdout)["metadata"]["uid"]
    assert sec["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == sa_uid
    c = claims(tok)
    assert c["kubernetes.io"]["secret"]["name"] == "ci-token" and c["exp"] - c["iat"] == 2 ** 32
    code, obj = whoami(up, tok)
    assert code == 201 and obj["status"]["userInfo"]["username"] == "system:serviceaccount:default:ci"
    up.kubectl("delete", "secret", "ci-token")
    wait_for(lambda: whoami(up, tok)[0] == 401, timeout=10, what="the deleted Secret's token refused")
    # such a Secret must name its service account
    bad = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "x"}}
    p = up.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert p.returncode != 0 and "metadata.annotations[kubernetes.io/service-account.name]: Required value" in p.stderr


def node_token(up):
    with open(os.path.join(up.dir, "tokens")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1] == f"system:node:{NODE}":
                return parts[0]
    raise AssertionError("no node token")


def test_node_restriction(up):
    ntok = node_token(up)
    base = {"containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["true"]}],
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 1}
    for name, node in (("mine", NODE), ("theirs", "another-node")):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": dict(base, nodeName=node)}
        up.kubectl("create", "-f", "-", input=json.dumps(pod))

    def request(pod):
        spec = {"expirationSeconds": 3600}
        if pod:
            spec["boundObjectRef"] = {"apiVersion": "v1", "kind": "Pod", "name": pod}
        return up.http("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", token=ntok,
                       body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    code, obj = request("mine")
    assert code == 201 and obj["status"]["token"], obj
    code, obj = request("theirs")
    assert code == 403 and "another-node" in obj["message"], obj
    code, obj = request(None)
    assert code == 403 and "not bound to a pod" in obj["message"], obj
    up.kubectl("delete", "pod", "mine", "theirs", "--wait=false")


def test_node_cannot_make_pods_run_as_service_accounts(up):
    """A node may create only mirror pods naming no service account (NodeRestriction), and no
    token is minted bound to a mirror pod: else a node would create a pod of its own running
    as any service account and ask that account's token."""
    ntok = node_token(up)
    up.kubectl("create", "serviceaccount", "sat-admin")
    spec = {"nodeName": NODE, "containers": [{"name": "c", "image": IMAGE, "command": ["true"]}],
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 1}

    def create(name, annotations, **extra):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations},
               "spec": dict(spec, **extra)}
        return up.http("POST", "/api/v1/namespaces/default/pods", body=pod, token=ntok)
    code, obj = create("sat-escalate", {}, serviceAccountName="sat-admin")
    assert code == 403 and "can only create mirror pods" in obj["message"], obj
    code, obj = create("sat-escalate", {}, serviceAccount="sat-admin")
    assert code == 403, obj
    mirror = {"kubernetes.io/config.mirror": "x"}
    code, obj = create("sat-escalate", mirror, serviceAccountName="sat-admin")
    assert code == 403 and "can not create pods that reference a service account" in obj["message"], obj
    code, obj = create("sat-mirror", mirror)
    assert code == 201, obj
    try:
        for sa in ("default", "sat-admin"):
            code, obj = up.http("POST", f"/api/v1/namespaces/default/serviceaccounts/{sa}/token", token=ntok,
                                body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                      "spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                                                  "name": "sat-mirror"}}})
            assert code == 403 and "mirror pods" in obj["message"], obj
    finally:
        up.kubectl("delete", "pod", "sat-mirror", "--wait=false", check=False)
        up.kubectl("delete", "serviceaccount", "sat-admin", check=False)


def test_pod_stuck_terminating_loses_its_tokens(up):
    """A token bound to a pod authenticates while the pod is being deleted for a minute past its
    deletionTimestamp (Kubernetes' leeway), not for as long as a finalizer holds the pod."""
    name = f"sat-stuck-{os.getpid()}"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "finalizers": ["example.com/hold"]},
           "spec": {"nodeName": f"nowhere-{os.getpid()}", "containers": [{"name": "c", "image": IMAGE}]}}
    up.kubectl("create", "-f", "-", input=json.dumps(pod))
    try:
        tok = up.kubectl("create", "token", "default", "--bound-object-kind", "Pod",
                         "--bound-object-name", name).stdout.strip()
        assert whoami(up, tok)[0] == 201
        up.kubectl("delete", "pod", name, "--grace-period=1", "--wait=false")
        assert whoami(up, tok)[0] == 201  # within the minute
        wait_for(lambda: whoami(up, tok)[0] == 401, timeout=120, what="token of a pod deleted a minute ago refused")
    finally:
        up.kubectl("patch", "pod", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False)


def test_clusterip_allocated_on_create(up):
    out = up.kubectl("create", "service", "clusterip", "sat-web", "--tcp=80:8080", "-o", "json").stdout
    spec = json.loads(out)["spec"]
    ip = spec["clusterIP"]
    assert ip.startswith("10.") and ip != "10.96.0.1" and spec["clusterIPs"] == [ip]
    p = up.kubectl("create", "service", "clusterip", "sat-web2", "--tcp=80:8080", f"--clusterip={ip}", check=False)
    assert p.returncode != 0
    assert "spec.clusterIPs" in p.stderr and f"failed to allocate IP {ip}: provided IP is already allocated" in p.stderr
    p = up.kubectl("create", "service", "clusterip", "sat-web2", "--tcp=80:8080", "--clusterip=192.168.9.9", check=False)
    assert p.returncode != 0 and "is not in the valid range. The range of valid IPs is 10.96.0.0/12" in p.stderr
    code, obj = up.http("POST", "/api/v1/namespaces/default/services",
                        body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sat-web3"},
                              "spec": {"clusterIP": ip, "ports": [{"port": 80}]}})
    assert code == 422 and obj["reason"] == "Invalid" and obj["details"]["causes"][0]["field"] == "spec.clusterIPs"
    out = up.kubectl("create", "service", "clusterip", "sat-headless", "--clusterip=None", "-o", "json").stdout
    assert json.loads(out)["spec"]["clusterIP"] == "None"
    # deleted, its address is free again
    up.kubectl("delete", "service", "sat-web")
    out = up.kubectl("create", "service", "clusterip", "sat-web2", "--tcp=80:8080", f"--clusterip={ip}",
                     "-o", "json").stdout
    assert json.loads(out)["spec"]["clusterIP"] == ip
    up.kubectl("delete", "service", "sat-web2", "sat-headless")


def test_clusterip_concurrent_creates(up):
    """Services created at once get distinct addresses, and of creates asking the same address
    exactly one gets it (allocation and write under one lock)."""
    from concurrent.futures import ThreadPoolExecutor
    tag = os.getpid()

    def create(name, ip=None):
        spec = {"ports": [{"port": 80}]}
        if ip:
            spec["clusterIP"] = ip
        return up.http("POST", "/api/v1/namespaces/default/services",
                       body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
    names = [f"sat-par-{tag}-{i}" for i in range(16)]
    same = [f"sat-same-{tag}-{i}" for i in range(8)]
    try:
        with ThreadPoolExecutor(8) as ex:
            got = list(ex.map(create, names))
        assert all(code == 201 for code, _ in got), got
        ips = [obj["spec"]["clusterIP"] for _, obj in got]
        assert len(set(ips)) == len(ips), ips
        want = "10.99.%d.%d" % (tag % 250, 7)
        with ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda n: create(n, want), same))
        codes = sorted(code for code, _ in got)
        assert codes == [201] + [422] * 7, got
    finally:
        up.kubectl("delete", "service", "--ignore-not-found", *names, *same, check=False)


def test_restart_keeps_addresses_and_tokens():
    """`drover server` alone, restarted over its data dir: the signing key and the ClusterIPs in
    use are what the data dir holds (nothing else is kept), so tokens still authenticate and a
    taken address is still refused."""
    s = Server()
    try:
        out = s.kubectl("create", "service", "clusterip", "kept", "--tcp=80:80", "-o", "json").stdout
        ip = json.loads(out)["spec"]["clusterIP"]
        tok = s.kubectl("create", "token", "default").stdout.strip()
        s.stop()
        s.start()
        code, obj = whoami(s, tok)
        assert code == 201 and obj["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"
        p = s.kubectl("create", "service", "clusterip", "again", "--tcp=80:80", f"--clusterip={ip}", check=False)
        assert p.returncode != 0 and "provided IP is already allocated" in p.stderr
        # a pod on a server without controllers: the default service account is there already
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "image": IMAGE}]}}
        out = json.loads(s.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(pod)).stdout)
        assert any(v["name"].startswith("kube-api-access-") for v in out["spec"]["volumes"])
    finally:
        s.cleanup()
