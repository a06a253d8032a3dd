/* libFuzzer: OCI linux.resources JSON → drv_cgroup_resources parser and validator. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_t *j = json_loadb((const char *)data, size, 0, NULL);
  if (!j) return 0;
  drv_cgroup_resources res;
  drv_err err;
  if (drv_cgroup_resources_from_json(j, &res, &err) == 0) {
    (void)drv_cgroup_resources_validate(&res, &err);
    drv_cgroup_resources_add_default_devices(&res);
    drv_cgroup_resources_free(&res);
  }
  json_decref(j);
  return 0;
}
