"""Pull + unpack of a multi-layer image: drover vs `skopeo copy` + `umoci unpack`, same registry,
same run; then rootfs preparation per container (overlay and copy)."""
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import imagelib as L  # noqa: E402

DROVER = os.environ.get("DROVER_BIN", os.path.join(ROOT, "build", "drover"))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def layer_of_files(seed, nfiles, size):
    rnd = random.Random(seed)
    entries = [{"name": f"data{seed}", "type": "dir"}]
    for i in range(nfiles):
        # half compressible text, half random bytes: a realistic mix for gzip
        n = rnd.randint(size // 2, size * 3 // 2)
        data = (b"line of text %d\n" % i) * (n // 32) + rnd.randbytes(n // 2)
        entries.append({"name": f"data{seed}/f{i:04d}", "data": data})
    return L.tar_layer(entries)


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    return time.perf_counter() - t0


def main():
    work = tempfile.mkdtemp(prefix=f"drv-bench-img-{os.getpid()}-")
    reg = L.Registry(os.path.join(work, "registry"))
    try:
        layers = [(L.busybox_layer(), "gzip")]
        layers += [(layer_of_files(s, 300, 16384), "gzip") for s in range(1, 5)]
        img = L.Image(layers)
        ref = reg.push_image("bench/multi", "v1", img)
        total = sum(d["size"] for d in img.layer_descs)
        print(f"image: {len(layers)} layers, {total / 1e6:.1f} MB compressed, "
              f"{sum(len(r) for r, _ in layers) / 1e6:.1f} MB unpacked")
        d_times, p_times = [], []
        for i in range(RUNS):
            dd = os.path.join(work, f"drover-{i}")
            d_times.append(timed([DROVER, "image", "pull", "--data-dir", dd, ref]))
            od, bd = os.path.join(work, f"oci-{i}"), os.path.join(work, f"bundle-{i}")
            t0 = time.perf_counter()
            subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                            f"docker://{ref}", f"oci:{od}:v1"], check=True)
            subprocess.run(["umoci", "unpack", "--image", f"{od}:v1", bd], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            p_times.append(time.perf_counter() - t0)
            # same content both ways
            assert os.path.exists(os.path.join(bd, "rootfs", "data4", "f0299"))
            shutil.rmtree(od)
            shutil.rmtree(bd)
            if i < RUNS - 1:
                shutil.rmtree(dd)
        dm, pm = statistics.median(d_times), statistics.median(p_times)
        print(f"pull+unpack  drover: median {dm * 1000:.0f} ms  "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in d_times)})")
        print(f"pull+unpack  skopeo copy + umoci unpack: median {pm * 1000:.0f} ms  "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in p_times)})")
        print(f"ratio drover/peer: {dm / pm:.2f}")

        dd = os.path.join(work, f"drover-{RUNS - 1}")
        for mode in ("overlay", "copy"):
            env = dict(os.environ, DROVER_ROOTFS_COPY="1" if mode == "copy" else "0")
            n = "100" if mode == "overlay" else "10"
            out = subprocess.run([DROVER, "image", "mount", "--data-dir", dd, "--repeat", n, ref,
                                  os.path.join(work, f"ctr-{mode}")], check=True, env=env,
                                 capture_output=True, text=True).stdout.strip()
            print(f"rootfs ({mode}): {out}")
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
