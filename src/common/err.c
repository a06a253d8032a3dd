#include "common/err.h"

#include <stdio.h>
#include <string.h>

int drv_verror(drv_err *err, int errnum, const char *fmt, va_list ap)
{
  if (!err) return -1;
  err->errnum = errnum;
  int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof err->msg) n = sizeof err->msg - 1;
  if (errnum) snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
  return -1;
}

int drv_error(drv_err *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  drv_verror(err, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int drv_err_prefix(drv_err *err, const char *fmt, ...)
{
  if (!err) return -1;
  char prefix[DRV_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* Join into a larger buffer first, then keep what fits: context goes in front, the cause
   * is what gets cut when the whole is too long. */
  char joined[2 * DRV_ERR_MSG_MAX + 4];
  size_t n = strlen(prefix);
  memcpy(joined, prefix, n);
  memcpy(joined + n, ": ", 2);
  memcpy(joined + n + 2, err->msg, strnlen(err->msg, DRV_ERR_MSG_MAX - 1) + 1);
  joined[sizeof joined - 1] = '\0';
  size_t len = strlen(joined);
  if (len >= sizeof err->msg) len = sizeof err->msg - 1;
  memcpy(err->msg, joined, len);
  err->msg[len] = '\0';
  return -1;
}
