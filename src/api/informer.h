/* Informer: list + watch one resource into a local cache keyed "ns/name", with handlers called
 * on every change. It resumes watching from the last resourceVersion it saw when a stream ends
 * and relists when the server answers 410 Gone (then delivers the differences as events, so
 * handlers see every object that appeared, changed or vanished meanwhile).
 *
 * One thread per informer runs the loop; handlers run on it and must be quick (enqueue a key).
 * Cached objects are shared and read-only: copy (json_deep_copy) before changing one. */
#ifndef DRV_API_INFORMER_H
#define DRV_API_INFORMER_H

#include <jansson.h>
#include <stdbool.h>

#include "api/client.h"

typedef struct drv_informer drv_informer;

typedef struct drv_informer_handlers {
  void (*on_add)(void *ud, json_t *obj);
  /* old may equal obj on a resync. */
  void (*on_update)(void *ud, json_t *old, json_t *obj);
  /* obj is the last state known (the DELETED event's object). */
  void (*on_delete)(void *ud, json_t *obj);
  void *ud;
} drv_informer_handlers;

/* ref names the collection (ns NULL = all namespaces); selectors may be NULL. Copies its args. */
drv_informer *drv_informer_new(drv_api_client *c, const drv_api_ref *ref,
                               const char *label_selector, const char *field_selector);
/* Before start. Up to 8 handler sets. */
void drv_informer_add_handlers(drv_informer *inf, const drv_informer_handlers *h);
/* resync_ms > 0: every resync_ms, on_update(obj, obj) for each cached object. Before start. */
void drv_informer_set_resync(drv_informer *inf, int resync_ms);
/* fn(obj) may trim each object (listed or from an event) before it is cached and handed to
 * the handlers, dropping fields the caller never reads: the cache then holds only those
 * (client-go's SetTransform). Before start. */
void drv_informer_set_transform(drv_informer *inf, void (*fn)(json_t *obj));
int drv_informer_start(drv_informer *inf, drv_err *err);
/* True once the first list has been loaded. */
bool drv_informer_synced(drv_informer *inf);
/* Waits until synced or timeout_ms passed; returns synced. */
bool drv_informer_wait_synced(drv_informer *inf, int timeout_ms);
/* Stops the thread (within ~timeout of one watch_next poll) and frees everything. */
void drv_informer_free(drv_informer *inf);

/* New reference to the cached object, or NULL. ns NULL/"" for cluster-scoped. */
json_t *drv_informer_get(drv_informer *inf, const char *ns, const char *name);
/* New JSON array of the cached objects in ns (NULL = all), each passing filter (NULL = all). */
json_t *drv_informer_list(drv_informer *inf, const char *ns,
                          bool (*filter)(json_t *obj, void *ud), void *ud);
size_t drv_informer_count(drv_informer *inf);
/* The newest resourceVersion seen (list or event); "" before the first list. New string. */
char *drv_informer_last_rv(drv_informer *inf);

/* One index per informer: fn(obj) gives the key an object is filed under (a string inside
 * obj, or NULL for none). Set before start. drv_informer_by_index returns a new JSON array of
 * the cached objects filed under key (in every namespace). */
void drv_informer_set_index(drv_informer *inf, const char *(*fn)(const json_t *obj));
json_t *drv_informer_by_index(drv_informer *inf, const char *key);

/* Puts an object the caller just wrote into the cache ahead of its watch event, so a loop that
 * reads the cache right after its own write sees it (the watch event later replaces it if its
 * resourceVersion is newer or equal). Borrowed reference. */
void drv_informer_store_hint(drv_informer *inf, json_t *obj);

#endif
