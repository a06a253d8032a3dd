/* Work queue: FIFO of keys + a dirty set (queued) + a processing set; delayed keys wait in a
 * list the getters scan. Sets are jansson objects (hash tables keyed by string). */
#include "controllers/workqueue.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

typedef struct delayed {
  char *key;
  long long at;
} delayed;

struct drv_workqueue {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  char **fifo;
  size_t head, n, cap;
  json_t *dirty, *processing, *failures;
  delayed *later;
  size_t nlater, clater;
  bool shut;
};

drv_workqueue *drv_workqueue_new(void)
{
  drv_workqueue *q = drv_calloc(1, sizeof *q);
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->cond, NULL);
  q->dirty = json_object();
  q->processing = json_object();
  q->failures = json_object();
  return q;
}

void drv_workqueue_free(drv_workqueue *q)
{
  if (!q) return;
  for (size_t i = 0; i < q->n; i++) free(q->fifo[(q->head + i) % q->cap]);
  free(q->fifo);
  for (size_t i = 0; i < q->nlater; i++) free(q->later[i].key);
  free(q->later);
  json_decref(q->dirty);
  json_decref(q->processing);
  json_decref(q->failures);
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->cond);
  free(q);
}

static void fifo_push(drv_workqueue *q, const char *key)
{
  if (q->n >= q->cap) {
    size_t nc = q->cap ? q->cap * 2 : 64;
    char **f = drv_malloc(nc * sizeof *f);
    for (size_t i = 0; i < q->n; i++) f[i] = q->fifo[(q->head + i) % q->cap];
    free(q->fifo);
    q->fifo = f;
    q->cap = nc;
    q->head = 0;
  }
  q->fifo[(q->head + q->n++) % q->cap] = drv_strdup(key);
}

/* lock held */
static void add_locked(drv_workqueue *q, const char *key)
{
  if (q->shut || json_object_get(q->dirty, key)) return;
  json_object_set_new(q->dirty, key, json_true());
  if (json_object_get(q->processing, key)) return; /* re-queued by done() */
  fifo_push(q, key);
  pthread_cond_signal(&q->cond);
}

void drv_workqueue_add(drv_workqueue *q, const char *key)
{
  pthread_mutex_lock(&q->lock);
  add_locked(q, key);
  pthread_mutex_unlock(&q->lock);
}

void drv_workqueue_add_after(drv_workqueue *q, const char *key, long long delay_ms)
{
  if (delay_ms <= 0) {
    drv_workqueue_add(q, key);
    return;
  }
  pthread_mutex_lock(&q->lock);
  long long at = drv_now_ms() + delay_ms;
  for (size_t i = 0; i < q->nlater; i++)
    if (!strcmp(q->later[i].key, key)) {
      if (at < q->later[i].at) q->later[i].at = at;
      pthread_mutex_unlock(&q->lock);
      return;
    }
  if (q->nlater >= q->clater) {
    q->clater = q->clater ? q->clater * 2 : 32;
    q->later = drv_realloc(q->later, q->clater * sizeof *q->later);
  }
  q->later[q->nlater++] = (delayed){drv_strdup(key), at};
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
}

void drv_workqueue_add_rate_limited(drv_workqueue *q, const char *key)
{
  pthread_mutex_lock(&q->lock);
  long long n = json_integer_value(json_object_get(q->failures, key));
  json_object_set_new(q->failures, key, json_integer(n + 1));
  pthread_mutex_unlock(&q->lock);
  long long d = 5;
  for (long long i = 0; i < n && d < 10000; i++) d *= 2;
  if (d > 10000) d = 10000;
  drv_workqueue_add_after(q, key, d);
}

void drv_workqueue_forget(drv_workqueue *q, const char *key)
{
  pthread_mutex_lock(&q->lock);
  json_object_del(q->failures, key);
  pthread_mutex_unlock(&q->lock);
}

/* lock held: moves due delayed keys in; returns ms until the next one (or -1). */
static long long promote(drv_workqueue *q)
{
  long long now = drv_now_ms(), next = -1;
  size_t k = 0;
  for (size_t i = 0; i < q->nlater; i++) {
    if (q->later[i].at <= now) {
      add_locked(q, q->later[i].key);
      free(q->later[i].key);
    } else {
      long long d = q->later[i].at - now;
      if (next < 0 || d < next) next = d;
      q->later[k++] = q->later[i];
    }
  }
  q->nlater = k;
  return next;
}

char *drv_workqueue_get(drv_workqueue *q, int timeout_ms)
{
  long long deadline = drv_now_ms() + timeout_ms;
  pthread_mutex_lock(&q->lock);
  for (;;) {
    long long next = promote(q);
    if (q->n || q->shut) break;
    long long left = deadline - drv_now_ms();
    if (left <= 0) {
      pthread_mutex_unlock(&q->lock);
      return NULL;
    }
    long long wait = next >= 0 && next < left ? next : left;
    struct timespec ts = drv_deadline_ms(CLOCK_REALTIME, wait);
    pthread_cond_timedwait(&q->cond, &q->lock, &ts);
  }
  if (!q->n) {
    pthread_mutex_unlock(&q->lock);
    return NULL;
  }
  char *key = q->fifo[q->head];
  q->head = (q->head + 1) % q->cap;
  q->n--;
  json_object_del(q->dirty, key);
  json_object_set_new(q->processing, key, json_true());
  pthread_mutex_unlock(&q->lock);
  return key;
}

void drv_workqueue_done(drv_workqueue *q, const char *key)
{
  pthread_mutex_lock(&q->lock);
  json_object_del(q->processing, key);
  if (json_object_get(q->dirty, key) && !q->shut) {
    fifo_push(q, key);
    pthread_cond_signal(&q->cond);
  }
  pthread_mutex_unlock(&q->lock);
}

void drv_workqueue_shutdown(drv_workqueue *q)
{
  pthread_mutex_lock(&q->lock);
  q->shut = true;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->lock);
}

int drv_workqueue_len(drv_workqueue *q)
{
  pthread_mutex_lock(&q->lock);
  int n = (int)q->n;
  pthread_mutex_unlock(&q->lock);
  return n;
}
