#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static void oom(size_t n)
{
  fprintf(stderr, "drover: out of memory allocating %zu bytes\n", n);
  abort();
}

void *drv_malloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *drv_calloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size);
  return p;
}

void *drv_realloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *drv_strdup(const char *s)
{
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) oom(strlen(s));
  return d;
}

char *drv_strndup(const char *s, size_t n)
{
  if (!s) return NULL;
  char *d = strndup(s, n);
  if (!d) oom(n);
  return d;
}

char *drv_asprintf(const char *fmt, ...)
{
  va_list ap;
  char *out = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&out, fmt, ap);
  va_end(ap);
  if (n < 0) oom(0);
  return out;
}

size_t drv_strv_len(char *const *v)
{
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

void drv_strv_free(char **v)
{
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

void drv_freep(void *p)
{
  free(*(void **)p);
}

void drv_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

void drv_fclosep(FILE **f)
{
  if (*f) fclose(*f);
}

void drv_closedirp(DIR **d)
{
  if (*d) closedir(*d);
}

void drv_strvfreep(char ***v)
{
  drv_strv_free(*v);
}

static long long clock_ns(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct timespec drv_deadline_ms(clockid_t clock, long long ms)
{
  struct timespec ts;
  clock_gettime(clock, &ts);
  long long ns = ts.tv_nsec + (ms % 1000) * 1000000LL;
  ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
  ts.tv_nsec = (long)(ns % 1000000000LL);
  return ts;
}

long long drv_now_ns(void)
{
  return clock_ns(CLOCK_MONOTONIC);
}

long long drv_now_ms(void)
{
  return clock_ns(CLOCK_MONOTONIC) / 1000000LL;
}

long long drv_wall_ms(void)
{
  return clock_ns(CLOCK_REALTIME) / 1000000LL;
}
