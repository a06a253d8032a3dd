/* Deployment controller, after Kubernetes' (pkg/controller/deployment): ReplicaSets keyed by
 * pod-template-hash; RollingUpdate within maxSurge/maxUnavailable counting available pods
 * (readiness + minReadySeconds); Recreate; scaling; pause/resume; revision and change-cause
 * annotations (kubectl rollout undo patches the template back from an old ReplicaSet, which
 * then becomes the new one with the next revision); revisionHistoryLimit; progress deadline
 * with the Progressing and Available conditions; observedGeneration and counts in status.
 * Scaling a Deployment in the middle of a rollout spreads the difference over its active
 * ReplicaSets in proportion to their sizes, as Kubernetes does. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/selector.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/deployutil.h"
#include "controllers/internal.h"

#define A_REVISION "deployment.kubernetes.io/revision"
#define A_HISTORY "deployment.kubernetes.io/revision-history"
#define A_DESIRED "deployment.kubernetes.io/desired-replicas"
#define A_MAX "deployment.kubernetes.io/max-replicas"
#define A_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

typedef struct dctx {
  drv_ctl *ctl;
  ctl_loop *l;
  json_t *d;          /* working copy: annotations and status change here */
  json_t *orig_status;
  json_t *rss;        /* owned ReplicaSets (working copies, updated as we write) */
  json_t *new_rs;     /* element of rss or NULL */
  const char *ns;
  long long replicas, surge, unavail;
  bool rolling;
  long long requeue_ms;
  int err;
} dctx;

static long long rs_spec(const json_t *rs)
{
  return drv_json_get_int(rs, "spec.replicas", 1);
}

static long long rs_stat(const json_t *rs, const char *f)
{
  json_t *st = json_object_get(rs, "status");
  return drv_json_get_int(st, f, 0);
}

static long long revision_of(const json_t *obj)
{
  const char *r = drv_obj_annotation(obj, A_REVISION);
  return r ? strtoll(r, NULL, 10) : 0;
}

static int by_creation(const void *a, const void *b)
{
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  const char *cx = drv_obj_creation_timestamp(x), *cy = drv_obj_creation_timestamp(y);
  int c = strcmp(cx ? cx : "", cy ? cy : "");
  return c ? c : strcmp(drv_obj_name(x), drv_obj_name(y));
}

static int by_revision(const void *a, const void *b)
{
  long long x = revision_of(*(json_t *const *)a), y = revision_of(*(json_t *const *)b);
  return x < y ? -1 : x > y;
}

/* The old ReplicaSets (all but new_rs), sorted by fn. Array of borrowed pointers, n out. */
static json_t **old_sorted(dctx *c, size_t *n, int (*fn)(const void *, const void *))
{
  size_t total = json_array_size(c->rss), k = 0;
  json_t **v = drv_malloc((total + 1) * sizeof *v);
  for (size_t i = 0; i < total; i++) {
    json_t *rs = json_array_get(c->rss, i);
    if (rs != c->new_rs) v[k++] = rs;
  }
  qsort(v, k, sizeof *v, fn);
  *n = k;
  return v;
}

static long long sum_spec(dctx *c)
{
  long long n = 0;
  size_t i;
  json_t *rs;
  json_array_foreach(c->rss, i, rs) n += rs_spec(rs);
  return n;
}

static long long sum_stat(dctx *c, const char *f)
{
  long long n = 0;
  size_t i;
  json_t *rs;
  json_array_foreach(c->rss, i, rs) n += rs_stat(rs, f);
  return n;
}

static void emit(dctx *c, const char *type, const char *reason, const char *fmt, const char *a,
                 long long x, long long y)
{
  char msg[512];
  snprintf(msg, sizeof msg, fmt, a, x, y);
  drv_recorder_event(c->l->rec, c->d, "apps/v1", "Deployment", type, reason, "%s", msg);
}

/* Writes rs (a working copy in c->rss) with spec.replicas = n and current annotations. */
static int scale_rs(dctx *c, json_t *rs, long long n)
{
  long long cur = rs_spec(rs);
  char want_desired[32], want_max[32];
  snprintf(want_desired, sizeof want_desired, "%lld", c->replicas);
  snprintf(want_max, sizeof want_max, "%lld", c->replicas + (c->rolling ? c->surge : 0));
  const char *ad = drv_obj_annotation(rs, A_DESIRED), *am = drv_obj_annotation(rs, A_MAX);
  long long mrs = drv_json_get_int(c->d, "spec.minReadySeconds", 0);
  if (cur == n && ad && !strcmp(ad, want_desired) && am && !strcmp(am, want_max) &&
      drv_json_get_int(rs, "spec.minReadySeconds", 0) == mrs)
    return 0;
  json_t *upd = json_deep_copy(rs);
  json_object_set_new(drv_json_obj(upd, "spec"), "replicas", json_integer(n));
  json_object_set_new(drv_json_obj(upd, "spec"), "minReadySeconds", json_integer(mrs));
  drv_obj_set_annotation(upd, A_DESIRED, want_desired);
  drv_obj_set_annotation(upd, A_MAX, want_max);
  drv_api_ref ref = DRV_REF_RS;
  ref.ns = c->ns;
  ref.name = drv_obj_name(rs);
  drv_err err;
  json_t *out = NULL;
  int r = drv_api_update(c->ctl->c, &ref, upd, &out, &err);
  json_decref(upd);
  if (r < 0) {
    drv_log_debug("deployment %s/%s: scale %s: %s", c->ns, drv_obj_name(c->d), ref.name, err.msg);
    c->err = -1;
    return -1;
  }
  drv_informer_store_hint(c->ctl->rs, out);
  json_object_update(rs, out);
  json_decref(out);
  if (cur != n)
    emit(c, "Normal", "ScalingReplicaSet",
         n > cur ? "Scaled up replica set %s from %lld to %lld" : "Scaled down replica set %s from %lld to %lld",
         drv_obj_name(rs), cur, n);
  return 1;
}

static void set_deploy_revision(dctx *c, long long rev)
{
  char want[32];
  snprintf(want, sizeof want, "%lld", rev);
  const char *cur = drv_obj_annotation(c->d, A_REVISION);
  if (cur && !strcmp(cur, want)) return;
  json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", A_REVISION, want);
  drv_api_ref ref = DRV_REF_DEPLOY;
  ref.ns = c->ns;
  ref.name = drv_obj_name(c->d);
  drv_err err;
  json_t *out = NULL;
  if (drv_api_patch(c->ctl->c, &ref, DRV_API_PATCH_MERGE, patch, &out, &err) == 0) {
    json_object_set(c->d, "metadata", json_object_get(out, "metadata"));
    drv_informer_store_hint(c->ctl->deploy, out);
  } else
    c->err = -1;
  json_decref(out);
  json_decref(patch);
}

/* Annotations the deployment hands to its new ReplicaSet (change-cause among them). */
static bool copy_annotations(const json_t *d, json_t *rs)
{
  bool changed = false;
  const char *k;
  json_t *v;
  json_object_foreach(drv_obj_annotations(d), k, v)
  {
    if (!strcmp(k, A_LAST_APPLIED) || !strcmp(k, A_REVISION) || !strcmp(k, A_HISTORY) ||
        !strcmp(k, A_DESIRED) || !strcmp(k, A_MAX) || !json_string_value(v))
      continue;
    const char *cur = drv_obj_annotation(rs, k);
    if (cur && !strcmp(cur, json_string_value(v))) continue;
    drv_obj_set_annotation(rs, k, json_string_value(v));
    changed = true;
  }
  return changed;
}

static void progressing(dctx *c, const char *status, const char *reason, const char *fmt, const char *name)
{
  char msg[512];
  snprintf(msg, sizeof msg, fmt, name);
  ctl_set_condition(c->d, "Progressing", status, reason, msg, false);
}

/* Finds (and with create, makes) the new ReplicaSet; syncs revisions. 0, or -1 on errors. */
static int get_new_rs(dctx *c, bool create)
{
  const json_t *tpl = drv_json_get(c->d, "spec.template");
  c->new_rs = NULL;
  size_t i;
  json_t *rs;
  json_t *cands[64];
  size_t nc = 0;
  json_array_foreach(c->rss, i, rs) if (nc < 64 && drv_deploy_templates_equal(drv_json_get(rs, "spec.template"), tpl)) cands[nc++] = rs;
  if (nc) {
    qsort(cands, nc, sizeof *cands, by_creation);
    c->new_rs = cands[0];
  }
  long long max_old = 0;
  json_array_foreach(c->rss, i, rs) if (rs != c->new_rs && revision_of(rs) > max_old) max_old = revision_of(rs);
  long long new_rev = max_old + 1;
  drv_err err;
  if (c->new_rs) {
    json_t *upd = json_deep_copy(c->new_rs);
    bool changed = copy_annotations(c->d, upd);
    long long cur = revision_of(upd);
    if (cur < new_rev) {
      if (cur > 0) {
        const char *h = drv_obj_annotation(upd, A_HISTORY);
        char *nh = h && *h ? drv_asprintf("%s,%lld", h, cur) : drv_asprintf("%lld", cur);
        drv_obj_set_annotation(upd, A_HISTORY, nh);
        free(nh);
      }
      char rv[32];
      snprintf(rv, sizeof rv, "%lld", new_rev);
      drv_obj_set_annotation(upd, A_REVISION, rv);
      changed = true;
      /* an older ReplicaSet's template came back (kubectl rollout undo): say so */
      if (cur > 0)
        drv_recorder_event(c->l->rec, c->d, "apps/v1", "Deployment", "Normal", "DeploymentRollback",
                           "Rolled back deployment \"%s\" to revision %lld", drv_obj_name(c->d), cur);
    }
    long long mrs = drv_json_get_int(c->d, "spec.minReadySeconds", 0);
    if (drv_json_get_int(upd, "spec.minReadySeconds", 0) != mrs) {
      json_object_set_new(drv_json_obj(upd, "spec"), "minReadySeconds", json_integer(mrs));
      changed = true;
    }
    if (changed) {
      drv_api_ref ref = DRV_REF_RS;
      ref.ns = c->ns;
      ref.name = drv_obj_name(upd);
      json_t *out = NULL;
      if (drv_api_update(c->ctl->c, &ref, upd, &out, &err) < 0) {
        json_decref(upd);
        c->err = -1;
        return -1;
      }
      drv_informer_store_hint(c->ctl->rs, out);
      json_object_update(c->new_rs, out);
      json_decref(out);
    }
    json_decref(upd);
    set_deploy_revision(c, revision_of(c->new_rs));
    if (!ctl_condition(c->d, "Progressing"))
      progressing(c, "True", "FoundNewReplicaSet", "Found new replica set \"%s\"", drv_obj_name(c->new_rs));
    return 0;
  }
  if (!create) return 0;

  long long collisions = drv_json_get_int(c->d, "status.collisionCount", 0);
  _cleanup_free_ char *hash = drv_deploy_template_hash(tpl, collisions);
  _cleanup_free_ char *name = drv_asprintf("%s-%s", drv_obj_name(c->d), hash);
  json_t *ntpl = json_deep_copy(tpl);
  json_object_set_new(drv_json_obj(drv_json_obj(ntpl, "metadata"), "labels"), "pod-template-hash", json_string(hash));
  json_t *sel = json_deep_copy(drv_json_get(c->d, "spec.selector"));
  if (!sel) sel = json_object();
  json_object_set_new(drv_json_obj(sel, "matchLabels"), "pod-template-hash", json_string(hash));
  long long want = c->rolling ? drv_deploy_new_rs_replicas(c->replicas, c->surge, sum_spec(c), 0) : c->replicas;
  json_t *nrs = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:I, s:I, s:o, s:o}}", "apiVersion", "apps/v1",
                          "kind", "ReplicaSet", "metadata", "name", name, "namespace", c->ns, "spec",
                          "replicas", (json_int_t)want, "minReadySeconds",
                          (json_int_t)drv_json_get_int(c->d, "spec.minReadySeconds", 0), "selector", sel,
                          "template", ntpl);
  json_t *labels = json_deep_copy(drv_json_get(tpl, "metadata.labels"));
  if (!labels) labels = json_object();
  json_object_set_new(labels, "pod-template-hash", json_string(hash));
  json_object_set_new(json_object_get(nrs, "metadata"), "labels", labels);
  copy_annotations(c->d, nrs);
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", new_rev);
  drv_obj_set_annotation(nrs, A_REVISION, buf);
  snprintf(buf, sizeof buf, "%lld", c->replicas);
  drv_obj_set_annotation(nrs, A_DESIRED, buf);
  snprintf(buf, sizeof buf, "%lld", c->replicas + (c->rolling ? c->surge : 0));
  drv_obj_set_annotation(nrs, A_MAX, buf);
  json_t *refs = json_array();
  json_array_append_new(refs, ctl_owner_ref("apps/v1", "Deployment", c->d, true));
  json_object_set_new(json_object_get(nrs, "metadata"), "ownerReferences", refs);
  drv_api_ref ref = DRV_REF_RS;
  ref.ns = c->ns;
  json_t *out = NULL;
  int r = drv_api_create(c->ctl->c, &ref, nrs, &out, &err);
  json_decref(nrs);
  if (r == DRV_API_ECONFLICT) {
    /* a ReplicaSet of that name exists: ours (cache behind) or a hash collision */
    ref.name = name;
    json_t *ex = NULL;
    if (drv_api_get(c->ctl->c, &ref, &ex, &err) == 0 && ctl_owned_by(ex, drv_obj_uid(c->d)) &&
        drv_deploy_templates_equal(drv_json_get(ex, "spec.template"), tpl)) {
      drv_informer_store_hint(c->ctl->rs, ex);
      json_array_append(c->rss, ex);
      c->new_rs = ex;
      json_decref(ex);
      return 0;
    }
    json_decref(ex);
    json_object_set_new(drv_json_obj(c->d, "status"), "collisionCount", json_integer(collisions + 1));
    c->requeue_ms = 1;
    return -1;
  }
  if (r < 0) {
    drv_recorder_event(c->l->rec, c->d, "apps/v1", "Deployment", "Warning", "FailedCreate",
                       "Failed to create new replica set \"%s\": %s", name, err.msg);
    c->err = -1;
    return -1;
  }
  drv_informer_store_hint(c->ctl->rs, out);
  json_array_append(c->rss, out);
  c->new_rs = out;
  json_decref(out);
  if (want > 0)
    emit(c, "Normal", "ScalingReplicaSet", "Scaled up replica set %s from %lld to %lld", name, 0, want);
  progressing(c, "True", "NewReplicaSetCreated", "Created new replica set \"%s\"", name);
  set_deploy_revision(c, new_rev);
  return 0;
}

static bool is_complete(dctx *c, const json_t *st)
{
  return drv_json_get_int(st, "updatedReplicas", 0) == c->replicas &&
         drv_json_get_int(st, "replicas", 0) == c->replicas &&
         drv_json_get_int(st, "availableReplicas", 0) == c->replicas &&
         drv_json_get_int(st, "observedGeneration", 0) >= drv_obj_generation(c->d);
}

static long long max_unavailable(dctx *c)
{
  if (!c->rolling || c->replicas == 0) return 0;
  return c->unavail > c->replicas ? c->replicas : c->unavail;
}

static void cleanup(dctx *c)
{
  long long limit = drv_json_get_int(c->d, "spec.revisionHistoryLimit", 10);
  size_t n;
  json_t **old = old_sorted(c, &n, by_revision);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (rs_spec(old[i]) == 0 && rs_stat(old[i], "replicas") == 0 && !drv_obj_deletion_timestamp(old[i]))
      old[k++] = old[i];
  for (size_t i = 0; (long long)(k - i) > limit; i++) {
    drv_api_ref ref = DRV_REF_RS;
    ref.ns = c->ns;
    ref.name = drv_obj_name(old[i]);
    drv_api_delete_opts o = {.precondition_uid = drv_obj_uid(old[i]), .grace_period_seconds = -1,
                             .propagation = "Background"};
    drv_err err;
    if (drv_api_delete(c->ctl->c, &ref, &o, NULL, &err) < 0) drv_log_debug("cleanup %s: %s", ref.name, err.msg);
  }
  free(old);
}

/* Status from the ReplicaSets; then the Progressing condition (syncRolloutStatus) and the
 * write when anything changed. */
static void sync_status(dctx *c, bool rollout)
{
  json_t *st = drv_json_obj(c->d, "status");
  json_object_set_new(st, "observedGeneration", json_integer(drv_obj_generation(c->d)));
  json_object_set_new(st, "replicas", json_integer(sum_stat(c, "replicas")));
  json_object_set_new(st, "updatedReplicas", json_integer(c->new_rs ? rs_stat(c->new_rs, "replicas") : 0));
  json_object_set_new(st, "readyReplicas", json_integer(sum_stat(c, "readyReplicas")));
  long long avail = sum_stat(c, "availableReplicas");
  json_object_set_new(st, "availableReplicas", json_integer(avail));
  long long unav = c->replicas - avail;
  json_object_set_new(st, "unavailableReplicas", json_integer(unav > 0 ? unav : 0));
  if (avail >= c->replicas - max_unavailable(c))
    ctl_set_condition(c->d, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", true);
  else
    ctl_set_condition(c->d, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", true);

  long long deadline = drv_json_get_int(c->d, "spec.progressDeadlineSeconds", 600);
  bool paused = drv_json_get_bool(c->d, "spec.paused", false);
  if (rollout && !paused) {
    json_t *cond = ctl_condition(c->d, "Progressing");
    const char *reason = cond ? drv_json_get_str(cond, "reason") : NULL;
    bool complete_cond = drv_json_get_int(st, "replicas", 0) == drv_json_get_int(st, "updatedReplicas", 0) &&
                         reason && !strcmp(reason, "NewReplicaSetAvailable");
    const char *rsname = c->new_rs ? drv_obj_name(c->new_rs) : drv_obj_name(c->d);
    if (!complete_cond) {
      const json_t *os = c->orig_status;
      long long old_old = drv_json_get_int(os, "replicas", 0) - drv_json_get_int(os, "updatedReplicas", 0);
      long long new_old = drv_json_get_int(st, "replicas", 0) - drv_json_get_int(st, "updatedReplicas", 0);
      bool moved = new_old < old_old ||
                   drv_json_get_int(st, "updatedReplicas", 0) > drv_json_get_int(os, "updatedReplicas", 0) ||
                   drv_json_get_int(st, "readyReplicas", 0) > drv_json_get_int(os, "readyReplicas", 0) ||
                   drv_json_get_int(st, "availableReplicas", 0) > drv_json_get_int(os, "availableReplicas", 0);
      if (is_complete(c, st))
        progressing(c, "True", "NewReplicaSetAvailable", "ReplicaSet \"%s\" has successfully progressed.", rsname);
      else if (moved)
        progressing(c, "True", "ReplicaSetUpdated", c->new_rs ? "ReplicaSet \"%s\" is progressing." : "Deployment \"%s\" is progressing.", rsname);
      else if (cond && reason && strcmp(reason, "ProgressDeadlineExceeded")) {
        long long age = ctl_age_ms(drv_json_get_str(cond, "lastUpdateTime"));
        if (age >= deadline * 1000) {
          progressing(c, "False", "ProgressDeadlineExceeded", "ReplicaSet \"%s\" has timed out progressing.", rsname);
          drv_recorder_event(c->l->rec, c->d, "apps/v1", "Deployment", "Warning", "ProgressDeadlineExceeded",
                             "ReplicaSet \"%s\" has timed out progressing.", rsname);
        } else if (age > LLONG_MIN / 4) {
          long long left = deadline * 1000 - age + 200;
          if (!c->requeue_ms || left < c->requeue_ms) c->requeue_ms = left;
        }
      }
    }
  }
  if (json_equal(c->orig_status, st)) return;
  drv_api_ref ref = DRV_REF_DEPLOY;
  ref.ns = c->ns;
  ref.name = drv_obj_name(c->d);
  drv_err err;
  json_t *out = NULL;
  int r = drv_api_update_status(c->ctl->c, &ref, c->d, &out, &err);
  if (r == 0)
    drv_informer_store_hint(c->ctl->deploy, out);
  else if (r != DRV_API_ENOTFOUND) {
    drv_log_debug("deployment %s/%s: status: %s", c->ns, ref.name, err.msg);
    c->err = -1;
  }
  json_decref(out);
}

/* Larger first; ties: newer first when scaling up (*up), older first when scaling down. */
static int by_size(const void *a, const void *b, void *up)
{
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  long long sx = rs_spec(x), sy = rs_spec(y);
  if (sx != sy) return sx > sy ? -1 : 1;
  int c = by_creation(a, b);
  return *(bool *)up ? -c : c;
}

static bool rs_active(const json_t *rs)
{
  return rs_spec(rs) > 0;
}

/* Scaling (also while paused): the one active ReplicaSet (or the newest) gets all replicas;
 * with several, the difference goes to the newest (up) or comes from the oldest (down). */
static void scale(dctx *c)
{
  size_t n = json_array_size(c->rss), na = 0;
  json_t **act = drv_malloc((n + 1) * sizeof *act);
  json_t **all = drv_malloc((n + 1) * sizeof *all);
  for (size_t i = 0; i < n; i++) {
    all[i] = json_array_get(c->rss, i);
    if (rs_active(all[i])) act[na++] = all[i];
  }
  qsort(act, na, sizeof *act, by_creation);
  qsort(all, n, sizeof *all, by_creation);
  if (na <= 1) {
    json_t *t = na ? act[0] : c->new_rs ? c->new_rs : n ? all[n - 1] : NULL;
    if (t) scale_rs(c, t, c->replicas);
    goto out;
  }
  if (c->new_rs && rs_spec(c->new_rs) == c->replicas && rs_stat(c->new_rs, "availableReplicas") == c->replicas) {
    for (size_t i = 0; i < na; i++)
      if (act[i] != c->new_rs) scale_rs(c, act[i], 0);
    goto out;
  }
  if (!c->rolling) goto out;
  /* proportional scaling, as Kubernetes: each active ReplicaSet gets its share of the
   * difference by the max-replicas annotation it was last scaled under; leftovers go to the
   * first (largest) one */
  long long total = 0;
  for (size_t i = 0; i < na; i++) total += rs_spec(act[i]);
  long long add = (c->replicas > 0 ? c->replicas + c->surge : 0) - total;
  if (add == 0) goto out;
  bool up = add > 0;
  qsort_r(act, na, sizeof *act, by_size, &up);
  long long *sizes = drv_calloc(na, sizeof *sizes), *ann = drv_calloc(na, sizeof *ann);
  long long *size = drv_calloc(na, sizeof *size);
  for (size_t i = 0; i < na; i++) {
    sizes[i] = rs_spec(act[i]);
    const char *am = drv_obj_annotation(act[i], A_MAX);
    ann[i] = am ? strtoll(am, NULL, 10) : 0;
  }
  drv_deploy_proportions(na, sizes, ann, c->replicas, c->surge,
                         drv_json_get_int(c->d, "status.replicas", 0), size);
  for (size_t i = 0; i < na; i++) scale_rs(c, act[i], size[i]);
  free(sizes);
  free(ann);
  free(size);
out:
  free(act);
  free(all);
}

static bool scaling_event(dctx *c)
{
  size_t i;
  json_t *rs;
  char want[32];
  snprintf(want, sizeof want, "%lld", c->replicas);
  json_array_foreach(c->rss, i, rs)
  {
    if (!rs_active(rs)) continue;
    const char *a = drv_obj_annotation(rs, A_DESIRED);
    if (a && strcmp(a, want)) return true;
  }
  return false;
}

static void rollout_rolling(dctx *c)
{
  if (get_new_rs(c, true) < 0 || !c->new_rs) {
    sync_status(c, true);
    return;
  }
  /* reconcileNewReplicaSet */
  long long nspec = rs_spec(c->new_rs);
  if (nspec != c->replicas) {
    long long target = nspec > c->replicas ? c->replicas
                                           : drv_deploy_new_rs_replicas(c->replicas, c->surge, sum_spec(c), nspec);
    if (target != nspec && scale_rs(c, c->new_rs, target) != 0) {
      sync_status(c, true);
      return;
    }
  }
  /* reconcileOldReplicaSets */
  size_t n;
  json_t **old = old_sorted(c, &n, by_creation);
  long long old_pods = 0;
  for (size_t i = 0; i < n; i++) old_pods += rs_spec(old[i]);
  bool scaled = false;
  if (old_pods > 0) {
    long long mu = max_unavailable(c);
    long long budget = drv_deploy_max_scaled_down(c->replicas, mu, sum_spec(c), rs_spec(c->new_rs),
                                                  rs_stat(c->new_rs, "availableReplicas"));
    if (budget > 0) {
      /* unhealthy old replicas first */
      long long cleaned = 0;
      for (size_t i = 0; i < n && cleaned < budget; i++) {
        long long s = rs_spec(old[i]), a = rs_stat(old[i], "availableReplicas");
        if (s == 0 || a >= s) continue;
        long long d = s - a < budget - cleaned ? s - a : budget - cleaned;
        if (scale_rs(c, old[i], s - d) > 0) scaled = true;
        cleaned += d;
      }
      /* then healthy ones down to minAvailable */
      long long min_avail = c->replicas - mu;
      long long avail = sum_stat(c, "availableReplicas");
      if (avail > min_avail) {
        long long total = avail - min_avail, done = 0;
        for (size_t i = 0; i < n && done < total; i++) {
          long long s = rs_spec(old[i]);
          if (s == 0) continue;
          long long d = s < total - done ? s : total - done;
          if (scale_rs(c, old[i], s - d) > 0) scaled = true;
          done += d;
        }
      }
    }
  }
  free(old);
  sync_status(c, true);
  if (!scaled && is_complete(c, json_object_get(c->d, "status"))) cleanup(c);
}

static bool old_pods_running(dctx *c)
{
  json_t *pods = drv_informer_list(c->ctl->pods, c->ns, NULL, NULL);
  bool running = false;
  size_t i;
  json_t *p;
  json_array_foreach(pods, i, p)
  {
    json_t *r = ctl_controller_ref(p);
    const char *uid = r ? drv_json_get_str(r, "uid") : NULL;
    if (!uid) continue;
    const char *ph = drv_json_get_str(p, "status.phase");
    if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))) continue;
    size_t j;
    json_t *rs;
    json_array_foreach(c->rss, j, rs) if (rs != c->new_rs && !strcmp(drv_obj_uid(rs) ? drv_obj_uid(rs) : "", uid)) running = true;
  }
  json_decref(pods);
  return running;
}

static void rollout_recreate(dctx *c)
{
  get_new_rs(c, false);
  bool scaled = false;
  size_t i;
  json_t *rs;
  json_array_foreach(c->rss, i, rs) if (rs != c->new_rs && rs_active(rs) && scale_rs(c, rs, 0) > 0) scaled = true;
  if (scaled || old_pods_running(c)) {
    sync_status(c, true);
    return;
  }
  if (!c->new_rs && (get_new_rs(c, true) < 0 || !c->new_rs)) {
    sync_status(c, true);
    return;
  }
  scale_rs(c, c->new_rs, c->replicas);
  sync_status(c, true);
  if (is_complete(c, json_object_get(c->d, "status"))) cleanup(c);
}

typedef struct own_ctx {
  const char *uid;
  drv_label_selector *sel;
} own_ctx;

static bool own_rs(json_t *rs, void *ud)
{
  own_ctx *o = ud;
  if (ctl_owned_by(rs, o->uid)) return true;
  return !ctl_controller_ref(rs) && o->sel && !drv_label_selector_empty(o->sel) &&
         !drv_obj_deletion_timestamp(rs) && drv_label_selector_matches(o->sel, drv_obj_labels(rs));
}

int drv_ctl_deployment_sync(drv_ctl *ctl, const char *key)
{
  _cleanup_free_ char *ns = NULL, *name = NULL;
  drv_api_key_split(key, &ns, &name);
  json_t *d = drv_informer_get(ctl->deploy, ns, name);
  if (!d) return 0;
  dctx c = {.ctl = ctl, .l = &ctl->deployment, .ns = ns};
  c.d = json_deep_copy(d);
  json_decref(d);
  c.orig_status = json_deep_copy(json_object_get(c.d, "status"));
  if (!c.orig_status) c.orig_status = json_object();
  drv_err err;
  drv_label_selector *sel = drv_label_selector_from_json(drv_json_get(c.d, "spec.selector"), &err);
  own_ctx oc = {drv_obj_uid(c.d), sel};
  json_t *list = json_array();
  json_t *mine = drv_informer_by_index(ctl->rs, drv_obj_uid(c.d) ? drv_obj_uid(c.d) : "");
  json_t *orphans = drv_informer_by_index(ctl->rs, "");
  json_t *both[2] = {mine, orphans};
  for (int b = 0; b < 2; b++) {
    size_t j;
    json_t *o;
    json_array_foreach(both[b], j, o)
    {
      const char *ons = drv_obj_namespace(o);
      if (ons && !strcmp(ons, ns) && own_rs(o, &oc)) json_array_append(list, o);
    }
    json_decref(both[b]);
  }
  c.rss = json_array();
  size_t i;
  json_t *rs;
  json_array_foreach(list, i, rs)
  {
    json_t *cp = json_deep_copy(rs);
    if (!ctl_controller_ref(cp) && !drv_obj_deletion_timestamp(c.d)) {
      /* adopt an orphaned ReplicaSet the selector matches */
      json_t *refs = json_array();
      json_array_append_new(refs, ctl_owner_ref("apps/v1", "Deployment", c.d, true));
      json_t *patch = json_pack("{s:{s:o}}", "metadata", "ownerReferences", refs);
      drv_api_ref ref = DRV_REF_RS;
      ref.ns = ns;
      ref.name = drv_obj_name(cp);
      json_t *out = NULL;
      if (drv_api_patch(ctl->c, &ref, DRV_API_PATCH_MERGE, patch, &out, &err) == 0) {
        json_object_update(cp, out);
        drv_informer_store_hint(ctl->rs, out);
      }
      json_decref(out);
      json_decref(patch);
    }
    if (ctl_controller_ref(cp)) json_array_append(c.rss, cp);
    json_decref(cp);
  }
  json_decref(list);
  drv_label_selector_free(sel);

  c.replicas = drv_json_get_int(c.d, "spec.replicas", 1);
  const char *stype = drv_json_get_str(c.d, "spec.strategy.type");
  c.rolling = !stype || strcmp(stype, "Recreate") != 0;
  if (c.rolling &&
      drv_deploy_fenceposts(drv_json_get(c.d, "spec.strategy.rollingUpdate.maxSurge"),
                            drv_json_get(c.d, "spec.strategy.rollingUpdate.maxUnavailable"), c.replicas,
                            &c.surge, &c.unavail, &err) < 0) {
    drv_recorder_event(c.l->rec, c.d, "apps/v1", "Deployment", "Warning", "InvalidStrategy", "%s", err.msg);
    c.surge = 0;
    c.unavail = 1;
  }

  if (drv_obj_deletion_timestamp(c.d)) {
    get_new_rs(&c, false);
    sync_status(&c, false);
  } else {
    bool paused = drv_json_get_bool(c.d, "spec.paused", false);
    json_t *pc = ctl_condition(c.d, "Progressing");
    const char *pr = pc ? drv_json_get_str(pc, "reason") : NULL;
    if (paused && (!pr || strcmp(pr, "DeploymentPaused")))
      ctl_set_condition(c.d, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", false);
    else if (!paused && pr && !strcmp(pr, "DeploymentPaused"))
      ctl_set_condition(c.d, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", false);
    if (paused || scaling_event(&c)) {
      get_new_rs(&c, false);
      scale(&c);
      if (paused) cleanup(&c);
      sync_status(&c, !paused);
    } else if (c.rolling)
      rollout_rolling(&c);
    else
      rollout_recreate(&c);
  }
  json_decref(c.rss);
  json_decref(c.orig_status);
  json_decref(c.d);
  if (c.err < 0) return -1;
  return c.requeue_ms > 0 ? (int)(c.requeue_ms > INT_MAX ? INT_MAX : c.requeue_ms) : 0;
}

/* ---- event handlers ---- */

static void d_add(void *ud, json_t *o)
{
  ctl_enqueue(&((drv_ctl *)ud)->deployment, o);
}
static void d_upd(void *ud, json_t *old, json_t *o)
{
  ctl_enqueue(&((drv_ctl *)ud)->deployment, o);
}

static void enqueue_rs_owner(drv_ctl *ctl, json_t *rs)
{
  json_t *r = ctl_controller_ref(rs);
  const char *kind = r ? drv_json_get_str(r, "kind") : NULL;
  if (kind && !strcmp(kind, "Deployment")) {
    _cleanup_free_ char *k = drv_api_key(drv_obj_namespace(rs), drv_json_get_str(r, "name"));
    drv_workqueue_add_after(ctl->deployment.q, k, 10); /* batch bursts of ReplicaSet changes */
    return;
  }
  if (r) return;
  /* orphan: deployments of the namespace that select it */
  ctl_enqueue_selecting(&ctl->deployment, ctl->deploy, rs);
}

static void rs_add(void *ud, json_t *o)
{
  enqueue_rs_owner(ud, o);
}
static void rs_upd(void *ud, json_t *old, json_t *o)
{
  enqueue_rs_owner(ud, o);
}
static void rs_del(void *ud, json_t *o)
{
  enqueue_rs_owner(ud, o);
}

/* Recreate waits for old pods to go: their deletion requeues the deployment. */
static void pod_del(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  json_t *r = ctl_controller_ref(o);
  const char *kind = r ? drv_json_get_str(r, "kind") : NULL;
  if (!kind || strcmp(kind, "ReplicaSet")) return;
  json_t *rs = drv_informer_get(ctl->rs, drv_obj_namespace(o), drv_json_get_str(r, "name"));
  if (rs) enqueue_rs_owner(ctl, rs);
  json_decref(rs);
}

void drv_ctl_deployment_register(drv_ctl *ctl)
{
  drv_informer_add_handlers(ctl->deploy, &(drv_informer_handlers){d_add, d_upd, NULL, ctl});
  drv_informer_add_handlers(ctl->rs, &(drv_informer_handlers){rs_add, rs_upd, rs_del, ctl});
  drv_informer_add_handlers(ctl->pods, &(drv_informer_handlers){NULL, NULL, pod_del, ctl});
}
