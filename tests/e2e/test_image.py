"""drover image: pulls from Debian's docker-registry on loopback (images built here from
/bin/busybox), layer contents, auth, faults, import, prune, root filesystems."""
import gzip
import json
import os
import shutil
import stat
import subprocess
import tarfile
import io
import tempfile
import time

import pytest

from conftest import drover, run
import imagelib as L


@pytest.fixture(scope="module")
def registry():
    root = tempfile.mkdtemp(prefix=f"drv-img-reg-{os.getpid()}-")
    reg = L.Registry(root)
    yield reg
    reg.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def data():
    d = tempfile.mkdtemp(prefix=f"drv-img-data-{os.getpid()}-")
    yield d
    # a failed test may leave rootfs mounts under d
    for line in reversed(open("/proc/self/mountinfo").read().splitlines()):
        mp = line.split()[4]
        if mp.startswith(d):
            subprocess.run(["umount", "-l", mp], check=False)
    shutil.rmtree(d, ignore_errors=True)


def pull(data, ref, *extra, check=True):
    return drover("image", "pull", "--data-dir", data, *extra, ref, check=check, timeout=120)


def inspect(data, ref):
    return json.loads(drover("image", "inspect", "--data-dir", data, ref).stdout)


def listed(data):
    return drover("image", "ls", "-q", "--data-dir", data).stdout.split()


def assert_clean(data):
    """Nothing partial kept: no temp files, every layer dir complete (named by a diffID)."""
    tmp = os.path.join(data, "images", "tmp")
    assert os.listdir(tmp) == [], os.listdir(tmp)


MULTI = None


def multi_image():
    """3 layers: busybox (gzip); a layer with a hardlink, a device node, an xattr, owned files
    (gzip); a zstd layer that whites out a file and makes a directory opaque."""
    global MULTI
    if MULTI:
        return MULTI
    base = L.busybox_layer([
        {"name": "etc/old", "data": "old\n"},
        {"name": "data", "type": "dir"},
        {"name": "data/a", "data": "a\n"},
        {"name": "data/b", "data": "b\n"},
    ])
    mid = L.tar_layer([
        {"name": "srv", "type": "dir", "mode": 0o750, "uid": 1000, "gid": 1001},
        {"name": "srv/file", "data": "content\n", "mode": 0o640, "uid": 1000, "gid": 1001,
         "mtime": 1600000000, "xattrs": {"user.note": "kept"}},
        {"name": "srv/link", "type": "hardlink", "target": "srv/file"},
        {"name": "srv/null", "type": "chardev", "major": 1, "minor": 3, "mode": 0o666},
        {"name": "srv/fifo", "type": "fifo"},
    ])
    top = L.tar_layer([
        {"name": "etc/.wh.old"},
        {"name": "data", "type": "dir"},
        {"name": "data/.wh..wh..opq"},
        {"name": "data/c", "data": "c\n"},
    ])
    MULTI = L.Image([(base, "gzip"), (mid, "gzip"), (top, "zstd")],
                    config={"Entrypoint": ["/bin/echo"], "Cmd": ["hi"], "User": "app",
                            "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGQUIT",
                            "WorkingDir": "/srv"})
    return MULTI


def test_pull_multilayer(registry, data):
    img = multi_image()
    ref = registry.push_image("drover/multi", "v1", img)
    out = pull(data, ref).stdout.split()
    assert out == [ref, img.config_digest]
    info = inspect(data, ref)
    assert info["id"] == img.config_digest
    assert info["manifestDigest"] == img.digest
    assert info["repoDigest"] == f"{registry.host}/drover/multi@{img.digest}"
    assert [l["diffID"] for l in info["layers"]] == img.diff_ids
    assert info["config"]["Entrypoint"] == ["/bin/echo"]
    assert info["config"]["ExposedPorts"] == ["8080/tcp"]
    assert info["config"]["StopSignal"] == "SIGQUIT"
    base, mid, top = [l["dir"] for l in info["layers"]]
    # base: busybox content, symlinks, modes
    assert os.access(os.path.join(base, "bin/busybox"), os.X_OK)
    assert os.readlink(os.path.join(base, "bin/sh")) == "busybox"
    assert stat.S_IMODE(os.stat(os.path.join(base, "tmp")).st_mode) == 0o1777
    # mid: ownership, modes, mtime, hardlink, device, fifo, xattr
    st = os.stat(os.path.join(mid, "srv/file"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1001, 0o640)
    assert int(st.st_mtime) == 1600000000
    assert os.stat(os.path.join(mid, "srv/link")).st_ino == st.st_ino
    dev = os.lstat(os.path.join(mid, "srv/null"))
    assert stat.S_ISCHR(dev.st_mode) and os.major(dev.st_rdev) == 1 and os.minor(dev.st_rdev) == 3
    assert stat.S_ISFIFO(os.lstat(os.path.join(mid, "srv/fifo")).st_mode)
    assert os.getxattr(os.path.join(mid, "srv/file"), "user.note") == b"kept"
    # top: overlay whiteout (char 0/0) and opaque directory
    wh = os.lstat(os.path.join(top, "etc/old"))
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert not os.path.exists(os.path.join(top, "etc/.wh.old"))
    assert os.getxattr(os.path.join(top, "data"), "trusted.overlay.opaque") == b"y"
    assert_clean(data)
    # a second pull finds everything present
    assert pull(data, ref).stdout.split() == [ref, img.config_digest]


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_rootfs(registry, data, mode):
    img = multi_image()
    ref = registry.push_image("drover/multi", "v1", img)
    pull(data, ref)
    cdir = os.path.join(data, "ctr")
    env = dict(os.environ, DROVER_ROOTFS_COPY="1" if mode == "copy" else "0")
    rootfs = drover("image", "mount", "--data-dir", data, ref, cdir, env=env).stdout.strip()
    try:
        assert rootfs == os.path.join(cdir, "rootfs")
        mounted = any(l.split()[4] == rootfs for l in open("/proc/self/mountinfo"))
        assert mounted == (mode == "overlay")
        assert not os.path.exists(os.path.join(rootfs, "etc/old"))      # whiteout applied
        assert sorted(os.listdir(os.path.join(rootfs, "data"))) == ["c"]  # opaque applied
        assert open(os.path.join(rootfs, "srv/link")).read() == "content\n"
        assert os.stat(os.path.join(rootfs, "srv/link")).st_ino == os.stat(os.path.join(rootfs, "srv/file")).st_ino
        # the container writes privately: layers stay untouched
        with open(os.path.join(rootfs, "srv/file"), "w") as f:
            f.write("changed\n")
        layer = inspect(data, ref)["layers"][1]["dir"]
        assert open(os.path.join(layer, "srv/file")).read() == "content\n"
        # and the busybox in it runs
        p = run("chroot", rootfs, "/bin/sh", "-c", "echo $((6*7))")
        assert p.stdout.strip() == "42"
    finally:
        drover("image", "unmount", "--data-dir", data, cdir)
    assert not os.path.exists(rootfs)
    timing = drover("image", "mount", "--data-dir", data, "--repeat", "5", ref, cdir, env=env).stdout
    assert "median" in timing


def test_docker_schema2_and_manifest_lists(registry, data):
    amd = L.Image([(L.busybox_layer(), "gzip")], docker=True, config={"Cmd": ["amd64"]})
    arm = L.Image([(L.tar_layer([{"name": "arm", "data": "x"}]), "gzip")], docker=True,
                  config={"Cmd": ["arm64"]}, arch="arm64")
    ref = registry.push_image("drover/schema2", "v1", amd)
    assert pull(data, ref).stdout.split()[1] == amd.config_digest
    for docker in (True, False):
        a = L.Image([(L.busybox_layer(), "gzip")], docker=docker, config={"Cmd": ["amd64"]})
        b = L.Image([(L.tar_layer([{"name": "arm", "data": "x"}]), "gzip")], docker=docker,
                    config={"Cmd": ["arm64"]}, arch="arm64")
        ref, idx_digest = registry.push_index("drover/list", "docker" if docker else "oci",
                                              [(b, "arm64"), (a, "amd64")], docker=docker)
        assert pull(data, ref).stdout.split()[1] == a.config_digest
        info = inspect(data, ref)
        assert info["manifestDigest"] == a.digest
        assert info["repoDigest"].endswith("@" + idx_digest)
        assert info["config"]["Cmd"] == ["amd64"]
        # by digest too, and lookups by id prefix
        byd = f"{registry.host}/drover/list@{idx_digest}"
        assert pull(data, byd).stdout.split()[1] == a.config_digest
        assert inspect(data, a.config_digest[7:19])["id"] == a.config_digest
    # an index without linux/amd64
    ref, _ = registry.push_index("drover/list", "armonly", [(arm, "arm64")], docker=True)
    p = pull(data, ref, check=False)
    assert p.returncode == 1 and "no manifest for platform linux/amd64" in p.stderr


def test_not_found(registry, data):
    p = pull(data, f"{registry.host}/drover/nothing:here", check=False)
    assert p.returncode == 1
    assert "404 Not Found" in p.stderr and ("NAME_UNKNOWN" in p.stderr or "MANIFEST_UNKNOWN" in p.stderr)
    p = drover("image", "inspect", "--data-dir", data, "busybox", check=False)
    assert p.returncode == 1 and "no local image" in p.stderr
    p = pull(data, "Bad/Name", check=False)
    assert p.returncode == 1 and "lowercase" in p.stderr


def test_digest_mismatch_then_recovers(registry, data):
    layer = L.busybox_layer([{"name": "marker", "data": "tamper-test"}])
    img = L.Image([(layer, "gzip")])
    ref = registry.push_image("drover/tamper", "v1", img)
    d = img.layer_descs[0]["digest"]
    path = registry.blob_data_path(d)
    good = open(path, "rb").read()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bad)
    try:
        p = pull(data, ref, check=False)
        assert p.returncode == 1
        assert "digest mismatch" in p.stderr and d in p.stderr
        assert listed(data) == []
        assert_clean(data)
        assert not os.path.exists(os.path.join(data, "images", "blobs", "sha256", d[7:]))
    finally:
        with open(path, "wb") as f:
            f.write(good)
    assert pull(data, ref).stdout.split()[1] == img.config_digest


def test_truncated_layer(registry, data):
    raw = L.busybox_layer()
    gz = gzip.compress(raw)
    cut = gz[: len(gz) // 2]
    img = L.Image([(raw, "gzip")])
    # replace the layer by a truncated gzip whose digest the manifest carries
    cd = L.sha(cut)
    img.blobs.pop(img.layer_descs[0]["digest"])
    img.blobs[cd] = cut
    man = json.loads(img.manifest)
    man["layers"][0].update(digest=cd, size=len(cut))
    img.manifest = json.dumps(man).encode()
    ref = registry.push_image("drover/truncated", "v1", img)
    p = pull(data, ref, check=False)
    assert p.returncode == 1
    assert "unpack layer " + cd in p.stderr and ("truncated" in p.stderr.lower() or "decompress" in p.stderr)
    assert listed(data) == []
    assert os.listdir(os.path.join(data, "images", "layers", "sha256")) == []
    assert_clean(data)


def test_unknown_media_type(registry, data):
    img = L.Image([(L.busybox_layer(), "gzip")])
    man = json.loads(img.manifest)
    man["layers"][0]["mediaType"] = "application/x-not-a-layer"
    img.manifest = json.dumps(man).encode()
    ref = registry.push_image("drover/weird", "v1", img)
    p = pull(data, ref, check=False)
    assert p.returncode == 1 and "unknown layer media type `application/x-not-a-layer`" in p.stderr
    assert listed(data) == []


@pytest.mark.parametrize("entries,why", [
    ([{"name": "../escape", "data": "x"}], "`..` component"),
    ([{"name": "/abs", "data": "x"}], "absolute name"),
    ([{"name": "ok", "type": "dir"}, {"name": "ok/../../escape", "data": "x"}], "`..` component"),
    ([{"name": "lnk", "type": "symlink", "target": "/tmp"}, {"name": "lnk/escape", "data": "x"}],
     "goes through symlink"),
    ([{"name": "hl", "type": "hardlink", "target": "../../etc/passwd"}], "`..` component"),
])
def test_path_traversal_refused(registry, data, entries, why):
    raw = L.tar_layer(entries)
    # tarfile normalizes names: write the hostile names raw
    if entries[0]["name"].startswith("/"):
        raw = raw.replace(b"abs\x00", b"abs\x00", 1)
        ti = tarfile.TarInfo("x")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
            ti = tarfile.TarInfo("/abs")
            ti.size = 1
            t.addfile(ti, io.BytesIO(b"x"))
        raw = buf.getvalue()
    img = L.Image([(raw, "gzip")])
    name = f"drover/evil{abs(hash(why)) % 1000}"
    ref = registry.push_image(name, "v1", img)
    before = set(os.listdir("/tmp"))
    p = pull(data, ref, check=False)
    assert p.returncode == 1, p.stdout
    assert why in p.stderr
    assert "escape" not in set(os.listdir("/tmp")) - before
    assert not os.path.exists(os.path.join(data, "images", "escape"))
    assert listed(data) == []
    assert_clean(data)


def write_creds(data, host, user="alice", password="s3cret"):
    import base64
    p = os.path.join(data, "auth.json")
    with open(p, "w") as f:
        json.dump({"auths": {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}, f)
    return p


@pytest.mark.parametrize("mode", ["bearer", "basic"])
def test_auth(registry, data, mode):
    img = L.Image([(L.busybox_layer([{"name": "auth", "data": mode}]), "gzip")])
    registry.push_image("drover/private", mode, img)
    fac = L.Facade(registry.port, mode=mode)
    try:
        ref = f"{fac.host}/drover/private:{mode}"
        p = pull(data, ref, check=False)
        assert p.returncode == 1 and "401" in p.stderr
        assert listed(data) == []
        wrong = write_creds(data, fac.host, password="nope")
        p = pull(data, ref, "--auth-file", wrong, check=False)
        assert p.returncode == 1 and "401" in p.stderr
        good = write_creds(data, fac.host)
        assert pull(data, ref, "--auth-file", good).stdout.split()[1] == img.config_digest
        if mode == "bearer":
            assert fac.token_requests >= 1
    finally:
        fac.stop()


def test_anonymous_bearer(registry, data):
    img = L.Image([(L.busybox_layer([{"name": "anon", "data": "x"}]), "gzip")])
    registry.push_image("drover/anon", "v1", img)
    fac = L.Facade(registry.port, mode="bearer", token_needs_basic=False)
    try:
        assert pull(data, f"{fac.host}/drover/anon:v1").stdout.split()[1] == img.config_digest
        assert fac.token_requests >= 1
    finally:
        fac.stop()


def test_retries_and_resume(registry, data):
    img = L.Image([(L.busybox_layer([{"name": "retry", "data": "x"}]), "gzip")])
    registry.push_image("drover/flaky", "v1", img)
    fac = L.Facade(registry.port, fail_blobs=2)
    try:
        assert pull(data, f"{fac.host}/drover/flaky:v1").stdout.split()[1] == img.config_digest
    finally:
        fac.stop()
    d2 = os.path.join(data, "second")
    fac = L.Facade(registry.port, cut_blobs=1)
    try:
        assert pull(d2, f"{fac.host}/drover/flaky:v1").stdout.split()[1] == img.config_digest
        assert any(r and r.startswith("bytes=") for r in fac.seen_ranges), fac.seen_ranges
    finally:
        fac.stop()
    d3 = os.path.join(data, "third")
    fac = L.Facade(registry.port, fail_blobs=1000)
    try:
        p = pull(d3, f"{fac.host}/drover/flaky:v1", check=False)
        assert p.returncode == 1 and "503" in p.stderr
        assert listed(d3) == []
    finally:
        fac.stop()


def test_concurrent_pulls_download_once(registry, data):
    img = L.Image([(L.busybox_layer([{"name": "conc", "data": str(i)}]), "gzip") for i in range(3)])
    registry.push_image("drover/conc", "v1", img)
    fac = L.Facade(registry.port)
    try:
        ref = f"{fac.host}/drover/conc:v1"
        procs = [subprocess.Popen([os.environ.get("DROVER_BIN", "build/drover"), "image", "pull",
                                   "--data-dir", data, ref], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        blob_gets = [r for r in fac.seen_ranges]
        # 3 layers + 1 config, each fetched once whatever the number of pulls
        assert len(blob_gets) == 4, blob_gets
    finally:
        fac.stop()


def test_import_layout_archive_and_docker_save(data):
    img = multi_image()
    work = os.path.join(data, "work")
    layout = os.path.join(work, "layout")
    img.write_layout(layout, tag="v1")
    p = drover("image", "import", "--data-dir", data, layout, check=False)
    assert p.returncode == 1 and "give --name" in p.stderr
    out = drover("image", "import", "--data-dir", data, "--name", "example.com/imp/layout:v1", layout).stdout
    assert out.split() == ["example.com/imp/layout:v1", img.config_digest]
    # OCI archive: a tar of the layout
    arch = os.path.join(work, "oci.tar")
    with tarfile.open(arch, "w") as t:
        t.add(layout, arcname=".")
    out = drover("image", "import", "--data-dir", data, "--name", "imp/archive", arch).stdout
    assert out.split() == ["docker.io/imp/archive:latest", img.config_digest]
    # docker save (legacy layout: <id>/layer.tar, <config>.json, manifest.json with RepoTags)
    save = os.path.join(work, "save.tar")
    with tarfile.open(save, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        layers = []
        for i, dg in enumerate(img.layer_descs):
            raw = subprocess.run(["zstd" if "zstd" in dg["mediaType"] else "gzip", "-dc"],
                                 input=img.blobs[dg["digest"]], capture_output=True, check=True).stdout
            add(f"l{i}/layer.tar", raw)
            layers.append(f"l{i}/layer.tar")
        add(img.config_digest[7:] + ".json", img.config)
        add("manifest.json", json.dumps([{"Config": img.config_digest[7:] + ".json",
                                          "RepoTags": ["saved/busybox:1"], "Layers": layers}]).encode())
    out = drover("image", "import", "--data-dir", data, save).stdout
    assert out.split() == ["docker.io/saved/busybox:1", img.config_digest]
    assert sorted(listed(data)) == sorted(["example.com/imp/layout:v1", "docker.io/imp/archive:latest",
                                           "docker.io/saved/busybox:1"])
    # a tampered layout blob is refused
    victim = os.path.join(layout, "blobs", "sha256", img.layer_descs[0]["digest"][7:])
    with open(victim, "r+b") as f:
        f.seek(10)
        f.write(b"\0\0\0")
    d2 = os.path.join(data, "d2")
    p = drover("image", "import", "--data-dir", d2, "--name", "x/y", layout, check=False)
    assert p.returncode == 1 and "digest mismatch" in p.stderr
    assert listed(d2) == []


def test_rm_and_prune(registry, data):
    a = L.Image([(L.busybox_layer(), "gzip"), (L.tar_layer([{"name": "only-a", "data": "a"}]), "gzip")])
    b = L.Image([(L.busybox_layer(), "gzip"), (L.tar_layer([{"name": "only-b", "data": "b"}]), "gzip")])
    ra = registry.push_image("drover/prune", "a", a)
    rb = registry.push_image("drover/prune", "b", b)
    pull(data, ra)
    pull(data, rb)
    layers = os.path.join(data, "images", "layers", "sha256")
    blobs = os.path.join(data, "images", "blobs", "sha256")
    assert len(os.listdir(layers)) == 3  # the busybox layer is shared
    out = drover("image", "rm", "--data-dir", data, ra).stdout
    assert "Untagged: " + ra in out
    assert listed(data) == [rb]
    assert sorted(os.listdir(layers)) == sorted(x[7:] for x in b.diff_ids)
    assert sorted(os.listdir(blobs)) == sorted([x[7:] for x in b.blobs] + [b.digest[7:]])
    assert "removed 0 blobs" in drover("image", "prune", "--data-dir", data).stdout
    p = drover("image", "rm", "--data-dir", data, ra, check=False)
    assert p.returncode == 1 and "no local image" in p.stderr
    # layers under a mounted container rootfs survive rm/prune until it is unmounted
    cdir = os.path.join(data, "ctr")
    drover("image", "mount", "--data-dir", data, rb, cdir)
    try:
        drover("image", "rm", "--data-dir", data, b.config_digest[7:19])
        assert listed(data) == []
        assert sorted(os.listdir(layers)) == sorted(x[7:] for x in b.diff_ids)
        assert os.path.exists(os.path.join(cdir, "rootfs", "only-b"))
    finally:
        drover("image", "unmount", "--data-dir", data, cdir)
    assert "2 layer directories" in drover("image", "prune", "--data-dir", data).stdout
    assert os.listdir(layers) == [] and os.listdir(blobs) == []


def test_full_disk(registry, data):
    img = L.Image([(L.busybox_layer([{"name": "big", "data": os.urandom(300000)}]), "gzip")])
    ref = registry.push_image("drover/big", "v1", img)
    small = os.path.join(data, "small")
    os.makedirs(small)
    run("mount", "-t", "tmpfs", "-o", "size=1m", "drv-img-test", small)
    try:
        p = pull(small, ref, check=False)
        assert p.returncode == 1 and "No space left on device" in p.stderr
        assert listed(small) == []
        assert_clean(small)
        assert os.listdir(os.path.join(small, "images", "layers", "sha256")) == []
    finally:
        run("umount", small)


def test_skopeo_pushed_image(registry, data):
    """Interop: an OCI layout pushed by skopeo (which rewrites nothing) pulls and matches."""
    img = multi_image()
    layout = os.path.join(data, "layout")
    img.write_layout(layout, tag="v1")
    ref = f"{registry.host}/drover/skopeo:v1"
    run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{ref}",
        timeout=120)
    out = pull(os.path.join(data, "d"), ref).stdout.split()
    assert out == [ref, img.config_digest]


def test_progress_on_terminal(registry, data):
    import pty
    img = L.Image([(L.busybox_layer([{"name": "tty", "data": "x"}]), "gzip")])
    ref = registry.push_image("drover/tty", "v1", img)
    master, slave = pty.openpty()
    try:
        p = subprocess.run([os.environ.get("DROVER_BIN", "build/drover"), "image", "pull",
                            "--data-dir", data, ref], stdout=subprocess.PIPE, stderr=slave,
                           timeout=120, text=True)
        os.close(slave)
        slave = None
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        assert p.returncode == 0
        assert b"layers 1/1" in err and b"/s" in err, err
        # and quiet when stderr is not a terminal
        assert pull(data, ref).stderr == ""
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


def test_https_registry(registry, data):
    """TLS with a CA file; an untrusted certificate is an error, never a fall back to HTTP."""
    key, cert = os.path.join(data, "key.pem"), os.path.join(data, "cert.pem")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    img = L.Image([(L.busybox_layer([{"name": "tls", "data": "x"}]), "gzip")])
    registry.push_image("drover/tls", "v1", img)
    fac = L.Facade(registry.port, mode="bearer", token_needs_basic=False, tls=(cert, key))
    try:
        ref = f"{fac.host}/drover/tls:v1"
        p = pull(os.path.join(data, "a"), ref, check=False)
        assert p.returncode == 1 and "certificate" in p.stderr.lower(), p.stderr
        out = pull(os.path.join(data, "b"), ref, "--ca-file", cert).stdout.split()
        assert out == [ref, img.config_digest]
        assert fac.token_requests >= 1
    finally:
        fac.stop()


def test_killed_pull_then_resume(registry, data):
    """A pull killed mid-download lists nothing; the next pull resumes the partial blob."""
    img = L.Image([(L.busybox_layer([{"name": "killed", "data": "x"}]), "gzip")])
    registry.push_image("drover/killed", "v1", img)
    tmp = os.path.join(data, "images", "tmp")

    def partials():
        if not os.path.isdir(tmp):
            return []
        return [os.path.join(tmp, f) for f in os.listdir(tmp)
                if f.endswith(".partial") and os.path.getsize(os.path.join(tmp, f)) > 0]
    fac = L.Facade(registry.port, stall_blobs=1)
    try:
        ref = f"{fac.host}/drover/killed:v1"
        p = subprocess.Popen([os.environ.get("DROVER_BIN", "build/drover"), "image", "pull",
                              "--data-dir", data, ref], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while not partials():
                assert time.time() < deadline and p.poll() is None, "pull never stalled"
                time.sleep(0.05)
        finally:
            p.kill()
            p.wait()
        assert listed(data) == []
        (partial,) = partials()
        have = os.path.getsize(partial)
        digest = "sha256:" + os.path.basename(partial)[:-len(".partial")]
        assert 0 < have < len(img.blobs[digest])
    finally:
        fac.stop()
    fac = L.Facade(registry.port)
    try:
        assert pull(data, f"{fac.host}/drover/killed:v1").stdout.split()[1] == img.config_digest
        assert f"bytes={have}-" in fac.seen_ranges
        assert_clean(data)
    finally:
        fac.stop()


def test_import_docker_save_symlinks(data):
    """docker save links duplicate layers: relative links work, nothing resolves outside."""
    raw = L.busybox_layer()
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [L.sha(raw), L.sha(raw)]}}).encode()

    def save(path, link_target):
        with tarfile.open(path, "w") as t:
            def add(name, blob=None, link=None):
                ti = tarfile.TarInfo(name)
                if link:
                    ti.type, ti.linkname = tarfile.SYMTYPE, link
                    t.addfile(ti)
                else:
                    ti.size = len(blob)
                    t.addfile(ti, io.BytesIO(blob))
            add("l0/layer.tar", raw)
            add("l1/layer.tar", link=link_target)
            add("cfg.json", cfg)
            add("manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": ["dup/img:1"],
                                               "Layers": ["l0/layer.tar", "l1/layer.tar"]}]).encode())
    good = os.path.join(data, "good.tar")
    save(good, "../l0/layer.tar")
    out = drover("image", "import", "--data-dir", data, good).stdout.split()
    assert out == ["docker.io/dup/img:1", L.sha(cfg)]
    evil = os.path.join(data, "evil.tar")
    save(evil, "/etc/passwd")
    d2 = os.path.join(data, "d2")
    p = drover("image", "import", "--data-dir", d2, evil, check=False)
    assert p.returncode == 1 and "l1/layer.tar" in p.stderr, p.stderr
    assert listed(d2) == []
    blobs = os.path.join(d2, "images", "blobs", "sha256")
    host = open("/etc/passwd", "rb").read()
    for b in os.listdir(blobs):
        assert host not in open(os.path.join(blobs, b), "rb").read()


def test_bearer_against_docker_registry(data):
    """The real registry's challenge (its "silly" token auth): 401 with a Bearer challenge,
    a token from the realm, the request again with it."""
    import http.server
    import threading
    seen = []

    class Token(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append(self.path)
            body = json.dumps({"token": "drover-test-token"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ts = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Token)
    threading.Thread(target=ts.serve_forever, daemon=True).start()
    reg = L.Registry(os.path.join(data, "reg"), extra_config=f"""auth:
  silly:
    realm: http://127.0.0.1:{ts.server_address[1]}/token
    service: drover-test
""")
    try:
        img = L.Image([(L.busybox_layer([{"name": "silly", "data": "x"}]), "gzip")])
        ref = reg.push_image("drover/silly", "v1", img)
        assert pull(os.path.join(data, "d"), ref).stdout.split() == [ref, img.config_digest]
        assert seen and "service=drover-test" in seen[0]
        assert "scope=repository%3Adrover%2Fsilly%3Apull" in seen[0], seen
    finally:
        reg.stop()
        ts.shutdown()
        ts.server_close()
