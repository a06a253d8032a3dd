/* Conversion between served versions of one stored kind (see convert.h). */
#include "api/convert.h"

#include <string.h>

#include "api/object.h"
#include "common/json.h"
#include "common/util.h"

static void move(json_t *dst, const char *dpath, const json_t *src, const char *spath)
{
  json_t *v = drv_json_get(src, spath);
  if (v) drv_json_set(dst, dpath, json_deep_copy(v));
}

/* ---- HorizontalPodAutoscaler ---- */

static json_t *hpa_v2_to_v1(const json_t *in)
{
  json_t *out = json_object();
  move(out, "metadata", in, "metadata");
  json_t *spec = json_object();
  json_object_set_new(out, "spec", spec);
  move(spec, "scaleTargetRef", in, "spec.scaleTargetRef");
  move(spec, "minReplicas", in, "spec.minReplicas");
  move(spec, "maxReplicas", in, "spec.maxReplicas");
  size_t i;
  json_t *m;
  json_array_foreach(drv_json_get(in, "spec.metrics"), i, m)
  {
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *name = drv_json_get_str(m, "resource.name");
    const char *tt = drv_json_get_str(m, "resource.target.type");
    if (type && !strcmp(type, "Resource") && name && !strcmp(name, "cpu") && tt &&
        !strcmp(tt, "Utilization"))
      move(spec, "targetCPUUtilizationPercentage", m, "resource.target.averageUtilization");
  }
  json_t *st = drv_json_get(in, "status");
  if (json_is_object(st)) {
    json_t *os = json_object();
    json_object_set_new(out, "status", os);
    move(os, "observedGeneration", st, "observedGeneration");
    move(os, "lastScaleTime", st, "lastScaleTime");
    drv_json_set(os, "currentReplicas", json_integer(drv_json_get_int(st, "currentReplicas", 0)));
    drv_json_set(os, "desiredReplicas", json_integer(drv_json_get_int(st, "desiredReplicas", 0)));
    json_array_foreach(json_object_get(st, "currentMetrics"), i, m)
    {
      const char *name = drv_json_get_str(m, "resource.name");
      if (name && !strcmp(name, "cpu"))
        move(os, "currentCPUUtilizationPercentage", m, "resource.current.averageUtilization");
    }
  }
  return out;
}

static json_t *hpa_v1_to_v2(const json_t *in)
{
  json_t *out = json_object();
  move(out, "metadata", in, "metadata");
  json_t *spec = json_object();
  json_object_set_new(out, "spec", spec);
  move(spec, "scaleTargetRef", in, "spec.scaleTargetRef");
  move(spec, "minReplicas", in, "spec.minReplicas");
  move(spec, "maxReplicas", in, "spec.maxReplicas");
  json_t *cpu = drv_json_get(in, "spec.targetCPUUtilizationPercentage");
  if (json_is_integer(cpu))
    json_object_set_new(spec, "metrics",
                        json_pack("[{s:s, s:{s:s, s:{s:s, s:O}}}]", "type", "Resource", "resource",
                                  "name", "cpu", "target", "type", "Utilization",
                                  "averageUtilization", cpu));
  json_t *st = drv_json_get(in, "status");
  if (json_is_object(st)) {
    json_t *os = json_object();
    json_object_set_new(out, "status", os);
    move(os, "observedGeneration", st, "observedGeneration");
    move(os, "lastScaleTime", st, "lastScaleTime");
    move(os, "currentReplicas", st, "currentReplicas");
    drv_json_set(os, "desiredReplicas", json_integer(drv_json_get_int(st, "desiredReplicas", 0)));
    json_t *cur = json_object_get(st, "currentCPUUtilizationPercentage");
    if (json_is_integer(cur))
      json_object_set_new(os, "currentMetrics",
                          json_pack("[{s:s, s:{s:s, s:{s:O}}}]", "type", "Resource", "resource",
                                    "name", "cpu", "current", "averageUtilization", cur));
  }
  return out;
}

/* ---- Event ---- */

static const char *const event_map[][2] = {
    /* core v1 field, events.k8s.io/v1 field */
    {"involvedObject", "regarding"},
    {"message", "note"},
    {"source", "deprecatedSource"},
    {"firstTimestamp", "deprecatedFirstTimestamp"},
    {"lastTimestamp", "deprecatedLastTimestamp"},
    {"count", "deprecatedCount"},
    {"reportingComponent", "reportingController"},
    {"reportingInstance", "reportingInstance"},
    {"eventTime", "eventTime"},
    {"action", "action"},
    {"reason", "reason"},
    {"related", "related"},
    {"type", "type"},
    {"metadata", "metadata"},
};

static json_t *event_convert(const json_t *in, bool to_events_v1)
{
  json_t *out = json_object();
  for (size_t i = 0; i < DRV_ARRAY_LEN(event_map); i++) {
    const char *from = event_map[i][to_events_v1 ? 0 : 1];
    const char *to = event_map[i][to_events_v1 ? 1 : 0];
    move(out, to, in, from);
  }
  json_t *series = json_object_get(in, "series");
  if (json_is_object(series)) {
    json_t *s = json_object();
    move(s, "count", series, "count");
    move(s, "lastObservedTime", series, "lastObservedTime");
    json_object_set_new(out, "series", s);
  }
  return out;
}

json_t *drv_api_convert(const json_t *obj, const drv_api_resource *from,
                        const drv_api_resource *to, drv_err *err)
{
  if (strcmp(from->kind, to->kind)) {
    drv_error(err, 0, "cannot convert %s to %s", from->kind, to->kind);
    return NULL;
  }
  json_t *out;
  if (!strcmp(from->group, to->group) && !strcmp(from->version, to->version)) {
    out = json_deep_copy(obj);
  } else if (!strcmp(from->kind, "HorizontalPodAutoscaler")) {
    out = !strcmp(to->version, "v1") ? hpa_v2_to_v1(obj) : hpa_v1_to_v2(obj);
  } else if (!strcmp(from->kind, "Event")) {
    out = event_convert(obj, !strcmp(to->group, "events.k8s.io"));
  } else {
    drv_error(err, 0, "no conversion from %s/%s to %s/%s for %s", from->group, from->version,
              to->group, to->version, from->kind);
    return NULL;
  }
  drv_obj_set_type(out, to);
  return out;
}
