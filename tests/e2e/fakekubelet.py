"""A fake kubelet for the control-loop tests: registers synthetic Nodes, renews their Leases,
and plays the agent's part for pods bound to them through the API (status subresource): a pod
turns Running and Ready with an IP, unless its image names a missing one ("does-not-exist"),
which stays Waiting (ErrImagePull); a pod marked for deletion is removed (grace 0). Nodes can
be cut off (no lease renewal, no pod handling) and brought back."""
import datetime
import threading
import time

from kubernetes import client, config, watch


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeKubelet:
    def __init__(self, kubeconfig, nodes, cpu="4", memory="8Gi", pods="110", period=0.5):
        self.api_client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api_client)
        self.coord = client.CoordinationV1Api(self.api_client)
        self.nodes = list(nodes)
        self.cut = set()
        self.period = period
        self.cpu, self.memory, self.pods = cpu, memory, pods
        self.stop_ev = threading.Event()
        self.ip_seq = 1
        self.lock = threading.Lock()
        self.thread = None

    def register(self):
        for i, n in enumerate(self.nodes):
            body = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n, "kubernetes.io/os": "linux"}}}
            self.core.create_node(body)
            self._node_status(n)
            self._lease(n)

    def _node_status(self, n):
        st = {"status": {
            "capacity": {"cpu": self.cpu, "memory": self.memory, "pods": self.pods},
            "allocatable": {"cpu": self.cpu, "memory": self.memory, "pods": self.pods},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "fake kubelet is posting ready status",
                            "lastHeartbeatTime": now(), "lastTransitionTime": now()}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}
        self.core.patch_node_status(n, st)

    def _lease(self, n):
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": n, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": now_micro()}}
        try:
            self.coord.create_namespaced_lease("kube-node-lease", body)
        except client.exceptions.ApiException as e:
            if e.status != 409:
                raise
            self.coord.patch_namespaced_lease(n, "kube-node-lease", {"spec": {"renewTime": now_micro()}})

    def start(self):
        self.register()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_ev.set()
        if self.thread:
            self.thread.join(timeout=10)

    def cut_off(self, n):
        with self.lock:
            self.cut.add(n)

    def restore(self, n):
        with self.lock:
            self.cut.discard(n)
        self._lease(n)
        self._node_status(n)

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                self.tick()
            except Exception:  # a server restart or a race: try again next period
                pass
            self.stop_ev.wait(self.period)

    def tick(self):
        with self.lock:
            live = [n for n in self.nodes if n not in self.cut]
        for n in live:
            self._lease(n)
            self._node_status(n)
        pods = self.core.list_pod_for_all_namespaces().items
        for p in pods:
            node = p.spec.node_name
            if node not in live:
                continue
            if p.metadata.deletion_timestamp:
                try:
                    self.core.delete_namespaced_pod(p.metadata.name, p.metadata.namespace, grace_period_seconds=0)
                except client.exceptions.ApiException:
                    pass
                continue
            if p.status.phase == "Running" and p.status.pod_ip:
                continue
            bad = any("does-not-exist" in (c.image or "") for c in p.spec.containers)
            if bad:
                if p.status.container_statuses:
                    continue
                st = {"status": {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": now()}],
                    "containerStatuses": [{"name": c.name, "image": c.image, "imageID": "", "ready": False,
                                           "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}
                                          for c in p.spec.containers]}}
            else:
                with self.lock:
                    ip = "10.244.%d.%d" % (self.ip_seq // 250, self.ip_seq % 250 + 1)
                    self.ip_seq += 1
                st = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "127.0.0.1",
                                 "startTime": now(),
                                 "conditions": [
                                     {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()},
                                     {"type": "Initialized", "status": "True", "lastTransitionTime": now()},
                                     {"type": "ContainersReady", "status": "True", "lastTransitionTime": now()},
                                     {"type": "Ready", "status": "True", "lastTransitionTime": now()}],
                                 "containerStatuses": [{"name": c.name, "image": c.image, "imageID": "", "ready": True,
                                                        "started": True, "restartCount": 0,
                                                        "state": {"running": {"startedAt": now()}}}
                                                       for c in p.spec.containers]}}
            try:
                self.core.patch_namespaced_pod_status(p.metadata.name, p.metadata.namespace, st)
            except client.exceptions.ApiException:
                pass


class WatchKubelet(FakeKubelet):
    """The same part played from a pod watch instead of a poll: a pod bound to one of its nodes
    turns Ready as soon as the binding is seen, so benchmarks measure the control loops rather
    than the fake kubelet's period."""

    def _run(self):
        self.stop_ev.wait(0)
        lease_at = 0
        rv = self.core.list_pod_for_all_namespaces().metadata.resource_version
        self.tick()
        while not self.stop_ev.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(self.core.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=2):
                    p = ev["object"]
                    rv = p.metadata.resource_version
                    if ev["type"] != "DELETED":
                        self._handle(p)
                    if time.time() - lease_at > 1:
                        for n in self.nodes:
                            if n not in self.cut:
                                self._lease(n)
                        lease_at = time.time()
                    if self.stop_ev.is_set():
                        break
            except Exception:
                rv = self.core.list_pod_for_all_namespaces().metadata.resource_version
            if time.time() - lease_at > 1:
                for n in self.nodes:
                    if n not in self.cut:
                        self._lease(n)
                lease_at = time.time()

    def _handle(self, p):
        node = p.spec.node_name
        if node not in self.nodes or node in self.cut:
            return
        if p.metadata.deletion_timestamp:
            try:
                self.core.delete_namespaced_pod(p.metadata.name, p.metadata.namespace, grace_period_seconds=0)
            except client.exceptions.ApiException:
                pass
            return
        if p.status.phase == "Running":
            return
        with self.lock:
            ip = "10.244.%d.%d" % (self.ip_seq // 250, self.ip_seq % 250 + 1)
            self.ip_seq += 1
        st = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "127.0.0.1",
                         "startTime": now(),
                         "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now()},
                                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now()},
                                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}],
                         "containerStatuses": [{"name": c.name, "image": c.image, "imageID": "", "ready": True,
                                                "started": True, "restartCount": 0,
                                                "state": {"running": {"startedAt": now()}}}
                                               for c in p.spec.containers]}}
        try:
            self.core.patch_namespaced_pod_status(p.metadata.name, p.metadata.namespace, st)
        except client.exceptions.ApiException:
            pass
