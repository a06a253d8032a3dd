"""For the tests that run drover inside network namespaces they create: commands in a namespace,
kubectl from there, and the teardown of what they started."""
import json
import os
import signal
import subprocess

from conftest import run, terminate


def nsenter(ns, *args):
    # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup hierarchies.
    return ["nsenter", f"--net=/run/netns/{ns}"] + list(args)


def kill_and_delete(*namespaces):
    """Kills what is left running in each namespace and deletes it: its links, addresses,
    routes and iptables rules go with it."""
    for ns in namespaces:
        for p in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(p), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def stop_procs(procs):
    """procs: (Popen, log file) pairs; each is terminated (killed after 10 s) and its log closed."""
    for p, f in procs:
        terminate(p, timeout=10)
        f.close()


class KubectlIn:
    """kubectl with self.kubeconfig, run through self.in_ns(*argv) inside the test's namespace."""

    def kubectl(self, *args, check=True, input=None, timeout=60):
        return run(*self.in_ns("/usr/bin/kubectl", "--kubeconfig", self.kubeconfig, *args), check=check,
                   input=input, timeout=timeout)

    def get(self, path):
        p = self.kubectl("get", "--raw", path, check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def apply(self, obj):
        self.kubectl("apply", "-f", "-", input=json.dumps(obj))
