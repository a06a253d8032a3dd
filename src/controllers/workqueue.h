/* A work queue of object keys, as Kubernetes controllers use: a key queued many times is
 * processed once; a key re-added while a worker holds it is processed again after done();
 * delayed and rate-limited (per-key exponential backoff) adds. Thread-safe. */
#ifndef DRV_CONTROLLERS_WORKQUEUE_H
#define DRV_CONTROLLERS_WORKQUEUE_H

#include <stdbool.h>

typedef struct drv_workqueue drv_workqueue;

drv_workqueue *drv_workqueue_new(void);
void drv_workqueue_free(drv_workqueue *q);
void drv_workqueue_add(drv_workqueue *q, const char *key);
void drv_workqueue_add_after(drv_workqueue *q, const char *key, long long delay_ms);
/* Backoff 5 ms doubling up to 10 s per key, until forget(). */
void drv_workqueue_add_rate_limited(drv_workqueue *q, const char *key);
void drv_workqueue_forget(drv_workqueue *q, const char *key);
/* Next key (caller frees) or NULL after shutdown; waits at most timeout_ms (NULL on timeout). */
char *drv_workqueue_get(drv_workqueue *q, int timeout_ms);
void drv_workqueue_done(drv_workqueue *q, const char *key);
void drv_workqueue_shutdown(drv_workqueue *q);
int drv_workqueue_len(drv_workqueue *q);

#endif
