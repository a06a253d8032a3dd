#!/bin/bash
# Container run latency: `drover runtime run` vs Debian's `runc run` on the same busybox bundle
# running /bin/true, alternating, N runs each (default 50). Prints wall and CPU-time medians
# (CPU: user + system of the runtime and everything it started, from wait4's rusage; steadier
# than wall time on a loaded machine), the ratios and the peak RSS of the runtime process.
# Needs root, /bin/busybox (busybox-static) and runc.
# BASE_RUNTIME=/path/to/another/drover-runtime adds that build to the alternation (A/B against
# an earlier build in the same run: the only fair comparison on a shared, noisy machine).
set -euo pipefail
N=${N:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DROVER=${DROVER_BIN:-$ROOT/build/drover}
# the runc drop-in (build/drover-runtime) sits next to drover
exec /usr/bin/python3 - "$N" "$DROVER" "$(dirname "$DROVER")/drover-runtime" "${BASE_RUNTIME:-}" <<'PY'
import json, os, shutil, statistics, subprocess, sys, tempfile, time

n, drover, drt = int(sys.argv[1]), os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
base = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else None
runc = shutil.which("runc")
if not runc or not os.path.exists("/bin/busybox"):
    sys.exit("bench/runtime: needs runc and /bin/busybox (scripts/deps.sh installs them)")
work = tempfile.mkdtemp(prefix="drv-bench-rt-")
try:
    bundle = os.path.join(work, "bundle")
    os.makedirs(os.path.join(bundle, "rootfs", "bin"))
    for d in ("proc", "sys", "dev", "etc", "tmp"):
        os.makedirs(os.path.join(bundle, "rootfs", d))
    shutil.copy("/bin/busybox", os.path.join(bundle, "rootfs", "bin", "busybox"))
    for a in ("sh", "true"):
        os.symlink("busybox", os.path.join(bundle, "rootfs", "bin", a))
    subprocess.run([runc, "spec"], cwd=bundle, check=True)
    cfg = json.load(open(os.path.join(bundle, "config.json")))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    json.dump(cfg, open(os.path.join(bundle, "config.json"), "w"))

    def one(cmd):
        """(wall ms, CPU ms) of one run."""
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=bundle, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        dt = (time.perf_counter() - t0) * 1000
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.exit(f"bench/runtime: {cmd} exited {p.returncode}")
        return dt, (ru.ru_utime + ru.ru_stime) * 1000

    def peak_rss(cmd):
        """KB, measured apart (GNU time's child is small, unlike a forked python)."""
        out = os.path.join(work, "rss")
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, *cmd], cwd=bundle,
                       stdout=subprocess.DEVNULL, check=True)
        return int(open(out).read().split()[-1])

    res = {"drover-runtime": [], "drover": [], "runc": [], "base": []}
    cpu = {k: [] for k in res}
    load0 = os.getloadavg()[0]
    rss = {k: 0 for k in res}
    if not os.path.exists(drover):
        print(f"(no {drover}: measuring drover-runtime only)")
        del res["drover"], rss["drover"]
    if not base:
        del res["base"], rss["base"]
    for i in range(n):
        for name, cmd in (("drover-runtime", [drt, "--root", os.path.join(work, "d"), "run", f"a{os.getpid()}-{i}"]),
                          ("drover", [drover, "runtime", "--root", os.path.join(work, "d"), "run", f"b{os.getpid()}-{i}"]),
                          ("runc", [runc, "--root", os.path.join(work, "r"), "run", f"b{os.getpid()}-{i}"]),
                          ("base", [base or "", "--root", os.path.join(work, "o"), "run", f"o{os.getpid()}-{i}"])):
            if name not in res:
                continue
            wall, used = one(cmd)
            res[name].append(wall)
            cpu[name].append(used)
            if i < 5:
                rss[name] = max(rss[name], peak_rss([c if c != cmd[-1] else cmd[-1] + "-rss" for c in cmd]))
    med = {k: statistics.median(v) for k, v in res.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items() if v}
    print(f"runtime run /bin/true (busybox bundle), N={n} each, alternating, "
          f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    for k, label in (("drover-runtime", "drover-runtime run"), ("drover", "drover runtime run"),
                     ("base", "BASE_RUNTIME run"), ("runc", "runc run")):
        if k in res:
            print(f"  {label:20s} median {med[k]:6.1f} ms  (min {min(res[k]):5.1f})  CPU median {cmed[k]:5.1f} ms"
                  f"  peak RSS {rss[k]/1024:5.1f} MB")
    print(f"  ratio drover-runtime/runc: {med['drover-runtime']/med['runc']:.2f} (goal <= 0.20), "
          f"CPU {cmed['drover-runtime']/cmed['runc']:.2f}")
    if "drover" in med:
        print(f"  ratio drover runtime/runc: {med['drover']/med['runc']:.2f}")
    if "base" in med:
        print(f"  BASE_RUNTIME/runc: {med['base']/med['runc']:.2f}, CPU {cmed['base']/cmed['runc']:.2f}; "
              f"drover-runtime vs BASE_RUNTIME: wall {med['drover-runtime'] - med['base']:+.2f} ms, "
              f"CPU {cmed['drover-runtime'] - cmed['base']:+.2f} ms")
finally:
    shutil.rmtree(work, ignore_errors=True)
PY
