"""Pod volumes beyond emptyDir/hostPath, driven with the real kubectl against `drover up`:
configMap and secret volumes (items, modes, optional, updates swapped in atomically, a missing
object holding the pod in ContainerCreating with a FailedMount Event), downwardAPI and projected
volumes, env resourceFieldRef, fsGroup ownership, subPath/subPathExpr resolved inside the volume
(escapes refused), volume files removed with the pod and kept across kill -9 of `drover up`."""
import base64
import json
import os
import shutil
import tempfile

import pytest

import agentlib
from agentlib import wait_for
from apiserver import Server, free_port

IMAGE = agentlib.IMAGE


@pytest.fixture(scope="module")
def up():
    root = tempfile.mkdtemp(prefix=f"drv-vol-{os.getpid()}-")
    data = os.path.join(root, "data")
    s = None
    try:
        os.makedirs(data)
        agentlib.import_busybox(data, root)
        s = Server(verb="up", data_dir=data,
                   extra=["--agent-listen", f"127.0.0.1:{free_port()}", "--node-name", f"vol-{os.getpid()}",
                          "--allocate-node-cidrs=false"])
        yield s
    finally:
        try:
            if s:
                s.kubectl("delete", "pods", "--all", "--wait=false", check=False)
                agentlib.delete_all_pods(s, timeout=30)
        except Exception:  # the server may be down after a failed test: clean up below anyway
            pass
        if s:
            s.stop()
        leftover = object.__new__(agentlib.Agent)
        leftover.dir, leftover.netns, leftover.proc, leftover.log = data, None, None, None
        leftover.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def apply(up, obj):
    up.kubectl("apply", "-f", "-", input=json.dumps(obj))


def pod(name, containers, volumes=(), **spec):
    s = {"containers": containers, "volumes": list(volumes), "terminationGracePeriodSeconds": 1}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}


def ctr(script, mounts=(), name="c", **kw):
    c = {"name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script],
         "volumeMounts": list(mounts)}
    c.update(kw)
    return c


def get(up, kind, name):
    p = up.kubectl("get", kind, name, "-o", "json", check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def running(up, name):
    p = get(up, "pod", name) or {}
    st = p.get("status", {})
    return st.get("phase") == "Running" and all("running" in c["state"] for c in st.get("containerStatuses", [])) \
        and st.get("containerStatuses") and p


def waiting(up, name, ctr_name="c"):
    for c in (get(up, "pod", name) or {}).get("status", {}).get("containerStatuses", []):
        if c["name"] == ctr_name and "waiting" in c["state"]:
            return c["state"]["waiting"]
    return None


def sh(up, name, script, ctr_name="c"):
    return up.kubectl("exec", name, "-c", ctr_name, "--", "sh", "-c", script, timeout=30).stdout


def configmap(up, name, data, binary=None):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    if binary:
        obj["binaryData"] = {k: base64.b64encode(v).decode() for k, v in binary.items()}
    apply(up, obj)


def secret(up, name, data):
    apply(up, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
               "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


def events(up, name):
    l = json.loads(up.kubectl("get", "events", "-o", "json").stdout)["items"]
    return [e for e in l if e["involvedObject"]["name"] == name]


def test_configmap_and_secret_volumes(up):
    big_a, big_b = "a" * 30000, "b" * 30000
    configmap(up, "cm1", {"color": "blue", "size": "L", "big": big_a}, binary={"bin": b"\x00\x01\xff"})
    secret(up, "sec1", {"password": "s3cr3t!", "user": "admin"})
    # A reader that must only ever see a whole version of `big`.
    reader = ("while true; do c=$(cat /cfg/big); [ \"$c\" = \"$A\" ] || [ \"$c\" = \"$B\" ] || echo BAD ${#c}; done & "
              "exec sleep 3600")
    apply(up, pod("vols", [ctr(reader, [
        {"name": "cfg", "mountPath": "/cfg"},
        {"name": "items", "mountPath": "/items"},
        {"name": "sec", "mountPath": "/sec"},
        {"name": "opt", "mountPath": "/opt-cfg"},
    ], env=[{"name": "A", "value": big_a}, {"name": "B", "value": big_b}])], [
        {"name": "cfg", "configMap": {"name": "cm1"}},
        {"name": "items", "configMap": {"name": "cm1", "defaultMode": 0o600,
                                         "items": [{"key": "color", "path": "deep/er/colour"},
                                                   {"key": "size", "path": "size.txt", "mode": 0o640}]}},
        {"name": "sec", "secret": {"secretName": "sec1", "defaultMode": 0o400}},
        {"name": "opt", "configMap": {"name": "no-such-cm", "optional": True}},
    ]))
    wait_for(lambda: running(up, "vols"), timeout=60, what="pod vols running")
    assert sh(up, "vols", "cat /cfg/color /cfg/size; echo; cat /sec/password; echo; cat /sec/user") == \
        "blueL\ns3cr3t!\nadmin"
    assert sh(up, "vols", "busybox od -An -tx1 /cfg/bin").split() == ["00", "01", "ff"]
    # kubelet's layout: name -> ..data/name -> ..<timestamp>/name
    assert sh(up, "vols", "busybox readlink /cfg/color; busybox readlink /cfg/..data").splitlines()[0] == "..data/color"
    assert sh(up, "vols", "cat /items/deep/er/colour; echo; ls /items").split() == ["blue", "deep", "size.txt"]
    assert sh(up, "vols", "stat -L -c %a /items/deep/er/colour /items/size.txt /cfg/color /sec/user").split() == \
        ["600", "640", "644", "400"]
    # Read-only mounts; the Secret lives on a tmpfs, never on the node's disk.
    assert "Read-only file system" in up.kubectl("exec", "vols", "--", "sh", "-c", "echo x > /cfg/new", check=False).stderr
    mounts = sh(up, "vols", "cat /proc/mounts")
    assert [l for l in mounts.splitlines() if " /sec " in l][0].split()[2] == "tmpfs", mounts
    assert " ro," in [l for l in mounts.splitlines() if " /cfg " in l][0], mounts
    assert sh(up, "vols", "ls /opt-cfg") == ""
    # Updates reach the running container within seconds: values, a removed key, a new key.
    for i, big in enumerate((big_b, big_a, big_b)):
        configmap(up, "cm1", {"color": f"red{i}", "big": big, "new": "fresh"})
        wait_for(lambda: sh(up, "vols", "cat /cfg/color") == f"red{i}", timeout=15, what=f"update {i}")
    assert sh(up, "vols", "cat /cfg/new; echo; ls /cfg").split() == ["fresh", "big", "color", "new"]
    secret(up, "sec1", {"password": "rotated"})
    wait_for(lambda: sh(up, "vols", "cat /sec/password") == "rotated", timeout=15, what="secret rotated")
    assert "BAD" not in up.kubectl("logs", "vols").stdout
    # The optional ConfigMap appears: its files show up too.
    configmap(up, "no-such-cm", {"late": "here"})
    wait_for(lambda: sh(up, "vols", "cat /opt-cfg/late 2>/dev/null") == "here", timeout=15, what="optional cm")
    up.kubectl("delete", "pod", "vols", "--wait=false")


def test_missing_configmap_holds_pod_until_it_exists(up):
    apply(up, pod("waits", [ctr("cat /cfg/k; exec sleep 3600", [{"name": "cfg", "mountPath": "/cfg"}])],
                  [{"name": "cfg", "configMap": {"name": "later-cm"}}]))
    w = wait_for(lambda: waiting(up, "waits"), timeout=30, what="waiting container")
    assert w["reason"] == "ContainerCreating", w
    msg = 'MountVolume.SetUp failed for volume "cfg" : configmap "later-cm" not found'
    ev = wait_for(lambda: [e for e in events(up, "waits") if e["reason"] == "FailedMount"], timeout=20,
                  what="FailedMount event")
    assert ev[0]["message"] == msg and ev[0]["type"] == "Warning", ev
    assert get(up, "pod", "waits")["status"]["phase"] == "Pending"
    # A key asked for by items that the ConfigMap lacks: still waiting, the reason says so.
    configmap(up, "later-cm", {"other": "x"})
    apply(up, pod("waits2", [ctr("exec sleep 3600", [{"name": "cfg", "mountPath": "/cfg"}])],
                  [{"name": "cfg", "configMap": {"name": "later-cm", "items": [{"key": "k", "path": "k"}]}}]))
    wait_for(lambda: running(up, "waits"), timeout=30, what="pod starts once the ConfigMap exists")
    wait_for(lambda: [e for e in events(up, "waits2") if e["reason"] == "FailedMount" and
                      e["message"].endswith("configmap references non-existent config key: k")],
             timeout=20, what="missing key event")
    assert waiting(up, "waits2")["reason"] == "ContainerCreating"
    up.kubectl("delete", "pod", "waits", "waits2", "--wait=false")


def test_downward_api_projected_and_env_resources(up):
    configmap(up, "proj-cm", {"a": "from-cm"})
    secret(up, "proj-sec", {"b": "from-secret"})
    res = {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m", "memory": "32Mi"}}
    obj = pod("dapi", [ctr("exec sleep 3600", [{"name": "info", "mountPath": "/info"},
                                               {"name": "all", "mountPath": "/all"}],
                       resources=res, env=[
        {"name": "LIM_CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "LIM_CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
        {"name": "REQ_MEM", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory", "divisor": "1Mi"}}},
        {"name": "LIM_MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
        {"name": "OTHER_CPU", "valueFrom": {"resourceFieldRef": {"containerName": "side", "resource": "limits.cpu",
                                                                  "divisor": "1m"}}},
    ]), ctr("exec sleep 3600", name="side")], [
        {"name": "info", "downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
            {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
            {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
            {"path": "cpu", "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"}},
        ]}},
        {"name": "all", "projected": {"defaultMode": 0o440, "sources": [
            {"configMap": {"name": "proj-cm"}},
            {"secret": {"name": "proj-sec", "items": [{"key": "b", "path": "sub/b"}]}},
            {"downwardAPI": {"items": [{"path": "podname", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        ]}},
    ])
    obj["metadata"]["labels"] = {"app": "web", "tier": "front"}
    obj["metadata"]["annotations"] = {"note": 'say "hi"'}
    apply(up, obj)
    p = wait_for(lambda: running(up, "dapi"), timeout=60, what="pod dapi running")
    assert sh(up, "dapi", "cat /info/name; echo; cat /info/ns; echo; cat /info/uid").split() == \
        ["dapi", "default", p["metadata"]["uid"]]
    assert sh(up, "dapi", "cat /info/labels") == 'app="web"\ntier="front"'
    assert 'note="say \\"hi\\""' in sh(up, "dapi", "cat /info/annotations")
    assert sh(up, "dapi", "cat /info/tier; echo; cat /info/mem; echo; cat /info/cpu").split() == ["front", "64", "250"]
    assert sh(up, "dapi", "cat /all/a; echo; cat /all/sub/b; echo; cat /all/podname; echo; stat -L -c %a /all/a").split() \
        == ["from-cm", "from-secret", "dapi", "440"]
    env = dict(l.split("=", 1) for l in sh(up, "dapi", "env").splitlines() if "=" in l)
    assert env["LIM_CPU"] == "1" and env["LIM_CPU_M"] == "500" and env["REQ_MEM"] == "32", env
    assert env["LIM_MEM"] == str(64 * 1024 * 1024), env
    # No limit on `side`: its limit is the node's allocatable cpu.
    assert env["OTHER_CPU"] == str(os.cpu_count() * 1000), env
    # Label changes reach the file.
    up.kubectl("label", "pod", "dapi", "tier=back", "--overwrite")
    wait_for(lambda: sh(up, "dapi", "cat /info/tier") == "back", timeout=15, what="label update")
    assert sh(up, "dapi", "cat /info/labels") == 'app="web"\ntier="back"'
    # A projected service account token: the pod's own, bound to it, for the audience asked.
    apply(up, pod("satoken", [ctr("exec sleep 3600", [{"name": "tok", "mountPath": "/tok"}])], [
        {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "sub/token", "audience": "vault",
                                                                             "expirationSeconds": 900}}]}}]))
    wait_for(lambda: running(up, "satoken"), timeout=60, what="satoken running")
    part = sh(up, "satoken", "cat /tok/sub/token").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["aud"] == ["vault"] and claims["exp"] - claims["iat"] == 900, claims
    assert claims["kubernetes.io"]["pod"]["name"] == "satoken", claims
    up.kubectl("delete", "pod", "dapi", "satoken", "--wait=false")


def test_fs_group(up):
    secret(up, "fs-sec", {"key": "v"})
    apply(up, pod("fsg", [ctr("touch_it() { echo x > /data/made; }; touch_it; exec sleep 3600",
                              [{"name": "data", "mountPath": "/data"}, {"name": "sec", "mountPath": "/sec"},
                               {"name": "mem", "mountPath": "/mem"}])], [
        {"name": "data", "emptyDir": {}},
        {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}},
        {"name": "sec", "secret": {"secretName": "fs-sec", "defaultMode": 0o400}},
    ], securityContext={"fsGroup": 2345, "runAsUser": 1000, "runAsGroup": 1000}))
    wait_for(lambda: running(up, "fsg"), timeout=60, what="pod fsg running")
    ids = sh(up, "fsg", "id")
    assert "uid=1000" in ids and "2345" in ids.split("groups=")[1], ids
    # emptyDir: group fsGroup, setgid, writable by all; what the container makes inherits the group.
    assert sh(up, "fsg", "stat -c '%A %g' /data /mem; stat -c %g /data/made").split() == \
        ["drwxrwsrwx", "2345", "drwxrwsrwx", "2345", "2345"]
    mounts = sh(up, "fsg", "cat /proc/mounts")
    mem = [l for l in mounts.splitlines() if " /mem " in l][0]
    assert mem.split()[2] == "tmpfs" and "size=8192k" in mem, mem
    # Secret 0400 + fsGroup: group-readable (0440) by fsGroup, so uid 1000 reads it.
    assert sh(up, "fsg", "stat -L -c '%a %g' /sec/key; cat /sec/key").split() == ["440", "2345", "v"]
    up.kubectl("delete", "pod", "fsg", "--wait=false")


def test_subpath_and_escapes(up):
    configmap(up, "sp-cm", {"app.conf": "conf-body", "other": "no"})
    apply(up, pod("subp", [ctr("echo one > /sub/f; ls /conf; cat /etc/app.conf; echo; exec sleep 3600", [
        {"name": "data", "mountPath": "/sub", "subPath": "deep/dir"},
        {"name": "data", "mountPath": "/whole"},
        {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
        {"name": "data", "mountPath": "/bypod", "subPathExpr": "pods/$(POD)"},
        {"name": "cfg", "mountPath": "/conf"},
    ], env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])], [
        {"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "sp-cm"}}]))
    wait_for(lambda: running(up, "subp"), timeout=60, what="pod subp running")
    assert sh(up, "subp", "cat /whole/deep/dir/f; cat /etc/app.conf; echo; ls -d /whole/pods/subp").split() == \
        ["one", "conf-body", "/whole/pods/subp"]
    # `..` in subPath is refused by the API server, as Kubernetes does.
    bad = pod("dotdot", [ctr("true", [{"name": "data", "mountPath": "/x", "subPath": "a/../../etc"}])],
              [{"name": "data", "emptyDir": {}}])
    p = up.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert p.returncode != 0 and "subPath" in p.stderr and "must not contain '..'" in p.stderr, p.stderr
    # A symlink planted in the volume (absolute or climbing out) never leads the mount outside.
    mk = ("busybox ln -s /etc /data/abs; busybox ln -s ../../../../../../../etc /data/rel; "
          "busybox ln -s inside /data/ok; busybox mkdir -p /data/inside")
    for i, (sub, refused) in enumerate((("abs", True), ("rel", True), ("ok", False))):
        name = f"esc{i}"
        apply(up, pod(name, [ctr("exec sleep 3600", [{"name": "data", "mountPath": "/x", "subPath": sub}])],
                      [{"name": "data", "emptyDir": {}}],
                      initContainers=[ctr(mk, [{"name": "data", "mountPath": "/data"}], name="plant")]))
        if refused:
            w = wait_for(lambda: (waiting(up, name) or {}).get("reason") == "CreateContainerConfigError"
                         and waiting(up, name), timeout=60, what=f"{sub} refused")
            assert w["message"] == ('failed to prepare subPath for volumeMount "data" of container "c": '
                                    "it leads outside the volume"), w
        else:
            wait_for(lambda: running(up, name), timeout=60, what="symlink inside the volume accepted")
    # subPathExpr expanding to `..` reaches the agent: the container's status says why.
    apply(up, pod("exprdd", [ctr("true", [{"name": "data", "mountPath": "/x", "subPathExpr": "$(UP)"}],
                                 env=[{"name": "UP", "value": ".."}])], [{"name": "data", "emptyDir": {}}]))
    w = wait_for(lambda: (waiting(up, "exprdd") or {}).get("reason") == "CreateContainerConfigError" and
                 waiting(up, "exprdd"), timeout=60, what="subPathExpr refused")
    assert w["message"] == "unable to provision SubPath `..`: must not contain '..'", w
    up.kubectl("delete", "pod", "subp", "esc0", "esc1", "esc2", "exprdd", "--wait=false")


def test_volumes_survive_kill9_and_go_with_the_pod(up):
    configmap(up, "kcm", {"v": "one"})
    secret(up, "ksec", {"s": "x"})
    apply(up, pod("keep", [ctr("exec sleep 3600", [{"name": "cfg", "mountPath": "/cfg"},
                                                   {"name": "sec", "mountPath": "/sec"},
                                                   {"name": "data", "mountPath": "/d", "subPath": "sub"}])], [
        {"name": "cfg", "configMap": {"name": "kcm"}}, {"name": "sec", "secret": {"secretName": "ksec"}},
        {"name": "data", "emptyDir": {}}]))
    before = wait_for(lambda: running(up, "keep"), timeout=60, what="pod keep running")
    uid = before["metadata"]["uid"]
    pod_dir = os.path.join(up.dir, "agent", "pods", uid)
    assert os.path.isdir(os.path.join(pod_dir, "volumes", "cfg", "..data"))
    up.kill9()
    up.start()
    configmap(up, "kcm", {"v": "two"})
    wait_for(lambda: sh(up, "keep", "cat /cfg/v") == "two", timeout=30, what="update after the restart")
    after = get(up, "pod", "keep")
    c0, c1 = before["status"]["containerStatuses"][0], after["status"]["containerStatuses"][0]
    assert c1["containerID"] == c0["containerID"] and c1["restartCount"] == 0, (c0, c1)
    # Still one tmpfs for the Secret on the node (not a second one stacked on it).
    mine = [l.split()[4] for l in open("/proc/self/mountinfo") if pod_dir in l.split()[4]]
    assert mine.count(os.path.join(pod_dir, "volumes", "sec")) == 1, mine
    up.kubectl("delete", "pod", "keep", "--wait=false")
    wait_for(lambda: not os.path.exists(pod_dir), timeout=40, what="pod dir removed")
    assert not [l for l in open("/proc/self/mountinfo") if pod_dir in l], "mounts left behind"


def test_host_path_types(up):
    base = os.path.join(os.path.dirname(up.dir), "hostpaths")
    os.makedirs(base, exist_ok=True)
    open(os.path.join(base, "afile"), "w").write("from-host")
    made_dir, made_file = os.path.join(base, "made/dir"), os.path.join(base, "made-file")
    apply(up, pod("hpok", [ctr("cat /f; echo; echo hi > /mf; ls -d /md; exec sleep 3600", [
        {"name": "f", "mountPath": "/f"}, {"name": "md", "mountPath": "/md"}, {"name": "mf", "mountPath": "/mf"}])], [
        {"name": "f", "hostPath": {"path": os.path.join(base, "afile"), "type": "File"}},
        {"name": "md", "hostPath": {"path": made_dir, "type": "DirectoryOrCreate"}},
        {"name": "mf", "hostPath": {"path": made_file, "type": "FileOrCreate"}}]))
    wait_for(lambda: running(up, "hpok"), timeout=60, what="pod hpok running")
    assert os.path.isdir(made_dir) and open(made_file).read() == "hi\n"
    wait_for(lambda: up.kubectl("logs", "hpok").stdout == "from-host\n/md\n", what="hpok output")
    # The wrong kind of file: the pod waits with kubelet's reason (FailedMount).
    apply(up, pod("hpbad", [ctr("true", [{"name": "d", "mountPath": "/d"}])],
                  [{"name": "d", "hostPath": {"path": os.path.join(base, "afile"), "type": "Directory"}}]))
    ev = wait_for(lambda: [e for e in events(up, "hpbad") if e["reason"] == "FailedMount"], timeout=30,
                  what="hostPath type FailedMount")
    assert ev[0]["message"] == ('MountVolume.SetUp failed for volume "d" : hostPath type check failed: '
                                f'{base}/afile is not a directory'), ev
    assert waiting(up, "hpbad")["reason"] == "ContainerCreating"
    bad = pod("hptype", [ctr("true")], [{"name": "d", "hostPath": {"path": "/tmp", "type": "Folder"}}])
    p = up.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert p.returncode != 0 and 'spec.volumes[0].hostPath.type: Unsupported value: "Folder"' in p.stderr, p.stderr
    up.kubectl("delete", "pod", "hpok", "hpbad", "--wait=false")
