/* What the store front (store.c) needs from a durable backend: load everything at open, and
 * commit a batch of changes as one durable transaction. SQLite implements it (store_sqlite.c);
 * an etcd backend would fill the same table. */
#ifndef DRV_STORE_BACKEND_H
#define DRV_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct drv_store_change {
  const char *key;
  const char *data;   /* NULL: delete */
  size_t len;
  uint64_t create_rev;
  uint64_t mod_rev;
  int type;                 /* drv_store_event_type: ADDED, MODIFIED or DELETED */
  const char *event_data;   /* what watchers saw: the value, or a delete's tombstone */
  size_t event_len;
} drv_store_change;

typedef int (*drv_store_load_fn)(void *ctx, const char *key, uint64_t create_rev,
                                 uint64_t mod_rev, const char *data, size_t len, drv_err *err);

/* One event of the kept history (type as in drv_store_change). */
typedef int (*drv_store_history_fn)(void *ctx, uint64_t rev, const char *key, int type,
                                    uint64_t create_rev, const char *data, size_t len,
                                    drv_err *err);

typedef struct drv_store_backend drv_store_backend;

typedef struct drv_store_backend_ops {
  /* Calls fn for every key in key order; *rev gets the last committed revision. */
  int (*load)(drv_store_backend *b, drv_store_load_fn fn, void *ctx, uint64_t *rev, drv_err *err);
  /* Calls fn for every kept history event after revision `after` up to `upto`, oldest first.
   * Safe beside commit (on another thread): it reads with a connection of its own. */
  int (*load_history)(drv_store_backend *b, uint64_t after, uint64_t upto,
                      drv_store_history_fn fn, void *ctx, drv_err *err);
  /* Applies changes, adds them to the history (which keeps the newest `history` revisions) and
   * records rev as the newest revision, durably, in one transaction. */
  int (*commit)(drv_store_backend *b, const drv_store_change *ch, size_t n, uint64_t rev,
                drv_err *err);
  void (*close)(drv_store_backend *b);
} drv_store_backend_ops;

struct drv_store_backend {
  const drv_store_backend_ops *ops;
};

/* SQLite in WAL mode at dir/store.db. Values under enc_prefixes are sealed with key. The
 * history keeps the events of the newest `history` revisions, so watches and paginated lists
 * from before a restart go on. */
int drv_store_sqlite_open(const char *dir, const char *const *enc_prefixes,
                          const unsigned char *key, uint64_t history, drv_store_backend **out,
                          drv_err *err);

#endif
