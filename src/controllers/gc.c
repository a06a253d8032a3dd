/* Garbage collector through ownerReferences, for the objects the controllers own and make
 * (Deployments → ReplicaSets → Pods):
 *   - a dependent whose owners are all gone (absent, or another uid) is deleted in the
 *     background; one that lost only some owners loses those references;
 *   - an owner being deleted with the foregroundDeletion finalizer gets its dependents deleted
 *     (foreground again) and loses the finalizer once none is left;
 *   - an owner being deleted with the orphan finalizer has its reference removed from every
 *     dependent, then loses the finalizer.
 * Owners are looked up in the informer caches first and confirmed with a GET before anything
 * is deleted, so a cache that lags never costs a live object. Keys: "kind|ns/name". */
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/resource.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/gcdecide.h"
#include "controllers/internal.h"

typedef struct kind_info {
  const char *kind;
  const drv_api_ref *ref;
  drv_informer *(*inf)(drv_ctl *);
} kind_info;

static drv_informer *inf_pods(drv_ctl *c) { return c->pods; }
static drv_informer *inf_rs(drv_ctl *c) { return c->rs; }
static drv_informer *inf_deploy(drv_ctl *c) { return c->deploy; }

static const kind_info KINDS[] = {
    {"Pod", &DRV_REF_PODS, inf_pods},
    {"ReplicaSet", &DRV_REF_RS, inf_rs},
    {"Deployment", &DRV_REF_DEPLOY, inf_deploy},
};

static const kind_info *kind_by_name(const char *kind)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(KINDS); i++)
    if (kind && !strcmp(KINDS[i].kind, kind)) return &KINDS[i];
  return NULL;
}

static void enqueue_kind(drv_ctl *ctl, const char *kind, const json_t *obj)
{
  _cleanup_free_ char *k = ctl_key(obj);
  _cleanup_free_ char *key = drv_asprintf("%s|%s", kind, k);
  drv_workqueue_add(ctl->gc.q, key);
}

/* 1 = the owner exists with that uid, 0 = gone, < 0 = cannot tell. *owner_out (may be NULL)
 * gets the owner object when it exists. */
static int owner_exists(drv_ctl *ctl, const char *ns, const json_t *ref, json_t **owner_out)
{
  if (owner_out) *owner_out = NULL;
  const char *kind = drv_json_get_str(ref, "kind"), *name = drv_json_get_str(ref, "name");
  const char *uid = drv_json_get_str(ref, "uid"), *av = drv_json_get_str(ref, "apiVersion");
  if (!kind || !name || !uid) return -1;
  const kind_info *ki = kind_by_name(kind);
  if (ki) {
    json_t *o = drv_informer_get(ki->inf(ctl), ns, name);
    if (o && drv_obj_uid(o) && !strcmp(drv_obj_uid(o), uid)) {
      if (owner_out)
        *owner_out = o;
      else
        json_decref(o);
      return 1;
    }
    json_decref(o);
  }
  const drv_api_resource *res = drv_api_resource_by_kind(av ? av : "v1", kind);
  if (!res) return -1; /* a kind drover does not serve: leave it alone */
  drv_api_ref r = {.group = res->group, .version = res->version, .resource = res->plural,
                   .ns = res->namespaced ? ns : NULL, .name = name};
  json_t *o = NULL;
  drv_err err;
  int rc = drv_api_get(ctl->c, &r, &o, &err);
  if (rc == DRV_API_ENOTFOUND) return 0;
  if (rc < 0) return -1;
  bool same = drv_obj_uid(o) && !strcmp(drv_obj_uid(o), uid);
  if (same && owner_out)
    *owner_out = o;
  else
    json_decref(o);
  return same ? 1 : 0;
}

/* Every cached object of the known kinds in ns whose ownerReferences name uid. */
static json_t *dependents(drv_ctl *ctl, const char *ns, const char *uid, json_t *kinds_out)
{
  json_t *out = json_array();
  for (size_t k = 0; k < DRV_ARRAY_LEN(KINDS); k++) {
    json_t *all = drv_informer_list(KINDS[k].inf(ctl), ns, NULL, NULL);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
      size_t j;
      json_t *r;
      json_array_foreach(drv_json_get(o, "metadata.ownerReferences"), j, r)
      {
        const char *u = drv_json_get_str(r, "uid");
        if (u && !strcmp(u, uid)) {
          json_array_append(out, o);
          json_array_append_new(kinds_out, json_integer((json_int_t)k));
          break;
        }
      }
    }
    json_decref(all);
  }
  return out;
}

static int remove_finalizer(drv_ctl *ctl, const kind_info *ki, json_t *obj, const char *fin)
{
  json_t *upd = json_deep_copy(obj);
  json_t *fins = drv_json_get(upd, "metadata.finalizers");
  for (size_t i = 0; i < json_array_size(fins); i++)
    if (!strcmp(json_string_value(json_array_get(fins, i)) ? json_string_value(json_array_get(fins, i)) : "", fin)) {
      json_array_remove(fins, i);
      break;
    }
  drv_api_ref r = *ki->ref;
  r.ns = drv_obj_namespace(obj);
  r.name = drv_obj_name(obj);
  drv_err err;
  int rc = drv_api_update(ctl->c, &r, upd, NULL, &err);
  json_decref(upd);
  if (rc < 0 && rc != DRV_API_ENOTFOUND) {
    drv_log_debug("gc: remove finalizer %s from %s/%s: %s", fin, r.ns, r.name, err.msg);
    return -1;
  }
  return 0;
}

static int drop_owner_refs(drv_ctl *ctl, const kind_info *ki, const json_t *obj, json_t *keep)
{
  json_t *patch = json_pack("{s:{s:O, s:s}}", "metadata", "ownerReferences", keep, "uid", drv_obj_uid(obj));
  drv_api_ref r = *ki->ref;
  r.ns = drv_obj_namespace(obj);
  r.name = drv_obj_name(obj);
  drv_err err;
  json_t *out = NULL;
  int rc = drv_api_patch(ctl->c, &r, DRV_API_PATCH_MERGE, patch, &out, &err);
  json_decref(patch);
  if (rc == 0) drv_informer_store_hint(ki->inf(ctl), out);
  json_decref(out);
  return rc < 0 && rc != DRV_API_ENOTFOUND ? -1 : 0;
}

static int delete_obj(drv_ctl *ctl, const kind_info *ki, const json_t *obj, const char *propagation)
{
  drv_api_ref r = *ki->ref;
  r.ns = drv_obj_namespace(obj);
  r.name = drv_obj_name(obj);
  drv_api_delete_opts o = {.propagation = propagation, .precondition_uid = drv_obj_uid(obj), .grace_period_seconds = -1};
  drv_err err;
  int rc = drv_api_delete(ctl->c, &r, &o, NULL, &err);
  if (rc < 0 && rc != DRV_API_ENOTFOUND && rc != DRV_API_ECONFLICT) {
    drv_log_debug("gc: delete %s %s/%s: %s", ki->kind, r.ns, r.name, err.msg);
    return -1;
  }
  if (rc == 0 && !strcmp(ki->kind, "Pod")) ctl_expect_deleted(ctl, drv_obj_uid(obj));
  return 0;
}

int drv_ctl_gc_sync(drv_ctl *ctl, const char *key)
{
  const char *bar = strchr(key, '|');
  if (!bar) return 0;
  _cleanup_free_ char *kind = drv_strndup(key, (size_t)(bar - key));
  const kind_info *ki = kind_by_name(kind);
  if (!ki) return 0;
  _cleanup_free_ char *ns = NULL, *name = NULL;
  drv_api_key_split(bar + 1, &ns, &name);
  json_t *obj = drv_informer_get(ki->inf(ctl), ns, name);
  if (!obj) return 0;
  int ret = 0;

  /* as an owner being deleted */
  if (drv_obj_deletion_timestamp(obj)) {
    bool fg = drv_obj_has_finalizer(obj, "foregroundDeletion"), orphan = drv_obj_has_finalizer(obj, "orphan");
    if (fg || orphan) {
      json_t *kinds = json_array();
      json_t *deps = dependents(ctl, ns, drv_obj_uid(obj), kinds);
      size_t i;
      json_t *d;
      json_array_foreach(deps, i, d)
      {
        const kind_info *dk = &KINDS[json_integer_value(json_array_get(kinds, i))];
        if (orphan) {
          json_t *keep = json_array();
          size_t j;
          json_t *r;
          json_array_foreach(drv_json_get(d, "metadata.ownerReferences"), j, r)
          {
            const char *u = drv_json_get_str(r, "uid");
            if (!u || strcmp(u, drv_obj_uid(obj))) json_array_append(keep, r);
          }
          if (drop_owner_refs(ctl, dk, d, keep) < 0) ret = -1;
          json_decref(keep);
        } else if (!drv_obj_deletion_timestamp(d)) {
          if (delete_obj(ctl, dk, d, "Foreground") < 0) ret = -1;
        }
      }
      size_t ndeps = json_array_size(deps);
      json_decref(deps);
      json_decref(kinds);
      if (orphan && ret == 0) ret = remove_finalizer(ctl, ki, obj, "orphan");
      else if (fg && ndeps == 0) ret = remove_finalizer(ctl, ki, obj, "foregroundDeletion");
      else if (fg && ret == 0) ret = 500; /* dependents still going */
      json_decref(obj);
      return ret;
    }
  }

  /* as a dependent */
  json_t *refs = drv_json_get(obj, "metadata.ownerReferences");
  size_t n = json_array_size(refs);
  if (n) {
    drv_gc_owner_state *state = drv_calloc(n, sizeof *state);
    bool *block = drv_calloc(n, sizeof *block), *keepv = drv_calloc(n, sizeof *keepv);
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
      json_t *owner = NULL;
      int e = owner_exists(ctl, ns, r, &owner);
      state[i] = e == 0 ? DRV_GC_OWNER_GONE : e < 0 ? DRV_GC_OWNER_UNKNOWN : DRV_GC_OWNER_EXISTS;
      if (e == 1 && drv_obj_deletion_timestamp(owner) && drv_obj_has_finalizer(owner, "foregroundDeletion"))
        state[i] = DRV_GC_OWNER_FOREGROUND;
      block[i] = json_is_true(json_object_get(r, "blockOwnerDeletion"));
      json_decref(owner);
    }
    drv_gc_action a = drv_gc_decide(n, state, block, drv_obj_deletion_timestamp(obj) != NULL, keepv);
    if (a == DRV_GC_DELETE_FOREGROUND)
      ret = delete_obj(ctl, ki, obj, "Foreground");
    else if (a == DRV_GC_DELETE_BACKGROUND)
      ret = delete_obj(ctl, ki, obj, "Background");
    else if (a == DRV_GC_DROP_REFS) {
      json_t *keep = json_array();
      json_array_foreach(refs, i, r) if (keepv[i]) json_array_append(keep, r);
      ret = drop_owner_refs(ctl, ki, obj, keep);
      json_decref(keep);
    }
    free(state);
    free(block);
    free(keepv);
  }
  json_decref(obj);
  return ret;
}

/* ---- event handlers ---- */

static void check(drv_ctl *ctl, const char *kind, json_t *o)
{
  if (json_array_size(drv_json_get(o, "metadata.ownerReferences")) ||
      (drv_obj_deletion_timestamp(o) && json_array_size(drv_obj_finalizers(o))))
    enqueue_kind(ctl, kind, o);
}

/* An owner went away: its dependents need a look. */
static void owner_gone(drv_ctl *ctl, json_t *o)
{
  const char *uid = drv_obj_uid(o);
  if (!uid) return;
  json_t *kinds = json_array();
  json_t *deps = dependents(ctl, drv_obj_namespace(o), uid, kinds);
  size_t i;
  json_t *d;
  json_array_foreach(deps, i, d) enqueue_kind(ctl, KINDS[json_integer_value(json_array_get(kinds, i))].kind, d);
  json_decref(deps);
  json_decref(kinds);
}

/* Pods own nothing here: their changes only need their own check (no dependents scan, which
 * would cost a pass over every cached object per pod update). */
static void pod_add(void *ud, json_t *o) { check(ud, "Pod", o); }
static void pod_upd(void *ud, json_t *old, json_t *o) { check(ud, "Pod", o); }

#define HANDLERS(name, kind)                                                                       \
  static void name##_add(void *ud, json_t *o) { check(ud, kind, o); }                              \
  static void name##_upd(void *ud, json_t *old, json_t *o)                                         \
  {                                                                                                \
    check(ud, kind, o);                                                                            \
    if (drv_obj_deletion_timestamp(o) && !drv_obj_deletion_timestamp(old)) owner_gone(ud, o);      \
  }                                                                                                \
  static void name##_del(void *ud, json_t *o) { owner_gone(ud, o); }

HANDLERS(rs, "ReplicaSet")
HANDLERS(dep, "Deployment")

void drv_ctl_gc_register(drv_ctl *ctl)
{
  drv_informer_add_handlers(ctl->pods, &(drv_informer_handlers){pod_add, pod_upd, NULL, ctl});
  drv_informer_add_handlers(ctl->rs, &(drv_informer_handlers){rs_add, rs_upd, rs_del, ctl});
  drv_informer_add_handlers(ctl->deploy, &(drv_informer_handlers){dep_add, dep_upd, dep_del, ctl});
}
