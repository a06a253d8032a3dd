/* Registry strategies: what the server does around create, update and /status (strategy.h). */
#include "api/strategy.h"

#include <string.h>

#include "api/defaults.h"
#include "api/object.h"
#include "api/quantity.h"
#include "api/selector.h"
#include "common/json.h"
#include "common/util.h"

bool drv_api_tracks_generation(const drv_api_resource *res)
{
  const char *k = res->kind;
  return !strcmp(k, "Deployment") || !strcmp(k, "ReplicaSet") ||
         !strcmp(k, "HorizontalPodAutoscaler");
}

static bool has_status_sub(const drv_api_resource *res)
{
  return (res->subresources & DRV_SUB_STATUS) != 0;
}

/* Guaranteed when every container has limits equal to requests for cpu and memory;
 * BestEffort when none has any; Burstable otherwise. */
static const char *qos_class(const json_t *spec)
{
  bool any = false, guaranteed = true;
  size_t i;
  json_t *c;
  json_t *lists[2] = {json_object_get(spec, "containers"), json_object_get(spec, "initContainers")};
  for (int l = 0; l < 2; l++)
    json_array_foreach(lists[l], i, c)
    {
      json_t *req = drv_json_get(c, "resources.requests");
      json_t *lim = drv_json_get(c, "resources.limits");
      const char *names[] = {"cpu", "memory"};
      for (int n = 0; n < 2; n++) {
        json_t *r = json_object_get(req, names[n]);
        json_t *m = json_object_get(lim, names[n]);
        if (r || m) any = true;
        if (!m) guaranteed = false;
        else if (r && drv_quantity_parse_milli(json_string_value(r)) !=
                          drv_quantity_parse_milli(json_string_value(m)))
          guaranteed = false;
      }
      /* other resources with requests count too */
      if (json_object_size(req) > 0 || json_object_size(lim) > 0) any = true;
    }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

/* Cluster-scoped objects carry no namespace, whatever the client sent (as Kubernetes'
 * BeforeCreate/BeforeUpdate clear it). */
static void clear_namespace(const drv_api_resource *res, json_t *obj)
{
  if (!res->namespaced) json_object_del(drv_obj_meta(obj), "namespace");
}

void drv_api_prepare_for_create(const drv_api_resource *res, json_t *obj)
{
  const char *k = res->kind;
  clear_namespace(res, obj);
  if (drv_api_tracks_generation(res)) drv_obj_set_generation(obj, 1);
  if (!strcmp(k, "Deployment") || !strcmp(k, "ReplicaSet") ||
      !strcmp(k, "HorizontalPodAutoscaler")) {
    json_object_set_new(obj, "status", json_object());
    if (!strcmp(k, "ReplicaSet")) drv_json_set(obj, "status.replicas", json_integer(0));
    if (!strcmp(k, "HorizontalPodAutoscaler")) {
      drv_json_set(obj, "status.desiredReplicas", json_integer(0));
      drv_json_set(obj, "status.currentReplicas", json_integer(0));
    }
  } else if (!strcmp(k, "Pod")) {
    json_t *st = json_object();
    json_object_set_new(st, "phase", json_string("Pending"));
    json_object_set_new(st, "qosClass", json_string(qos_class(json_object_get(obj, "spec"))));
    json_object_set_new(obj, "status", st);
  } else if (!strcmp(k, "Namespace")) {
    json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
  } else if (!strcmp(k, "Service")) {
    json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
  }
}

static void keep_from_old(json_t *obj, const json_t *old, const char *key)
{
  json_t *v = json_object_get(old, key);
  if (v) json_object_set(obj, key, v);
  else json_object_del(obj, key);
}

/* A service switched to a type without node ports loses the node ports it kept from before,
 * as Kubernetes drops type-dependent fields; a newly written one is left for validation. */
static void drop_node_ports(json_t *obj, const json_t *old)
{
  const char *t = drv_json_get_str(obj, "spec.type");
  if (!t || (strcmp(t, "ClusterIP") != 0 && strcmp(t, "ExternalName") != 0)) return;
  json_t *oports = drv_json_get(old, "spec.ports");
  size_t i;
  json_t *p;
  json_array_foreach(drv_json_get(obj, "spec.ports"), i, p)
  {
    json_t *np = json_object_get(p, "nodePort");
    json_t *onp = json_object_get(json_array_get(oports, i), "nodePort");
    if (np && onp && json_equal(np, onp)) json_object_del(p, "nodePort");
  }
}

void drv_api_prepare_for_update(const drv_api_resource *res, json_t *obj, const json_t *old)
{
  clear_namespace(res, obj);
  json_t *m = drv_obj_meta(obj);
  json_t *om = json_object_get(old, "metadata");
  /* identity fields the client cannot change */
  const char *keep[] = {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "generation"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(keep); i++) {
    json_t *v = json_object_get(om, keep[i]);
    if (v) json_object_set(m, keep[i], v);
    else json_object_del(m, keep[i]);
  }
  if (has_status_sub(res) && strcmp(res->kind, "Namespace") != 0) keep_from_old(obj, old, "status");
  if (!strcmp(res->kind, "Namespace")) {
    /* namespace status only changes through /status (or the deletion flow) */
    keep_from_old(obj, old, "status");
  }
  if (!strcmp(res->kind, "Service")) drop_node_ports(obj, old);
  if (drv_api_tracks_generation(res)) {
    long long gen = drv_obj_generation(old);
    if (!json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec"))) gen++;
    drv_obj_set_generation(obj, gen ? gen : 1);
  }
}

void drv_api_prepare_for_status_update(const drv_api_resource *res, json_t *obj, const json_t *old)
{
  json_t *status = json_incref(json_object_get(obj, "status"));
  const char *rv = drv_obj_resource_version(obj);
  char *rvcopy = rv ? drv_strdup(rv) : NULL;
  json_object_clear(obj);
  json_object_update(obj, (json_t *)old);
  /* deep copy of metadata so later edits to obj do not touch old */
  json_object_set_new(obj, "metadata", json_deep_copy(json_object_get(old, "metadata")));
  if (status) json_object_set_new(obj, "status", status);
  else json_object_del(obj, "status");
  drv_obj_set_resource_version(obj, rvcopy);
  free(rvcopy);
  if (!strcmp(res->kind, "Node")) drv_api_default_node_status(obj);
}

json_t *drv_api_scale_get(const drv_api_resource *res, const json_t *obj)
{
  if (!(res->subresources & DRV_SUB_SCALE)) return NULL;
  json_t *meta = json_object();
  const char *keys[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(keys); i++) {
    json_t *v = drv_json_get(obj, "metadata") ? json_object_get(json_object_get(obj, "metadata"), keys[i]) : NULL;
    if (v) json_object_set(meta, keys[i], v);
  }
  json_t *scale = json_pack("{s:s, s:s, s:o}", "kind", "Scale", "apiVersion", "autoscaling/v1",
                            "metadata", meta);
  json_object_set_new(scale, "spec",
                      json_pack("{s:I}", "replicas", (json_int_t)drv_json_get_int(obj, "spec.replicas", 1)));
  json_t *st = json_pack("{s:I}", "replicas", (json_int_t)drv_json_get_int(obj, "status.replicas", 0));
  char *sel = drv_label_selector_json_to_string(drv_json_get(obj, "spec.selector"));
  if (sel) {
    json_object_set_new(st, "selector", json_string(sel));
    free(sel);
  }
  json_object_set_new(scale, "status", st);
  return scale;
}

int drv_api_scale_set(const drv_api_resource *res, json_t *obj, const json_t *scale)
{
  if (!(res->subresources & DRV_SUB_SCALE)) return -1;
  json_t *r = drv_json_get(scale, "spec.replicas");
  if (r && !json_is_integer(r)) return -1;
  if (r && json_integer_value(r) < 0) return -1;
  long long want = r ? json_integer_value(r) : 0;
  json_t *had = drv_json_get(obj, "spec.replicas");
  /* A change of spec through /scale is a change of spec: controllers see it by generation. */
  if (drv_api_tracks_generation(res) && (!json_is_integer(had) || json_integer_value(had) != want))
    drv_obj_set_generation(obj, drv_obj_generation(obj) + 1);
  drv_json_set(obj, "spec.replicas", json_integer(want));
  return 0;
}
