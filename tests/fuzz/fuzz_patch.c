/* libFuzzer: patch application. Input: one byte choosing the patch kind and the resource,
 * then the original object, a NUL byte, and the patch (no NUL: the whole rest is the patch
 * against a fixed deployment). Every outcome must be a result or a Status, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/patch.h"
#include "api/resource.h"
#include "api/status.h"

static const char base[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"b\"},"
    "\"finalizers\":[\"x/y\"]},\"spec\":{\"replicas\":2,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}},"
    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"env\":[{\"name\":\"X\",\"value\":\"1\"}],"
    "\"ports\":[{\"containerPort\":80}]}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  static const char *const plurals[][2] = {{"apps", "deployments"}, {"", "pods"}, {"", "services"},
                                           {"", "nodes"}, {"autoscaling", "horizontalpodautoscalers"}};
  uint8_t sel = data[0];
  drv_patch_type type = (drv_patch_type)(1 + sel % 3);
  const char *const *rp = plurals[(sel / 3) % 5];
  const drv_api_resource *res = drv_api_resource_find(rp[0], rp[0][0] && !strcmp(rp[0], "autoscaling") ? "v2" : "v1", rp[1]);
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  const char *nul = memchr(rest, '\0', n);
  json_t *orig;
  const char *patch;
  size_t plen;
  if (nul) {
    orig = json_loadb(rest, (size_t)(nul - rest), JSON_DECODE_ANY, NULL);
    patch = nul + 1;
    plen = n - (size_t)(nul - rest) - 1;
  } else {
    orig = json_loads(base, 0, NULL);
    patch = rest;
    plen = n;
  }
  if (!orig) return 0;
  json_t *status = NULL;
  json_t *out = drv_api_patch_apply(res, orig, type, patch, plen, &status);
  if (!out && (!status || drv_status_code(status) < 400)) __builtin_trap();
  json_decref(out);
  json_decref(status);
  json_decref(orig);
  return 0;
}
