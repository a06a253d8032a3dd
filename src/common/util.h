/* Ownership at the declaration: variables marked with a cleanup attribute release what they
 * hold when they go out of scope, so early returns never leak. Move ownership out with
 * drv_steal_ptr()/drv_steal_fd(). */
#ifndef DRV_COMMON_UTIL_H
#define DRV_COMMON_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void drv_freep(void *p);
void drv_closep(int *fd);
void drv_fclosep(FILE **f);
void drv_closedirp(DIR **d);
void drv_strvfreep(char ***v);

#define _cleanup_free_ __attribute__((cleanup(drv_freep)))
#define _cleanup_close_ __attribute__((cleanup(drv_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(drv_fclosep)))
#define _cleanup_dir_ __attribute__((cleanup(drv_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(drv_strvfreep)))

static inline void *drv_steal_ptr_impl(void **p)
{
  void *v = *p;
  *p = NULL;
  return v;
}
#define drv_steal_ptr(p) drv_steal_ptr_impl((void **)&(p))

static inline int drv_steal_fd(int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#define DRV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DRV_UNUSED __attribute__((unused))

/* Allocation failure is not an error path drover recovers from: it aborts with a message. */
void *drv_malloc(size_t n);
void *drv_calloc(size_t n, size_t size);
void *drv_realloc(void *p, size_t n);
char *drv_strdup(const char *s);
char *drv_strndup(const char *s, size_t n);
char *drv_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated string vectors. */
size_t drv_strv_len(char *const *v);
void drv_strv_free(char **v);

/* Monotonic and wall clocks. */
long long drv_now_ms(void);
long long drv_now_ns(void);
long long drv_wall_ms(void);
/* Now on clock plus ms, for pthread_cond_timedwait (CLOCK_REALTIME unless the condition
 * variable was made for another clock). */
struct timespec drv_deadline_ms(clockid_t clock, long long ms);

#endif
