/* The store: revisions, preconditions, lists, watches from a revision, compaction → gone,
 * group commit under concurrent writers, reopen, encryption at rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/util.h"
#include "store/crypt.h"
#include "store/store.h"

typedef struct {
  char dir[256];
  drv_store *s;
} fixture;

static int setup(void **state)
{
  fixture *f = drv_calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/drv-store-test-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  drv_err err = {0};
  drv_store_opts o = {.dir = f->dir, .history = 64};
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;
  drv_store_close(f->s);
  drv_err err;
  drv_rm_rf(f->dir, &err);
  free(f);
  return 0;
}

static int enc_value(void *ctx, uint64_t rev, const drv_store_obj *cur, char **data, size_t *len,
                     drv_err *err)
{
  const char *v = ctx;
  if (!v) return 0;
  *data = drv_asprintf("{\"v\":\"%s\",\"rv\":%llu}", v, (unsigned long long)rev);
  *len = strlen(*data);
  return 0;
}

static int put(drv_store *s, const char *key, const char *v, bool create, uint64_t expect,
               uint64_t *rev)
{
  drv_err err = {0};
  drv_store_write w = {DRV_STORE_PUT, key, create, false, expect, enc_value, (void *)v};
  drv_store_obj *o = NULL;
  int rc = drv_store_apply(s, &w, &o, &err);
  if (rc == 0 && rev) *rev = o->mod_rev;
  drv_store_obj_unref(o);
  return rc;
}

static int del(drv_store *s, const char *key, uint64_t expect)
{
  drv_err err = {0};
  drv_store_write w = {DRV_STORE_DELETE, key, false, true, expect, enc_value, NULL};
  return drv_store_apply(s, &w, NULL, &err);
}

static void test_revisions(void **state)
{
  fixture *f = *state;
  uint64_t r1, r2, r3;
  assert_int_equal(put(f->s, "/core/pods/a/x", "1", true, 0, &r1), 0);
  assert_int_equal(put(f->s, "/core/pods/a/y", "2", true, 0, &r2), 0);
  assert_int_equal(r2, r1 + 1);
  assert_int_equal(put(f->s, "/core/pods/a/x", "3", true, 0, NULL), DRV_STORE_EEXIST);
  assert_int_equal(put(f->s, "/core/pods/a/x", "3", false, r2, NULL), DRV_STORE_ECONFLICT);
  assert_int_equal(put(f->s, "/core/pods/a/x", "3", false, r1, &r3), 0);
  assert_int_equal(r3, r2 + 1);
  assert_int_equal(drv_store_revision(f->s), r3);
  drv_store_obj *o;
  assert_int_equal(drv_store_get(f->s, "/core/pods/a/x", &o), 0);
  assert_int_equal(o->mod_rev, r3);
  assert_int_equal(o->create_rev, r1);
  assert_non_null(strstr(o->data, "\"v\":\"3\""));
  drv_store_obj_unref(o);
  assert_int_equal(del(f->s, "/core/pods/a/x", 0), 0);
  assert_int_equal(drv_store_get(f->s, "/core/pods/a/x", &o), DRV_STORE_ENOENT);
  assert_int_equal(del(f->s, "/core/pods/a/x", 0), DRV_STORE_ENOENT);
  assert_int_equal(drv_store_count(f->s), 1);
}

static void test_list(void **state)
{
  fixture *f = *state;
  const char *keys[] = {"/core/pods/b/p2", "/core/pods/a/p1", "/core/pods/b/p1",
                        "/core/pods/bb/p1", "/core/services/b/s"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(keys); i++)
    assert_int_equal(put(f->s, keys[i], "x", true, 0, NULL), 0);
  drv_store_list l;
  drv_store_list_prefix(f->s, "/core/pods/b/", NULL, 0, NULL, NULL, &l);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.items[0]->key, "/core/pods/b/p1");
  assert_string_equal(l.items[1]->key, "/core/pods/b/p2");
  assert_null(l.next_key);
  drv_store_list_free(&l);
  /* pages of 2 across every namespace */
  drv_store_list_prefix(f->s, "/core/pods/", NULL, 2, NULL, NULL, &l);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.next_key, "/core/pods/b/p1");
  char *next = drv_strdup(l.next_key);
  drv_store_list_free(&l);
  drv_store_list_prefix(f->s, "/core/pods/", next, 2, NULL, NULL, &l);
  free(next);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.items[0]->key, "/core/pods/b/p2");
  assert_string_equal(l.items[1]->key, "/core/pods/bb/p1");
  assert_null(l.next_key);
  drv_store_list_free(&l);
}

static bool ends_p1(void *ctx, drv_store_obj *o)
{
  size_t n = strlen(o->key);
  return n >= 2 && strcmp(o->key + n - 2, "p1") == 0;
}

static void test_list_filtered_pages(void **state)
{
  fixture *f = *state;
  const char *keys[] = {"/core/pods/a/p1", "/core/pods/a/p2", "/core/pods/b/p1", "/core/pods/c/p1"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(keys); i++)
    assert_int_equal(put(f->s, keys[i], "x", true, 0, NULL), 0);
  drv_store_list l;
  drv_store_list_prefix(f->s, "/core/pods/", NULL, 2, ends_p1, NULL, &l);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.items[0]->key, "/core/pods/a/p1");
  assert_string_equal(l.items[1]->key, "/core/pods/b/p1");
  assert_string_equal(l.next_key, "/core/pods/b/p1");
  char *next = drv_strdup(l.next_key);
  drv_store_list_free(&l);
  drv_store_list_prefix(f->s, "/core/pods/", next, 2, ends_p1, NULL, &l);
  free(next);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.items[0]->key, "/core/pods/c/p1");
  assert_null(l.next_key);
  drv_store_list_free(&l);
}

static void test_watch(void **state)
{
  fixture *f = *state;
  uint64_t r1;
  assert_int_equal(put(f->s, "/core/pods/a/x", "1", true, 0, &r1), 0);
  drv_err err = {0};
  drv_store_watch *w;
  assert_int_equal(drv_store_watch_open(f->s, "/core/pods/", r1, NULL, NULL, &w, &err), 0);
  assert_int_equal(put(f->s, "/core/other/a/x", "1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/core/pods/a/x", "2", false, 0, NULL), 0);
  assert_int_equal(del(f->s, "/core/pods/a/x", 0), 0);
  drv_store_event ev[8];
  int n = drv_store_watch_next(w, ev, 8, 1000);
  assert_int_equal(n, 2);
  assert_int_equal(ev[0].type, DRV_STORE_MODIFIED);
  assert_int_equal(ev[1].type, DRV_STORE_DELETED);
  assert_int_equal(ev[1].obj->mod_rev, r1 + 3);
  assert_int_equal(drv_store_watch_progress(w), r1 + 3);
  for (int i = 0; i < n; i++) drv_store_event_release(&ev[i]);
  assert_int_equal(drv_store_watch_next(w, ev, 8, 10), 0);
  drv_store_watch_close(w);

  /* from 0: the current state as ADDED first */
  assert_int_equal(put(f->s, "/core/pods/a/z", "3", true, 0, NULL), 0);
  assert_int_equal(drv_store_watch_open(f->s, "/core/pods/", 0, NULL, NULL, &w, &err), 0);
  n = drv_store_watch_next(w, ev, 8, 10);
  assert_int_equal(n, 1);
  assert_int_equal(ev[0].type, DRV_STORE_ADDED);
  assert_string_equal(ev[0].obj->key, "/core/pods/a/z");
  drv_store_event_release(&ev[0]);
  drv_store_watch_close(w);
}

static void test_compaction(void **state)
{
  fixture *f = *state;
  uint64_t r1;
  drv_err err = {0};
  assert_int_equal(put(f->s, "/k/a", "1", true, 0, &r1), 0);
  drv_store_watch *slow;
  assert_int_equal(drv_store_watch_open(f->s, "/k/", r1, NULL, NULL, &slow, &err), 0);
  /* history holds 64 events: 100 writes push r1 out */
  for (int i = 0; i < 100; i++) assert_int_equal(put(f->s, "/k/a", "x", false, 0, NULL), 0);
  drv_store_watch *w;
  assert_int_equal(drv_store_watch_open(f->s, "/k/", r1, NULL, NULL, &w, &err), DRV_STORE_EGONE);
  assert_non_null(strstr(err.msg, "too old resource version"));
  drv_store_event ev[4];
  assert_int_equal(drv_store_watch_next(slow, ev, 4, 10), DRV_STORE_EGONE);
  drv_store_watch_close(slow);
  uint64_t now = drv_store_revision(f->s);
  assert_int_equal(drv_store_watch_open(f->s, "/k/", now - 10, NULL, NULL, &w, &err), 0);
  drv_store_watch_close(w);
  drv_store_compact(f->s, now - 5);
  assert_int_equal(drv_store_watch_open(f->s, "/k/", now - 10, NULL, NULL, &w, &err), DRV_STORE_EGONE);
  assert_int_equal(drv_store_watch_open(f->s, "/k/", now - 5, NULL, NULL, &w, &err), 0);
  int n = drv_store_watch_next(w, ev, 4, 10);
  assert_int_equal(n, 4);
  for (int i = 0; i < n; i++) drv_store_event_release(&ev[i]);
  drv_store_watch_close(w);
}

typedef struct {
  drv_store *s;
  int id;
} writer_arg;

static void *writer(void *p)
{
  writer_arg *a = p;
  for (int i = 0; i < 200; i++) {
    char key[64];
    snprintf(key, sizeof key, "/w/%d/%d", a->id, i);
    if (put(a->s, key, "v", true, 0, NULL) != 0) return (void *)1;
  }
  return NULL;
}

static void test_group_commit_and_reopen(void **state)
{
  fixture *f = *state;
  pthread_t th[8];
  writer_arg args[8];
  for (int i = 0; i < 8; i++) {
    args[i] = (writer_arg){f->s, i};
    pthread_create(&th[i], NULL, writer, &args[i]);
  }
  for (int i = 0; i < 8; i++) {
    void *r;
    pthread_join(th[i], &r);
    assert_null(r);
  }
  drv_store_stats st;
  drv_store_get_stats(f->s, &st);
  assert_int_equal(st.writes, 1600);
  /* concurrent writers shared commits */
  assert_true(st.commits < st.writes);
  uint64_t rev = drv_store_revision(f->s);
  drv_store_close(f->s);
  drv_err err = {0};
  drv_store_opts o = {.dir = f->dir};
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(drv_store_revision(f->s), rev);
  assert_int_equal(drv_store_count(f->s), 1600);
  drv_store_obj *obj;
  assert_int_equal(drv_store_get(f->s, "/w/7/199", &obj), 0);
  drv_store_obj_unref(obj);
  /* the history survives a restart: a watch from before it gets the events since */
  drv_store_watch *w;
  assert_int_equal(drv_store_watch_open(f->s, "/w/", rev - 2, NULL, NULL, &w, &err), 0);
  drv_store_event ev[4];
  assert_int_equal(drv_store_watch_next(w, ev, 4, 1000), 2);
  assert_int_equal(ev[1].obj->mod_rev, rev);
  assert_int_equal(ev[1].type, DRV_STORE_ADDED);
  drv_store_event_release(&ev[0]);
  drv_store_event_release(&ev[1]);
  drv_store_watch_close(w);
  /* only the newest `history` revisions are kept: older ones are gone */
  drv_store_close(f->s);
  o.history = 100;
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(drv_store_watch_open(f->s, "/w/", rev - 101, NULL, NULL, &w, &err), DRV_STORE_EGONE);
  assert_int_equal(drv_store_watch_open(f->s, "/w/", rev - 100, NULL, NULL, &w, &err), 0);
  assert_int_equal(drv_store_watch_next(w, ev, 4, 1000), 4);
  for (int i = 0; i < 4; i++) drv_store_event_release(&ev[i]);
  drv_store_watch_close(w);
}

static void names(drv_store_list *l, char *out, size_t size)
{
  out[0] = 0;
  for (size_t i = 0; i < l->n; i++) {
    strncat(out, l->items[i]->key, size - strlen(out) - 1);
    strncat(out, "=", size - strlen(out) - 1);
    const char *v = strstr(l->items[i]->data, "\"v\":\""); /* enc_value's {"v":"...",...} */
    assert_non_null(v);
    strncat(out, v + 5, strcspn(v + 5, "\""));
    strncat(out, " ", size - strlen(out) - 1);
  }
}

/* A list at an older revision: the writes since are undone, before and after a restart. */
static void test_list_at_revision(void **state)
{
  fixture *f = *state;
  char buf[512];
  assert_int_equal(put(f->s, "/l/b", "b1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/l/d", "d1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/l/f", "f1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/m/x", "x1", true, 0, NULL), 0);
  uint64_t at = drv_store_revision(f->s);
  drv_store_list l;
  assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 2, NULL, NULL, at, &l), 0);
  names(&l, buf, sizeof buf);
  assert_string_equal(buf, "/l/b=b1 /l/d=d1 ");
  assert_string_equal(l.next_key, "/l/d");
  drv_store_list_free(&l);
  /* between pages: one created before the cursor, one after, one changed, one deleted */
  assert_int_equal(put(f->s, "/l/a", "a1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/l/e", "e1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/l/f", "f2", false, 0, NULL), 0);
  assert_int_equal(put(f->s, "/l/f", "f3", false, 0, NULL), 0);
  drv_store_write w = {DRV_STORE_DELETE, "/l/d", false, true, 0, NULL, NULL};
  drv_err err = {0};
  assert_int_equal(drv_store_apply(f->s, &w, NULL, &err), 0);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", "/l/d", 2, NULL, NULL, at, &l), 0);
    names(&l, buf, sizeof buf);
    assert_string_equal(buf, "/l/f=f1 ");
    assert_null(l.next_key);
    assert_int_equal(l.rev, at);
    drv_store_list_free(&l);
    assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 0, NULL, NULL, at, &l), 0);
    names(&l, buf, sizeof buf);
    assert_string_equal(buf, "/l/b=b1 /l/d=d1 /l/f=f1 ");
    drv_store_list_free(&l);
    /* now: the current state */
    assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 0, NULL, NULL, 0, &l), 0);
    names(&l, buf, sizeof buf);
    assert_string_equal(buf, "/l/a=a1 /l/b=b1 /l/e=e1 /l/f=f3 ");
    drv_store_list_free(&l);
    /* the same after a restart (the history is reloaded) */
    drv_store_close(f->s);
    drv_store_opts o = {.dir = f->dir};
    assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  }
  /* a restart keeping less history: the values at `at` are older than it */
  drv_store_close(f->s);
  drv_store_opts o = {.dir = f->dir, .history = 3};
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 0, NULL, NULL, at, &l), DRV_STORE_EGONE);
  assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 0, NULL, NULL, at + 3, &l), DRV_STORE_EGONE);
  /* d's value before its delete is older than the kept history too; now is fine */
  assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 0, NULL, NULL, at + 4, &l), DRV_STORE_EGONE);
  assert_int_equal(drv_store_list_prefix_at(f->s, "/l/", NULL, 0, NULL, NULL, at + 5, &l), 0);
  names(&l, buf, sizeof buf);
  assert_string_equal(buf, "/l/a=a1 /l/b=b1 /l/e=e1 /l/f=f3 ");
  drv_store_list_free(&l);
}

/* Read-modify-write from many threads on one key: encoders run outside the store's locks and
 * lose races; none may lose an increment. The revision stand-in becomes the real revision. */
static int enc_incr(void *ctx, uint64_t rev, const drv_store_obj *cur, char **data, size_t *len,
                    drv_err *err)
{
  long n = 0;
  if (cur) assert_int_equal(sscanf(cur->data, "{\"n\":%ld", &n), 1);
  int *calls = ctx;
  __atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
  *data = drv_asprintf("{\"n\":%ld,\"metadata\":{\"resourceVersion\":\"%llu\"}}", n + 1,
                       (unsigned long long)rev);
  *len = strlen(*data);
  return 0;
}

typedef struct {
  drv_store *s;
  int calls;
} incr_arg;

static void *incrementer(void *p)
{
  incr_arg *a = p;
  for (int i = 0; i < 100; i++) {
    drv_err err = {0};
    drv_store_write w = {DRV_STORE_PUT, "/c/n", false, false, 0, enc_incr, &a->calls};
    drv_store_obj *o = NULL;
    if (drv_store_apply(a->s, &w, &o, &err) != 0) return (void *)1;
    char want[64];
    snprintf(want, sizeof want, "\"resourceVersion\":\"%llu\"}", (unsigned long long)o->mod_rev);
    bool ok = strstr(o->data, want) != NULL;
    drv_store_obj_unref(o);
    if (!ok) return (void *)2;
  }
  return NULL;
}

static void test_concurrent_read_modify_write(void **state)
{
  fixture *f = *state;
  pthread_t th[8];
  incr_arg args[8];
  for (int i = 0; i < 8; i++) {
    args[i] = (incr_arg){f->s, 0};
    pthread_create(&th[i], NULL, incrementer, &args[i]);
  }
  int calls = 0;
  for (int i = 0; i < 8; i++) {
    void *r;
    pthread_join(th[i], &r);
    assert_null(r);
    calls += args[i].calls;
  }
  assert_true(calls >= 800);
  drv_store_obj *o;
  assert_int_equal(drv_store_get(f->s, "/c/n", &o), 0);
  assert_non_null(strstr(o->data, "{\"n\":800,"));
  drv_store_obj_unref(o);
}

static void test_encryption(void **state)
{
  fixture *f = *state;
  drv_store_close(f->s);
  unsigned char key[DRV_STORE_KEY_LEN];
  drv_err err = {0};
  char kpath[300];
  snprintf(kpath, sizeof kpath, "%s/key", f->dir);
  assert_int_equal(drv_store_key_load(kpath, key, &err), 0);
  const char *enc[] = {"/core/secrets/", NULL};
  drv_store_opts o = {.dir = f->dir, .encrypted_prefixes = enc, .encryption_key = key};
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(put(f->s, "/core/secrets/a/s", "hunter2-secret", true, 0, NULL), 0);
  drv_store_close(f->s);
  /* the database file never holds the plain value */
  char dbp[300], walp[300];
  snprintf(dbp, sizeof dbp, "%s/store.db", f->dir);
  snprintf(walp, sizeof walp, "%s/store.db-wal", f->dir);
  const char *paths[] = {dbp, walp};
  for (int i = 0; i < 2; i++) {
    char *data = NULL;
    size_t len = 0;
    if (drv_read_file(paths[i], 0, &data, &len, &err) == 0) {
      assert_null(memmem(data, len, "hunter2", 7));
      free(data);
    }
  }
  unsigned char key2[DRV_STORE_KEY_LEN];
  assert_int_equal(drv_store_key_load(kpath, key2, &err), 0);
  assert_memory_equal(key, key2, DRV_STORE_KEY_LEN);
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  drv_store_obj *obj;
  assert_int_equal(drv_store_get(f->s, "/core/secrets/a/s", &obj), 0);
  assert_non_null(strstr(obj->data, "hunter2-secret"));
  drv_store_obj_unref(obj);
}

/* The kept history loads on its own thread after open: writes and a compaction right after
 * the restart go on beside it, and a watch from before the restart waits for it; what the new
 * writes pushed out of the ring (or compacted) is gone either way. */
/* The revision survives a restart when the newest write was a delete (it is the newest history
 * row's), and a store laid out before (rowid table, revision kept in meta) opens as it was. */
static void test_revision_after_restart(void **state)
{
  fixture *f = *state;
  uint64_t r;
  assert_int_equal(put(f->s, "/a", "1", true, 0, NULL), 0);
  assert_int_equal(put(f->s, "/b", "1", true, 0, NULL), 0);
  assert_int_equal(del(f->s, "/b", 0), 0);
  uint64_t rev = drv_store_revision(f->s);
  drv_store_close(f->s);
  drv_err err = {0};
  drv_store_opts o = {.dir = f->dir, .history = 64};
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(drv_store_revision(f->s), rev);
  assert_int_equal(put(f->s, "/c", "1", true, 0, &r), 0);
  assert_int_equal(r, rev + 1);
  drv_store_close(f->s);

  /* the earlier layout, written as that code did */
  char old[300];
  snprintf(old, sizeof old, "%s/old", f->dir);
  assert_int_equal(drv_mkdir_p(old, 0700, &err), 0);
  _cleanup_free_ char *db = drv_asprintf("%s/store.db", old);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(h,
                   "PRAGMA journal_mode=WAL;"
                   "CREATE TABLE kv(key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL,"
                   " mod_rev INTEGER NOT NULL, value BLOB NOT NULL);"
                   "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                   "CREATE TABLE history(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
                   " type INTEGER NOT NULL, create_rev INTEGER NOT NULL, value BLOB NOT NULL);"
                   "INSERT INTO kv VALUES('/x', 3, 7, '{\"v\":\"x\"}');"
                   "INSERT INTO history VALUES(7, '/x', 1, 3, '{\"v\":\"x\"}');"
                   "INSERT INTO meta VALUES('revision', 9);",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(h);
  o.dir = old;
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(drv_store_revision(f->s), 9);
  drv_store_obj *obj;
  assert_int_equal(drv_store_get(f->s, "/x", &obj), 0);
  assert_int_equal(obj->mod_rev, 7);
  drv_store_obj_unref(obj);
  assert_int_equal(put(f->s, "/x", "2", false, 7, &r), 0);
  assert_int_equal(r, 10);
  drv_store_close(f->s);
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  assert_int_equal(drv_store_revision(f->s), 10);
  assert_int_equal(drv_store_get(f->s, "/x", &obj), 0);
  assert_int_equal(obj->mod_rev, 10);
  drv_store_obj_unref(obj);
}

static void test_history_loads_beside_writes(void **state)
{
  fixture *f = *state;
  drv_err err = {0};
  char key[32];
  uint64_t rev = 0;
  for (int i = 0; i < 40; i++) {
    snprintf(key, sizeof key, "/h/%d", i % 7);
    assert_int_equal(put(f->s, key, "a", false, 0, &rev), 0);
  }
  drv_store_close(f->s);
  drv_store_opts o = {.dir = f->dir, .history = 50};
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  for (int i = 0; i < 30; i++) {
    snprintf(key, sizeof key, "/h/%d", i % 7);
    assert_int_equal(put(f->s, key, "b", false, 0, NULL), 0);
  }
  uint64_t now = drv_store_revision(f->s);
  assert_int_equal(now, rev + 30);
  drv_store_watch *w;
  drv_store_event ev[64];
  /* 50 revisions kept: the oldest are those 20 before the restart */
  assert_int_equal(drv_store_watch_open(f->s, "/h/", now - 51, NULL, NULL, &w, &err), DRV_STORE_EGONE);
  assert_int_equal(drv_store_watch_open(f->s, "/h/", now - 50, NULL, NULL, &w, &err), 0);
  assert_int_equal(drv_store_watch_next(w, ev, 64, 1000), 50);
  assert_int_equal(ev[0].obj->mod_rev, now - 49);
  assert_int_equal(ev[0].type, DRV_STORE_MODIFIED);
  assert_non_null(ev[0].prev); /* its previous value is in the kept history too */
  assert_int_equal(ev[49].obj->mod_rev, now);
  for (int i = 0; i < 50; i++) drv_store_event_release(&ev[i]);
  drv_store_watch_close(w);
  /* a compaction asked for while the history may still load holds after it */
  drv_store_close(f->s);
  assert_int_equal(drv_store_open(&o, &f->s, &err), 0);
  drv_store_compact(f->s, now - 10);
  assert_int_equal(drv_store_watch_open(f->s, "/h/", now - 11, NULL, NULL, &w, &err), DRV_STORE_EGONE);
  assert_int_equal(drv_store_watch_open(f->s, "/h/", now - 10, NULL, NULL, &w, &err), 0);
  assert_int_equal(drv_store_watch_next(w, ev, 64, 1000), 10);
  for (int i = 0; i < 10; i++) drv_store_event_release(&ev[i]);
  drv_store_watch_close(w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_revisions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_filtered_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_at_revision, setup, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_read_modify_write, setup, teardown),
      cmocka_unit_test_setup_teardown(test_encryption, setup, teardown),
      cmocka_unit_test_setup_teardown(test_history_loads_beside_writes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revision_after_restart, setup, teardown),
  };
  return cmocka_run_group_tests_name("store_store", tests, NULL, NULL);
}
