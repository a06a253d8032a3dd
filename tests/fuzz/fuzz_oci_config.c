/* libFuzzer: config.json text → the runtime's spec parser and validator (runtime/spec.c),
 * plus the process.json parser that `exec --process` uses. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_t *j = json_loadb((const char *)data, size, 0, NULL);
  if (!j) return 0;
  drv_rt_spec *s = NULL;
  drv_err err;
  if (drv_rt_spec_parse(j, &s, &err) == 0) drv_rt_spec_free(s);
  json_t *p = json_object_get(j, "process");
  drv_rt_process proc;
  if (p && drv_rt_process_parse(p, "process", false, &proc, &err) == 0) drv_rt_process_clear(&proc);
  json_decref(j);
  return 0;
}
