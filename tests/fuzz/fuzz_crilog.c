/* CRI log records: line parser, time parser and the renderer kubectl logs output comes from. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/crilog.h"
#include "common/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  drv_crilog_record r;
  drv_err err;
  drv_crilog_parse((const char *)data, size, &r, &err);
  drv_crilog_parse_time((const char *)data, size);
  drv_buf out = DRV_BUF_INIT;
  drv_crilog_read_opts o = {.tail = 2, .timestamps = true, .since_ns = 1};
  size_t used = drv_crilog_render((const char *)data, size, &o, &out);
  if (used > size) __builtin_trap();
  drv_buf_free(&out);
  return 0;
}
