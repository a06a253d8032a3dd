/* The object store: keys ("/<group>/<resource>/<ns>/<name>") to serialized JSON values, one
 * global revision (= resourceVersion), watches from a revision, compaction.
 *
 * Everything committed lives in memory (the watch cache): get, list and watch never touch the
 * disk. Writes go to a backend (SQLite now, room for etcd) through a queue that one committer
 * thread drains: concurrent writers share one transaction and one fsync (group commit), and a
 * write returns only once its batch is durable.
 *
 * Values are immutable, reference-counted drv_store_obj: the server sends their bytes as they
 * are (no re-encoding). Every function is thread-safe. */
#ifndef DRV_STORE_STORE_H
#define DRV_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct drv_store drv_store;
typedef struct drv_store_watch drv_store_watch;

/* Result codes besides 0 (errnum in err too). */
enum {
  DRV_STORE_ENOENT = -2,    /* no such key */
  DRV_STORE_EEXIST = -17,   /* create over an existing key */
  DRV_STORE_ECONFLICT = -116, /* expected revision differs from the key's */
  DRV_STORE_EGONE = -34,    /* watch from a compacted revision / watcher fell behind */
  DRV_STORE_EIO = -5,       /* the backend failed: the store is read-only from then on */
  DRV_STORE_EABORT = -125,  /* the encode callback refused (its err says why) */
};

typedef struct drv_store_obj {
  int refs;             /* atomic */
  uint64_t mod_rev;     /* revision of the write that made this value */
  uint64_t create_rev;  /* revision that created the key */
  void *attrs;          /* lazily computed by opts.attrs_fn (selector data), see drv_store_attrs */
  char *key;
  size_t len;
  char data[];          /* JSON, NUL-terminated */
} drv_store_obj;

typedef struct drv_store_opts {
  const char *dir;            /* the backend's files live here (store.db) */
  size_t history;             /* events kept for watches (ring size); 0 = 100,000 */
  /* Values whose key starts with one of these are encrypted at rest with key (32 bytes,
   * AES-256-GCM). NULL-terminated; NULL = none. */
  const char *const *encrypted_prefixes;
  const unsigned char *encryption_key;
  /* Selector data for an object, computed once on first use; freed with attrs_free. */
  void *(*attrs_fn)(const drv_store_obj *obj);
  void (*attrs_free)(void *attrs);
} drv_store_opts;

int drv_store_open(const drv_store_opts *opts, drv_store **out, drv_err *err);
void drv_store_close(drv_store *s);

/* The newest committed revision. */
uint64_t drv_store_revision(drv_store *s);
/* The oldest revision a watch can still start after (events after it are kept). */
uint64_t drv_store_compacted(drv_store *s);
/* Number of keys. */
size_t drv_store_count(drv_store *s);

/* A value not in the store (dry runs answer with one): refs 1. */
drv_store_obj *drv_store_obj_new(const char *key, const char *data, size_t len,
                                 uint64_t create_rev, uint64_t mod_rev);
drv_store_obj *drv_store_obj_ref(drv_store_obj *o);
void drv_store_obj_unref(drv_store_obj *o);
/* The object's attrs (computed with opts.attrs_fn on first call); NULL without attrs_fn. */
void *drv_store_attrs(drv_store *s, drv_store_obj *o);

/* 0 and a new reference in *out, or DRV_STORE_ENOENT. */
int drv_store_get(drv_store *s, const char *key, drv_store_obj **out);

typedef bool (*drv_store_filter_fn)(void *ctx, drv_store_obj *o);

typedef struct drv_store_list {
  drv_store_obj **items;  /* new references */
  size_t n;
  uint64_t rev;           /* the revision the list reflects */
  char *next_key;         /* more matched after the limit: continue from this key; else NULL */
} drv_store_list;

/* Keys starting with prefix, in key order, after `after` (exclusive; NULL = from the start),
 * those passing filter (NULL = all), at most limit (0 = all). */
int drv_store_list_prefix(drv_store *s, const char *prefix, const char *after, size_t limit,
                          drv_store_filter_fn filter, void *ctx, drv_store_list *out);
/* The same as the store was at revision rev (0 = now): a paginated list continues on the
 * snapshot its first page saw. DRV_STORE_EGONE when rev is older than the kept history. */
int drv_store_list_prefix_at(drv_store *s, const char *prefix, const char *after, size_t limit,
                             drv_store_filter_fn filter, void *ctx, uint64_t rev,
                             drv_store_list *out);
void drv_store_list_free(drv_store_list *l);

typedef enum { DRV_STORE_PUT = 0, DRV_STORE_DELETE } drv_store_op;

/* Builds the value to write from cur, the key's newest value (including writes not yet durable;
 * NULL when absent). It runs outside the store's locks, so writers to different keys encode in
 * parallel; read-modify-write stays atomic because the store installs the result only if the
 * key still holds cur, and otherwise calls encode again with the newer value (so it may run more
 * than once per write: leave ctx ready for that).
 * rev: a stand-in for the revision, unknown until the write is queued: put it into the object as
 * its resourceVersion ("resourceVersion":"<rev>"); the store writes the real one in its place.
 * Returns 0 with *data and *len set (malloc'd; for a delete: the tombstone watchers see, or NULL
 * to reuse cur), 1 to leave the key unchanged (the write returns cur), < 0 with err to abort. */
typedef int (*drv_store_encode_fn)(void *ctx, uint64_t rev, const drv_store_obj *cur,
                                   char **data, size_t *len, drv_err *err);

typedef struct drv_store_write {
  drv_store_op op;
  const char *key;
  bool must_create;      /* put: fail with EEXIST when the key exists */
  bool must_exist;       /* put: fail with ENOENT when absent (delete always needs it) */
  uint64_t expect_rev;   /* != 0: fail with ECONFLICT unless the key's mod_rev equals it */
  drv_store_encode_fn encode;
  void *ctx;
} drv_store_write;

/* Applies one write and waits until it is durable. *out (may be NULL) gets the new value (for a
 * delete: the tombstone). */
int drv_store_apply(drv_store *s, const drv_store_write *w, drv_store_obj **out, drv_err *err);

/* Drops watch history up to rev (watches from before it answer EGONE). */
void drv_store_compact(drv_store *s, uint64_t rev);

typedef enum { DRV_STORE_ADDED = 0, DRV_STORE_MODIFIED, DRV_STORE_DELETED } drv_store_event_type;

typedef struct drv_store_event {
  drv_store_event_type type;
  drv_store_obj *obj;   /* new reference: the value (DELETED: the tombstone) */
  drv_store_obj *prev;  /* new reference or NULL: the value before */
} drv_store_event;

/* Watches keys under prefix. from_rev > 0: events after from_rev (EGONE when compacted).
 * from_rev == 0: first an ADDED event for every current key (a consistent snapshot), then
 * the changes after it. filter (may be NULL) is applied to the snapshot only; callers filter
 * events themselves (an object may move in or out of a selector). */
int drv_store_watch_open(drv_store *s, const char *prefix, uint64_t from_rev,
                         drv_store_filter_fn filter, void *ctx, drv_store_watch **out,
                         drv_err *err);
/* Up to max events, waiting up to timeout_ms for the first. Returns the count (0 on timeout or
 * after drv_store_watch_cancel), or DRV_STORE_EGONE when the history moved past this watcher. */
int drv_store_watch_next(drv_store_watch *w, drv_store_event *evs, int max, int timeout_ms);
/* True once the initial ADDED events of a from_rev == 0 watch have all been returned. */
bool drv_store_watch_snapshot_done(drv_store_watch *w);
/* The revision this watcher has seen everything up to (for BOOKMARK events). */
uint64_t drv_store_watch_progress(drv_store_watch *w);
/* Wakes a waiting drv_store_watch_next (from another thread); later calls return 0. */
void drv_store_watch_cancel(drv_store_watch *w);
void drv_store_watch_close(drv_store_watch *w);
void drv_store_event_release(drv_store_event *ev);

/* Counters for tests and benchmarks. */
typedef struct drv_store_stats {
  uint64_t commits;   /* backend transactions (fsyncs) */
  uint64_t writes;    /* writes committed */
} drv_store_stats;
void drv_store_get_stats(drv_store *s, drv_store_stats *out);

#endif
