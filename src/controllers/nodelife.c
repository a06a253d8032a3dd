/* Node lifecycle: a node whose Lease (kube-node-lease/<node>) has not been renewed for
 * node_monitor_grace_ms (5 s) gets Ready=Unknown and the node.kubernetes.io/unreachable
 * NoExecute taint; one that reports Ready=False gets node.kubernetes.io/not-ready. Pods on a
 * tainted node are marked for deletion after pod_eviction_ms (10 s) — or after their own
 * tolerationSeconds for that taint, or never when they tolerate it for ever — so their
 * ReplicaSets replace them elsewhere at once; when the node comes back its agent finds them
 * being deleted and stops them, so nothing runs twice. Renewal is judged by when this
 * process saw the lease change (not by renewTime), so clocks need not agree. Pods bound to a
 * node that no longer exists are removed. A node reporting MemoryPressure, DiskPressure or
 * PIDPressure gets the matching NoSchedule taint while it does (TaintNodesByCondition). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/internal.h"

#define T_UNREACHABLE "node.kubernetes.io/unreachable"
#define T_NOT_READY "node.kubernetes.io/not-ready"

/* TaintNodesByCondition: a node whose agent reports pressure takes no new pods (NoSchedule);
 * the pods there stay (the agent's own eviction deals with them). */
static const char *const pressure_taints[][2] = {
    {"MemoryPressure", "node.kubernetes.io/memory-pressure"},
    {"DiskPressure", "node.kubernetes.io/disk-pressure"},
    {"PIDPressure", "node.kubernetes.io/pid-pressure"},
};

static void touch(drv_ctl *ctl, const char *node)
{
  if (!node) return;
  pthread_mutex_lock(&ctl->node_lock);
  json_t *st = json_object_get(ctl->node_state, node);
  if (!st) {
    st = json_object();
    json_object_set_new(ctl->node_state, node, st);
  }
  json_object_set_new(st, "seen", json_integer(drv_now_ms()));
  pthread_mutex_unlock(&ctl->node_lock);
}

static long long last_seen(drv_ctl *ctl, const char *node)
{
  pthread_mutex_lock(&ctl->node_lock);
  json_t *st = json_object_get(ctl->node_state, node);
  long long t = st ? json_integer_value(json_object_get(st, "seen")) : 0;
  if (!st) {
    /* first sight (a restart of ours): give it a full grace period from now */
    st = json_object();
    t = drv_now_ms();
    json_object_set_new(st, "seen", json_integer(t));
    json_object_set_new(ctl->node_state, node, st);
  }
  pthread_mutex_unlock(&ctl->node_lock);
  return t;
}

static json_t *find_taint(const json_t *node, const char *key)
{
  size_t i;
  json_t *t;
  json_array_foreach(drv_json_get(node, "spec.taints"), i, t)
  {
    const char *k = drv_json_get_str(t, "key"), *e = drv_json_get_str(t, "effect");
    if (k && !strcmp(k, key) && e && !strcmp(e, "NoExecute")) return t;
  }
  return NULL;
}

/* What the node's taints should be: unreachable (lease silent), not-ready (reports not ready)
 * or neither. */
static const char *wanted_taint(drv_ctl *ctl, const json_t *node, bool *silent)
{
  const char *name = drv_obj_name(node);
  *silent = drv_now_ms() - last_seen(ctl, name) > ctl->o.node_monitor_grace_ms;
  if (*silent) return T_UNREACHABLE;
  json_t *c = ctl_condition(node, "Ready");
  const char *st = c ? drv_json_get_str(c, "status") : NULL;
  if (st && !strcmp(st, "False")) return T_NOT_READY;
  return NULL;
}

static bool has_noschedule(const json_t *node, const char *key)
{
  size_t i;
  json_t *t;
  json_array_foreach(drv_json_get(node, "spec.taints"), i, t)
  {
    const char *k = drv_json_get_str(t, "key"), *e = drv_json_get_str(t, "effect");
    if (k && e && !strcmp(k, key) && !strcmp(e, "NoSchedule")) return true;
  }
  return false;
}

static bool pressure_wanted(const json_t *node, size_t k)
{
  json_t *c = ctl_condition(node, pressure_taints[k][0]);
  const char *st = c ? drv_json_get_str(c, "status") : NULL;
  return st && !strcmp(st, "True");
}

void drv_ctl_nodelife_tick(drv_ctl *ctl)
{
  json_t *nodes = drv_informer_list(ctl->nodes, NULL, NULL, NULL);
  size_t i;
  json_t *n;
  json_array_foreach(nodes, i, n)
  {
    bool silent;
    const char *want = wanted_taint(ctl, n, &silent);
    bool has_u = find_taint(n, T_UNREACHABLE) != NULL, has_n = find_taint(n, T_NOT_READY) != NULL;
    bool want_u = want && !strcmp(want, T_UNREACHABLE), want_n = want && !strcmp(want, T_NOT_READY);
    json_t *rc = ctl_condition(n, "Ready");
    const char *rs = rc ? drv_json_get_str(rc, "status") : NULL;
    bool cond_stale = silent && rs && strcmp(rs, "Unknown");
    bool pressure_off = false;
    for (size_t k = 0; k < DRV_ARRAY_LEN(pressure_taints); k++)
      pressure_off |= pressure_wanted(n, k) != has_noschedule(n, pressure_taints[k][1]);
    if (has_u != want_u || has_n != want_n || cond_stale || has_u || has_n || pressure_off)
      drv_workqueue_add(ctl->nodelife.q, drv_obj_name(n));
  }
  json_decref(nodes);
}

/* ms until pod must go because of taint t (added at added_ms), or -1 = never. */
static long long eviction_in(drv_ctl *ctl, const json_t *pod, const json_t *t, long long taint_age_ms)
{
  const char *key = drv_json_get_str(t, "key");
  long long limit = ctl->o.pod_eviction_ms;
  size_t i;
  json_t *tol;
  json_array_foreach(drv_json_get(pod, "spec.tolerations"), i, tol)
  {
    const char *k = drv_json_get_str(tol, "key"), *op = drv_json_get_str(tol, "operator");
    const char *e = drv_json_get_str(tol, "effect");
    bool exists = op && !strcmp(op, "Exists");
    if (e && *e && strcmp(e, "NoExecute")) continue;
    if (k && *k ? strcmp(k, key) : !exists) continue;
    json_t *secs = json_object_get(tol, "tolerationSeconds");
    if (!json_is_integer(secs)) return -1; /* tolerated for ever */
    limit = json_integer_value(secs) * 1000;
    break;
  }
  long long left = limit - taint_age_ms;
  return left < 0 ? 0 : left;
}

static int set_node(drv_ctl *ctl, json_t *node, const char *want, bool silent)
{
  json_t *upd = json_deep_copy(node);
  bool changed = false;
  json_t *taints = drv_json_get(upd, "spec.taints");
  if (!json_is_array(taints)) {
    taints = json_array();
    json_object_set_new(drv_json_obj(upd, "spec"), "taints", taints);
  }
  const char *keys[2] = {T_UNREACHABLE, T_NOT_READY};
  for (int k = 0; k < 2; k++) {
    bool w = want && !strcmp(want, keys[k]);
    bool have = false;
    for (size_t i = 0; i < json_array_size(taints); i++) {
      json_t *t = json_array_get(taints, i);
      const char *tk = drv_json_get_str(t, "key"), *e = drv_json_get_str(t, "effect");
      if (tk && !strcmp(tk, keys[k]) && e && !strcmp(e, "NoExecute")) {
        if (w)
          have = true;
        else {
          json_array_remove(taints, i--);
          changed = true;
        }
      }
    }
    if (w && !have) {
      char now[64];
      ctl_now(now, sizeof now);
      json_array_append_new(taints, json_pack("{s:s, s:s, s:s}", "key", keys[k], "effect", "NoExecute", "timeAdded", now));
      changed = true;
    }
  }
  bool ready_changed = changed;
  for (size_t k = 0; k < DRV_ARRAY_LEN(pressure_taints); k++) {
    bool w = pressure_wanted(node, k);
    if (w == has_noschedule(upd, pressure_taints[k][1])) continue;
    if (w) {
      json_array_append_new(taints, json_pack("{s:s, s:s}", "key", pressure_taints[k][1], "effect", "NoSchedule"));
    } else {
      for (size_t i = 0; i < json_array_size(taints); i++) {
        json_t *t = json_array_get(taints, i);
        const char *tk = drv_json_get_str(t, "key"), *e = drv_json_get_str(t, "effect");
        if (tk && e && !strcmp(tk, pressure_taints[k][1]) && !strcmp(e, "NoSchedule")) json_array_remove(taints, i--);
      }
    }
    changed = true;
  }
  drv_err err;
  drv_api_ref ref = DRV_REF_NODES;
  ref.name = drv_obj_name(node);
  json_t *out = NULL;
  if (changed) {
    int rc = drv_api_update(ctl->c, &ref, upd, &out, &err);
    if (rc < 0) {
      json_decref(upd);
      if (rc == DRV_API_ENOTFOUND) return 0;
      /* a conflict is the agent's heartbeat coming first: retried at once with the new copy */
      if (rc == DRV_API_ECONFLICT) drv_log_debug("node-controller: node %s: %s", drv_obj_name(node), err.msg);
      else drv_log_warn("node-controller: node %s: %s", drv_obj_name(node), err.msg);
      return -1;
    }
    drv_informer_store_hint(ctl->nodes, out);
    if (ready_changed)
      drv_recorder_event(ctl->nodelife.rec, node, "v1", "Node", want ? "Warning" : "Normal",
                         want ? "NodeNotReady" : "NodeReady", want ? "Node %s status is now: NodeNotReady" : "Node %s status is now: NodeReady",
                         drv_obj_name(node));
    json_decref(upd);
    upd = out;
    out = NULL;
  }
  /* a silent node's Ready condition says so (its agent cannot) */
  json_t *rc = ctl_condition(upd, "Ready");
  const char *rs = rc ? drv_json_get_str(rc, "status") : NULL;
  if (silent && (!rs || strcmp(rs, "Unknown"))) {
    json_t *st = json_deep_copy(upd);
    json_t *conds = drv_json_get(st, "status.conditions");
    char now[64];
    ctl_now(now, sizeof now);
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
      json_object_set_new(c, "status", json_string("Unknown"));
      json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
      json_object_set_new(c, "message", json_string("Kubelet stopped posting node status."));
      json_object_set_new(c, "lastTransitionTime", json_string(now));
    }
    if (!json_array_size(conds))
      ctl_set_condition(st, "Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", true);
    if (drv_api_update_status(ctl->c, &ref, st, &out, &err) == 0) drv_informer_store_hint(ctl->nodes, out);
    json_decref(out);
    json_decref(st);
  }
  json_decref(upd);
  return 0;
}

int drv_ctl_nodelife_sync(drv_ctl *ctl, const char *name)
{
  json_t *node = drv_informer_get(ctl->nodes, NULL, name);
  if (!node) return 0;
  bool silent;
  const char *want = wanted_taint(ctl, node, &silent);
  int ret = set_node(ctl, node, want, silent);
  json_decref(node);
  if (ret < 0) return ret;
  node = drv_informer_get(ctl->nodes, NULL, name);
  if (!node) return 0;
  /* evictions */
  long long next = 0;
  const char *keys[2] = {T_UNREACHABLE, T_NOT_READY};
  for (int k = 0; k < 2; k++) {
    json_t *t = find_taint(node, keys[k]);
    if (!t) continue;
    long long age = ctl_age_ms(drv_json_get_str(t, "timeAdded"));
    if (age < 0) age = 0;
    json_t *pods = drv_informer_list(ctl->pods, NULL, NULL, NULL);
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
      const char *pn = drv_json_get_str(p, "spec.nodeName");
      if (!pn || strcmp(pn, name) || drv_obj_deletion_timestamp(p) || !ctl_pod_active(p)) continue;
      long long left = eviction_in(ctl, p, t, age);
      if (left < 0) continue;
      if (left > 0) {
        if (!next || left < next) next = left;
        continue;
      }
      drv_api_ref ref = DRV_REF_PODS;
      ref.ns = drv_obj_namespace(p);
      ref.name = drv_obj_name(p);
      drv_api_delete_opts o = {.precondition_uid = drv_obj_uid(p), .grace_period_seconds = -1};
      drv_err err;
      int rc = drv_api_delete(ctl->c, &ref, &o, NULL, &err);
      if (rc < 0 && rc != DRV_API_ENOTFOUND) {
        ret = -1;
        continue;
      }
      drv_recorder_event(ctl->nodelife.rec, p, "v1", "Pod", "Normal", "TaintManagerEviction",
                         "Marking for deletion Pod %s/%s", ref.ns, ref.name);
    }
    json_decref(pods);
  }
  json_decref(node);
  if (ret < 0) return ret;
  return next > 0 ? (int)next + 50 : 0;
}

static void lease_seen(void *ud, json_t *o)
{
  touch(ud, drv_obj_name(o));
}
static void lease_upd(void *ud, json_t *old, json_t *o)
{
  /* resyncs deliver the same object: only a new renewal counts */
  if (old != o && !json_equal(drv_json_get(old, "spec"), drv_json_get(o, "spec"))) touch(ud, drv_obj_name(o));
}

static void node_add(void *ud, json_t *o)
{
  touch(ud, drv_obj_name(o));
}
static void node_upd(void *ud, json_t *old, json_t *o)
{
  /* a Ready heartbeat from the agent also shows it is alive */
  json_t *a = ctl_condition(old, "Ready"), *b = ctl_condition(o, "Ready");
  const char *ha = a ? drv_json_get_str(a, "lastHeartbeatTime") : NULL;
  const char *hb = b ? drv_json_get_str(b, "lastHeartbeatTime") : NULL;
  const char *sb = b ? drv_json_get_str(b, "status") : NULL;
  if (hb && (!ha || strcmp(ha, hb)) && sb && strcmp(sb, "Unknown")) touch(ud, drv_obj_name(o));
}

/* Pods bound to a node that is gone are removed (the pod garbage collector's job). */
static void node_del(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  const char *name = drv_obj_name(o);
  json_t *pods = drv_informer_list(ctl->pods, NULL, NULL, NULL);
  size_t i;
  json_t *p;
  json_array_foreach(pods, i, p)
  {
    const char *pn = drv_json_get_str(p, "spec.nodeName");
    if (!pn || strcmp(pn, name)) continue;
    drv_api_ref ref = DRV_REF_PODS;
    ref.ns = drv_obj_namespace(p);
    ref.name = drv_obj_name(p);
    drv_api_delete_opts opt = {.precondition_uid = drv_obj_uid(p), .grace_period_seconds = 0};
    drv_err err;
    drv_api_delete(ctl->c, &ref, &opt, NULL, &err);
  }
  json_decref(pods);
}

void drv_ctl_nodelife_register(drv_ctl *ctl)
{
  drv_informer_add_handlers(ctl->leases, &(drv_informer_handlers){lease_seen, lease_upd, NULL, ctl});
  drv_informer_add_handlers(ctl->nodes, &(drv_informer_handlers){node_add, node_upd, node_del, ctl});
}
