/* Namespace controller: a namespace being deleted has everything in it deleted (every
 * namespaced resource the registry serves), then, once nothing is left, its "kubernetes"
 * finalizer removed through namespaces/<name>/finalize so the server can let it go. Pods
 * stuck terminating on a node that is gone or not ready are removed with grace 0. */
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/resource.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/internal.h"

static bool node_unusable(drv_ctl *ctl, const char *node)
{
  if (!node) return true;
  json_t *n = drv_informer_get(ctl->nodes, NULL, node);
  if (!n) return true;
  json_t *c = ctl_condition(n, "Ready");
  const char *st = c ? drv_json_get_str(c, "status") : NULL;
  bool bad = !st || strcmp(st, "True");
  json_decref(n);
  return bad;
}

/* Deletes what is left in ns; returns how many objects remain. */
static long long purge(drv_ctl *ctl, const char *ns, bool *failed)
{
  size_t n;
  const drv_api_resource *all = drv_api_resources(&n);
  long long remaining = 0;
  for (size_t i = 0; i < n; i++) {
    const drv_api_resource *res = &all[i];
    if (!res->namespaced || !res->stored || !(res->verbs & DRV_VERB_DELETE) || !(res->verbs & DRV_VERB_LIST))
      continue;
    /* each stored kind once: skip alternative versions of the same storage */
    const drv_api_resource *st = drv_api_resource_storage(res);
    if (st != res) continue;
    drv_api_ref r = {.group = res->group, .version = res->version, .resource = res->plural, .ns = ns};
    json_t *list = NULL;
    drv_err err;
    if (drv_api_list(ctl->c, &r, NULL, &list, &err) < 0) {
      *failed = true;
      continue;
    }
    size_t j;
    json_t *o;
    json_array_foreach(json_object_get(list, "items"), j, o)
    {
      remaining++;
      r.name = drv_obj_name(o);
      bool pod = !strcmp(res->plural, "pods") && (!res->group || !*res->group);
      drv_api_delete_opts opts = {.propagation = "Background", .grace_period_seconds = -1};
      if (drv_obj_deletion_timestamp(o)) {
        /* already going: a pod whose node cannot finish it is removed at once */
        if (!pod || !node_unusable(ctl, drv_json_get_str(o, "spec.nodeName"))) continue;
        opts.grace_period_seconds = 0;
      }
      if (drv_api_delete(ctl->c, &r, &opts, NULL, &err) < 0)
        drv_log_debug("namespace %s: delete %s/%s: %s", ns, res->plural, r.name, err.msg);
    }
    json_decref(list);
  }
  return remaining;
}

int drv_ctl_namespace_sync(drv_ctl *ctl, const char *key)
{
  json_t *nsobj = drv_informer_get(ctl->ns, NULL, key);
  drv_api_ref ref = DRV_REF_NS;
  ref.name = key;
  if (!nsobj) {
    /* confirm: a namespace really gone leaves nothing behind either */
    drv_err err;
    json_t *o = NULL;
    int rc = drv_api_get(ctl->c, &ref, &o, &err);
    if (rc == 0) {
      nsobj = o;
    } else if (rc == DRV_API_ENOTFOUND) {
      bool failed = false;
      long long left = purge(ctl, key, &failed);
      return failed ? -1 : left > 0 ? 1000 : 0;
    } else
      return -1;
  }
  if (!drv_obj_deletion_timestamp(nsobj)) {
    json_decref(nsobj);
    return 0;
  }
  bool failed = false;
  long long left = purge(ctl, key, &failed);
  if (failed || left > 0) {
    json_decref(nsobj);
    return failed ? -1 : 500;
  }
  /* empty: drop our finalizer */
  json_t *fins = drv_json_get(nsobj, "spec.finalizers");
  bool has = false;
  for (size_t i = 0; i < json_array_size(fins); i++)
    has |= !strcmp(json_string_value(json_array_get(fins, i)) ? json_string_value(json_array_get(fins, i)) : "", "kubernetes");
  int ret = 0;
  if (has) {
    json_t *upd = json_deep_copy(nsobj);
    json_t *f = drv_json_get(upd, "spec.finalizers");
    for (size_t i = 0; i < json_array_size(f); i++)
      if (!strcmp(json_string_value(json_array_get(f, i)) ? json_string_value(json_array_get(f, i)) : "", "kubernetes")) {
        json_array_remove(f, i);
        break;
      }
    ref.subresource = "finalize";
    drv_err err;
    int rc = drv_api_update(ctl->c, &ref, upd, NULL, &err);
    if (rc < 0 && rc != DRV_API_ENOTFOUND) {
      drv_log_debug("namespace %s: finalize: %s", key, err.msg);
      ret = -1;
    }
    json_decref(upd);
  }
  json_decref(nsobj);
  return ret;
}

static void ns_upd(void *ud, json_t *old, json_t *o)
{
  drv_ctl *ctl = ud;
  if (drv_obj_deletion_timestamp(o)) drv_workqueue_add(ctl->namespace.q, drv_obj_name(o));
}
static void ns_add(void *ud, json_t *o)
{
  ns_upd(ud, NULL, o);
}
static void ns_del(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  drv_workqueue_add(ctl->namespace.q, drv_obj_name(o));
}

void drv_ctl_namespace_register(drv_ctl *ctl)
{
  drv_informer_add_handlers(ctl->ns, &(drv_informer_handlers){ns_add, ns_upd, ns_del, ctl});
}
