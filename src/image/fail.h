/* Errors whose errnum classifies (ENOENT = not found, EINVAL = bad input, EACCES = denied…)
 * without a system call behind them: the message is ours alone, no strerror suffix. */
#ifndef DRV_IMAGE_FAIL_H
#define DRV_IMAGE_FAIL_H

#include <stdarg.h>

#include "common/err.h"

static inline int __attribute__((format(printf, 3, 4))) drv_fail(drv_err *err, int errnum, const char *fmt, ...)
{
  if (!err) return -1;
  va_list ap;
  va_start(ap, fmt);
  drv_verror(err, 0, fmt, ap);
  va_end(ap);
  err->errnum = errnum;
  return -1;
}

#endif
