/* The agent's front: options, Node registration, the Lease, the pod loop, peer routes and
 * Service rules. drv_agent_start() is what `drover up` calls in-process. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/dns.h"
#include "agent/internal.h"
#include "api/recorder.h"
#include "api/validate.h"
#include "agent/sandbox.h"
#include "api/client_http.h"
#include "api/object.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "image/image.h"
#include "net/ipam.h"
#include "net/netlink.h"
#include "net/podnet.h"
#include "net/service.h"
#include "runtime/runtime.h"

#define LEASE_NS "kube-node-lease"

static const drv_api_ref pods_ref = {.version = "v1", .resource = "pods"};
static const drv_api_ref nodes_ref = {.version = "v1", .resource = "nodes"};

/* The local address used to reach the server: the node's InternalIP. */
static char *route_source_ip(const char *url)
{
  char host[256] = "", port[16] = "443";
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, ":/");
  if (n >= sizeof host) return NULL;
  memcpy(host, p, n);
  if (p[n] == ':') snprintf(port, sizeof port, "%.*s", (int)strcspn(p + n + 1, "/"), p + n + 1);
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res = NULL;
  if (getaddrinfo(host, port, &hints, &res) != 0 || !res) return NULL;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  char *out = NULL;
  struct sockaddr_in me;
  socklen_t l = sizeof me;
  if (s >= 0 && connect(s, res->ai_addr, res->ai_addrlen) == 0 &&
      getsockname(s, (struct sockaddr *)&me, &l) == 0) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &me.sin_addr, buf, sizeof buf);
    out = drv_strdup(buf);
  }
  if (s >= 0) close(s);
  freeaddrinfo(res);
  return out;
}

static json_t *node_status(drv_agent *a)
{
  struct sysinfo si;
  sysinfo(&si);
  long long mem_ki = (long long)si.totalram * si.mem_unit / 1024;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  char cpu[32], mem[32], alloc_mem[32], pods[16], disk[32], alloc_disk[32];
  struct statvfs vfs;
  unsigned long long disk_b = statvfs(a->data_dir, &vfs) == 0 ? (unsigned long long)vfs.f_blocks * vfs.f_frsize : 0;
  snprintf(disk, sizeof disk, "%lluKi", disk_b / 1024);
  /* The hard eviction thresholds are held back from allocatable, as kubelet does (its defaults:
   * 100Mi of memory, 10 % of the disk). */
  long long disk_hold = drv_ev_threshold_value(&a->ev.t[DRV_EV_NODEFS_AVAILABLE], (int64_t)disk_b);
  long long mem_hold = drv_ev_threshold_value(&a->ev.t[DRV_EV_MEMORY_AVAILABLE], mem_ki * 1024) / 1024;
  snprintf(alloc_disk, sizeof alloc_disk, "%llu", disk_b > (unsigned long long)disk_hold ? disk_b - disk_hold : 0);
  snprintf(cpu, sizeof cpu, "%ld", cpus);
  snprintf(mem, sizeof mem, "%lldKi", mem_ki);
  snprintf(alloc_mem, sizeof alloc_mem, "%lldKi", mem_ki > mem_hold ? mem_ki - mem_hold : 0);
  snprintf(pods, sizeof pods, "%d", a->o.max_pods > 0 ? a->o.max_pods : 110);
  char now[32];
  drv_status_time(drv_wall_ms(), now, sizeof now);
  struct utsname u;
  uname(&u);
  json_t *conds = json_array();
  const char *types[4][4] = {
      {"Ready", "True", "KubeletReady", "drover agent is posting ready status"},
      {"MemoryPressure", "False", "KubeletHasSufficientMemory", "drover agent has sufficient memory available"},
      {"DiskPressure", "False", "KubeletHasNoDiskPressure", "drover agent has no disk pressure"},
      {"PIDPressure", "False", "KubeletHasSufficientPID", "drover agent has sufficient PID available"},
  };
  /* Under pressure (eviction.c), with kubelet's reasons. */
  const char *on[][3] = {
      {"KubeletHasInsufficientMemory", "drover agent has insufficient memory available"},
      {"KubeletHasDiskPressure", "drover agent has disk pressure"},
      {"KubeletHasInsufficientPID", "drover agent has insufficient PID available"},
  };
  for (int k = 0; k < 3; k++)
    if (__atomic_load_n(&a->pressure[k], __ATOMIC_RELAXED)) {
      types[k + 1][1] = "True";
      types[k + 1][2] = on[k][0];
      types[k + 1][3] = on[k][1];
    }
  for (size_t i = 0; i < DRV_ARRAY_LEN(types); i++)
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", types[i][0],
                                           "status", types[i][1], "reason", types[i][2], "message",
                                           types[i][3], "lastHeartbeatTime", now,
                                           "lastTransitionTime", now));
  return json_pack(
      "{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:o, s:[{s:s, s:s}, {s:s, s:s}],"
      " s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
      "capacity", "cpu", cpu, "memory", mem, "pods", pods, "ephemeral-storage", disk,
      "allocatable", "cpu", cpu, "memory", alloc_mem, "pods", pods, "ephemeral-storage", alloc_disk,
      "conditions", conds, "addresses", "type", "InternalIP", "address", a->node_ip, "type",
      "Hostname", "address", a->node_name, "daemonEndpoints", "kubeletEndpoint", "Port", a->port,
      "nodeInfo", "machineID", "", "systemUUID", "", "bootID", "", "kernelVersion", u.release,
      "osImage", "Linux", "containerRuntimeVersion", "drover://" DROVER_VERSION,
      "kubeletVersion", "v1.30.0-drover", "operatingSystem", "linux", "architecture", "amd64");
}

/* A condition whose status did not change keeps its lastTransitionTime: only the heartbeat
 * time moves (clients read the transition time as "since when"). */
static void keep_transition_times(json_t *status, const json_t *node)
{
  size_t i, j;
  json_t *c, *o;
  json_array_foreach(json_object_get(status, "conditions"), i, c)
  {
    json_array_foreach(drv_json_get(node, "status.conditions"), j, o)
    {
      if (!json_equal(json_object_get(c, "type"), json_object_get(o, "type"))) continue;
      json_t *when = json_object_get(o, "lastTransitionTime");
      if (json_equal(json_object_get(c, "status"), json_object_get(o, "status")) && json_is_string(when))
        json_object_set(c, "lastTransitionTime", when);
      break;
    }
  }
}

/* kubelet's events on its Node: the reference names the node as its uid too (kubelet's
 * nodeRef), and that is what `kubectl describe node` looks events up by. */
static void node_event(drv_agent *a, const char *reason, const char *msg)
{
  json_t *ref = json_pack("{s:{s:s, s:s}}", "metadata", "name", a->node_name, "uid", a->node_name);
  drv_recorder_event(a->rec, ref, "v1", "Node", "Normal", reason, "%s", msg);
  json_decref(ref);
}

/* An event for each condition whose status differs from the one last evented, with kubelet's
 * reasons ("Node N status is now: NodeHasSufficientMemory"); the pressures before Ready. */
static void condition_events(drv_agent *a, const json_t *status)
{
  static const struct {
    const char *type, *on_true, *on_false;
  } k[4] = {
      {"MemoryPressure", "NodeHasInsufficientMemory", "NodeHasSufficientMemory"},
      {"DiskPressure", "NodeHasDiskPressure", "NodeHasNoDiskPressure"},
      {"PIDPressure", "NodeHasInsufficientPID", "NodeHasSufficientPID"},
      {"Ready", "NodeReady", "NodeNotReady"},
  };
  for (int i = 0; i < 4; i++) {
    size_t j;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), j, c)
    {
      const char *t = drv_json_get_str(c, "type"), *st = drv_json_get_str(c, "status");
      if (!t || !st || strcmp(t, k[i].type)) continue;
      char now = !strcmp(st, "True") ? 'T' : !strcmp(st, "False") ? 'F' : 0;
      if (now && now != a->cond_evented[i]) {
        const char *reason = now == 'T' ? k[i].on_true : k[i].on_false;
        _cleanup_free_ char *msg = drv_asprintf("Node %s status is now: %s", a->node_name, reason);
        node_event(a, reason, msg);
        a->cond_evented[i] = now;
      }
    }
  }
}

static int register_node(drv_agent *a, drv_err *err)
{
  json_t *node = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s, s:s}}, s:{}, s:o}",
                           "apiVersion", "v1", "kind", "Node", "metadata", "name", a->node_name,
                           "labels", "kubernetes.io/hostname", a->node_name, "kubernetes.io/os",
                           "linux", "kubernetes.io/arch", "amd64", "beta.kubernetes.io/os",
                           "linux", "beta.kubernetes.io/arch", "amd64", "spec", "status",
                           node_status(a));
  if (a->o.pod_cidr) drv_json_set(node, "spec.podCIDR", json_string(a->o.pod_cidr));
  json_t *got = NULL;
  int r = drv_api_create(a->api, &nodes_ref, node, &got, err);
  if (r == DRV_API_ECONFLICT) {
    drv_api_ref ref = nodes_ref;
    ref.name = a->node_name;
    r = drv_api_get(a->api, &ref, &got, err);
    if (r == 0) {
      keep_transition_times(json_object_get(node, "status"), got);
      json_object_set(got, "status", json_object_get(node, "status"));
      json_t *up = NULL;
      r = drv_api_update_status(a->api, &ref, got, &up, err);
      if (r == 0) {
        json_decref(got);
        got = up;
      }
    }
  }
  if (r == 0) condition_events(a, json_object_get(node, "status"));
  json_decref(node);
  if (r < 0) {
    json_decref(got);
    drv_err_prefix(err, "register node `%s`", a->node_name);
    return r;
  }
  const char *cidr = drv_json_get_str(got, "spec.podCIDR");
  if (cidr && *cidr) {
    free(a->pod_cidr);
    a->pod_cidr = drv_strdup(cidr);
  }
  json_decref(got);
  return 0;
}

/* A controller manager (drover's or Kubernetes') holds its Lease: node IPAM may be on. */
static bool controller_manager_present(drv_agent *a)
{
  const char *names[] = {"drover-controllers", "kube-controller-manager"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(names); i++) {
    drv_api_ref ref = {.group = "coordination.k8s.io", .version = "v1", .resource = "leases",
                       .ns = "kube-system", .name = names[i]};
    json_t *l = NULL;
    drv_err err;
    bool held = drv_api_get(a->api, &ref, &l, &err) == 0 && drv_json_get_str(l, "spec.holderIdentity") &&
                *drv_json_get_str(l, "spec.holderIdentity");
    json_decref(l);
    if (held) return true;
  }
  return false;
}

/* No pod CIDR at registration: the control plane's node IPAM assigns one to a new Node within
 * moments. Without one pods keep loopback-only networking. */
static void wait_pod_cidr(drv_agent *a)
{
  int wait_ms = a->o.pod_cidr_wait_ms;
  if (wait_ms == 0 && controller_manager_present(a)) wait_ms = 10000;
  long long deadline = drv_now_ms() + (wait_ms > 0 ? wait_ms : 0);
  drv_api_ref ref = nodes_ref;
  ref.name = a->node_name;
  while (wait_ms > 0) {
    json_t *n = NULL;
    drv_err err;
    const char *cidr = drv_api_get(a->api, &ref, &n, &err) == 0 ? drv_json_get_str(n, "spec.podCIDR") : NULL;
    if (cidr && *cidr) a->pod_cidr = drv_strdup(cidr);
    json_decref(n);
    if (a->pod_cidr) {
      drv_log_info("agent: node %s: pod CIDR %s assigned by the control plane", a->node_name, a->pod_cidr);
      return;
    }
    if (drv_now_ms() >= deadline) break;
    usleep(200 * 1000);
  }
  drv_log_warn("agent: node %s has no pod CIDR (no --pod-cidr, spec.podCIDR %s): pods get loopback-only "
               "networking", a->node_name, wait_ms > 0 ? "still unset after waiting for node IPAM" : "unset");
}

static int renew_lease(drv_agent *a, json_t **lease, drv_err *err)
{
  char now[40];
  drv_api_microtime_format(drv_wall_ms() * 1000, now, sizeof now);
  drv_api_ref ref = {.group = "coordination.k8s.io", .version = "v1", .resource = "leases",
                     .ns = LEASE_NS, .name = a->node_name};
  if (*lease) {
    drv_json_set(*lease, "spec.renewTime", json_string(now));
    json_t *out = NULL;
    int r = drv_api_update(a->api, &ref, *lease, &out, err);
    if (r == 0) {
      json_decref(*lease);
      *lease = out;
      return 0;
    }
    json_decref(*lease);
    *lease = NULL;
    if (r != DRV_API_ECONFLICT && r != DRV_API_ENOTFOUND) return r;
  }
  json_t *got = NULL;
  int r = drv_api_get(a->api, &ref, &got, err);
  if (r == 0) {
    drv_json_set(got, "spec.renewTime", json_string(now));
    drv_json_set(got, "spec.holderIdentity", json_string(a->node_name));
    r = drv_api_update(a->api, &ref, got, lease, err);
    json_decref(got);
    return r;
  }
  if (r != DRV_API_ENOTFOUND) return r;
  json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s}}", "apiVersion",
                          "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
                          a->node_name, "namespace", LEASE_NS, "spec", "holderIdentity",
                          a->node_name, "leaseDurationSeconds", 40, "renewTime", now,
                          "acquireTime", now);
  drv_api_ref cref = ref;
  cref.name = NULL;
  r = drv_api_create(a->api, &cref, obj, lease, err);
  json_decref(obj);
  return r;
}

static void *lease_thread(void *arg)
{
  drv_agent *a = arg;
  json_t *lease = NULL;
  long long next_status = drv_now_ms() + 10000;
  pthread_mutex_lock(&a->lock);
  while (!a->stop) {
    pthread_mutex_unlock(&a->lock);
    drv_err err;
    int r = renew_lease(a, &lease, &err);
    if (r < 0) drv_log_warn("renew lease: %s", err.msg);
    if (drv_now_ms() >= next_status || __atomic_exchange_n(&a->node_status_dirty, false, __ATOMIC_RELAXED)) {
      /* The Node's Ready heartbeat, less often than the Lease (as kubelet). */
      json_t *patch = json_pack("{s:o}", "status", node_status(a));
      json_t *cur = NULL;
      if (drv_api_get(a->api, &(drv_api_ref){.version = "v1", .resource = "nodes", .name = a->node_name},
                      &cur, &err) == 0) {
        keep_transition_times(json_object_get(patch, "status"), cur);
        json_decref(cur);
      }
      if (drv_api_patch(a->api, &(drv_api_ref){.version = "v1", .resource = "nodes",
                                                .name = a->node_name, .subresource = "status"},
                        DRV_API_PATCH_MERGE, patch, NULL, &err) < 0) {
        drv_log_warn("node status: %s", err.msg);
        next_status = drv_now_ms() + 1000; /* again soon: a changed condition must not wait 10 s */
      } else {
        next_status = drv_now_ms() + 10000;
        condition_events(a, json_object_get(patch, "status"));
      }
      json_decref(patch);
    }
    pthread_mutex_lock(&a->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    while (!a->stop && !__atomic_load_n(&a->node_status_dirty, __ATOMIC_RELAXED) &&
           pthread_cond_timedwait(&a->cond, &a->lock, &ts) != ETIMEDOUT) {}
  }
  pthread_mutex_unlock(&a->lock);
  json_decref(lease);
  return NULL;
}

/* ---- pods table ---- */

drv_pod *drv_agent_find_pod(drv_agent *a, const char *ns, const char *name)
{
  for (size_t i = 0; i < a->pods.n; i++) {
    drv_pod *p = a->pods.v[i];
    if (!p->gone && !strcmp(p->ns, ns) && !strcmp(p->name, name) && p->obj) return p;
  }
  for (size_t i = 0; i < a->pods.n; i++) {
    drv_pod *p = a->pods.v[i];
    if (!p->gone && !strcmp(p->ns, ns) && !strcmp(p->name, name)) return p;
  }
  return NULL;
}

static drv_pod *find_uid(drv_agent *a, const char *uid)
{
  for (size_t i = 0; i < a->pods.n; i++)
    if (!strcmp(a->pods.v[i]->uid, uid)) return a->pods.v[i];
  return NULL;
}

static void wake(drv_agent *a)
{
  pthread_mutex_lock(&a->lock);
  a->wake = true;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

static void on_pod_add(void *ud, json_t *obj)
{
  (void)obj;
  wake(ud);
}
static void on_pod_update(void *ud, json_t *old, json_t *obj)
{
  (void)old, (void)obj;
  wake(ud);
}

/* Runtime containers of this agent that no pod owns any more (deleted while it was down). */
static void gc_orphans(drv_agent *a)
{
  drv_rt_state *list = NULL;
  size_t n = 0;
  drv_err err;
  if (drv_rt_list(a->rt_root, &list, &n, &err) < 0) return;
  for (size_t i = 0; i < n; i++) {
    bool owned = false;
    for (size_t j = 0; j < a->pods.n && !owned; j++) {
      drv_pod *p = a->pods.v[j];
      for (size_t k = 0; k < p->n_init && !owned; k++)
        owned = p->init[k].rt_id && !strcmp(p->init[k].rt_id, list[i].id);
      for (size_t k = 0; k < p->n_ctrs && !owned; k++)
        owned = p->ctrs[k].rt_id && !strcmp(p->ctrs[k].rt_id, list[i].id);
    }
    if (!owned) {
      drv_log_info("removing orphaned container %s", list[i].id);
      drv_rt_delete(a->rt_root, list[i].id, true, &err);
    }
  }
  drv_rt_list_free(list, n);
  /* State dirs without state.json, which the list skips: a create cut short by a kill of the
   * agent, or a dir whose removal lost a race with the container's monitor writing its exit
   * status. No create runs yet (this is before the first pod sync): nothing of them is live. */
  _cleanup_dir_ DIR *d = opendir(a->rt_root);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    _cleanup_free_ char *st = drv_asprintf("%s/%s/state.json", a->rt_root, de->d_name);
    if (access(st, F_OK) == 0 || errno != ENOENT) continue;
    drv_log_info("removing the unfinished container state %s", de->d_name);
    if (drv_rt_delete(a->rt_root, de->d_name, true, &err) < 0) drv_log_warn("%s", err.msg);
  }
}

static void *worker_thread(void *arg)
{
  drv_agent *a = arg;
  bool gc_done = false;
  long long next_net = 0, next_evict = 0;
  pthread_mutex_lock(&a->lock);
  long long next_relist = 0;
  while (!a->stop) {
    bool events = a->wake;
    a->wake = false;
    bool synced = drv_informer_synced(a->pod_inf);
    long long now = drv_now_ms();
    /* The table follows the informer on its events, and every 2 s besides; between them only
     * the pods that are due are looked at. */
    json_t *objs = synced && (events || now >= next_relist) ? drv_informer_list(a->pod_inf, NULL, NULL, NULL) : NULL;
    if (objs) next_relist = now + 2000;
    if (objs) {
      size_t i;
      json_t *o;
      json_array_foreach(objs, i, o)
      {
        const char *uid = drv_obj_uid(o);
        if (!uid) continue;
        drv_pod *p = find_uid(a, uid);
        if (!p) {
          const char *phase = drv_json_get_str(o, "status.phase");
          /* A finished pod this agent does not know (e.g. its checkpoint was lost): leave it. */
          if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) continue;
          if (a->pods.n == a->pods.cap) {
            a->pods.cap = a->pods.cap ? a->pods.cap * 2 : 16;
            a->pods.v = drv_realloc(a->pods.v, a->pods.cap * sizeof *a->pods.v);
          }
          p = drv_pod_new(a, uid, drv_obj_namespace(o), drv_obj_name(o));
          a->pods.v[a->pods.n++] = p;
        }
        const char *rv_new = drv_obj_resource_version(o);
        const char *rv_old = p->obj ? drv_obj_resource_version(p->obj) : NULL;
        if (!rv_old || !rv_new || strcmp(rv_old, rv_new) != 0) {
          drv_pod_set_object(p, o);
          p->next_sync_ms = 0;
        }
      }
      /* Pods the server no longer has go away. */
      for (size_t k = 0; k < a->pods.n; k++) {
        drv_pod *p = a->pods.v[k];
        bool found = false;
        json_array_foreach(objs, i, o)
        {
          const char *uid = drv_obj_uid(o);
          if (uid && !strcmp(uid, p->uid)) found = true;
        }
        if (!found && p->obj) {
          drv_pod_set_object(p, NULL);
          p->next_sync_ms = 0;
        } else if (!found && !p->terminating) {
          p->next_sync_ms = 0; /* restored from a checkpoint, unknown to the server */
        }
      }
      json_decref(objs);
      if (!gc_done) {
        gc_orphans(a);
        gc_done = true;
      }
    }
    for (size_t k = 0; k < a->pods.n && !a->stop; k++) {
      drv_pod *p = a->pods.v[k];
      if (!synced) break;
      if (p->next_sync_ms > now) continue;
      drv_pod_sync(a, p);
      /* On a 250 ms grid, so that many pods are handled per wake-up. */
      p->next_sync_ms = ((drv_now_ms() + 1000) / 250 + 1) * 250;
      for (size_t c = 0; c < p->n_ctrs; c++)
        if (p->ctrs[c].retry_at_ms > now && p->ctrs[c].retry_at_ms < p->next_sync_ms)
          p->next_sync_ms = p->ctrs[c].retry_at_ms;
      for (size_t c = 0; c < p->n_init; c++)
        if (p->init[c].retry_at_ms > now && p->init[c].retry_at_ms < p->next_sync_ms)
          p->next_sync_ms = p->init[c].retry_at_ms;
      /* Let readers of the table (metrics, logs) in between pods. */
      pthread_mutex_unlock(&a->lock);
      pthread_mutex_lock(&a->lock);
    }
    /* New sandboxes into their pods' cgroups, once this pass started what it could. */
    for (size_t k = 0; k < a->pods.n; k++)
      if (a->pods.v[k]->sandbox_cg_pending && !a->pods.v[k]->gone) drv_pod_sandbox_cgroup(a->pods.v[k]);
    if (synced && drv_now_ms() >= next_evict) {
      drv_agent_eviction_check(a);
      next_evict = drv_now_ms() + 1000;
    }
    size_t w = 0;
    for (size_t k = 0; k < a->pods.n; k++) {
      if (a->pods.v[k]->gone) drv_pod_free(a->pods.v[k]);
      else a->pods.v[w++] = a->pods.v[k];
    }
    a->pods.n = w;
    if (drv_now_ms() >= next_net) {
      drv_hostport *hps = NULL;
      size_t n_hps = 0;
      drv_agent_hostports(a, &hps, &n_hps);
      pthread_mutex_unlock(&a->lock);
      drv_agent_sync_routes(a);
      drv_agent_sync_services(a, hps, n_hps);
      drv_agent_hostports_free(hps, n_hps);
      pthread_mutex_lock(&a->lock);
      next_net = drv_now_ms() + 1000;
    }
    if (a->wake) continue;
    long long next = drv_now_ms() + 1000;
    for (size_t k = 0; k < a->pods.n; k++)
      if (a->pods.v[k]->next_sync_ms < next) next = a->pods.v[k]->next_sync_ms;
    long long wait_ms = next - drv_now_ms();
    if (wait_ms < 5) wait_ms = 5;
    struct timespec ts = drv_deadline_ms(CLOCK_REALTIME, wait_ms);
    while (!a->stop && !a->wake && pthread_cond_timedwait(&a->cond, &a->lock, &ts) != ETIMEDOUT) {}
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

/* ---- start / stop ---- */

static void agent_free(drv_agent *a)
{
  if (!a) return;
  drv_volsrc_free(a->volsrc); /* its thread uses the API client */
  drv_informer_free(a->pod_inf);
  drv_informer_free(a->node_inf);
  drv_informer_free(a->svc_inf);
  drv_informer_free(a->ep_inf);
  for (size_t i = 0; i < a->pods.n; i++) drv_pod_free(a->pods.v[i]);
  free(a->pods.v);
  drv_recorder_free(a->rec);
  if (a->api) drv_api_client_free(a->api);
  if (a->images) drv_image_store_close(a->images);
  drv_ipam_free(a->ipam);
  free(a->metrics_last);
  drv_kubeconfig_free(&a->kc);
  free(a->tokens);
  free(a->data_dir), free(a->node_name), free(a->node_ip), free(a->pod_cidr), free(a->bridge);
  free(a->rt_root), free(a->pods_dir), free(a->svc_rules_last), free(a->routes_last);
  pthread_mutex_destroy(&a->lock);
  pthread_cond_destroy(&a->cond);
  free(a);
}

static drv_informer *informer(drv_agent *a, const drv_api_ref *ref, const char *fs, drv_err *err)
{
  drv_informer *inf = drv_informer_new(a->api, ref, NULL, fs);
  drv_informer_handlers h = {.on_add = on_pod_add, .on_update = on_pod_update,
                             .on_delete = on_pod_add, .ud = a};
  drv_informer_add_handlers(inf, &h);
  if (ref == &pods_ref) drv_informer_set_transform(inf, drv_pod_trim_cached);
  if (drv_informer_start(inf, err) < 0) {
    drv_informer_free(inf);
    return NULL;
  }
  return inf;
}

/* The node's name: --node-name else the host name, lower-cased as kubelet does. */
static char *node_name_of(const drv_agent_opts *opts)
{
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  char *name = drv_strdup(opts->node_name ? opts->node_name : host);
  for (char *c = name; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  return name;
}

int drv_agent_opts_check(const drv_agent_opts *opts, drv_err *err)
{
  _cleanup_free_ char *name = node_name_of(opts);
  const char *why = drv_api_check_dns1123_subdomain(name);
  if (why) {
    if (opts->node_name) return drv_error(err, EINVAL, "--node-name `%s`: %s", opts->node_name, why);
    return drv_error(err, EINVAL, "the host name `%s` is no valid node name (%s); give --node-name", name, why);
  }
  if (opts->bridge) {
    /* IFNAMSIZ - 1; the kernel's other rules for link names too (dev_valid_name) */
    if (!*opts->bridge || strlen(opts->bridge) > 15)
      return drv_error(err, EINVAL, "--bridge `%s`: a link name has 1 to 15 characters", opts->bridge);
    if (!strcmp(opts->bridge, ".") || !strcmp(opts->bridge, "..") || strpbrk(opts->bridge, "/: \t\n\r\v\f"))
      return drv_error(err, EINVAL, "--bridge `%s`: a link name may not be `.` or `..` nor hold `/`, `:` or spaces",
                       opts->bridge);
  }
  if (opts->pod_cidr) {
    struct in_addr net;
    int prefix;
    if (drv_net_parse_cidr(opts->pod_cidr, &net, &prefix, err) < 0) return -1;
    if (prefix < 8 || prefix > 30)
      return drv_error(err, EINVAL, "--pod-cidr `%s`: prefix must be between /8 and /30", opts->pod_cidr);
  }
  drv_ev_config ev;
  if (drv_ev_parse(opts->eviction_hard, &ev, err) < 0) return -1;
  struct sockaddr_in sa;
  if (opts->listen && drv_agent_listen_parse(opts->listen, &sa, err) < 0) return -1;
  return 0;
}

int drv_agent_start(const drv_agent_opts *opts, drv_agent **out, drv_err *err)
{
  if (!opts->data_dir) return drv_error(err, EINVAL, "agent: --data-dir is required");
  /* Bad input fails at once, before anything is written or the wait for the server. */
  if (drv_agent_opts_check(opts, err) < 0) return -1;
  drv_agent *a = drv_calloc(1, sizeof *a);
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
  a->dns_fd = -1;
  a->o = *opts;
  a->start_ms = drv_wall_ms();
  /* Absolute: container bundles and mounts are named by these paths. */
  if (drv_mkdir_p(opts->data_dir, 0711, err) < 0) {
    free(a);
    return -1;
  }
  char *abs = realpath(opts->data_dir, NULL);
  a->data_dir = abs ? abs : drv_strdup(opts->data_dir);
  a->node_name = node_name_of(opts);
  a->bridge = drv_strdup(opts->bridge ? opts->bridge : "drover0");
  a->rt_root = drv_asprintf("%s/agent/runtime", a->data_dir);
  a->pods_dir = drv_asprintf("%s/agent/pods", a->data_dir);
  a->o.pod_cidr = NULL;
  if (opts->pod_cidr) a->pod_cidr = drv_strdup(opts->pod_cidr);
  a->o.pod_cidr = a->pod_cidr;
  if (drv_ev_parse(opts->eviction_hard, &a->ev, err) < 0) goto fail;
  for (int s = 0; s < DRV_EV_NSIGNALS; s++) a->ev_enabled |= a->ev.t[s].set;
  if (drv_mkdir_p(a->rt_root, 0700, err) < 0 || drv_mkdir_p(a->pods_dir, 0700, err) < 0) goto fail;

  if (opts->kubeconfig) {
    if (drv_kubeconfig_load(opts->kubeconfig, NULL, &a->kc, err) < 0) goto fail;
  } else if (opts->server) {
    a->kc.server = drv_strdup(opts->server);
    a->kc.token = opts->token ? drv_strdup(opts->token) : NULL;
    a->kc.ca_file = opts->ca_file ? drv_strdup(opts->ca_file) : NULL;
    a->kc.insecure = !opts->ca_file;
  } else {
    drv_error(err, EINVAL, "agent: --server URL or --kubeconfig FILE is required");
    goto fail;
  }
  a->api = drv_api_client_http_new(&a->kc, "drover-agent", err);
  if (!a->api) goto fail;
  a->rec = drv_recorder_new(a->api, "kubelet");
  drv_recorder_set_host(a->rec, a->node_name);
  a->node_ip = opts->node_ip ? drv_strdup(opts->node_ip) : route_source_ip(a->kc.server);
  if (!a->node_ip) a->node_ip = drv_strdup("127.0.0.1");
  if (drv_image_store_open(a->data_dir, &a->images, err) < 0) goto fail;

  /* The agent's HTTP port first: the Node advertises it. */
  if (drv_agent_httpd_start(a, err) < 0) goto fail;
  node_event(a, "Starting", "Starting kubelet.");
  /* The server may come up after the agent (or be briefly away): keep trying while it does
   * not answer at all; an answer that refuses the Node is an error. */
  for (int tries = 0;; tries++) {
    int r = register_node(a, err);
    if (r == 0) break;
    if (r != DRV_API_ETRANSPORT || opts->register_timeout_s <= 0 ||
        tries * 1000 >= opts->register_timeout_s * 1000)
      goto fail;
    if (tries == 0) drv_log_warn("agent: %s; retrying", err->msg);
    /* `drover agent` blocks SIGINT/SIGTERM to wait for them: honour one sent meanwhile. */
    sigset_t pend;
    if (sigpending(&pend) == 0 && (sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM)))
      goto fail;
    sleep(1);
  }
  if (!a->pod_cidr) wait_pod_cidr(a);
  a->o.pod_cidr = a->pod_cidr;
  if (a->pod_cidr) {
    _cleanup_free_ char *ipam_dir = drv_asprintf("%s/agent/ipam", a->data_dir);
    if (drv_ipam_open(ipam_dir, a->pod_cidr, &a->ipam, err) < 0 ||
        drv_podnet_bridge_setup(a->bridge, drv_ipam_gateway(a->ipam), drv_ipam_prefix(a->ipam), err) < 0)
      goto fail;
    a->network = true;
  }
  drv_pods_restore(a);
  {
    _cleanup_free_ char *fs = drv_asprintf("spec.nodeName=%s", a->node_name);
    a->pod_inf = informer(a, &pods_ref, fs, err);
  }
  if (!a->pod_inf) goto fail;
  if (a->network) {
    drv_api_ref svc = {.version = "v1", .resource = "services"};
    drv_api_ref eps = {.version = "v1", .resource = "endpoints"};
    if (!(a->node_inf = informer(a, &nodes_ref, NULL, err))) goto fail;
    if (!(a->svc_inf = informer(a, &svc, NULL, err))) goto fail;
    if (!(a->ep_inf = informer(a, &eps, NULL, err))) goto fail;
    /* Cluster DNS on the bridge address; pods without it still run (names just do not resolve). */
    drv_err derr;
    if (drv_dns_start(a, drv_ipam_gateway(a->ipam), &derr) < 0) drv_log_warn("%s", derr.msg);
  }
  if (pthread_create(&a->worker, NULL, worker_thread, a) != 0 ||
      pthread_create(&a->lease, NULL, lease_thread, a) != 0 ||
      pthread_create(&a->metrics_thr, NULL, drv_agent_metrics_thread, a) != 0) {
    drv_error(err, errno, "agent: start threads");
    a->stop = true;
    goto fail;
  }
  a->threads_started = true;
  drv_log_info("agent: node %s registered (InternalIP %s, port %d, pod CIDR %s)", a->node_name,
               a->node_ip, a->port, a->pod_cidr ? a->pod_cidr : "none");
  *out = a;
  return 0;
fail:
  a->stop = true;
  drv_dns_stop(a);
  drv_agent_httpd_stop(a);
  agent_free(a);
  return -1;
}

void drv_agent_stop(drv_agent *a)
{
  if (!a) return;
  pthread_mutex_lock(&a->lock);
  a->stop = true;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  if (a->threads_started) {
    pthread_join(a->worker, NULL);
    pthread_join(a->lease, NULL);
    pthread_join(a->metrics_thr, NULL);
  }
  drv_dns_stop(a);
  drv_agent_httpd_stop(a);
  drv_pod_pulls_wait();
  agent_free(a);
}

int drv_agent_run(const drv_agent_opts *opts, drv_err *err)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  drv_agent *a = NULL;
  if (drv_agent_start(opts, &a, err) < 0) return -1;
  int sig = 0;
  sigwait(&set, &sig);
  drv_log_info("agent: signal %d, stopping (containers keep running)", sig);
  drv_agent_stop(a);
  return 0;
}

int drv_agent_cleanup_network(const drv_agent_opts *opts, drv_err *err)
{
  if (!opts->data_dir) return drv_error(err, EINVAL, "agent: --data-dir is required");
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  _cleanup_free_ char *node = drv_strdup(opts->node_name ? opts->node_name : host);
  for (char *c = node; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  _cleanup_free_ char *dir = realpath(opts->data_dir, NULL);
  if (!dir) return drv_error(err, errno, "agent: data dir `%s`", opts->data_dir);
  char owner[DRV_SVC_OWNER_LEN + 1];
  drv_svc_owner(node, dir, owner);
  return drv_svc_cleanup(owner, err);
}
