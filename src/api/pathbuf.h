/* Internal: a field path ("spec.containers[0].image") built in place while walking an object,
 * so walks allocate nothing unless they report. */
#ifndef DRV_API_PATHBUF_H
#define DRV_API_PATHBUF_H

#include <stddef.h>
#include <string.h>

typedef struct drv_pathbuf {
  char buf[1024];
  size_t len;
} drv_pathbuf;

static inline void drv_pathbuf_append(drv_pathbuf *p, const char *s, size_t n)
{
  if (p->len + n >= sizeof(p->buf)) n = sizeof(p->buf) - 1 - p->len; /* very deep: truncated */
  memcpy(p->buf + p->len, s, n);
  p->len += n;
  p->buf[p->len] = '\0';
}

/* Appends ".key" (or "key" at the root); returns the length to pop back to. */
static inline size_t drv_pathbuf_key(drv_pathbuf *p, const char *key)
{
  size_t old = p->len;
  if (p->len) drv_pathbuf_append(p, ".", 1);
  drv_pathbuf_append(p, key, strlen(key));
  return old;
}

/* Appends "[i]". */
static inline size_t drv_pathbuf_index(drv_pathbuf *p, size_t i)
{
  size_t old = p->len;
  char tmp[24];
  size_t n = sizeof(tmp);
  tmp[--n] = ']';
  do {
    tmp[--n] = (char)('0' + i % 10);
    i /= 10;
  } while (i && n > 1);
  tmp[--n] = '[';
  drv_pathbuf_append(p, tmp + n, sizeof(tmp) - n);
  return old;
}

/* Appends "[key]" (map entries). */
static inline size_t drv_pathbuf_mapkey(drv_pathbuf *p, const char *key)
{
  size_t old = p->len;
  drv_pathbuf_append(p, "[", 1);
  drv_pathbuf_append(p, key, strlen(key));
  drv_pathbuf_append(p, "]", 1);
  return old;
}

static inline void drv_pathbuf_pop(drv_pathbuf *p, size_t old)
{
  p->len = old;
  p->buf[old] = '\0';
}

#endif
