#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

void drv_buf_reserve(drv_buf *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->data = drv_realloc(b->data, cap);
  b->cap = cap;
}

void drv_buf_append(drv_buf *b, const void *data, size_t len)
{
  drv_buf_reserve(b, len);
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void drv_buf_puts(drv_buf *b, const char *s)
{
  drv_buf_append(b, s, strlen(s));
}

void drv_buf_putc(drv_buf *b, char c)
{
  drv_buf_append(b, &c, 1);
}

void drv_buf_printf(drv_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  drv_buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void drv_buf_reset(drv_buf *b)
{
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void drv_buf_free(drv_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *drv_buf_steal(drv_buf *b)
{
  if (!b->data) drv_buf_reserve(b, 0), b->data[0] = '\0';
  char *d = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void drv_buf_freep(drv_buf *b)
{
  drv_buf_free(b);
}
