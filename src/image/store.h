/* The on-disk store under <data-dir>/images (internal to the image layer):
 *   blobs/sha256/<hex>      verified content (manifests, configs, compressed layers)
 *   layers/sha256/<hex>     unpacked layers, keyed by diffID, read-only once in place
 *   tmp/                    downloads and unpacks in progress (resumable .partial files)
 *   locks/                  flock files: one per blob/layer digest, store.lock for gc
 *   refs.json               reference → manifest/config digests, rewritten atomically
 */
#ifndef DRV_IMAGE_STORE_H
#define DRV_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/image.h"

struct drv_image_store {
  char *root, *blobs, *layers, *tmp, *locks;
};

/* Exclusive flock on locks/<name>.lock (blocking); returns the fd to pass to unlock. */
int drv_store_lock(drv_image_store *s, const char *name, bool shared, drv_err *err);
void drv_store_unlock(int fd);

char *drv_store_blob_path(const drv_image_store *s, const char *digest);
char *drv_store_layer_path(const drv_image_store *s, const char *diff_id);
bool drv_store_has_blob(const drv_image_store *s, const char *digest);
/* Verifies data against digest (when non-NULL) and writes it atomically. */
int drv_store_put_blob(drv_image_store *s, const char *digest, const void *data, size_t len,
                       drv_err *err);
int drv_store_read_blob(drv_image_store *s, const char *digest, size_t max, char **data,
                        size_t *len, drv_err *err);
/* Moves a finished temporary file into place as blob `digest` (already verified by caller). */
int drv_store_commit_blob_file(drv_image_store *s, const char *tmp_path, const char *digest,
                               drv_err *err);

/* Flushes the store's filesystem (syncfs): done once before a reference is recorded, so that
 * everything it reaches is on disk, instead of a flush per blob or file. */
int drv_store_sync(drv_image_store *s, drv_err *err);

typedef struct drv_store_ref {
  char *name;        /* normalized reference */
  char *manifest;    /* digest of the platform manifest */
  char *config;      /* image id */
  char *index;       /* digest of the index it was chosen from, NULL when none */
  char *repo_digest; /* "domain/path@sha256:…" */
  int64_t time;      /* when it was recorded (epoch seconds) */
} drv_store_ref;

int drv_store_refs_load(drv_image_store *s, drv_store_ref **out, size_t *n, drv_err *err);
void drv_store_refs_free(drv_store_ref *refs, size_t n);
int drv_store_ref_set(drv_image_store *s, const drv_store_ref *r, drv_err *err);
/* Removes a reference; ENOENT when it is not there. */
int drv_store_ref_remove(drv_image_store *s, const char *name, drv_err *err);

typedef struct drv_store_gc_stats {
  size_t blobs_removed, layers_removed;
  int64_t bytes_removed;
} drv_store_gc_stats;
/* Removes blobs and layer directories no reference needs (and leftovers in tmp/); layer
 * directories used by a mounted overlay are kept. */
int drv_store_gc(drv_image_store *s, drv_store_gc_stats *st, drv_err *err);

#endif
