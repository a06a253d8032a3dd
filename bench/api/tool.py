#!/usr/bin/python3
"""Helpers for bench/api/run.sh: seed objects fast (keep-alive, threads) and measure watch
fan-out (W watchers, E writes: time until every watcher saw every event, and each delivery's
latency from just before its write was sent; the watchers are Python threads, so that latency
includes their own scheduling under the GIL: an upper bound for the server's part)."""
import http.client
import json
import os
import ssl
import sys
import threading
import time


def conn(host, port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    return http.client.HTTPSConnection(host, port, context=ctx, timeout=60)


def seed(host, port, ca, token, kind, prefix, count, threads=8):
    hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    path = f"/api/v1/namespaces/default/{'pods' if kind == 'pod' else 'configmaps'}"
    errors = []

    def work(t):
        c = conn(host, port, ca)
        for i in range(t, count, threads):
            name = f"{prefix}-{i}"
            if kind == "pod":
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
                        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
            else:
                body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
            c.request("POST", path, json.dumps(body), hdr)
            r = c.getresponse()
            r.read()
            if r.status not in (201, 409):
                errors.append(r.status)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.time() - t0
    print(f"seeded {count} {kind}s in {dt:.1f}s ({count / dt:.0f}/s), errors {len(errors)}")


def watchfan(host, port, ca, token, watchers, events):
    hdr = {"Authorization": "Bearer " + token}
    c = conn(host, port, ca)
    c.request("GET", "/api/v1/namespaces/default/configmaps?limit=1", headers=hdr)
    r = c.getresponse()
    rv = json.loads(r.read())["metadata"]["resourceVersion"]
    got = [0] * watchers
    lat = [[] for _ in range(watchers)]
    mark = b'"bench/sent":"'
    done = threading.Barrier(watchers + 1)
    ready = threading.Semaphore(0)

    def watch(i):
        wc = conn(host, port, ca)
        wc.request("GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
                          f"&labelSelector=fan%3Dyes&timeoutSeconds=120", headers=hdr)
        resp = wc.getresponse()
        ready.release()
        while got[i] < events:
            line = resp.readline()
            if not line:
                break
            now = time.time()
            got[i] += 1
            at = line.find(mark)
            if at >= 0:
                end = line.index(b'"', at + len(mark))
                lat[i].append((now - float(line[at + len(mark):end])) * 1000)
        done.wait()
        wc.close()

    ts = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(watchers)]
    for t in ts:
        t.start()
    for _ in ts:
        ready.acquire()
    t0 = time.time()
    hdr2 = dict(hdr, **{"Content-Type": "application/json"})
    for i in range(events):
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"fan-{i}", "labels": {"fan": "yes"},
                             "annotations": {"bench/sent": f"{time.time():.6f}"}}}
        c.request("POST", "/api/v1/namespaces/default/configmaps", json.dumps(body), hdr2)
        c.getresponse().read()
    done.wait()
    dt = time.time() - t0
    total = sum(got)
    all_lat = sorted(x for l in lat for x in l)
    pct = lambda q: all_lat[min(len(all_lat) - 1, int(q * len(all_lat)))] if all_lat else float("nan")
    print(f"watch fan-out: {watchers} watchers x {events} events = {total} deliveries in {dt:.2f}s "
          f"({total / dt:.0f} events/s delivered), delivery latency p50 {pct(0.5):.1f} ms, "
          f"p99 {pct(0.99):.1f} ms")


def fsyncprobe(directory, count=500):
    """The disk's own latency in the same run: 4 KiB overwrite + fdatasync, one at a time (what
    one group commit waits for at least)."""
    path = os.path.join(directory, f"fsync-probe-{os.getpid()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"\0" * 4096 * 64, 0)
        os.fsync(fd)
        ts = []
        for i in range(count):
            os.pwrite(fd, b"x" * 4096, (i % 64) * 4096)
            t = time.perf_counter()
            os.fdatasync(fd)
            ts.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    ts.sort()
    print(f"disk: fdatasync of a 4 KiB overwrite, {count} in a row: p50 {ts[count // 2]:.2f} ms, "
          f"p99 {ts[int(count * 0.99)]:.2f} ms, max {ts[-1]:.2f} ms")


if __name__ == "__main__":
    if sys.argv[1] == "fsyncprobe":
        fsyncprobe(sys.argv[2])
        sys.exit(0)
    cmd, host, port, ca, token = sys.argv[1:6]
    if cmd == "seed":
        seed(host, int(port), ca, token, sys.argv[6], sys.argv[7], int(sys.argv[8]))
    elif cmd == "watchfan":
        watchfan(host, int(port), ca, token, int(sys.argv[6]), int(sys.argv[7]))
