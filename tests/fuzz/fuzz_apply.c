/* libFuzzer: server-side apply field ownership. Input: one byte (force, and whether the
 * result is then changed by an ordinary write), then the applied configuration (JSON) onto a
 * fixed deployment that another manager applied and a scaler changed. Every outcome must be
 * an object or a Status, never a crash; a result's managedFields must survive a second apply. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/managedfields.h"
#include "api/resource.h"
#include "common/json.h"

static const char base[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"b\"},"
    "\"finalizers\":[\"x/y\"]},\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\","
    "\"image\":\"i\",\"env\":[{\"name\":\"X\",\"value\":\"1\"}],\"ports\":[{\"containerPort\":80}]}]}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  const drv_api_resource *res = drv_api_resource_find("apps", "v1", "deployments");
  json_t *cfg = json_loadb((const char *)data + 1, size - 1, 0, NULL);
  if (!cfg) return 0;
  json_t *base_cfg = json_loads(base, 0, NULL), *st = NULL;
  json_t *cur = drv_mf_apply(res, NULL, base_cfg, "other", false, "2026-01-01T00:00:00Z", &st);
  json_t *scaled = json_deep_copy(cur);
  drv_json_set(scaled, "spec.replicas", json_integer(7));
  drv_mf_track_update(res, cur, scaled, "scaler", "scale", "2026-01-01T00:00:01Z");
  json_t *out = drv_mf_apply(res, scaled, cfg, "fuzz", data[0] & 1, "2026-01-01T00:00:02Z", &st);
  json_decref(st);
  st = NULL;
  if (out && json_is_object(out)) {
    json_t *again = drv_mf_apply(res, out, cfg, "fuzz", true, "2026-01-01T00:00:03Z", &st);
    json_decref(again);
    json_decref(st);
    if (data[0] & 2) {
      json_t *next = json_deep_copy(out);
      drv_json_set(next, "spec.replicas", json_integer(1));
      drv_mf_track_update(res, out, next, "editor", NULL, "2026-01-01T00:00:04Z");
      json_decref(next);
    }
  }
  json_decref(out);
  json_decref(scaled);
  json_decref(cur);
  json_decref(base_cfg);
  json_decref(cfg);
  return 0;
}
