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
} drv_store_change;

typedef int (*drv_store_load_fn)(void *ctx, const char *key, uint64_t create_rev,
                                 uint64_t mod_rev, const char *data, size_t len, drv_err *err);

typedef struct drv_store_backend drv_store_backend;

typedef struct drv_store_backend_ops {
  /* Calls fn for every key in key order; *rev gets the last committed revision. */
  int (*load)(drv_store_backend *b, drv_store_load_fn fn, void *ctx, uint64_t *rev, drv_err *err);
  /* Applies changes and records rev as the newest revision, durably, in one transaction. */
  int (*commit)(drv_store_backend *b, const drv_store_change *ch, size_t n, uint64_t rev,
                drv_err *err);
  void (*close)(drv_store_backend *b);
} drv_store_backend_ops;

struct drv_store_backend {
  const drv_store_backend_ops *ops;
};

/* SQLite in WAL mode at dir/store.db. Values under enc_prefixes are sealed with key. */
int drv_store_sqlite_open(const char *dir, const char *const *enc_prefixes,
                          const unsigned char *key, drv_store_backend **out, drv_err *err);

#endif
