/* ReplicaSet controller: keeps spec.replicas pods matching the template, owned through a
 * controller ownerReference, and reports replicas/ready/available in status. Pods it just
 * created are put into the informer cache at once and pods it just deleted are remembered
 * until their deletion is seen, so a sync never acts twice on the same change. */
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/selector.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/internal.h"

#define BURST 500
#define POD_BATCH_MS 20

typedef struct pod_ctx {
  const char *uid;
  drv_label_selector *sel;
  drv_ctl *ctl;
} pod_ctx;

static bool owned_filter(json_t *pod, void *ud)
{
  pod_ctx *p = ud;
  if (ctl_is_expected_deleted(p->ctl, drv_obj_uid(pod))) return false;
  if (ctl_owned_by(pod, p->uid)) return true;
  /* orphans the selector matches are adopted */
  return !ctl_controller_ref(pod) && p->sel && ctl_pod_active(pod) &&
         drv_label_selector_matches(p->sel, drv_obj_labels(pod));
}

/* Kubernetes' order of pods to delete first: unassigned, pending, not ready, ready for less
 * time, more restarts, newer. */
static int phase_rank(const json_t *p)
{
  const char *ph = drv_json_get_str(p, "status.phase");
  if (!ph || !strcmp(ph, "Pending")) return 0;
  if (!strcmp(ph, "Unknown")) return 1;
  return 2;
}

static long long restarts(const json_t *p)
{
  long long n = 0;
  size_t i;
  json_t *c;
  json_array_foreach(drv_json_get(p, "status.containerStatuses"), i, c) n += drv_json_get_int(c, "restartCount", 0);
  return n;
}

static int delete_order(const void *a, const void *b)
{
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  bool xa = drv_json_get_str(x, "spec.nodeName") != NULL, ya = drv_json_get_str(y, "spec.nodeName") != NULL;
  if (xa != ya) return xa ? 1 : -1;
  int px = phase_rank(x), py = phase_rank(y);
  if (px != py) return px - py;
  bool rx = ctl_pod_ready(x), ry = ctl_pod_ready(y);
  if (rx != ry) return rx ? 1 : -1;
  if (rx) {
    long long ax = ctl_age_ms(drv_json_get_str(ctl_condition(x, "Ready"), "lastTransitionTime"));
    long long ay = ctl_age_ms(drv_json_get_str(ctl_condition(y, "Ready"), "lastTransitionTime"));
    if (ax != ay) return ax < ay ? -1 : 1;
  }
  long long sx = restarts(x), sy = restarts(y);
  if (sx != sy) return sx > sy ? -1 : 1;
  const char *cx = drv_obj_creation_timestamp(x), *cy = drv_obj_creation_timestamp(y);
  int c = strcmp(cy ? cy : "", cx ? cx : "");
  return c;
}

static json_t *pod_from_template(const json_t *rs)
{
  const json_t *tpl = drv_json_get(rs, "spec.template");
  json_t *pod = json_pack("{s:s, s:s, s:{}, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata",
                          "spec", json_object_get(tpl, "spec") ? json_object_get(tpl, "spec") : json_object());
  json_t *meta = json_object_get(pod, "metadata");
  json_t *tm = json_object_get(tpl, "metadata");
  if (json_object_get(tm, "labels")) json_object_set(meta, "labels", json_object_get(tm, "labels"));
  if (json_object_get(tm, "annotations"))
    json_object_set(meta, "annotations", json_object_get(tm, "annotations"));
  json_object_set_new(meta, "generateName", json_sprintf("%s-", drv_obj_name(rs)));
  json_object_set_new(meta, "namespace", json_string(drv_obj_namespace(rs)));
  json_t *refs = json_array();
  json_array_append_new(refs, ctl_owner_ref("apps/v1", "ReplicaSet", rs, true));
  json_object_set_new(meta, "ownerReferences", refs);
  return pod;
}

static int adopt(drv_ctl *ctl, const json_t *rs, json_t *pod)
{
  json_t *refs = json_deep_copy(drv_json_get(pod, "metadata.ownerReferences"));
  if (!json_is_array(refs)) {
    json_decref(refs);
    refs = json_array();
  }
  json_array_append_new(refs, ctl_owner_ref("apps/v1", "ReplicaSet", rs, true));
  json_t *patch = json_pack("{s:{s:o, s:s}}", "metadata", "ownerReferences", refs, "uid", drv_obj_uid(pod));
  drv_api_ref ref = DRV_REF_PODS;
  ref.ns = drv_obj_namespace(pod);
  ref.name = drv_obj_name(pod);
  drv_err err;
  json_t *out = NULL;
  int r = drv_api_patch(ctl->c, &ref, DRV_API_PATCH_MERGE, patch, &out, &err);
  json_decref(patch);
  if (r == 0) drv_informer_store_hint(ctl->pods, out);
  json_decref(out);
  return r;
}

int drv_ctl_replicaset_sync(drv_ctl *ctl, const char *key)
{
  _cleanup_free_ char *ns = NULL, *name = NULL;
  drv_api_key_split(key, &ns, &name);
  json_t *rs = drv_informer_get(ctl->rs, ns, name);
  if (!rs) return 0;
  ctl_loop *l = &ctl->replicaset;
  drv_err err;
  int ret = 0;
  long long requeue = 0;
  drv_label_selector *sel = drv_label_selector_from_json(drv_json_get(rs, "spec.selector"), &err);
  pod_ctx pc = {drv_obj_uid(rs), sel, ctl};
  /* its own pods through the owner index, plus the orphans of its namespace it may adopt */
  json_t *pods = json_array();
  json_t *mine = drv_informer_by_index(ctl->pods, drv_obj_uid(rs) ? drv_obj_uid(rs) : "");
  json_t *orphans = drv_informer_by_index(ctl->pods, "");
  json_t *both[2] = {mine, orphans};
  for (int b = 0; b < 2; b++) {
    size_t j;
    json_t *o;
    json_array_foreach(both[b], j, o)
    {
      const char *ons = drv_obj_namespace(o);
      if (ons && !strcmp(ons, ns) && owned_filter(o, &pc)) json_array_append(pods, o);
    }
    json_decref(both[b]);
  }
  long long want = drv_json_get_int(rs, "spec.replicas", 1);
  long long min_ready = drv_json_get_int(rs, "spec.minReadySeconds", 0);
  bool deleting = drv_obj_deletion_timestamp(rs) != NULL;

  /* adopt orphans; count the active */
  json_t *active = json_array();
  size_t i;
  json_t *p;
  json_array_foreach(pods, i, p)
  {
    if (!ctl_controller_ref(p) && !deleting) {
      if (adopt(ctl, rs, p) < 0) continue;
    } else if (!ctl_controller_ref(p))
      continue;
    if (ctl_pod_active(p)) json_array_append(active, p);
  }
  long long have = (long long)json_array_size(active);
  if (!deleting && have < want) {
    long long n = want - have > BURST ? BURST : want - have;
    json_t *tpl = pod_from_template(rs);
    drv_api_ref ref = DRV_REF_PODS;
    ref.ns = ns;
    for (long long k = 0; k < n; k++) {
      json_t *out = NULL;
      int r = drv_api_create(ctl->c, &ref, tpl, &out, &err);
      if (r < 0) {
        drv_recorder_event(l->rec, rs, "apps/v1", "ReplicaSet", "Warning", "FailedCreate",
                           "Error creating: %s", err.msg);
        ret = -1;
        json_decref(out);
        break;
      }
      drv_informer_store_hint(ctl->pods, out);
      json_array_append(active, out);
      drv_recorder_event(l->rec, rs, "apps/v1", "ReplicaSet", "Normal", "SuccessfulCreate",
                         "Created pod: %s", drv_obj_name(out));
      json_decref(out);
    }
    json_decref(tpl);
  } else if (!deleting && have > want) {
    size_t n = json_array_size(active);
    json_t **v = drv_malloc(n * sizeof *v);
    for (size_t k = 0; k < n; k++) v[k] = json_array_get(active, k);
    qsort(v, n, sizeof *v, delete_order);
    long long del = have - want > BURST ? BURST : have - want;
    json_t *gone = json_array();
    for (long long k = 0; k < del; k++) {
      drv_api_ref ref = DRV_REF_PODS;
      ref.ns = ns;
      ref.name = drv_obj_name(v[k]);
      drv_api_delete_opts o = {.precondition_uid = drv_obj_uid(v[k]), .grace_period_seconds = -1};
      int r = drv_api_delete(ctl->c, &ref, &o, NULL, &err);
      if (r < 0 && r != DRV_API_ENOTFOUND) {
        drv_recorder_event(l->rec, rs, "apps/v1", "ReplicaSet", "Warning", "FailedDelete",
                           "Error deleting: %s", err.msg);
        ret = -1;
        continue;
      }
      ctl_expect_deleted(ctl, drv_obj_uid(v[k]));
      json_array_append(gone, v[k]);
      drv_recorder_event(l->rec, rs, "apps/v1", "ReplicaSet", "Normal", "SuccessfulDelete",
                         "Deleted pod: %s", drv_obj_name(v[k]));
    }
    free(v);
    /* drop the deleted from the counts */
    json_t *keep = json_array();
    json_array_foreach(active, i, p)
    {
      bool g = false;
      size_t j;
      json_t *q;
      json_array_foreach(gone, j, q) g |= q == p;
      if (!g) json_array_append(keep, p);
    }
    json_decref(gone);
    json_decref(active);
    active = keep;
  }

  /* status */
  long long replicas = (long long)json_array_size(active), ready = 0, avail = 0, labeled = 0;
  json_t *tlabels = drv_json_get(rs, "spec.template.metadata.labels");
  json_array_foreach(active, i, p)
  {
    if (ctl_pod_ready(p)) ready++;
    long long wait;
    if (ctl_pod_available(p, min_ready, &wait))
      avail++;
    else if (wait > 0 && (!requeue || wait < requeue))
      requeue = wait;
    bool all = true;
    const char *k;
    json_t *v;
    json_object_foreach(tlabels, k, v)
    {
      const char *pv = drv_obj_label(p, k);
      all &= pv && json_string_value(v) && !strcmp(pv, json_string_value(v));
    }
    if (all) labeled++;
  }
  json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I}", "replicas", (json_int_t)replicas,
                         "fullyLabeledReplicas", (json_int_t)labeled, "readyReplicas", (json_int_t)ready,
                         "availableReplicas", (json_int_t)avail, "observedGeneration",
                         (json_int_t)drv_obj_generation(rs));
  json_t *old = json_object_get(rs, "status");
  bool differs = false;
  const char *k;
  json_t *v;
  json_object_foreach(st, k, v)
  {
    json_t *o = json_object_get(old, k);
    long long ov = o ? json_integer_value(o) : 0;
    differs |= ov != json_integer_value(v);
  }
  if (differs) {
    json_t *upd = json_deep_copy(rs);
    json_t *nst = drv_json_obj(upd, "status");
    json_object_update(nst, st);
    drv_api_ref ref = DRV_REF_RS;
    ref.ns = ns;
    ref.name = name;
    json_t *out = NULL;
    int r = drv_api_update_status(ctl->c, &ref, upd, &out, &err);
    if (r == 0)
      drv_informer_store_hint(ctl->rs, out);
    else if (r != DRV_API_ENOTFOUND) {
      drv_log_debug("replicaset %s: status: %s", key, err.msg);
      ret = -1;
    }
    json_decref(out);
    json_decref(upd);
  }
  json_decref(st);
  json_decref(active);
  json_decref(pods);
  drv_label_selector_free(sel);
  json_decref(rs);
  if (ret < 0) return ret;
  return requeue > 0 ? (int)(requeue + 50) : 0;
}

/* ---- event handlers ---- */

static void enqueue_owner(drv_ctl *ctl, json_t *pod)
{
  json_t *r = ctl_controller_ref(pod);
  const char *kind = r ? drv_json_get_str(r, "kind") : NULL;
  if (!kind || strcmp(kind, "ReplicaSet")) return;
  _cleanup_free_ char *k = drv_api_key(drv_obj_namespace(pod), drv_json_get_str(r, "name"));
  /* a burst of pod changes (a rollout, a node's pods turning ready) makes one sync: a
   * key waiting in the queue absorbs the events that follow it */
  drv_workqueue_add_after(ctl->replicaset.q, k, POD_BATCH_MS);
}

static void rs_add(void *ud, json_t *o)
{
  ctl_enqueue(&((drv_ctl *)ud)->replicaset, o);
}
static void rs_upd(void *ud, json_t *old, json_t *o)
{
  ctl_enqueue(&((drv_ctl *)ud)->replicaset, o);
}

static void pod_add(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  if (ctl_controller_ref(o)) {
    enqueue_owner(ctl, o);
    return;
  }
  /* an orphan: any ReplicaSet of its namespace selecting it may adopt it */
  ctl_enqueue_selecting(&ctl->replicaset, ctl->rs, o);
}
static void pod_upd(void *ud, json_t *old, json_t *o)
{
  drv_ctl *ctl = ud;
  enqueue_owner(ctl, o);
  json_t *a = ctl_controller_ref(old), *b = ctl_controller_ref(o);
  if (a && (!b || !json_equal(a, b))) enqueue_owner(ctl, old);
}
static void pod_del(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  ctl_deleted_seen(ctl, drv_obj_uid(o));
  enqueue_owner(ctl, o);
}

void drv_ctl_replicaset_register(drv_ctl *ctl)
{
  drv_informer_add_handlers(ctl->rs, &(drv_informer_handlers){rs_add, rs_upd, NULL, ctl});
  drv_informer_add_handlers(ctl->pods, &(drv_informer_handlers){pod_add, pod_upd, pod_del, ctl});
}
