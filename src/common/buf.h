/* A growable byte buffer, always NUL-terminated so it can be used as a string. */
#ifndef DRV_COMMON_BUF_H
#define DRV_COMMON_BUF_H

#include <stddef.h>

typedef struct drv_buf {
  char *data;
  size_t len;
  size_t cap;
} drv_buf;

#define DRV_BUF_INIT {NULL, 0, 0}

void drv_buf_reserve(drv_buf *b, size_t extra);
void drv_buf_append(drv_buf *b, const void *data, size_t len);
void drv_buf_puts(drv_buf *b, const char *s);
void drv_buf_putc(drv_buf *b, char c);
void drv_buf_printf(drv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drv_buf_reset(drv_buf *b);
void drv_buf_free(drv_buf *b);
/* Hands the bytes to the caller (never NULL) and empties the buffer. */
char *drv_buf_steal(drv_buf *b);

void drv_buf_freep(drv_buf *b);
#define _cleanup_buf_ __attribute__((cleanup(drv_buf_freep)))

#endif
