/* Helpers shared by the controllers: time, owner references, pod readiness, conditions,
 * deletion expectations, and the worker loop. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "api/selector.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/internal.h"

const drv_api_ref DRV_REF_PODS = {.version = "v1", .resource = "pods"};
const drv_api_ref DRV_REF_RS = {.group = "apps", .version = "v1", .resource = "replicasets"};
const drv_api_ref DRV_REF_DEPLOY = {.group = "apps", .version = "v1", .resource = "deployments"};
const drv_api_ref DRV_REF_NODES = {.version = "v1", .resource = "nodes"};
const drv_api_ref DRV_REF_NS = {.version = "v1", .resource = "namespaces"};
const drv_api_ref DRV_REF_SVC = {.version = "v1", .resource = "services"};
const drv_api_ref DRV_REF_EP = {.version = "v1", .resource = "endpoints"};
const drv_api_ref DRV_REF_EPS = {.group = "discovery.k8s.io", .version = "v1", .resource = "endpointslices"};
const drv_api_ref DRV_REF_LEASES = {.group = "coordination.k8s.io", .version = "v1", .resource = "leases"};

void ctl_now(char *buf, size_t size)
{
  drv_api_time_format(time(NULL), buf, size);
}

long long ctl_age_ms(const char *s)
{
  time_t t;
  if (!s || drv_api_time_parse(s, &t) < 0) return LLONG_MIN / 2;
  return drv_wall_ms() - (long long)t * 1000;
}

json_t *ctl_controller_ref(const json_t *obj)
{
  size_t i;
  json_t *r;
  json_array_foreach(drv_json_get(obj, "metadata.ownerReferences"), i, r) if (json_is_true(json_object_get(r, "controller"))) return r;
  return NULL;
}

bool ctl_owned_by(const json_t *obj, const char *uid)
{
  json_t *r = ctl_controller_ref(obj);
  const char *u = r ? json_string_value(json_object_get(r, "uid")) : NULL;
  return u && uid && !strcmp(u, uid);
}

const char *ctl_index_controller_uid(const json_t *obj)
{
  json_t *r = ctl_controller_ref(obj);
  const char *u = r ? json_string_value(json_object_get(r, "uid")) : NULL;
  return u ? u : "";
}

json_t *ctl_owner_ref(const char *api_version, const char *kind, const json_t *owner, bool controller)
{
  json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", api_version, "kind", kind, "name",
                        drv_obj_name(owner), "uid", drv_obj_uid(owner) ? drv_obj_uid(owner) : "");
  if (controller) {
    json_object_set_new(r, "controller", json_true());
    json_object_set_new(r, "blockOwnerDeletion", json_true());
  }
  return r;
}

bool ctl_pod_active(const json_t *pod)
{
  const char *ph = drv_json_get_str(pod, "status.phase");
  if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))) return false;
  return !drv_obj_deletion_timestamp(pod);
}

json_t *ctl_condition(const json_t *obj, const char *type)
{
  size_t i;
  json_t *c;
  json_array_foreach(drv_json_get(obj, "status.conditions"), i, c)
  {
    const char *t = drv_json_get_str(c, "type");
    if (t && !strcmp(t, type)) return c;
  }
  return NULL;
}

bool ctl_pod_ready(const json_t *pod)
{
  json_t *c = ctl_condition(pod, "Ready");
  const char *st = c ? drv_json_get_str(c, "status") : NULL;
  return st && !strcmp(st, "True");
}

bool ctl_pod_available(const json_t *pod, long long min_ready_s, long long *wait_ms)
{
  if (wait_ms) *wait_ms = 0;
  if (!ctl_pod_ready(pod)) return false;
  if (min_ready_s <= 0) return true;
  json_t *c = ctl_condition(pod, "Ready");
  long long age = ctl_age_ms(drv_json_get_str(c, "lastTransitionTime"));
  if (age < 0 && age > LLONG_MIN / 4) age = 0; /* clock skew: just became ready */
  if (age <= LLONG_MIN / 4) return true;      /* no transition time: treat as long ready */
  if (age >= min_ready_s * 1000) return true;
  if (wait_ms) *wait_ms = min_ready_s * 1000 - age;
  return false;
}

void ctl_set_condition(json_t *obj, const char *type, const char *status, const char *reason,
                       const char *message, bool keep_update_time_if_same)
{
  json_t *st = drv_json_obj(obj, "status");
  json_t *conds = json_object_get(st, "conditions");
  if (!json_is_array(conds)) {
    conds = json_array();
    json_object_set_new(st, "conditions", conds);
  }
  char now[64];
  ctl_now(now, sizeof now);
  json_t *c = ctl_condition(obj, type);
  if (c) {
    const char *os = drv_json_get_str(c, "status"), *orr = drv_json_get_str(c, "reason");
    bool same_status = os && !strcmp(os, status);
    if (same_status && orr && reason && !strcmp(orr, reason)) {
      /* Kubernetes keeps the condition, but a progressing rollout refreshes lastUpdateTime */
      if (!keep_update_time_if_same) {
        json_object_set_new(c, "lastUpdateTime", json_string(now));
        json_object_set_new(c, "message", json_string(message));
      }
      return;
    }
    json_object_set_new(c, "status", json_string(status));
    json_object_set_new(c, "reason", json_string(reason));
    json_object_set_new(c, "message", json_string(message));
    json_object_set_new(c, "lastUpdateTime", json_string(now));
    if (!same_status) json_object_set_new(c, "lastTransitionTime", json_string(now));
    return;
  }
  json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status",
                                         status, "lastUpdateTime", now, "lastTransitionTime", now,
                                         "reason", reason, "message", message));
}

void ctl_remove_condition(json_t *obj, const char *type)
{
  json_t *conds = drv_json_get(obj, "status.conditions");
  for (size_t i = 0; i < json_array_size(conds); i++) {
    const char *t = drv_json_get_str(json_array_get(conds, i), "type");
    if (t && !strcmp(t, type)) {
      json_array_remove(conds, i);
      return;
    }
  }
}

char *ctl_key(const json_t *obj)
{
  return drv_api_key(drv_obj_namespace(obj), drv_obj_name(obj));
}

/* ---- expectations ---- */

void ctl_expect_deleted(drv_ctl *ctl, const char *uid)
{
  if (!uid) return;
  pthread_mutex_lock(&ctl->exp_lock);
  if (json_object_size(ctl->deleted_uids) > 10000) {
    /* deletions never seen (missed events): forget the old ones */
    long long now = drv_now_ms();
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(ctl->deleted_uids, tmp, k, v) if (now - json_integer_value(v) > 60000) json_object_del(ctl->deleted_uids, k);
  }
  json_object_set_new(ctl->deleted_uids, uid, json_integer(drv_now_ms()));
  pthread_mutex_unlock(&ctl->exp_lock);
}

bool ctl_is_expected_deleted(drv_ctl *ctl, const char *uid)
{
  if (!uid) return false;
  pthread_mutex_lock(&ctl->exp_lock);
  json_t *v = json_object_get(ctl->deleted_uids, uid);
  bool r = v && drv_now_ms() - json_integer_value(v) < 60000;
  pthread_mutex_unlock(&ctl->exp_lock);
  return r;
}

void ctl_deleted_seen(drv_ctl *ctl, const char *uid)
{
  if (!uid) return;
  pthread_mutex_lock(&ctl->exp_lock);
  json_object_del(ctl->deleted_uids, uid);
  pthread_mutex_unlock(&ctl->exp_lock);
}

/* ---- loops ---- */

void ctl_loop_init(drv_ctl *ctl, ctl_loop *l, const char *name, int (*sync)(drv_ctl *, const char *))
{
  l->name = name;
  l->ctl = ctl;
  l->sync = sync;
  l->q = drv_workqueue_new();
  l->rec = drv_recorder_new(ctl->c, name);
}

static void *worker(void *arg)
{
  ctl_loop *l = arg;
  while (!l->ctl->stop) {
    if (!drv_leader_is_leader(l->ctl->leader)) {
      usleep(100 * 1000); /* keys wait in the queue until this instance leads */
      continue;
    }
    char *key = drv_workqueue_get(l->q, 500);
    if (!key) continue;
    int r = l->sync(l->ctl, key);
    if (r < 0)
      drv_workqueue_add_rate_limited(l->q, key);
    else {
      drv_workqueue_forget(l->q, key);
      if (r > 0) drv_workqueue_add_after(l->q, key, r);
    }
    drv_workqueue_done(l->q, key);
    free(key);
  }
  return NULL;
}

int ctl_loop_start(ctl_loop *l, int workers, drv_err *err)
{
  if (workers > 4) workers = 4;
  for (int i = 0; i < workers; i++) {
    int r = pthread_create(&l->threads[i], NULL, worker, l);
    if (r) return drv_error(err, r, "start the %s workers", l->name);
    l->nthreads++;
  }
  return 0;
}

void ctl_loop_stop(ctl_loop *l)
{
  if (!l->q) return;
  drv_workqueue_shutdown(l->q);
  for (int i = 0; i < l->nthreads; i++) pthread_join(l->threads[i], NULL);
  l->nthreads = 0;
}

void ctl_loop_free(ctl_loop *l)
{
  if (!l->q) return;
  drv_workqueue_free(l->q);
  drv_recorder_free(l->rec);
  l->q = NULL;
}

void ctl_enqueue(ctl_loop *l, const json_t *obj)
{
  _cleanup_free_ char *k = ctl_key(obj);
  drv_workqueue_add(l->q, k);
}

bool ctl_namespace_active(drv_ctl *ctl, const char *ns)
{
  json_t *nsobj = drv_informer_get(ctl->ns, NULL, ns);
  bool active = nsobj && !drv_obj_deletion_timestamp(nsobj);
  json_decref(nsobj);
  return active;
}

static void ns_seen(void *ud, json_t *o)
{
  ctl_loop *l = ud;
  if (!drv_obj_deletion_timestamp(o)) drv_workqueue_add(l->q, drv_obj_name(o));
}

static void ns_changed(void *ud, json_t *old, json_t *o)
{
  (void)old;
  ns_seen(ud, o);
}

void ctl_enqueue_active_namespaces(ctl_loop *l)
{
  drv_informer_add_handlers(l->ctl->ns, &(drv_informer_handlers){ns_seen, ns_changed, NULL, l});
}

void ctl_enqueue_selecting(ctl_loop *l, drv_informer *owners, const json_t *obj)
{
  json_t *all = drv_informer_list(owners, drv_obj_namespace(obj), NULL, NULL);
  size_t i;
  json_t *o;
  json_array_foreach(all, i, o)
  {
    drv_err err;
    drv_label_selector *sel = drv_label_selector_from_json(drv_json_get(o, "spec.selector"), &err);
    if (sel && !drv_label_selector_empty(sel) && drv_label_selector_matches(sel, drv_obj_labels(obj)))
      ctl_enqueue(l, o);
    drv_label_selector_free(sel);
  }
  json_decref(all);
}
