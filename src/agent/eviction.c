#include "agent/eviction.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "agent/internal.h"
#include "agent/podcgroup.h"
#include "api/object.h"
#include "api/quantity.h"
#include "api/recorder.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/cgroup.h"

/* kubelet's --eviction-pressure-transition-period default: a condition stays True this long
 * after the threshold was last crossed, so that it does not flap. */
#define PRESSURE_HOLD_MS (5LL * 60 * 1000)

static const char *const names[DRV_EV_NSIGNALS] = {
    "memory.available",  "nodefs.available",   "nodefs.inodesFree",
    "imagefs.available", "imagefs.inodesFree", "pid.available",
};

const char *drv_ev_signal_name(drv_ev_signal s)
{
  return (unsigned)s < DRV_EV_NSIGNALS ? names[s] : "?";
}

static char *trim(char *s)
{
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
  return s;
}

int drv_ev_parse(const char *spec, drv_ev_config *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  if (!spec) spec = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%";
  _cleanup_free_ char *copy = drv_strdup(spec);
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *it = trim(item);
    if (!*it) continue;
    char *lt = strchr(it, '<');
    if (!lt)
      return drv_error(err, EINVAL, "--eviction-hard `%s`: expected SIGNAL<QUANTITY or SIGNAL<PERCENT%% "
                                    "(only < is supported)", it);
    *lt = '\0';
    char *name = trim(it), *val = trim(lt + 1);
    int s = -1;
    for (int i = 0; i < DRV_EV_NSIGNALS; i++)
      if (!strcmp(name, names[i])) s = i;
    if (s < 0)
      return drv_error(err, EINVAL, "--eviction-hard: unknown signal `%s` (memory.available, nodefs.available, "
                                    "nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available)", name);
    if (out->t[s].set) return drv_error(err, EINVAL, "--eviction-hard: signal `%s` given twice", name);
    drv_ev_threshold *t = &out->t[s];
    size_t n = strlen(val);
    if (n && val[n - 1] == '%') {
      char *end = NULL;
      val[n - 1] = '\0';
      errno = 0;
      double pct = strtod(val, &end);
      if (!*val || errno || !end || *end || !isfinite(pct) || pct < 0 || pct > 100)
        return drv_error(err, EINVAL, "--eviction-hard `%s<%s%%`: percentage must be between 0%% and 100%%", name, val);
      *t = (drv_ev_threshold){.set = true, .percent = true, .pct = pct};
    } else {
      int64_t q = drv_quantity_parse_value(val);
      if (!*val || q < 0)
        return drv_error(err, EINVAL, "--eviction-hard `%s<%s`: `%s` is not a quantity", name, val, val);
      *t = (drv_ev_threshold){.set = true, .quantity = q};
    }
  }
  return 0;
}

int drv_ev_parse_duration(const char *s, long long *ms, drv_err *err)
{
  static const struct {
    const char *unit;
    double ms;
  } units[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
  const char *p = s;
  double total = 0;
  if (!strcmp(s, "0")) {
    *ms = 0;
    return 0;
  }
  while (*p) {
    char *end = NULL;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno || v < 0 || !isfinite(v)) goto bad;
    p = end;
    size_t u = 0;
    while (u < DRV_ARRAY_LEN(units) && strncmp(p, units[u].unit, strlen(units[u].unit))) u++;
    if (u == DRV_ARRAY_LEN(units)) goto bad;
    total += v * units[u].ms;
    p += strlen(units[u].unit);
  }
  if (p == s || total > 1e15) goto bad;
  *ms = (long long)total;
  return 0;
bad:
  return drv_error(err, EINVAL, "duration `%s`: expected a number with a unit (h, m, s, ms), e.g. 5m0s", s);
}

int64_t drv_ev_threshold_value(const drv_ev_threshold *t, int64_t capacity)
{
  if (!t->set) return 0;
  if (!t->percent) return t->quantity;
  return (int64_t)((double)capacity * t->pct / 100.0);
}

bool drv_ev_crossed(const drv_ev_threshold *t, int64_t available, int64_t capacity)
{
  return t->set && available < drv_ev_threshold_value(t, capacity);
}

static int rank_cmp(const void *x, const void *y)
{
  const drv_ev_candidate *a = x, *b = y;
  bool ea = a->usage > a->request, eb = b->usage > b->request;
  if (ea != eb) return ea ? -1 : 1;
  if (a->priority != b->priority) return a->priority < b->priority ? -1 : 1;
  int64_t da = a->usage - a->request, db = b->usage - b->request;
  if (da != db) return da > db ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

void drv_ev_rank(drv_ev_candidate *c, size_t n)
{
  if (n > 1) qsort(c, n, sizeof *c, rank_cmp);
}

char *drv_ev_format_bytes(int64_t v)
{
  static const char *const suf[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (v <= 0 || v % 1024) return drv_asprintf("%" PRId64, v);
  int k = -1;
  while (k + 1 < (int)DRV_ARRAY_LEN(suf) && v % 1024 == 0) {
    v /= 1024;
    k++;
  }
  return drv_asprintf("%" PRId64 "%s", v, suf[k]);
}

/* ---- measuring ---- */

typedef struct obs {
  bool known;
  int64_t available, capacity;
} obs;

static void observe_memory(obs *o)
{
  FILE *f = fopen("/proc/meminfo", "re");
  if (!f) return;
  char line[256];
  long long total = -1, avail = -1;
  while (fgets(line, sizeof line, f)) {
    sscanf(line, "MemTotal: %lld kB", &total);
    sscanf(line, "MemAvailable: %lld kB", &avail);
  }
  fclose(f);
  if (total < 0 || avail < 0) return;
  *o = (obs){true, avail * 1024, total * 1024};
}

static void observe_fs(const char *path, obs *bytes, obs *inodes)
{
  struct statvfs v;
  if (statvfs(path, &v) != 0) return;
  *bytes = (obs){true, (int64_t)v.f_bavail * (int64_t)v.f_frsize, (int64_t)v.f_blocks * (int64_t)v.f_frsize};
  if (v.f_files > 0) *inodes = (obs){true, (int64_t)v.f_favail, (int64_t)v.f_files};
}

static void observe_pids(obs *o)
{
  long long max = 0;
  FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
  if (!f) return;
  if (fscanf(f, "%lld", &max) != 1) max = 0;
  fclose(f);
  f = fopen("/proc/loadavg", "re");
  if (!f) return;
  double l1, l5, l15;
  long long running, total;
  int n = fscanf(f, "%lf %lf %lf %lld/%lld", &l1, &l5, &l15, &running, &total);
  fclose(f);
  if (n != 5 || max <= 0) return;
  *o = (obs){true, max - total, max};
}

static void observe(drv_agent *a, obs o[DRV_EV_NSIGNALS])
{
  memset(o, 0, sizeof(obs) * DRV_EV_NSIGNALS);
  observe_memory(&o[DRV_EV_MEMORY_AVAILABLE]);
  observe_fs(a->data_dir, &o[DRV_EV_NODEFS_AVAILABLE], &o[DRV_EV_NODEFS_INODES_FREE]);
  /* The image store lives in the data dir too (image/store.h): the same filesystem. */
  o[DRV_EV_IMAGEFS_AVAILABLE] = o[DRV_EV_NODEFS_AVAILABLE];
  o[DRV_EV_IMAGEFS_INODES_FREE] = o[DRV_EV_NODEFS_INODES_FREE];
  observe_pids(&o[DRV_EV_PID_AVAILABLE]);
}

/* ---- per pod usage ---- */

static int64_t cgroup_working_set(const char *path)
{
  drv_cgroup_system *sys;
  drv_err err;
  drv_cgroup *cg;
  if (!path || drv_cgroup_system_get(&sys, &err) < 0 || drv_cgroup_open(sys, path, &cg, &err) < 0) return 0;
  drv_cgroup_stats st = {0};
  int64_t ws = drv_cgroup_stats_read(cg, &st, &err) == 0 && (st.have & DRV_CGROUP_STATS_MEMORY)
                   ? (int64_t)st.memory.working_set : 0;
  drv_cgroup_free(cg);
  return ws;
}

static __thread int64_t du_total;
static int du_add(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
  (void)path, (void)flag, (void)f;
  du_total += (int64_t)sb->st_blocks * 512;
  return 0;
}

/* Disk the pod uses on the node's filesystem: its dir (logs, emptyDirs, writable layers),
 * not crossing into mounts (image layers, volumes of the host). */
static int64_t pod_disk_usage(drv_pod *p)
{
  du_total = 0;
  nftw(p->dir, du_add, 16, FTW_PHYS | FTW_MOUNT);
  return du_total;
}

/* Summed requests of one resource over the pod's app containers. */
static int64_t pod_request(drv_pod *p, const char *res)
{
  int64_t sum = 0;
  size_t i;
  json_t *c;
  json_array_foreach(drv_json_get(p->obj, "spec.containers"), i, c)
  {
    const char *r = json_string_value(json_object_get(drv_json_get(c, "resources.requests"), res));
    if (!r) r = json_string_value(json_object_get(drv_json_get(c, "resources.limits"), res));
    int64_t v = r ? drv_quantity_parse_value(r) : 0;
    if (v > 0) sum += v;
  }
  return sum;
}

/* ---- evicting ---- */

static void set_str(char **dst, const char *v)
{
  free(*dst);
  *dst = v ? drv_strdup(v) : NULL;
}

static void pod_event(drv_agent *a, drv_pod *p, const char *type, const char *reason, const char *msg)
{
  json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name", p->name, "namespace", p->ns, "uid", p->uid);
  drv_recorder_event(a->rec, obj, "v1", "Pod", type, reason, "%s", msg);
  json_decref(obj);
}

/* Marks p Failed/Evicted with msg, kills and removes everything it runs (a hard threshold has
 * no grace period). The entry stays, reporting that status, until the server's object goes. */
static void evict(drv_agent *a, drv_pod *p, const char *msg)
{
  drv_log_warn("pod %s/%s: evicted: %s", p->ns, p->name, msg);
  p->evicted = true;
  set_str(&p->reason, "Evicted");
  set_str(&p->message, msg);
  pod_event(a, p, "Warning", "Evicted", msg);
  long long now = drv_wall_ms();
  drv_ctr *tables[2] = {p->init, p->ctrs};
  size_t counts[2] = {p->n_init, p->n_ctrs};
  for (int t = 0; t < 2; t++)
    for (size_t i = 0; i < counts[t]; i++) {
      drv_ctr *c = &tables[t][i];
      if (c->kind == DRV_CS_RUNNING || c->rt_id) {
        set_str(&c->term_reason, "Error");
        set_str(&c->term_message, NULL);
        c->term = (drv_cs_term){.exit_code = 137, .reason = c->term_reason, .started_ms = c->started_ms,
                                .finished_ms = now, .container_id = c->cid[0] ? c->cid : NULL};
        c->kind = DRV_CS_TERMINATED;
      }
      c->ready = false;
      c->done = true;
    }
  drv_pod_cleanup(a, p);
  p->gone = false; /* kept as a tombstone reporting the status (see above) */
  p->sandbox_pid = 0;
  p->next_sync_ms = 0;
}

static bool pod_active(const drv_pod *p)
{
  return !p->gone && !p->evicted && !p->terminating && p->obj && !drv_obj_deletion_timestamp(p->obj) &&
         p->sandbox_pid > 0;
}

/* Whether two pods' hostPorts clash (same port and protocol, overlapping hostIP), as the
 * scheduler's NodePorts filter judges it. */
static bool ports_clash(const json_t *a, const json_t *b)
{
  size_t i, j, k, l;
  json_t *ca, *cb, *pa, *pb;
  json_array_foreach(drv_json_get(a, "spec.containers"), i, ca)
  json_array_foreach(json_object_get(ca, "ports"), j, pa)
  {
    long long hp = drv_json_get_int(pa, "hostPort", 0);
    if (hp <= 0) continue;
    const char *proto = drv_json_get_str(pa, "protocol") ?: "TCP", *ip = drv_json_get_str(pa, "hostIP") ?: "";
    json_array_foreach(drv_json_get(b, "spec.containers"), k, cb)
    json_array_foreach(json_object_get(cb, "ports"), l, pb)
    {
      const char *pr = drv_json_get_str(pb, "protocol") ?: "TCP", *ipb = drv_json_get_str(pb, "hostIP") ?: "";
      bool any_a = !*ip || !strcmp(ip, "0.0.0.0"), any_b = !*ipb || !strcmp(ipb, "0.0.0.0");
      if (drv_json_get_int(pb, "hostPort", 0) == hp && !strcasecmp(proto, pr) && (any_a || any_b || !strcmp(ip, ipb)))
        return true;
    }
  }
  return false;
}

static void reject(drv_agent *a, drv_pod *p, const char *reason, const char *msg)
{
  drv_log_warn("pod %s/%s: rejected: %s", p->ns, p->name, msg);
  p->evicted = true;
  set_str(&p->reason, reason);
  set_str(&p->message, msg);
  pod_event(a, p, "Warning", reason, msg);
  for (size_t i = 0; i < p->n_ctrs; i++) p->ctrs[i].done = true;
}

bool drv_pod_admission_rejects(drv_agent *a, drv_pod *p)
{
  if (p->evicted) return true;
  if (p->sandbox_pid > 0 || !p->obj) return false;
  for (size_t i = 0; i < p->n_ctrs; i++)
    if (p->ctrs[i].rt_id || p->ctrs[i].has_last || p->ctrs[i].kind != DRV_CS_WAITING) return false;
  /* kubelet's NodePorts admission: a hostPort another pod here holds (a pod bound to the node
   * directly, past the scheduler) */
  for (size_t i = 0; i < a->pods.n; i++) {
    drv_pod *o = a->pods.v[i];
    if (o == p || o->gone || o->evicted || o->terminating || !o->obj || o->sandbox_pid <= 0) continue;
    if (ports_clash(p->obj, o->obj)) {
      reject(a, p, "NodePorts",
             "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports");
      return true;
    }
  }
  if (!a->ev_enabled) return false;
  bool mem = __atomic_load_n(&a->pressure[0], __ATOMIC_RELAXED);
  bool disk = __atomic_load_n(&a->pressure[1], __ATOMIC_RELAXED);
  bool pid = __atomic_load_n(&a->pressure[2], __ATOMIC_RELAXED);
  const char *qos = drv_pod_qos_class(json_object_get(p->obj, "spec"));
  /* kubelet's admission: no pod under disk pressure; no BestEffort pod under memory pressure. */
  const char *cond = disk ? "DiskPressure" : mem && !strcmp(qos, "BestEffort") ? "MemoryPressure" : pid ? "PIDPressure" : NULL;
  if (!cond) return false;
  _cleanup_free_ char *msg = drv_asprintf("The node had condition: [%s]. ", cond);
  reject(a, p, "Evicted", msg);
  return true;
}

/* Evicts the first pod in kubelet's order for the starved signal s. */
static void evict_one(drv_agent *a, drv_ev_signal s, const obs *o)
{
  bool memory = s == DRV_EV_MEMORY_AVAILABLE;
  bool pids = s == DRV_EV_PID_AVAILABLE;
  const char *res = memory ? "memory" : pids ? "pids" : "ephemeral-storage";
  drv_ev_candidate *c = drv_calloc(a->pods.n + 1, sizeof *c);
  size_t n = 0;
  for (size_t i = 0; i < a->pods.n; i++) {
    drv_pod *p = a->pods.v[i];
    if (!pod_active(p)) continue;
    /* (a pod re-adopted after a restart learns its group's path here) */
    _cleanup_free_ char *cgpath = drv_pod_cgroup_parent(p);
    int64_t usage = memory ? cgroup_working_set(cgpath) : pids ? 0 : pod_disk_usage(p);
    if (pids) {
      drv_cgroup_system *sys;
      drv_err err;
      drv_cgroup *cg;
      if (drv_cgroup_system_get(&sys, &err) == 0 && drv_cgroup_open(sys, cgpath, &cg, &err) == 0) {
        drv_cgroup_stats st = {0};
        if (drv_cgroup_stats_read(cg, &st, &err) == 0) usage = (int64_t)st.pids.current;
        drv_cgroup_free(cg);
      }
    }
    c[n++] = (drv_ev_candidate){.usage = usage, .request = pids ? 0 : pod_request(p, res),
                                .priority = (int32_t)drv_json_get_int(p->obj, "spec.priority", 0), .index = i};
  }
  drv_ev_rank(c, n);
  if (n) {
    drv_pod *p = a->pods.v[c[0].index];
    int64_t thr = drv_ev_threshold_value(&a->ev.t[s], o[s].capacity);
    bool bytes = s == DRV_EV_MEMORY_AVAILABLE || s == DRV_EV_NODEFS_AVAILABLE || s == DRV_EV_IMAGEFS_AVAILABLE;
    _cleanup_free_ char *tq = bytes ? drv_ev_format_bytes(thr) : drv_asprintf("%" PRId64, thr);
    _cleanup_free_ char *av = bytes ? drv_ev_format_bytes(o[s].available) : drv_asprintf("%" PRId64, o[s].available);
    drv_buf msg = DRV_BUF_INIT;
    drv_buf_printf(&msg, "The node was low on resource: %s. Threshold quantity: %s, available: %s. ", res, tq, av);
    if (memory) {
      for (size_t i = 0; i < p->n_ctrs; i++) {
        drv_ctr *x = &p->ctrs[i];
        if (!x->rt_id) continue;
        _cleanup_free_ char *cg = drv_ctr_cgroup_path(p, x->rt_id);
        _cleanup_free_ char *use = drv_ev_format_bytes(cgroup_working_set(cg));
        const char *rq = json_string_value(json_object_get(drv_json_get(x->spec, "resources.requests"), "memory"));
        drv_buf_printf(&msg, "Container %s was using %s, request is %s, has larger consumption of memory. ", x->name,
                       use, rq ? rq : "0");
      }
    }
    evict(a, p, msg.data);
    drv_buf_free(&msg);
  }
  free(c);
}

void drv_agent_eviction_check(drv_agent *a)
{
  if (!a->ev_enabled) return;
  obs o[DRV_EV_NSIGNALS];
  observe(a, o);
  long long now = drv_now_ms();
  int starved = -1;
  for (int s = 0; s < DRV_EV_NSIGNALS; s++) {
    if (!o[s].known || !drv_ev_crossed(&a->ev.t[s], o[s].available, o[s].capacity)) continue;
    if (starved < 0) starved = s;
    int cond = s == DRV_EV_MEMORY_AVAILABLE ? 0 : s == DRV_EV_PID_AVAILABLE ? 2 : 1;
    a->pressure_at[cond] = now;
  }
  for (int k = 0; k < 3; k++) {
    long long hold = a->o.eviction_transition_ms > 0 ? a->o.eviction_transition_ms : PRESSURE_HOLD_MS;
    bool on = a->pressure_at[k] && now - a->pressure_at[k] <= hold;
    if (on != __atomic_load_n(&a->pressure[k], __ATOMIC_RELAXED)) {
      static const char *const cn[] = {"MemoryPressure", "DiskPressure", "PIDPressure"};
      drv_log_warn("node %s: %s %s", a->node_name, cn[k], on ? "on" : "off");
      __atomic_store_n(&a->pressure[k], on, __ATOMIC_RELAXED);
      __atomic_store_n(&a->node_status_dirty, true, __ATOMIC_RELAXED);
      pthread_cond_broadcast(&a->cond); /* the lease thread posts the Node's conditions */
    }
  }
  if (starved < 0) return;
  /* One pod at a time, as kubelet: the next only once the last one is gone (it is, here: the
   * kill is synchronous) and the next observation still says so. */
  evict_one(a, (drv_ev_signal)starved, o);
}
