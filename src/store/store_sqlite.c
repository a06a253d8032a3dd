/* SQLite backend: one table of current values (key, revisions, bytes) and one of the recent
 * history (the events of the newest revisions, for watches and paginated lists that span a
 * restart; its newest row carries the global revision), in WAL mode with synchronous=FULL so
 * a committed batch survives a crash or power loss. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "store/backend.h"
#include "store/crypt.h"

typedef struct sqlite_backend {
  drv_store_backend base;
  sqlite3 *db;
  /* WAL checkpoints run on their own connection and thread, so commits never stall behind
   * copying pages into the database file (autocheckpoint is off on the writer). */
  sqlite3 *ckpt_db;
  pthread_t ckpt_thread;
  pthread_mutex_t ckpt_mu;
  pthread_cond_t ckpt_cond;
  bool ckpt_stop, ckpt_started;
  sqlite3_stmt *put, *del;
  sqlite3_stmt *begin, *commit; /* prepared once: not parsed again for every batch */
  sqlite3_stmt *hput, *htrim;  /* history */
  uint64_t history, last_trim;
  char **enc_prefixes;
  unsigned char key[DRV_STORE_KEY_LEN];
  bool have_key;
  char *path;
} sqlite_backend;

static int sql_err(sqlite3 *db, drv_err *err, const char *what)
{
  return drv_error(err, EIO, "store: %s: %s", what, sqlite3_errmsg(db));
}

static bool encrypted(sqlite_backend *b, const char *key)
{
  if (!b->have_key || !b->enc_prefixes) return false;
  for (char **p = b->enc_prefixes; *p; p++)
    if (strncmp(key, *p, strlen(*p)) == 0) return true;
  return false;
}

static int open_value(sqlite_backend *b, const char *key, const char *data, size_t len,
                      char **plain, size_t *plen, drv_err *err);

static int sqlite_load(drv_store_backend *base, drv_store_load_fn fn, void *ctx, uint64_t *rev,
                       drv_err *err)
{
  sqlite_backend *b = (sqlite_backend *)base;
  sqlite3_stmt *st = NULL;
  *rev = 0;
  /* The revision is the newest event's (the history keeps it: trimming leaves the newest);
   * stores written before kept it in meta after every commit, and keep that row. */
  if (sqlite3_prepare_v2(b->db,
                         "SELECT max(coalesce((SELECT value FROM meta WHERE name='revision'), 0),"
                         " coalesce((SELECT max(rev) FROM history), 0))",
                         -1, &st, NULL))
    return sql_err(b->db, err, "read revision");
  if (sqlite3_step(st) == SQLITE_ROW) *rev = (uint64_t)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  /* the whole table is read once: mapped, not copied page by page (unmapped after) */
  sqlite3_exec(b->db, "PRAGMA mmap_size=4294967296", NULL, NULL, NULL);
  if (sqlite3_prepare_v2(b->db, "SELECT key, create_rev, mod_rev, value FROM kv ORDER BY key",
                         -1, &st, NULL))
    return sql_err(b->db, err, "load objects");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    const char *data = sqlite3_column_blob(st, 3);
    size_t len = (size_t)sqlite3_column_bytes(st, 3);
    uint64_t crev = (uint64_t)sqlite3_column_int64(st, 1), mrev = (uint64_t)sqlite3_column_int64(st, 2);
    char *plain = NULL;
    size_t plen = 0;
    int r = open_value(b, key, data, len, &plain, &plen, err);
    if (mrev > *rev) *rev = mrev;
    if (r == 0)
      r = fn(ctx, key, crev, mrev, plain ? plain : data ? data : "", plain ? plen : len, err);
    free(plain);
    if (r < 0) {
      sqlite3_finalize(st);
      return r;
    }
  }
  sqlite3_finalize(st);
  sqlite3_exec(b->db, "PRAGMA mmap_size=0", NULL, NULL, NULL);
  if (rc != SQLITE_DONE) return sql_err(b->db, err, "load objects");
  return 0;
}

/* A stored value as its plain bytes: *plain (to free) set when it was sealed. */
static int open_value(sqlite_backend *b, const char *key, const char *data, size_t len,
                      char **plain, size_t *plen, drv_err *err)
{
  *plain = NULL;
  if (!data || !drv_store_is_sealed(data, len)) return 0;
  if (!b->have_key) return drv_error(err, EINVAL, "store: `%s` is encrypted and no key was given", key);
  if (drv_store_unseal(b->key, data, len, plain, plen, err) < 0)
    return drv_err_prefix(err, "store: load `%s`", key), -1;
  return 0;
}

static int sqlite_load_history(drv_store_backend *base, uint64_t after, uint64_t upto,
                               drv_store_history_fn fn, void *ctx, drv_err *err)
{
  sqlite_backend *b = (sqlite_backend *)base;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  /* its own read-only connection: the committer goes on writing on b->db meanwhile (WAL: this
   * reader sees one snapshot) */
  if (sqlite3_open_v2(b->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    drv_error(err, EIO, "store: open `%s` to load the history: %s", b->path,
              db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    return -1;
  }
  sqlite3_exec(db, "PRAGMA busy_timeout=5000; PRAGMA cache_size=-65536;",
               NULL, NULL, NULL);
  if (sqlite3_prepare_v2(db, "SELECT rev, key, type, create_rev, value FROM history"
                         " WHERE rev > ?1 AND rev <= ?2 ORDER BY rev", -1, &st, NULL)) {
    sql_err(db, err, "load history");
    sqlite3_close(db);
    return -1;
  }
  sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)upto);
  int rc, r = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 1);
    const char *data = sqlite3_column_blob(st, 4);
    size_t len = (size_t)sqlite3_column_bytes(st, 4);
    char *plain = NULL;
    size_t plen = 0;
    r = open_value(b, key, data, len, &plain, &plen, err);
    if (r == 0)
      r = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), key, sqlite3_column_int(st, 2),
             (uint64_t)sqlite3_column_int64(st, 3), plain ? plain : data ? data : "",
             plain ? plen : len, err);
    free(plain);
    if (r < 0) break;
  }
  if (r == 0 && rc != SQLITE_DONE) r = sql_err(db, err, "load history");
  sqlite3_finalize(st);
  sqlite3_close(db);
  return r;
}

static int sqlite_commit(drv_store_backend *base, const drv_store_change *ch, size_t n,
                         uint64_t rev, drv_err *err)
{
  sqlite_backend *b = (sqlite_backend *)base;
  int brc = sqlite3_step(b->begin);
  sqlite3_reset(b->begin);
  if (brc != SQLITE_DONE) return sql_err(b->db, err, "begin");
  for (size_t i = 0; i < n; i++) {
    sqlite3_stmt *st = ch[i].data ? b->put : b->del;
    _cleanup_free_ char *sealed = NULL;
    size_t slen = 0;
    sqlite3_bind_text(st, 1, ch[i].key, -1, SQLITE_STATIC);
    if (ch[i].data) {
      const char *v = ch[i].data;
      size_t vlen = ch[i].len;
      if (encrypted(b, ch[i].key)) {
        if (drv_store_seal(b->key, v, vlen, &sealed, &slen, err) < 0) goto fail;
        v = sealed;
        vlen = slen;
      }
      sqlite3_bind_int64(st, 2, (sqlite3_int64)ch[i].create_rev);
      sqlite3_bind_int64(st, 3, (sqlite3_int64)ch[i].mod_rev);
      sqlite3_bind_blob(st, 4, v, (int)vlen, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
      sql_err(b->db, err, "write");
      goto fail;
    }
    /* the event, sealed like the value (a put's event is its value: sealed once) */
    const char *ev = ch[i].event_data;
    size_t evlen = ch[i].event_len;
    _cleanup_free_ char *esealed = NULL;
    if (ev && sealed && ev == ch[i].data) {
      ev = sealed;
      evlen = slen;
    } else if (ev && encrypted(b, ch[i].key)) {
      if (drv_store_seal(b->key, ev, evlen, &esealed, &evlen, err) < 0) goto fail;
      ev = esealed;
    }
    sqlite3_bind_int64(b->hput, 1, (sqlite3_int64)ch[i].mod_rev);
    sqlite3_bind_text(b->hput, 2, ch[i].key, -1, SQLITE_STATIC);
    sqlite3_bind_int(b->hput, 3, ch[i].type);
    sqlite3_bind_int64(b->hput, 4, (sqlite3_int64)ch[i].create_rev);
    sqlite3_bind_blob(b->hput, 5, ev ? ev : "", (int)(ev ? evlen : 0), SQLITE_STATIC);
    rc = sqlite3_step(b->hput);
    sqlite3_reset(b->hput);
    sqlite3_clear_bindings(b->hput);
    if (rc != SQLITE_DONE) {
      sql_err(b->db, err, "write history");
      goto fail;
    }
  }
  /* now and then, what fell out of the kept history goes */
  if (rev > b->history && rev - b->last_trim >= 1024) {
    sqlite3_bind_int64(b->htrim, 1, (sqlite3_int64)(rev - b->history));
    int rc = sqlite3_step(b->htrim);
    sqlite3_reset(b->htrim);
    if (rc != SQLITE_DONE) {
      sql_err(b->db, err, "trim history");
      goto fail;
    }
    b->last_trim = rev;
  }
  /* the revision is not written per commit: it is the newest history row's (sqlite_load) */
  int crc = sqlite3_step(b->commit);
  sqlite3_reset(b->commit);
  if (crc != SQLITE_DONE) {
    sql_err(b->db, err, "commit");
    goto fail;
  }
  return 0;
fail:
  sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}

static void *checkpointer(void *arg)
{
  sqlite_backend *b = arg;
  pthread_mutex_lock(&b->ckpt_mu);
  while (!b->ckpt_stop) {
    struct timespec ts = drv_deadline_ms(CLOCK_REALTIME, 250);
    pthread_cond_timedwait(&b->ckpt_cond, &b->ckpt_mu, &ts);
    if (b->ckpt_stop) break;
    pthread_mutex_unlock(&b->ckpt_mu);
    int wal = 0, done = 0;
    sqlite3_wal_checkpoint_v2(b->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal, &done);
    /* under sustained writes a passive checkpoint never catches up, so the WAL would only
     * grow: past 64 MiB, make the next writer start it over (a short stall, rarely) */
    if (wal > 16384)
      sqlite3_wal_checkpoint_v2(b->ckpt_db, NULL, SQLITE_CHECKPOINT_RESTART, &wal, &done);
    pthread_mutex_lock(&b->ckpt_mu);
  }
  pthread_mutex_unlock(&b->ckpt_mu);
  return NULL;
}

static void sqlite_close(drv_store_backend *base)
{
  sqlite_backend *b = (sqlite_backend *)base;
  if (!b) return;
  if (b->ckpt_started) {
    pthread_mutex_lock(&b->ckpt_mu);
    b->ckpt_stop = true;
    pthread_cond_signal(&b->ckpt_cond);
    pthread_mutex_unlock(&b->ckpt_mu);
    pthread_join(b->ckpt_thread, NULL);
  }
  if (b->ckpt_db) {
    /* leave a small WAL behind: the next start reads less */
    sqlite3_wal_checkpoint_v2(b->ckpt_db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(b->ckpt_db);
  }
  pthread_mutex_destroy(&b->ckpt_mu);
  pthread_cond_destroy(&b->ckpt_cond);
  sqlite3_finalize(b->put);
  sqlite3_finalize(b->del);
  sqlite3_finalize(b->hput);
  sqlite3_finalize(b->htrim);
  sqlite3_finalize(b->begin);
  sqlite3_finalize(b->commit);
  sqlite3_close(b->db);
  drv_strv_free(b->enc_prefixes);
  free(b->path);
  free(b);
}

static const drv_store_backend_ops sqlite_ops = {sqlite_load, sqlite_load_history, sqlite_commit,
                                                 sqlite_close};

int drv_store_sqlite_open(const char *dir, const char *const *enc_prefixes,
                          const unsigned char *key, uint64_t history, drv_store_backend **out,
                          drv_err *err)
{
  sqlite_backend *b = drv_calloc(1, sizeof *b);
  b->base.ops = &sqlite_ops;
  b->history = history;
  pthread_mutex_init(&b->ckpt_mu, NULL);
  pthread_cond_init(&b->ckpt_cond, NULL);
  char *path = b->path = drv_asprintf("%s/store.db", dir);
  if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    drv_error(err, EIO, "store: open `%s`: %s", path, b->db ? sqlite3_errmsg(b->db) : "no memory");
    sqlite_close(&b->base);
    return -1;
  }
  static const char *setup =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "PRAGMA wal_autocheckpoint=0;"
      "PRAGMA busy_timeout=5000;"
      "PRAGMA cache_size=-65536;"
      /* keyed by the key itself (WITHOUT ROWID): a write rewrites one leaf, not a row at the
       * table's end plus its old page plus an index page (stores made before keep theirs) */
      "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL,"
      " mod_rev INTEGER NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS history(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
      " type INTEGER NOT NULL, create_rev INTEGER NOT NULL, value BLOB NOT NULL);"
      "INSERT OR IGNORE INTO meta VALUES('revision', 0);";
  char *msg = NULL;
  if (sqlite3_exec(b->db, setup, NULL, NULL, &msg) != SQLITE_OK) {
    drv_error(err, EIO, "store: set up `%s`: %s", path, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite_close(&b->base);
    return -1;
  }
  if (sqlite3_prepare_v3(b->db, "INSERT OR REPLACE INTO kv VALUES(?1, ?2, ?3, ?4)", -1,
                         SQLITE_PREPARE_PERSISTENT, &b->put, NULL) ||
      sqlite3_prepare_v3(b->db, "DELETE FROM kv WHERE key = ?1", -1, SQLITE_PREPARE_PERSISTENT,
                         &b->del, NULL) ||
      sqlite3_prepare_v3(b->db, "INSERT OR REPLACE INTO history VALUES(?1, ?2, ?3, ?4, ?5)", -1,
                         SQLITE_PREPARE_PERSISTENT, &b->hput, NULL) ||
      sqlite3_prepare_v3(b->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &b->begin,
                         NULL) ||
      sqlite3_prepare_v3(b->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &b->commit, NULL) ||
      sqlite3_prepare_v3(b->db, "DELETE FROM history WHERE rev <= ?1", -1,
                         SQLITE_PREPARE_PERSISTENT, &b->htrim, NULL)) {
    sql_err(b->db, err, "prepare statements");
    sqlite_close(&b->base);
    return -1;
  }
  if (sqlite3_open_v2(path, &b->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_exec(b->ckpt_db, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=1000;", NULL, NULL, NULL) != SQLITE_OK) {
    drv_error(err, EIO, "store: open `%s` for checkpoints: %s", path,
              b->ckpt_db ? sqlite3_errmsg(b->ckpt_db) : "no memory");
    sqlite_close(&b->base);
    return -1;
  }
  if (pthread_create(&b->ckpt_thread, NULL, checkpointer, b) != 0) {
    drv_error(err, errno, "store: start the checkpoint thread");
    sqlite_close(&b->base);
    return -1;
  }
  b->ckpt_started = true;
  if (key) {
    memcpy(b->key, key, DRV_STORE_KEY_LEN);
    b->have_key = true;
  }
  if (enc_prefixes) {
    size_t n = 0;
    while (enc_prefixes[n]) n++;
    b->enc_prefixes = drv_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) b->enc_prefixes[i] = drv_strdup(enc_prefixes[i]);
  }
  *out = &b->base;
  return 0;
}
