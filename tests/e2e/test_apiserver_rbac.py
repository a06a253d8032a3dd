"""Identities and RBAC on `drover server`, driven by the machine's kubectl and python3-kubernetes:
tokens with users and groups, Roles/ClusterRoles/bindings created with `kubectl create`, 403s
worded as Kubernetes words them, `kubectl auth can-i` (incl. --list) and `auth whoami`,
SubjectAccessReview, default roles, aggregation, and tokens from before identities."""
import json
import os
import shutil
import subprocess
import tempfile

from kubernetes import client, config

from apiserver import KUBECTL, Server, wait_for
from conftest import DROVER



def make_token(srv, *args):
    return subprocess.run([DROVER, "token", "--data-dir", srv.dir, "create", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


class As:
    """kubectl and HTTP as the holder of one token (a kubeconfig of its own)."""

    def __init__(self, srv, token):
        self.srv, self.token = srv, token
        fd, self.kubeconfig = tempfile.mkstemp(prefix=f"kc-{os.getpid()}-", dir=srv.dir)
        with open(srv.kubeconfig) as f, os.fdopen(fd, "w") as out:
            for line in f:
                if line.strip().startswith("token:"):
                    line = line.split("token:")[0] + "token: " + token + "\n"
                out.write(line)
        # the server re-reads the token file within a second
        wait_for(lambda: self.http("GET", "/api")[0] != 401, timeout=5, what="token accepted")

    def kubectl(self, *args, check=True, input=None):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        env.pop("KUBERNETES_SERVICE_HOST", None)
        p = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, input=input, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def can_i(self, *args):
        p = self.kubectl("auth", "can-i", *args, check=False)
        assert p.stdout.strip() in ("yes", "no"), (args, p.stdout, p.stderr)
        return p.stdout.strip() == "yes"

    def http(self, method, path, body=None):
        return self.srv.http(method, path, body=body, token=self.token)


def uniq(base):
    return f"{base}-{os.getpid()}"


def test_identities_whoami_and_forbidden_message(srv):
    admin = srv.kubectl("auth", "whoami", "-o", "json").stdout
    ui = json.loads(admin)["status"]["userInfo"]
    assert ui["username"] == "admin" and "system:masters" in ui["groups"]
    assert "system:authenticated" in ui["groups"]
    alice = As(srv, make_token(srv, "--user", "alice", "--group", "devs", "--group", "qa"))
    ui = json.loads(alice.kubectl("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert ui["username"] == "alice" and ui["groups"] == ["devs", "qa", "system:authenticated"]
    p = alice.kubectl("get", "pods", check=False)
    assert p.returncode != 0
    assert ('Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" '
            'in API group "" in the namespace "default"') in p.stderr, p.stderr
    p = alice.kubectl("get", "deployments", "-n", "kube-system", check=False)
    assert ('deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group '
            '"apps" in the namespace "kube-system"') in p.stderr, p.stderr
    p = alice.kubectl("get", "nodes", check=False)
    assert 'User "alice" cannot list resource "nodes" in API group "" at the cluster scope' in p.stderr
    code, st = alice.http("GET", "/api/v1/namespaces/default/secrets/s1")
    assert code == 403 and st["kind"] == "Status" and st["reason"] == "Forbidden"
    assert st["message"] == ('secrets "s1" is forbidden: User "alice" cannot get resource "secrets" in API '
                             'group "" in the namespace "default"')
    assert st["details"] == {"name": "s1", "kind": "secrets"}
    code, st = alice.http("GET", "/api/v1/namespaces/default/pods/p1/log")
    assert code == 403 and 'cannot get resource "pods/log"' in st["message"]
    code, st = alice.http("GET", "/metrics")
    assert code == 403 and st["message"] == 'forbidden: User "alice" cannot get path "/metrics"'
    # discovery and the self reviews are every authenticated identity's
    assert alice.http("GET", "/apis")[0] == 200
    assert alice.http("GET", "/openapi/v3")[0] == 200
    # listed with their groups; bad flags are named
    out = subprocess.run([DROVER, "token", "--data-dir", srv.dir, "list"], capture_output=True, text=True,
                         check=True).stdout
    assert any(l.split()[:2] == ["alice", "devs,qa"] for l in out.splitlines()), out
    p = subprocess.run([DROVER, "token", "--data-dir", srv.dir, "list", "--group", "x"], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "--group" in p.stderr
    p = subprocess.run([DROVER, "token", "--data-dir", srv.dir, "create", "--user", "x", "--group", "a,b"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "token group `a,b`" in p.stderr


def test_role_binding_verbs_subresources_and_namespaces(srv):
    ns = uniq("team")
    srv.kubectl("create", "namespace", ns)
    bob = As(srv, make_token(srv, "--user", uniq("bob")))
    user = uniq("bob")
    assert not bob.can_i("list", "pods", "-n", ns)
    srv.kubectl("create", "role", "pod-reader", "-n", ns, "--verb=get,list,watch", "--resource=pods,pods/log")
    srv.kubectl("create", "rolebinding", "bob-reads", "-n", ns, "--role=pod-reader", f"--user={user}")
    out = srv.kubectl("get", "rolebinding", "bob-reads", "-n", ns, "-o", "wide").stdout
    assert "Role/pod-reader" in out and user in out, out
    assert "pod-reader" in srv.kubectl("get", "roles", "-n", ns).stdout
    wait_for(lambda: bob.kubectl("get", "pods", "-n", ns, check=False).returncode == 0, what="binding in force")
    assert bob.can_i("list", "pods", "-n", ns)
    assert bob.can_i("watch", "pods", "-n", ns)
    assert bob.can_i("get", "pods", "--subresource=log", "-n", ns)
    assert not bob.can_i("get", "pods", "--subresource=exec", "-n", ns)
    assert not bob.can_i("create", "pods", "-n", ns)
    assert not bob.can_i("list", "pods", "-n", "default")
    assert not bob.can_i("list", "pods", "--all-namespaces")
    p = bob.kubectl("run", "x", "--image=busybox", "-n", ns, check=False)
    assert 'pods is forbidden: User "%s" cannot create resource "pods" in API group "" in the namespace "%s"' % (
        user, ns) in p.stderr, p.stderr
    # a watch is authorized as "watch"
    code, _ = bob.http("GET", f"/api/v1/namespaces/{ns}/pods?watch=true&timeoutSeconds=1")
    assert code == 200
    # --list shows what the rules grant here
    lst = bob.kubectl("auth", "can-i", "--list", "-n", ns).stdout
    rows = {l.split()[0]: l for l in lst.splitlines()[1:] if l and not l.startswith(" ")}
    assert "[get list watch]" in rows["pods"] and "[get list watch]" in rows["pods/log"], lst
    # deleting the binding takes the rights away again
    srv.kubectl("delete", "rolebinding", "bob-reads", "-n", ns)
    wait_for(lambda: bob.kubectl("get", "pods", "-n", ns, check=False).returncode != 0, what="binding revoked")
    srv.kubectl("delete", "namespace", ns, "--wait=false")


def test_resource_names_cluster_roles_groups_and_urls(srv):
    ns = uniq("rn")
    srv.kubectl("create", "namespace", ns)
    for n in ("cm1", "cm2"):
        srv.kubectl("create", "configmap", n, "-n", ns, "--from-literal=k=v")
    group = uniq("ops")
    carol = As(srv, make_token(srv, "--user", uniq("carol"), "--group", group))
    srv.kubectl("create", "role", "one-cm", "-n", ns, "--verb=get,update", "--resource=configmaps",
                "--resource-name=cm1")
    srv.kubectl("create", "rolebinding", "carol-cm", "-n", ns, "--role=one-cm", f"--group={group}")
    wait_for(lambda: carol.kubectl("get", "cm", "cm1", "-n", ns, check=False).returncode == 0, what="cm1 allowed")
    p = carol.kubectl("get", "cm", "cm2", "-n", ns, check=False)
    assert 'configmaps "cm2" is forbidden' in p.stderr, p.stderr
    assert carol.kubectl("get", "cm", "-n", ns, check=False).returncode != 0  # no list with resourceNames
    assert carol.can_i("update", "configmaps/cm1", "-n", ns)
    assert not carol.can_i("update", "configmaps/cm2", "-n", ns)
    # a ClusterRole bound cluster-wide to the group: nodes and a non-resource URL
    srv.kubectl("create", "clusterrole", uniq("node-reader"), "--verb=get,list", "--resource=nodes")
    srv.kubectl("create", "clusterrolebinding", uniq("ops-nodes"), f"--clusterrole={uniq('node-reader')}",
                f"--group={group}")
    srv.kubectl("create", "clusterrole", uniq("metrics-reader"), "--verb=get", "--non-resource-url=/metrics")
    srv.kubectl("create", "clusterrolebinding", uniq("ops-metrics"), f"--clusterrole={uniq('metrics-reader')}",
                f"--group={group}")
    wait_for(lambda: carol.kubectl("get", "nodes", check=False).returncode == 0, what="nodes allowed")
    wait_for(lambda: carol.http("GET", "/metrics")[0] == 200, what="/metrics allowed")
    assert carol.can_i("get", "/metrics")
    assert not carol.can_i("get", "/logs")
    assert not carol.can_i("delete", "nodes")
    out = srv.kubectl("get", "clusterrolebinding", uniq("ops-nodes"), "-o", "wide").stdout
    assert f"ClusterRole/{uniq('node-reader')}" in out and group in out, out
    srv.kubectl("delete", "namespace", ns, "--wait=false")


def test_default_roles_and_aggregation(srv):
    roles = srv.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for r in ("cluster-admin", "admin", "edit", "view", "system:node", "system:basic-user", "system:discovery"):
        assert f"clusterrole.rbac.authorization.k8s.io/{r}" in roles, roles
    crb = json.loads(srv.kubectl("get", "clusterrolebinding", "cluster-admin", "-o", "json").stdout)
    assert crb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
    ns = uniq("agg")
    srv.kubectl("create", "namespace", ns)
    dave = As(srv, make_token(srv, uniq("dave")))  # positional USER, no groups
    srv.kubectl("create", "rolebinding", "dave-view", "-n", ns, "--clusterrole=view", f"--user={uniq('dave')}")
    wait_for(lambda: dave.can_i("list", "deployments.apps", "-n", ns), what="view bound")
    assert dave.can_i("get", "pods", "--subresource=log", "-n", ns)
    assert not dave.can_i("get", "secrets", "-n", ns)
    assert not dave.can_i("create", "deployments.apps", "-n", ns)
    assert not dave.can_i("list", "pods", "-n", "default")
    assert not dave.can_i("get", "leases.coordination.k8s.io", "-n", ns)
    # a ClusterRole labelled aggregate-to-view joins view (and so edit and admin)
    agg = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
           "metadata": {"name": uniq("leases-view"), "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
           "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list"]}]}
    srv.kubectl("apply", "-f", "-", input=json.dumps(agg))
    wait_for(lambda: dave.can_i("get", "leases.coordination.k8s.io", "-n", ns), what="aggregated rule")
    # edit may write, admin may also manage roles in the namespace
    srv.kubectl("create", "rolebinding", "dave-admin", "-n", ns, "--clusterrole=admin", f"--user={uniq('dave')}")
    wait_for(lambda: dave.can_i("create", "rolebindings.rbac.authorization.k8s.io", "-n", ns), what="admin bound")
    assert dave.can_i("delete", "deployments.apps", "-n", ns)
    assert dave.can_i("get", "secrets", "-n", ns)
    assert dave.can_i("create", "pods", "--subresource=exec", "-n", ns)
    assert not dave.can_i("create", "namespaces")
    srv.kubectl("delete", "namespace", ns, "--wait=false")


def test_no_escalation_through_roles_and_bindings(srv):
    ns = uniq("esc")
    srv.kubectl("create", "namespace", ns)
    user = uniq("frank")
    frank = As(srv, make_token(srv, "--user", user))
    srv.kubectl("create", "rolebinding", "frank-admin", "-n", ns, "--clusterrole=admin", f"--user={user}")
    wait_for(lambda: frank.can_i("create", "roles.rbac.authorization.k8s.io", "-n", ns), what="admin bound")
    # what frank holds he may pass on
    frank.kubectl("create", "role", "readers", "-n", ns, "--verb=get,list", "--resource=pods,configmaps")
    frank.kubectl("create", "rolebinding", "others-edit", "-n", ns, "--clusterrole=edit", "--user=someone")
    # more than he holds he may not
    p = frank.kubectl("create", "role", "nodes", "-n", ns, "--verb=get", "--resource=nodes", check=False)
    assert p.returncode != 0 and 'roles.rbac.authorization.k8s.io "nodes" is forbidden: user "%s"' % user in p.stderr, p.stderr
    assert "is attempting to grant RBAC permissions not currently held" in p.stderr
    assert '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}' in p.stderr, p.stderr
    p = frank.kubectl("create", "rolebinding", "me-root", "-n", ns, "--clusterrole=cluster-admin", f"--user={user}",
                      check=False)
    assert p.returncode != 0 and "not currently held" in p.stderr, p.stderr
    p = frank.kubectl("patch", "role", "readers", "-n", ns, "--type=json",
                      "-p", '[{"op":"add","path":"/rules/-","value":{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}}]',
                      check=False)
    assert p.returncode != 0 and "not currently held" in p.stderr, p.stderr
    # unless he may `escalate` roles / `bind` that role
    srv.kubectl("create", "role", "escalator", "-n", ns, "--verb=escalate,bind", "--resource=roles,clusterroles")
    srv.kubectl("create", "rolebinding", "frank-esc", "-n", ns, "--role=escalator", f"--user={user}")
    wait_for(lambda: frank.kubectl("create", "role", "nodes", "-n", ns, "--verb=get", "--resource=nodes",
                                   check=False).returncode == 0, what="escalate allowed")
    frank.kubectl("create", "rolebinding", "me-root", "-n", ns, "--clusterrole=cluster-admin", f"--user={user}")
    srv.kubectl("delete", "namespace", ns, "--wait=false")


def test_service_account_tokens_and_subjects(srv):
    ns = uniq("sa")
    srv.kubectl("create", "namespace", ns)
    robot = As(srv, make_token(srv, "--serviceaccount", f"{ns}:robot"))
    ui = json.loads(robot.kubectl("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert ui["username"] == f"system:serviceaccount:{ns}:robot"
    assert ui["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]
    assert not robot.can_i("list", "pods", "-n", ns)
    srv.kubectl("create", "rolebinding", "robot-view", "-n", ns, "--clusterrole=view", f"--serviceaccount={ns}:robot")
    wait_for(lambda: robot.can_i("list", "pods", "-n", ns), what="ServiceAccount subject")
    srv.kubectl("create", "rolebinding", "all-sas-edit", "-n", ns, "--clusterrole=edit",
                f"--group=system:serviceaccounts:{ns}")
    wait_for(lambda: robot.can_i("create", "configmaps", "-n", ns), what="ServiceAccount group")
    p = subprocess.run([DROVER, "token", "--data-dir", srv.dir, "create", "--serviceaccount", "robot"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "want NAMESPACE:NAME" in p.stderr
    srv.kubectl("delete", "namespace", ns, "--wait=false")


def test_impersonation(srv):
    who = uniq("imp")
    ui = json.loads(srv.kubectl("auth", "whoami", f"--as={who}", "--as-group=devs", "-o", "json").stdout)
    assert ui["status"]["userInfo"] == {"username": who, "groups": ["devs", "system:authenticated"]}
    p = srv.kubectl("get", "pods", f"--as={who}", check=False)
    assert f'pods is forbidden: User "{who}" cannot list resource "pods"' in p.stderr, p.stderr
    assert srv.kubectl("auth", "can-i", "list", "pods", f"--as={who}", check=False).stdout.strip() == "no"
    assert srv.kubectl("auth", "can-i", "list", "pods", f"--as={who}", "--as-group=system:masters",
                       check=False).stdout.strip() == "yes"
    plain = As(srv, make_token(srv, "--user", uniq("plain")))
    p = plain.kubectl("get", "pods", "--as=root", check=False)
    assert ('users "root" is forbidden: User "%s" cannot impersonate resource "users" in API group "" at the '
            'cluster scope' % uniq("plain")) in p.stderr, p.stderr
    srv.kubectl("create", "clusterrole", uniq("impersonator"), "--verb=impersonate", "--resource=users",
                f"--resource-name={who}")
    srv.kubectl("create", "clusterrolebinding", uniq("impersonator"), f"--clusterrole={uniq('impersonator')}",
                f"--user={uniq('plain')}")
    wait_for(lambda: json.loads(plain.kubectl("auth", "whoami", f"--as={who}", "-o", "json", check=False).stdout or "{}")
             .get("status", {}).get("userInfo", {}).get("username") == who, what="impersonation allowed")
    p = plain.kubectl("get", "pods", f"--as={who}", "--as-group=system:masters", check=False)
    assert 'groups "system:masters" is forbidden' in p.stderr, p.stderr


def test_validation_discovery_and_tables(srv):
    res = srv.kubectl("api-resources", "--api-group=rbac.authorization.k8s.io", "-o", "name").stdout.split()
    assert sorted(res) == ["clusterrolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
                           "rolebindings.rbac.authorization.k8s.io", "roles.rbac.authorization.k8s.io"], res
    out = srv.kubectl("api-resources", "--api-group=authorization.k8s.io").stdout
    assert "selfsubjectaccessreviews" in out and "subjectaccessreviews" in out
    out = srv.kubectl("explain", "role.rules").stdout
    assert "PolicyRule" in out and "resourceNames" in out and "verbs" in out, out
    out = srv.kubectl("explain", "selfsubjectaccessreview.spec.resourceAttributes").stdout
    assert "ResourceAttributes" in out and "subresource" in out, out
    assert "userInfo" in srv.kubectl("explain", "selfsubjectreview.status").stdout
    bad = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": {"name": "bad", "namespace": "default"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]}
    p = srv.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert p.returncode != 0 and "rules[0].verbs: Required value: verbs must contain at least one value" in p.stderr, p.stderr
    assert srv.kubectl("get", "role", "bad", check=False).returncode != 0  # nothing stored
    bad = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "bad"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
           "subjects": [{"kind": "Robot", "name": "r"}]}
    p = srv.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert 'roleRef.kind: Unsupported value: "Role"' in p.stderr and 'subjects[0].kind: Unsupported value: "Robot"' in p.stderr, p.stderr
    name = uniq("rr")
    srv.kubectl("create", "rolebinding", name, "--clusterrole=view", "--user=x")
    p = srv.kubectl("patch", "rolebinding", name, "--type=merge", "-p", '{"roleRef":{"name":"edit"}}', check=False)
    assert "roleRef: Invalid value" in p.stderr and "cannot change roleRef" in p.stderr, p.stderr
    srv.kubectl("delete", "rolebinding", name)


def test_subject_access_review_python_client(srv):
    config.load_kube_config(config_file=srv.kubeconfig)
    api = client.AuthorizationV1Api()
    ns = uniq("sar")
    srv.kubectl("create", "namespace", ns)
    srv.kubectl("create", "rolebinding", "erin-edit", "-n", ns, "--clusterrole=edit", f"--user={uniq('erin')}")

    def sar(user, verb, resource, namespace, group="", groups=None):
        body = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=user, groups=groups, resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, namespace=namespace, group=group)))
        return api.create_subject_access_review(body).status

    st = wait_for(lambda: sar(uniq("erin"), "create", "deployments", ns, "apps").allowed and
                  sar(uniq("erin"), "create", "deployments", ns, "apps"), what="SAR allowed")
    assert "RoleBinding" in st.reason and "erin-edit" in st.reason
    assert not sar(uniq("erin"), "create", "deployments", "default", "apps").allowed
    assert sar("anyone", "delete", "nodes", "", groups=["system:masters"]).allowed
    node = sar("system:node:n1", "update", "nodes", "", groups=["system:nodes"])
    assert node.allowed
    assert not sar("system:node:n1", "delete", "deployments", ns, "apps", groups=["system:nodes"]).allowed
    # self review through the client, and a SAR refused to whoever may not create them
    ssar = api.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
            verb="delete", resource="pods", namespace=ns))))
    assert ssar.status.allowed
    erin = As(srv, make_token(srv, "--user", uniq("erin")))
    code, st = erin.http("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                         {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                          "spec": {"user": "x", "nonResourceAttributes": {"path": "/", "verb": "get"}}})
    assert code == 403 and 'cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io"' in st["message"]
    code, st = srv.http("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {"user": "x"}})
    assert code == 422 and st["reason"] == "Invalid"
    code, st = srv.http("POST", f"/apis/authorization.k8s.io/v1/namespaces/{ns}/localsubjectaccessreviews",
                        {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
                         "spec": {"user": uniq("erin"), "resourceAttributes": {"namespace": ns, "verb": "get",
                                                                                 "resource": "secrets"}}})
    assert code == 201 and st["status"]["allowed"] is True
    srv.kubectl("delete", "namespace", ns, "--wait=false")


def test_tokens_from_before_identities_are_administrators():
    root = tempfile.mkdtemp(prefix=f"drv-rbac-legacy-{os.getpid()}-")
    try:
        # a data dir written by an earlier drover: "TOKEN USER" lines, no groups
        with open(os.path.join(root, "tokens"), "w") as f:
            f.write("# drover API bearer tokens: TOKEN USER\n0123456789abcdef0123456789abcdef admin\n"
                    "fedcba9876543210fedcba9876543210 ci\n")
        os.chmod(os.path.join(root, "tokens"), 0o600)
        s = Server(data_dir=root)
        try:
            assert s.token() == "0123456789abcdef0123456789abcdef"
            assert s.kubectl("auth", "can-i", "'*'", "'*'").stdout.strip() == "yes"
            code, st = s.http("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                              token="fedcba9876543210fedcba9876543210")
            assert code == 201 and st["status"]["userInfo"]["username"] == "ci"
            assert "system:masters" in st["status"]["userInfo"]["groups"]
            code, _ = s.http("DELETE", "/api/v1/namespaces/kube-public", token="fedcba9876543210fedcba9876543210")
            assert code in (200, 202)
        finally:
            s.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_node_agent_runs_pods_as_its_node_identity():
    """An agent holding only a node token (system:node:NAME in system:nodes) registers, keeps
    its Lease, runs a pod and reports it; kubectl logs and exec go through; the token may not do
    what nodes need not do."""
    import agentlib as A
    node = f"rn{os.getpid()}"
    made = {}

    def agent_kw(s):
        made["token"] = make_token(s, "--node", node)
        return dict(server_url=s.url, token=made["token"],
                    extra=["--node-ip", "127.0.0.1", "--listen", "127.0.0.1:0",
                           "--ca-file", os.path.join(s.dir, "ca.crt")])

    with A.server_with_agent("rbac-node", node, agent_kw) as (_, s, a):
        tok = made["token"]
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}"
        lease = wait_for(lambda: s.http("GET", path)[0] == 200 and s.http("GET", path), timeout=15, what="node lease")
        assert lease[0] == 200 and lease[1]["spec"]["holderIdentity"] == node
        s.kubectl("create", "configmap", "rbac-env", "--from-literal=GREETING=hi")
        A.create_pod(s, A.pod("rbac-web", node, [A.ctr("c", "echo started $GREETING; exec sleep 1000",
                                                             envFrom=[{"configMapRef": {"name": "rbac-env"}}])]))
        A.wait_for(lambda: A.running(s, "rbac-web"), what="pod running")
        A.wait_for(lambda: "started hi" in s.kubectl("logs", "rbac-web").stdout, what="logs")
        assert s.kubectl("exec", "rbac-web", "--", "echo", "exec-ok").stdout == "exec-ok\n"
        events = s.kubectl("get", "events", "--field-selector", "involvedObject.name=rbac-web").stdout
        assert "Started" in events, events
        who = As(s, tok)
        ui = json.loads(who.kubectl("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
        assert ui["username"] == f"system:node:{node}" and "system:nodes" in ui["groups"]
        assert not who.can_i("create", "deployments.apps")
        assert not who.can_i("delete", "namespaces")
        assert who.can_i("update", "pods", "--subresource=status")
        # only its own Node, Lease and pods (Kubernetes' Node authorizer / NodeRestriction)
        other = f"other{os.getpid()}"
        s.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": other}}))
        code, st = who.http("PATCH", f"/api/v1/nodes/{other}/status", {"status": {"phase": "x"}})
        assert code == 403 and f'node "{node}" is not allowed to modify node "{other}"' in st["message"], st
        code, st = who.http("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                            {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": other}})
        assert code == 403 and f'lease "{other}"' in st["message"], st
        A.create_pod(s, A.pod("rbac-elsewhere", other, [A.ctr("c", "sleep 1")]))
        code, st = who.http("DELETE", "/api/v1/namespaces/default/pods/rbac-elsewhere")
        assert code == 403 and "pods bound to other nodes" in st["message"], st
        code, _ = who.http("GET", "/api/v1/namespaces/default/pods/rbac-elsewhere")
        assert code == 200
        s.kubectl("delete", "pod", "rbac-elsewhere", "--grace-period=0", "--force", check=False)
        s.kubectl("delete", "node", other, check=False)
        assert "cannot" not in a.logtext() and "forbidden" not in a.logtext().lower(), a.logtext()
