/* The store front: the in-memory watch cache (a skip list of keys in order), the event
 * history ring for watches, and the group-commit write queue in front of the backend.
 *
 * Locks: `wmu` guards the write queue and revision assignment; `mu` guards the skip list, the
 * history and the watchers. Order: wmu, then mu. Writers encode outside both (optimistically,
 * against the value they read) and hold them only to check that value is still current, take a
 * revision and queue; each then sleeps on its own futex until the committer wakes it, so a
 * commit never wakes a herd of writers that all contend for the lock.
 * A key's node carries its committed value (what readers see) and its pending value (what the
 * next writer builds on) until the committer has made the pending one durable. */
#include "store/store.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "store/backend.h"

#define SL_MAX 24

typedef struct node {
  char *key;
  drv_store_obj *committed;  /* NULL: not (yet / any more) visible */
  drv_store_obj *pending;    /* newest value incl. not-yet-durable (NULL + has_pending: deleted) */
  bool has_pending;
  uint64_t pending_rev;
  int level;
  struct node *next[];
} node;

/* A queued writer waits on its own word: 0 while queued, 1 durable, -1 failed. */
typedef struct waiter {
  int state;
} waiter;

static void waiter_wait(waiter *w)
{
  while (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == 0)
    syscall(SYS_futex, &w->state, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

/* The waiter may return as soon as it sees the store; a wake that then lands on a reused address
 * is a spurious wake-up, which every futex wait loop tolerates. */
static void waiter_wake(waiter *w, int state)
{
  __atomic_store_n(&w->state, state, __ATOMIC_RELEASE);
  syscall(SYS_futex, &w->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

typedef struct change {
  drv_store_event_type type;
  drv_store_obj *obj;   /* new value or tombstone */
  drv_store_obj *prev;  /* value before, NULL on create */
  waiter *w;
} change;

typedef struct hist_ev {
  uint64_t rev;
  drv_store_event_type type;
  drv_store_obj *obj, *prev;
  bool prev_unknown;  /* loaded at start: the value before is older than the kept history */
} hist_ev;

struct drv_store_watch {
  drv_store *s;
  char *prefix;
  size_t prefix_len;
  uint64_t cursor;          /* next revision to look at */
  drv_store_obj **snap;     /* initial ADDED events not delivered yet */
  size_t snap_n, snap_i;
  bool cancelled;
  /* with mu: a watch waiting for events is on s->waiting and woken on its own, by a commit
   * with a key under its prefix (or its timeout): a commit never wakes every watcher */
  pthread_cond_t cond;
  struct drv_store_watch *wprev, *wnext;
};

struct drv_store {
  drv_store_opts opts;
  drv_store_backend *be;
  pthread_mutex_t mu;
  struct drv_store_watch *waiting; /* with mu: watches waiting for events (list) */
  node *head;
  int level;
  size_t count;
  uint64_t rev;             /* newest committed revision */
  uint64_t compacted;       /* watches must start at or after this revision */
  hist_ev *hist;            /* ring of history events, hist[(rev - 1) % cap] */
  size_t hist_cap;
  uint64_t hist_first;      /* oldest revision in the ring (hist_first > rev when empty) */
  /* The kept history is read from the backend by its own thread once serving has started:
   * until it is in the ring, whoever needs revisions up to load_rev waits on hist_cond. */
  bool hist_loading;
  uint64_t load_rev;        /* the revision at open */
  uint64_t compact_req;     /* with hist_loading: the newest compaction asked for meanwhile */
  pthread_cond_t hist_cond;
  pthread_t hist_thread;
  bool hist_thread_started;
  node *load_tail[SL_MAX];  /* at open: the last node at each level (keys come in order) */
  unsigned rnd;

  pthread_mutex_t wmu;
  pthread_cond_t wcond;     /* with wmu: the committer has work (or must stop) */
  pthread_cond_t done;      /* with wmu: durable_rev moved (for writers that changed nothing) */
  uint64_t next_rev;        /* revision the next write gets */
  /* encoders put rev_token where the revision goes; the store writes the real one there.
   * Random per store with the top bit set: no real revision, and no client can guess it. */
  uint64_t rev_token;
  char rv_needle[64];       /* "resourceVersion":"<rev_token>" */
  size_t rv_needle_len;
  uint64_t durable_rev;
  change *queue;
  size_t queue_n, queue_cap;
  bool failed, stopping;
  char fail_msg[DRV_ERR_MSG_MAX];
  pthread_t committer;
  drv_store_stats stats;
};

/* ---- objects ---- */

static drv_store_obj *obj_new(const char *key, const char *data, size_t len, uint64_t crev,
                              uint64_t mrev)
{
  drv_store_obj *o = drv_malloc(sizeof *o + len + 1);
  o->refs = 1;
  o->mod_rev = mrev;
  o->create_rev = crev;
  o->attrs = NULL;
  o->key = drv_strdup(key);
  o->len = len;
  memcpy(o->data, data, len);
  o->data[len] = 0;
  return o;
}

static void (*attrs_free_fn)(void *);

drv_store_obj *drv_store_obj_new(const char *key, const char *data, size_t len,
                                 uint64_t create_rev, uint64_t mod_rev)
{
  return obj_new(key, data, len, create_rev, mod_rev);
}

drv_store_obj *drv_store_obj_ref(drv_store_obj *o)
{
  if (o) __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
  return o;
}

void drv_store_obj_unref(drv_store_obj *o)
{
  if (!o || __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (o->attrs && attrs_free_fn) attrs_free_fn(o->attrs);
  free(o->key);
  free(o);
}

void *drv_store_attrs(drv_store *s, drv_store_obj *o)
{
  void *a = __atomic_load_n(&o->attrs, __ATOMIC_ACQUIRE);
  if (a || !s->opts.attrs_fn) return a;
  a = s->opts.attrs_fn(o);
  void *expected = NULL;
  if (!__atomic_compare_exchange_n(&o->attrs, &expected, a, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    if (a && s->opts.attrs_free) s->opts.attrs_free(a);
    return expected;
  }
  return a;
}

/* ---- skip list ---- */

static node *node_new(const char *key, int level)
{
  node *n = drv_calloc(1, sizeof *n + (size_t)level * sizeof(node *));
  n->key = drv_strdup(key);
  n->level = level;
  return n;
}

static int random_level(drv_store *s)
{
  int l = 1;
  while (l < SL_MAX) {
    s->rnd = s->rnd * 1103515245u + 12345u;
    if ((s->rnd >> 16) & 3) break;
    l++;
  }
  return l;
}

/* First node with key >= key (or > key when strict); fills update[] with predecessors. */
static node *sl_seek(drv_store *s, const char *key, bool strict, node **update)
{
  node *x = s->head;
  for (int i = s->level - 1; i >= 0; i--) {
    while (x->next[i]) {
      int c = strcmp(x->next[i]->key, key);
      if (c < 0 || (strict && c == 0))
        x = x->next[i];
      else
        break;
    }
    if (update) update[i] = x;
  }
  return x->next[0];
}

static node *sl_find(drv_store *s, const char *key)
{
  node *n = sl_seek(s, key, false, NULL);
  return n && strcmp(n->key, key) == 0 ? n : NULL;
}

static node *sl_insert(drv_store *s, const char *key)
{
  node *update[SL_MAX];
  node *n = sl_seek(s, key, false, update);
  if (n && strcmp(n->key, key) == 0) return n;
  int lvl = random_level(s);
  for (int i = s->level; i < lvl; i++) update[i] = s->head;
  if (lvl > s->level) s->level = lvl;
  n = node_new(key, lvl);
  for (int i = 0; i < lvl; i++) {
    n->next[i] = update[i]->next[i];
    update[i]->next[i] = n;
  }
  return n;
}

static void sl_remove(drv_store *s, const char *key)
{
  node *update[SL_MAX];
  node *n = sl_seek(s, key, false, update);
  if (!n || strcmp(n->key, key) != 0) return;
  for (int i = 0; i < n->level; i++)
    if (update[i]->next[i] == n) update[i]->next[i] = n->next[i];
  while (s->level > 1 && !s->head->next[s->level - 1]) s->level--;
  drv_store_obj_unref(n->committed);
  drv_store_obj_unref(n->pending);
  free(n->key);
  free(n);
}

/* ---- history ---- */

static void hist_push(drv_store *s, const change *c)
{
  hist_ev *h = &s->hist[(c->obj->mod_rev - 1) % s->hist_cap];
  if (h->obj) {
    /* overwriting the oldest: it becomes compacted */
    if (h->rev >= s->compacted) s->compacted = h->rev;
    s->hist_first = h->rev + 1;
    drv_store_obj_unref(h->obj);
    drv_store_obj_unref(h->prev);
  }
  h->rev = c->obj->mod_rev;
  h->type = c->type;
  h->obj = drv_store_obj_ref(c->obj);
  h->prev = drv_store_obj_ref(c->prev);
  h->prev_unknown = false;
  if (s->hist_first > h->rev) s->hist_first = h->rev;
}

static void compact_locked(drv_store *s, uint64_t rev)
{
  if (rev > s->rev) rev = s->rev;
  while (s->hist_first <= rev && s->hist_first <= s->rev) {
    hist_ev *h = &s->hist[(s->hist_first - 1) % s->hist_cap];
    if (h->obj && h->rev == s->hist_first) {
      drv_store_obj_unref(h->obj);
      drv_store_obj_unref(h->prev);
      h->obj = h->prev = NULL;
    }
    s->hist_first++;
  }
  if (rev > s->compacted) s->compacted = rev;
}

void drv_store_compact(drv_store *s, uint64_t rev)
{
  pthread_mutex_lock(&s->mu);
  if (s->hist_loading) {
    /* done once the history is in (it would be put back over it) */
    if (rev > s->compact_req) s->compact_req = rev;
  } else {
    compact_locked(s, rev);
  }
  pthread_mutex_unlock(&s->mu);
}

/* Waits until the history up to rev is in the ring (at once unless it is still loading). */
static void hist_wait_locked(drv_store *s, uint64_t rev)
{
  while (s->hist_loading && rev <= s->load_rev) pthread_cond_wait(&s->hist_cond, &s->mu);
}

/* ---- committer ---- */

static void fail_store(drv_store *s, const char *msg)
{
  s->failed = true;
  snprintf(s->fail_msg, sizeof s->fail_msg, "%s", msg);
  drv_log_error("store: writes stopped: %s", msg);
}

static bool has_prefix(const char *key, const char *prefix, size_t plen);

/* Wakes the waiting watches with a key of the batch under their prefix. Under mu. */
static void wake_watchers(drv_store *s, const change *batch, size_t n)
{
  for (drv_store_watch *w = s->waiting; w; w = w->wnext) {
    for (size_t i = 0; i < n; i++) {
      if (has_prefix(batch[i].obj->key, w->prefix, w->prefix_len)) {
        pthread_cond_signal(&w->cond);
        break;
      }
    }
  }
}

static void *committer_main(void *arg)
{
  drv_store *s = arg;
  change *batch = NULL;
  size_t cap = 0;
  drv_store_change *chs = NULL;
  pthread_mutex_lock(&s->wmu);
  for (;;) {
    while (s->queue_n == 0 && !s->stopping) pthread_cond_wait(&s->wcond, &s->wmu);
    if (s->queue_n == 0 && s->stopping) break;
    bool failed = s->failed;
    /* take the whole queue: everyone who queued meanwhile shares this commit */
    change *tmp = batch;
    size_t n = s->queue_n, tmpcap = cap;
    batch = s->queue;
    cap = s->queue_cap;
    s->queue = tmp;
    s->queue_cap = tmpcap;
    s->queue_n = 0;
    uint64_t last = batch[n - 1].obj->mod_rev;
    pthread_mutex_unlock(&s->wmu);

    chs = drv_realloc(chs, n * sizeof *chs);
    for (size_t i = 0; i < n; i++) {
      drv_store_obj *o = batch[i].obj;
      chs[i] = (drv_store_change){o->key, batch[i].type == DRV_STORE_DELETED ? NULL : o->data,
                                  o->len, o->create_rev, o->mod_rev, (int)batch[i].type,
                                  o->data, o->len};
    }
    drv_err err = {0};
    /* after a failed commit nothing more is written: the batches behind it fail too */
    int rc = failed ? -1 : s->be->ops->commit(s->be, chs, n, last, &err);

    pthread_mutex_lock(&s->mu);
    if (rc == 0) {
      for (size_t i = 0; i < n; i++) {
        change *c = &batch[i];
        node *nd = sl_find(s, c->obj->key);
        if (!nd) continue; /* cannot happen: pending nodes stay until committed */
        bool was = nd->committed != NULL;
        drv_store_obj_unref(nd->committed);
        nd->committed = c->type == DRV_STORE_DELETED ? NULL : drv_store_obj_ref(c->obj);
        if (was && !nd->committed) s->count--;
        if (!was && nd->committed) s->count++;
        if (nd->has_pending && nd->pending_rev == c->obj->mod_rev) {
          nd->has_pending = false;
          drv_store_obj_unref(nd->pending);
          nd->pending = NULL;
        }
        hist_push(s, c);
        if (!nd->committed && !nd->has_pending) sl_remove(s, c->obj->key);
      }
      s->rev = last;
      s->stats.commits++;
      s->stats.writes += n;
      wake_watchers(s, batch, n);
    }
    pthread_mutex_unlock(&s->mu);

    pthread_mutex_lock(&s->wmu);
    if (rc == 0)
      s->durable_rev = last;
    else if (!failed)
      fail_store(s, err.msg);
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->wmu);
    for (size_t i = 0; i < n; i++) {
      waiter_wake(batch[i].w, rc == 0 ? 1 : -1);
      drv_store_obj_unref(batch[i].obj);
      drv_store_obj_unref(batch[i].prev);
    }
    pthread_mutex_lock(&s->wmu);
  }
  pthread_mutex_unlock(&s->wmu);
  free(batch);
  free(chs);
  return NULL;
}

/* ---- open / close ---- */

static int load_one(void *ctx, const char *key, uint64_t crev, uint64_t mrev, const char *data,
                    size_t len, drv_err *err)
{
  drv_store *s = ctx;
  node **tail = s->load_tail, *n;
  if (!tail[0] || (tail[0] != s->head && strcmp(tail[0]->key, key) >= 0)) {
    /* not after the last one (the backend gave keys out of order): searched from now on */
    tail[0] = NULL;
    n = sl_insert(s, key);
    if (n->committed) return drv_error(err, EINVAL, "store: key `%s` twice", key);
  } else {
    /* the backend loads in key order: each key goes last, no search */
    int lvl = random_level(s);
    if (lvl > s->level) s->level = lvl;
    n = node_new(key, lvl);
    for (int i = 0; i < lvl; i++) {
      tail[i]->next[i] = n;
      tail[i] = n;
    }
  }
  n->committed = obj_new(key, data, len, crev, mrev);
  s->count++;
  return 0;
}

/* ---- the kept history, loaded at open ---- */

typedef struct hist_load {
  drv_store *s;
  hist_ev *evs;
  size_t n, cap;
} hist_load;

/* Takes the skip list's lock only now and then while the history loads beside writers. */
#define HIST_LOCK_EVERY 256

static int load_event(void *ctx, uint64_t rev, const char *key, int type, uint64_t crev,
                      const char *data, size_t len, drv_err *err)
{
  hist_load *h = ctx;
  if (type < DRV_STORE_ADDED || type > DRV_STORE_DELETED)
    return drv_error(err, EINVAL, "store: history event %llu of `%s` has type %d",
                     (unsigned long long)rev, key, type);
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 1024;
    h->evs = drv_realloc(h->evs, h->cap * sizeof *h->evs);
  }
  /* an event that made the current value shares its bytes (the skip list is read under mu:
   * writers run meanwhile; held over a few events at a time) */
  if (h->n % HIST_LOCK_EVERY == 0) {
    if (h->n) pthread_mutex_unlock(&h->s->mu);
    pthread_mutex_lock(&h->s->mu);
  }
  node *nd = sl_find(h->s, key);
  drv_store_obj *o = nd && nd->committed && nd->committed->mod_rev == rev
                         ? drv_store_obj_ref(nd->committed)
                         : NULL;
  if (!o) o = obj_new(key, data, len, crev, rev);
  h->evs[h->n++] = (hist_ev){rev, (drv_store_event_type)type, o, NULL, false};
  return 0;
}

static int by_key_rev(const void *a, const void *b)
{
  const hist_ev *x = *(hist_ev *const *)a, *y = *(hist_ev *const *)b;
  int c = strcmp(x->obj->key, y->obj->key);
  return c ? c : (x->rev < y->rev ? -1 : x->rev > y->rev);
}

/* Fills the ring with the backend's history of the newest revisions before the start (those
 * that reach load_rev without a gap), each event's previous value found among the others.
 * Runs beside writers: what they have pushed out of the ring meanwhile is left out. */
static int load_history(drv_store *s, drv_err *err)
{
  hist_load h = {s, NULL, 0, 0};
  uint64_t after = s->load_rev > s->hist_cap ? s->load_rev - s->hist_cap : 0;
  int rc = s->be->ops->load_history(s->be, after, s->load_rev, load_event, &h, err);
  if (h.n) pthread_mutex_unlock(&s->mu); /* load_event holds it between events */
  size_t first = h.n;
  if (rc == 0 && h.n && h.evs[h.n - 1].rev == s->load_rev) {
    first = h.n - 1;
    while (first > 0 && h.evs[first - 1].rev + 1 == h.evs[first].rev) first--;
  }
  hist_ev **idx = drv_malloc((h.n - first + 1) * sizeof *idx);
  for (size_t i = first; i < h.n; i++) idx[i - first] = &h.evs[i];
  qsort(idx, h.n - first, sizeof *idx, by_key_rev);
  for (size_t i = 0; i < h.n - first; i++) {
    hist_ev *e = idx[i], *before = i ? idx[i - 1] : NULL;
    if (before && !strcmp(before->obj->key, e->obj->key)) {
      if (before->type != DRV_STORE_DELETED) e->prev = drv_store_obj_ref(before->obj);
    } else {
      e->prev_unknown = e->type != DRV_STORE_ADDED;
    }
  }
  free(idx);
  pthread_mutex_lock(&s->mu);
  /* revisions since the start have taken the slots of those up to floor */
  uint64_t floor = s->rev > s->hist_cap ? s->rev - s->hist_cap : 0, installed = 0;
  for (size_t i = 0; i < h.n; i++) {
    hist_ev *e = &h.evs[i];
    if (i < first || e->rev <= floor) {
      drv_store_obj_unref(e->obj);
      drv_store_obj_unref(e->prev);
      continue;
    }
    s->hist[(e->rev - 1) % s->hist_cap] = *e;
    if (!installed) installed = e->rev;
  }
  if (installed) {
    s->hist_first = installed;
    s->compacted = installed - 1;
  }
  if (s->compact_req) compact_locked(s, s->compact_req);
  s->hist_loading = false;
  pthread_cond_broadcast(&s->hist_cond);
  pthread_mutex_unlock(&s->mu);
  free(h.evs);
  return rc;
}

static void *hist_loader_main(void *arg)
{
  drv_store *s = arg;
  drv_err err = {0};
  long long t0 = drv_now_ms();
  if (load_history(s, &err) < 0)
    drv_log_warn("store: the kept history was not loaded (watches and lists from a revision "
                 "before the start get 410 Gone): %s", err.msg);
  else
    drv_log_info("store: the history of revisions %llu-%llu loaded in %lld ms",
                 (unsigned long long)drv_store_compacted(s) + 1,
                 (unsigned long long)s->load_rev, drv_now_ms() - t0);
  return NULL;
}

int drv_store_open(const drv_store_opts *opts, drv_store **out, drv_err *err)
{
  drv_store *s = drv_calloc(1, sizeof *s);
  s->opts = *opts;
  s->opts.dir = drv_strdup(opts->dir);
  attrs_free_fn = opts->attrs_free;
  s->hist_cap = opts->history ? opts->history : 100000;
  s->hist = drv_calloc(s->hist_cap, sizeof *s->hist);
  s->head = node_new("", SL_MAX);
  s->level = 1;
  s->rnd = (unsigned)drv_now_ns();
  unsigned char rb[8];
  if (getrandom(rb, sizeof rb, 0) != (ssize_t)sizeof rb) {
    drv_error(err, errno, "store: random revision token");
    goto fail;
  }
  for (size_t i = 0; i < sizeof rb; i++) s->rev_token = s->rev_token << 8 | rb[i];
  s->rev_token |= 1ULL << 63;
  s->rv_needle_len = (size_t)snprintf(s->rv_needle, sizeof s->rv_needle,
                                      "\"resourceVersion\":\"%llu\"",
                                      (unsigned long long)s->rev_token);
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->wmu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->wcond, &ca);
  pthread_cond_init(&s->done, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&s->hist_cond, NULL);
  if (drv_store_sqlite_open(opts->dir, opts->encrypted_prefixes, opts->encryption_key,
                            s->hist_cap, &s->be, err) < 0)
    goto fail;
  uint64_t rev = 0;
  long long t0 = drv_now_ms();
  for (int i = 0; i < SL_MAX; i++) s->load_tail[i] = s->head;
  if (s->be->ops->load(s->be, load_one, s, &rev, err) < 0) goto fail;
  s->rev = s->durable_rev = s->compacted = rev;
  s->next_rev = rev + 1;
  s->hist_first = rev + 1;
  s->load_rev = rev;
  drv_log_info("store: %zu objects at revision %llu loaded in %lld ms", s->count,
               (unsigned long long)rev, drv_now_ms() - t0);
  /* the history only matters to watches and lists from before the start: they wait for it,
   * everything else is served meanwhile */
  if (rev) {
    s->hist_loading = true;
    if (pthread_create(&s->hist_thread, NULL, hist_loader_main, s) != 0) {
      s->hist_loading = false;
      drv_error(err, errno, "store: start the history loader thread");
      goto fail;
    }
    s->hist_thread_started = true;
  }
  if (pthread_create(&s->committer, NULL, committer_main, s) != 0) {
    drv_error(err, errno, "store: start committer thread");
    goto fail;
  }
  *out = s;
  return 0;
fail:
  if (s->hist_thread_started) pthread_join(s->hist_thread, NULL);
  s->hist_thread_started = false;
  if (s->be) s->be->ops->close(s->be);
  s->be = NULL;
  s->committer = 0;
  drv_store_close(s);
  return -1;
}

void drv_store_close(drv_store *s)
{
  if (!s) return;
  if (s->hist_thread_started) pthread_join(s->hist_thread, NULL);
  if (s->committer) {
    pthread_mutex_lock(&s->wmu);
    s->stopping = true;
    pthread_cond_broadcast(&s->wcond);
    pthread_mutex_unlock(&s->wmu);
    pthread_join(s->committer, NULL);
  }
  if (s->be) s->be->ops->close(s->be);
  node *n = s->head->next[0];
  while (n) {
    node *next = n->next[0];
    drv_store_obj_unref(n->committed);
    drv_store_obj_unref(n->pending);
    free(n->key);
    free(n);
    n = next;
  }
  free(s->head->key);
  free(s->head);
  for (size_t i = 0; i < s->hist_cap; i++) {
    drv_store_obj_unref(s->hist[i].obj);
    drv_store_obj_unref(s->hist[i].prev);
  }
  free(s->hist);
  free(s->queue);
  free((char *)s->opts.dir);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->wmu);
  pthread_cond_destroy(&s->wcond);
  pthread_cond_destroy(&s->done);
  pthread_cond_destroy(&s->hist_cond);
  free(s);
}

/* ---- reads ---- */

uint64_t drv_store_revision(drv_store *s)
{
  pthread_mutex_lock(&s->mu);
  uint64_t r = s->rev;
  pthread_mutex_unlock(&s->mu);
  return r;
}

uint64_t drv_store_compacted(drv_store *s)
{
  pthread_mutex_lock(&s->mu);
  uint64_t r = s->compacted;
  pthread_mutex_unlock(&s->mu);
  return r;
}

size_t drv_store_count(drv_store *s)
{
  pthread_mutex_lock(&s->mu);
  size_t n = s->count;
  pthread_mutex_unlock(&s->mu);
  return n;
}

void drv_store_get_stats(drv_store *s, drv_store_stats *out)
{
  pthread_mutex_lock(&s->mu);
  *out = s->stats;
  pthread_mutex_unlock(&s->mu);
}

int drv_store_get(drv_store *s, const char *key, drv_store_obj **out)
{
  pthread_mutex_lock(&s->mu);
  node *n = sl_find(s, key);
  drv_store_obj *o = n ? drv_store_obj_ref(n->committed) : NULL;
  pthread_mutex_unlock(&s->mu);
  *out = o;
  return o ? 0 : DRV_STORE_ENOENT;
}

static bool has_prefix(const char *key, const char *prefix, size_t plen)
{
  return strncmp(key, prefix, plen) == 0;
}

/* Candidates (referenced under the lock) → the page: filtered outside the lock (a filter may
 * parse objects), at most limit, next_key set when more matched. Takes cand. */
static void filter_page(drv_store_obj **cand, size_t ncand, size_t limit,
                        drv_store_filter_fn filter, void *ctx, drv_store_list *out)
{
  if (!filter) {
    out->items = cand;
    out->n = ncand;
    return;
  }
  size_t i = 0;
  for (; i < ncand; i++) {
    if (limit && out->n == limit) {
      out->next_key = drv_strdup(cand[out->n - 1]->key);
      break;
    }
    if (filter(ctx, cand[i]))
      cand[out->n++] = cand[i]; /* compacts in place: out->n <= i */
    else
      drv_store_obj_unref(cand[i]);
  }
  for (; i < ncand; i++) drv_store_obj_unref(cand[i]);
  out->items = cand;
}

int drv_store_list_prefix(drv_store *s, const char *prefix, const char *after, size_t limit,
                          drv_store_filter_fn filter, void *ctx, drv_store_list *out)
{
  memset(out, 0, sizeof *out);
  size_t plen = strlen(prefix), cap = 0;
  /* Without a filter the page is taken under the lock. With one, every candidate is referenced
   * under the lock (a consistent snapshot, cheap) and filtered outside it: a filter may parse
   * objects (selector data on first use), which must not stall writers and readers. */
  drv_store_obj **cand = NULL;
  size_t ncand = 0;
  pthread_mutex_lock(&s->mu);
  out->rev = s->rev;
  node *n = after && strcmp(after, prefix) >= 0 ? sl_seek(s, after, true, NULL)
                                                : sl_seek(s, prefix, false, NULL);
  for (; n && has_prefix(n->key, prefix, plen); n = n->next[0]) {
    if (!n->committed) continue;
    if (!filter && limit && ncand == limit) {
      out->next_key = drv_strdup(cand[ncand - 1]->key);
      break;
    }
    if (ncand == cap) {
      cap = cap ? cap * 2 : 64;
      cand = drv_realloc(cand, cap * sizeof *cand);
    }
    cand[ncand++] = drv_store_obj_ref(n->committed);
  }
  pthread_mutex_unlock(&s->mu);
  filter_page(cand, ncand, limit, filter, ctx, out);
  return 0;
}

typedef struct override {
  const char *key;
  drv_store_obj *obj;  /* the value at the list's revision, NULL: absent */
  uint64_t rev;        /* of the first event after it */
  bool unknown;
} override;

static int by_override(const void *a, const void *b)
{
  const override *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : (x->rev < y->rev ? -1 : x->rev > y->rev);
}

static void add_cand(drv_store_obj ***cand, size_t *n, size_t *cap, drv_store_obj *o)
{
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *cand = drv_realloc(*cand, *cap * sizeof **cand);
  }
  (*cand)[(*n)++] = drv_store_obj_ref(o);
}

int drv_store_list_prefix_at(drv_store *s, const char *prefix, const char *after, size_t limit,
                             drv_store_filter_fn filter, void *ctx, uint64_t rev,
                             drv_store_list *out)
{
  if (!rev) return drv_store_list_prefix(s, prefix, after, limit, filter, ctx, out);
  memset(out, 0, sizeof *out);
  size_t plen = strlen(prefix), cap = 0, ncand = 0, nov = 0;
  drv_store_obj **cand = NULL;
  override *ov = NULL;
  bool from = after && strcmp(after, prefix) >= 0;
  pthread_mutex_lock(&s->mu);
  if (rev > s->rev) rev = s->rev;
  hist_wait_locked(s, rev + 1);
  if (rev < s->compacted || rev + 1 < s->hist_first) {
    pthread_mutex_unlock(&s->mu);
    return DRV_STORE_EGONE;
  }
  /* the keys written since rev, with the value each had at rev (the first event's prev) */
  for (uint64_t r = rev + 1; r <= s->rev; r++) {
    hist_ev *h = &s->hist[(r - 1) % s->hist_cap];
    if (!h->obj || !has_prefix(h->obj->key, prefix, plen)) continue;
    if (from && strcmp(h->obj->key, after) <= 0) continue;
    if (nov % 64 == 0) ov = drv_realloc(ov, (nov + 64) * sizeof *ov);
    ov[nov++] = (override){h->obj->key, h->type == DRV_STORE_ADDED ? NULL : h->prev, r,
                           h->prev_unknown};
  }
  if (nov) qsort(ov, nov, sizeof *ov, by_override); /* ov is NULL when nothing was written */
  size_t k = 0;
  for (size_t i = 0; i < nov; i++)
    if (!k || strcmp(ov[k - 1].key, ov[i].key)) ov[k++] = ov[i];
  nov = k;
  for (size_t i = 0; i < nov; i++)
    if (ov[i].unknown) { /* its value then is older than the kept history */
      pthread_mutex_unlock(&s->mu);
      free(ov);
      return DRV_STORE_EGONE;
    }
  /* the current keys merged with those, in key order */
  node *n = from ? sl_seek(s, after, true, NULL) : sl_seek(s, prefix, false, NULL);
  if (n && !has_prefix(n->key, prefix, plen)) n = NULL;
  size_t oi = 0;
  while (n || oi < nov) {
    int c = !n ? 1 : oi == nov ? -1 : strcmp(n->key, ov[oi].key);
    drv_store_obj *o = c < 0 ? n->committed : ov[oi].obj;
    if (c <= 0) {
      n = n->next[0];
      if (n && !has_prefix(n->key, prefix, plen)) n = NULL;
    }
    if (c >= 0) oi++;
    if (!o) continue;
    if (!filter && limit && ncand == limit) {
      out->next_key = drv_strdup(cand[ncand - 1]->key);
      break;
    }
    add_cand(&cand, &ncand, &cap, o);
  }
  pthread_mutex_unlock(&s->mu);
  free(ov);
  filter_page(cand, ncand, limit, filter, ctx, out);
  out->rev = rev;
  return 0;
}

void drv_store_list_free(drv_store_list *l)
{
  for (size_t i = 0; i < l->n; i++) drv_store_obj_unref(l->items[i]);
  free(l->items);
  free(l->next_key);
  memset(l, 0, sizeof *l);
}

/* ---- writes ---- */

/* The key's newest value, including a pending one; not referenced. Under mu. */
static drv_store_obj *newest_locked(drv_store *s, const char *key)
{
  node *nd = sl_find(s, key);
  return nd ? (nd->has_pending ? nd->pending : nd->committed) : NULL;
}

static int check_write(const drv_store_write *w, const drv_store_obj *cur, drv_err *err)
{
  if (w->op == DRV_STORE_PUT && w->must_create && cur)
    return drv_error(err, EEXIST, "key `%s` exists", w->key), DRV_STORE_EEXIST;
  if ((w->op == DRV_STORE_DELETE || w->must_exist) && !cur)
    return drv_error(err, ENOENT, "key `%s` not found", w->key), DRV_STORE_ENOENT;
  if (w->expect_rev && (!cur || cur->mod_rev != w->expect_rev)) {
    drv_error(err, ESTALE, "key `%s` is at revision %llu, not %llu", w->key,
              cur ? (unsigned long long)cur->mod_rev : 0ULL, (unsigned long long)w->expect_rev);
    return cur ? DRV_STORE_ECONFLICT : DRV_STORE_ENOENT;
  }
  return 0;
}

/* A new object from an encoder's bytes with the revision written where it put the token. */
static drv_store_obj *obj_with_rev(drv_store *s, const char *key, const char *data, size_t len,
                                   uint64_t crev, uint64_t rev)
{
  const char *at = memmem(data, len, s->rv_needle, s->rv_needle_len);
  if (!at) return obj_new(key, data, len, crev, rev);
  static const size_t lead = sizeof "\"resourceVersion\":\"" - 1;
  char digits[24];
  size_t dn = (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)rev);
  size_t head = (size_t)(at - data) + lead, tok = s->rv_needle_len - lead - 1;
  size_t nlen = len - tok + dn;
  drv_store_obj *o = drv_malloc(sizeof *o + nlen + 1);
  o->refs = 1;
  o->mod_rev = rev;
  o->create_rev = crev;
  o->attrs = NULL;
  o->key = drv_strdup(key);
  o->len = nlen;
  memcpy(o->data, data, head);
  memcpy(o->data + head, digits, dn);
  memcpy(o->data + head + dn, data + head + tok, len - head - tok);
  o->data[nlen] = 0;
  return o;
}

/* Writers that changed nothing answer with cur, which may be another writer's value that is
 * not durable yet: wait until it is. Under wmu. */
static void wait_durable_locked(drv_store *s, const drv_store_obj *cur)
{
  while (cur && s->durable_rev < cur->mod_rev && !s->failed) {
    struct timespec ts = drv_deadline_ms(CLOCK_MONOTONIC, 1);
    pthread_cond_timedwait(&s->done, &s->wmu, &ts);
  }
}

int drv_store_apply(drv_store *s, const drv_store_write *w, drv_store_obj **out, drv_err *err)
{
  if (out) *out = NULL;
  for (int attempt = 0;; attempt++) {
    /* Encode against the value read, without locks; install only if the key still holds it.
     * After a few lost races encode under the write lock, where the key cannot change. */
    bool locked = attempt >= 3;
    if (locked) pthread_mutex_lock(&s->wmu);
    pthread_mutex_lock(&s->mu);
    drv_store_obj *cur = drv_store_obj_ref(newest_locked(s, w->key));
    pthread_mutex_unlock(&s->mu);

    char *data = NULL;
    size_t len = 0;
    int rc = check_write(w, cur, err), er = 0;
    if (rc == 0 && w->encode) {
      er = w->encode(w->ctx, s->rev_token, cur, &data, &len, err);
      if (er < 0) rc = DRV_STORE_EABORT;
    }
    if (rc == 0 && er == 0 && w->op == DRV_STORE_PUT && !data) {
      drv_error(err, EINVAL, "write `%s`: no value", w->key);
      rc = DRV_STORE_EABORT;
    }
    if (rc < 0) {
      if (locked) pthread_mutex_unlock(&s->wmu);
      drv_store_obj_unref(cur);
      free(data);
      return rc;
    }
    if (!locked) pthread_mutex_lock(&s->wmu);
    if (s->failed) {
      drv_error(err, EIO, "store is read-only after a write failure: %s", s->fail_msg);
      pthread_mutex_unlock(&s->wmu);
      drv_store_obj_unref(cur);
      free(data);
      return DRV_STORE_EIO;
    }
    if (er == 1) { /* unchanged */
      wait_durable_locked(s, cur);
      pthread_mutex_unlock(&s->wmu);
      free(data);
      if (out)
        *out = cur;
      else
        drv_store_obj_unref(cur);
      return 0;
    }
    pthread_mutex_lock(&s->mu);
    if (newest_locked(s, w->key) != cur) { /* another writer won: build on its value */
      pthread_mutex_unlock(&s->mu);
      pthread_mutex_unlock(&s->wmu);
      drv_store_obj_unref(cur);
      free(data);
      continue;
    }
    uint64_t rev = s->next_rev++;
    bool del = w->op == DRV_STORE_DELETE;
    uint64_t crev = cur && (del || data) ? cur->create_rev : rev;
    drv_store_obj *o = data ? obj_with_rev(s, w->key, data, len, crev, rev)
                            : obj_new(w->key, cur->data, cur->len, cur->create_rev, rev);
    node *nd = sl_insert(s, w->key);
    drv_store_obj_unref(nd->pending);
    nd->pending = del ? NULL : drv_store_obj_ref(o);
    nd->has_pending = true;
    nd->pending_rev = rev;
    pthread_mutex_unlock(&s->mu);
    free(data);

    if (s->queue_n == s->queue_cap) {
      s->queue_cap = s->queue_cap ? s->queue_cap * 2 : 64;
      s->queue = drv_realloc(s->queue, s->queue_cap * sizeof *s->queue);
    }
    waiter wt = {0};
    s->queue[s->queue_n++] = (change){
        del ? DRV_STORE_DELETED : (cur ? DRV_STORE_MODIFIED : DRV_STORE_ADDED),
        drv_store_obj_ref(o), cur, &wt};
    if (s->queue_n == 1) pthread_cond_signal(&s->wcond);
    pthread_mutex_unlock(&s->wmu);

    waiter_wait(&wt);
    if (wt.state < 0) {
      pthread_mutex_lock(&s->wmu);
      drv_error(err, EIO, "store write failed: %s", s->fail_msg);
      pthread_mutex_unlock(&s->wmu);
      drv_store_obj_unref(o);
      return DRV_STORE_EIO;
    }
    if (out)
      *out = o;
    else
      drv_store_obj_unref(o);
    return 0;
  }
}

/* ---- watches ---- */

int drv_store_watch_open(drv_store *s, const char *prefix, uint64_t from_rev,
                         drv_store_filter_fn filter, void *ctx, drv_store_watch **out,
                         drv_err *err)
{
  drv_store_watch *w = drv_calloc(1, sizeof *w);
  w->s = s;
  w->prefix = drv_strdup(prefix);
  w->prefix_len = strlen(prefix);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (from_rev == 0) {
    drv_store_list l;
    drv_store_list_prefix(s, prefix, NULL, 0, filter, ctx, &l);
    w->snap = l.items;
    w->snap_n = l.n;
    w->cursor = l.rev + 1;
    free(l.next_key);
  } else {
    pthread_mutex_lock(&s->mu);
    hist_wait_locked(s, from_rev + 1);
    uint64_t compacted = s->compacted, cur = s->rev;
    pthread_mutex_unlock(&s->mu);
    if (from_rev < compacted) {
      pthread_cond_destroy(&w->cond);
      free(w->prefix);
      free(w);
      drv_error(err, ERANGE, "too old resource version: %llu (%llu)",
                (unsigned long long)from_rev, (unsigned long long)cur);
      return DRV_STORE_EGONE;
    }
    w->cursor = from_rev + 1;
  }
  *out = w;
  return 0;
}

bool drv_store_watch_snapshot_done(drv_store_watch *w)
{
  return w->snap_i == w->snap_n;
}

uint64_t drv_store_watch_progress(drv_store_watch *w)
{
  return w->cursor - 1;
}

void drv_store_watch_cancel(drv_store_watch *w)
{
  pthread_mutex_lock(&w->s->mu);
  w->cancelled = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->s->mu);
}

int drv_store_watch_next(drv_store_watch *w, drv_store_event *evs, int max, int timeout_ms)
{
  drv_store *s = w->s;
  int n = 0;
  while (n < max && w->snap_i < w->snap_n) {
    evs[n++] = (drv_store_event){DRV_STORE_ADDED, w->snap[w->snap_i], NULL};
    w->snap[w->snap_i++] = NULL;
  }
  if (n) return n;
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  long long ns = dl.tv_nsec + (long long)timeout_ms * 1000000LL;
  dl.tv_sec += ns / 1000000000LL;
  dl.tv_nsec = ns % 1000000000LL;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    if (w->cancelled) break;
    hist_wait_locked(s, w->cursor);
    if (w->cursor <= s->rev && w->cursor < s->hist_first) {
      pthread_mutex_unlock(&s->mu);
      return DRV_STORE_EGONE;
    }
    while (n < max && w->cursor <= s->rev) {
      hist_ev *h = &s->hist[(w->cursor - 1) % s->hist_cap];
      w->cursor++;
      if (!h->obj || !has_prefix(h->obj->key, w->prefix, w->prefix_len)) continue;
      evs[n++] = (drv_store_event){h->type, drv_store_obj_ref(h->obj), drv_store_obj_ref(h->prev)};
    }
    if (n || timeout_ms <= 0) break;
    w->wprev = NULL;
    w->wnext = s->waiting;
    if (s->waiting) s->waiting->wprev = w;
    s->waiting = w;
    int r = pthread_cond_timedwait(&w->cond, &s->mu, &dl);
    if (w->wprev)
      w->wprev->wnext = w->wnext;
    else
      s->waiting = w->wnext;
    if (w->wnext) w->wnext->wprev = w->wprev;
    if (r == ETIMEDOUT) timeout_ms = 0;
  }
  pthread_mutex_unlock(&s->mu);
  return n;
}

void drv_store_watch_close(drv_store_watch *w)
{
  if (!w) return;
  for (size_t i = w->snap_i; i < w->snap_n; i++) drv_store_obj_unref(w->snap[i]);
  free(w->snap);
  pthread_cond_destroy(&w->cond);
  free(w->prefix);
  free(w);
}

void drv_store_event_release(drv_store_event *ev)
{
  drv_store_obj_unref(ev->obj);
  drv_store_obj_unref(ev->prev);
  ev->obj = ev->prev = NULL;
}
