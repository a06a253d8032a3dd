/* Errors are values: a function that fails returns a negative number and fills a drv_err with
 * what it was doing and why (errno text when there is one). Callers add context with
 * drv_err_prefix() and pass it up; only the CLI or a server response prints it. */
#ifndef DRV_COMMON_ERR_H
#define DRV_COMMON_ERR_H

#include <stdarg.h>

#define DRV_ERR_MSG_MAX 1024

typedef struct drv_err {
  int errnum;                 /* errno-style cause, 0 when none */
  char msg[DRV_ERR_MSG_MAX];  /* "what was being done: why" */
} drv_err;

/* Fills err with the formatted message, followed by ": strerror(errnum)" when errnum != 0.
 * Always returns -1 so that `return drv_error(err, errno, "open `%s`", path);` reads naturally. */
int drv_error(drv_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int drv_verror(drv_err *err, int errnum, const char *fmt, va_list ap);

/* Prepends context: "create container `x`: " + the existing message. Returns -1. */
int drv_err_prefix(drv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void drv_err_clear(drv_err *err)
{
  if (err) {
    err->errnum = 0;
    err->msg[0] = '\0';
  }
}

#endif
