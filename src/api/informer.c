/* Informer: list, then watch from the list's resourceVersion; re-watch from the last seen
 * resourceVersion when a stream ends or breaks (a server restart included); relist
 * (delivering the differences) only on 410 Gone. The cache is a jansson object keyed "ns/name" under a mutex. */
#include "api/informer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define MAX_HANDLERS 8

struct drv_informer {
  drv_api_client *c;
  char *group, *version, *resource, *ns, *label, *field;
  drv_api_ref ref;
  drv_informer_handlers h[MAX_HANDLERS];
  int nh;
  int resync_ms;
  pthread_t thread;
  bool started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  json_t *cache;   /* key → object */
  const char *(*index_fn)(const json_t *obj);
  void (*transform)(json_t *obj);
  json_t *index;   /* index key → {object key → object} */
  char *last_rv;
  bool synced;
  volatile bool stop;
  drv_api_watch *w; /* the open watch, under lock: drv_informer_free cancels it */
};

static char *dup0(const char *s)
{
  return s ? drv_strdup(s) : NULL;
}

drv_informer *drv_informer_new(drv_api_client *c, const drv_api_ref *ref, const char *label,
                               const char *field)
{
  drv_informer *inf = drv_calloc(1, sizeof *inf);
  inf->c = c;
  inf->group = dup0(ref->group);
  inf->version = dup0(ref->version);
  inf->resource = dup0(ref->resource);
  inf->ns = dup0(ref->ns);
  inf->label = dup0(label);
  inf->field = dup0(field);
  inf->ref = (drv_api_ref){.group = inf->group, .version = inf->version, .resource = inf->resource,
                           .ns = inf->ns};
  pthread_mutex_init(&inf->lock, NULL);
  pthread_cond_init(&inf->cond, NULL);
  inf->cache = json_object();
  inf->last_rv = drv_strdup("");
  return inf;
}

void drv_informer_add_handlers(drv_informer *inf, const drv_informer_handlers *h)
{
  if (inf->nh < MAX_HANDLERS) inf->h[inf->nh++] = *h;
}

void drv_informer_set_resync(drv_informer *inf, int ms)
{
  inf->resync_ms = ms;
}

void drv_informer_set_index(drv_informer *inf, const char *(*fn)(const json_t *obj))
{
  inf->index_fn = fn;
  inf->index = json_object();
}

/* lock held */
static void index_del(drv_informer *inf, const char *k, json_t *obj)
{
  if (!inf->index_fn || !obj) return;
  const char *ik = inf->index_fn(obj);
  json_t *set = ik ? json_object_get(inf->index, ik) : NULL;
  if (!set) return;
  json_object_del(set, k);
  if (!json_object_size(set)) json_object_del(inf->index, ik);
}

/* lock held */
static void index_add(drv_informer *inf, const char *k, json_t *obj)
{
  if (!inf->index_fn) return;
  const char *ik = inf->index_fn(obj);
  if (!ik) return;
  json_t *set = json_object_get(inf->index, ik);
  if (!set) {
    set = json_object();
    json_object_set_new(inf->index, ik, set);
  }
  json_object_set(set, k, obj);
}

json_t *drv_informer_by_index(drv_informer *inf, const char *key)
{
  json_t *out = json_array();
  pthread_mutex_lock(&inf->lock);
  json_t *set = inf->index ? json_object_get(inf->index, key) : NULL;
  const char *k;
  json_t *v;
  json_object_foreach(set, k, v) json_array_append(out, v);
  pthread_mutex_unlock(&inf->lock);
  return out;
}

static char *obj_key(json_t *obj)
{
  return drv_api_key(drv_json_get_str(obj, "metadata.namespace"),
                     drv_json_get_str(obj, "metadata.name"));
}

static unsigned long long rv_num(const char *rv)
{
  return rv ? strtoull(rv, NULL, 10) : 0;
}

static void set_rv(drv_informer *inf, const char *rv)
{
  if (!rv || !*rv) return;
  pthread_mutex_lock(&inf->lock);
  free(inf->last_rv);
  inf->last_rv = drv_strdup(rv);
  pthread_mutex_unlock(&inf->lock);
}

static void emit_add(drv_informer *inf, json_t *o)
{
  for (int i = 0; i < inf->nh; i++)
    if (inf->h[i].on_add) inf->h[i].on_add(inf->h[i].ud, o);
}

static void emit_update(drv_informer *inf, json_t *old, json_t *o)
{
  for (int i = 0; i < inf->nh; i++)
    if (inf->h[i].on_update) inf->h[i].on_update(inf->h[i].ud, old, o);
}

static void emit_delete(drv_informer *inf, json_t *o)
{
  for (int i = 0; i < inf->nh; i++)
    if (inf->h[i].on_delete) inf->h[i].on_delete(inf->h[i].ud, o);
}

/* Lists everything and replaces the cache, delivering the differences. */
static int relist(drv_informer *inf, drv_err *err)
{
  drv_api_list_opts lo = {.label_selector = inf->label, .field_selector = inf->field};
  json_t *list = NULL;
  int r = drv_api_list(inf->c, &inf->ref, &lo, &list, err);
  if (r < 0) return r;
  json_t *items = json_object_get(list, "items");
  json_t *fresh = json_object();
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it)
  {
    _cleanup_free_ char *k = obj_key(it);
    if (inf->transform) inf->transform(it);
    json_object_set(fresh, k, it);
  }
  pthread_mutex_lock(&inf->lock);
  json_t *old = inf->cache;
  inf->cache = fresh;
  json_incref(fresh);
  if (inf->index_fn) {
    json_object_clear(inf->index);
    const char *ik;
    json_t *iv;
    json_object_foreach(fresh, ik, iv) index_add(inf, ik, iv);
  }
  inf->synced = true;
  pthread_cond_broadcast(&inf->cond);
  pthread_mutex_unlock(&inf->lock);
  set_rv(inf, drv_json_get_str(list, "metadata.resourceVersion"));
  const char *k;
  json_t *v;
  json_object_foreach(fresh, k, v)
  {
    json_t *o = json_object_get(old, k);
    if (!o)
      emit_add(inf, v);
    else if (!json_equal(o, v) || inf->resync_ms)
      emit_update(inf, o, v);
  }
  json_object_foreach(old, k, v)
  {
    if (!json_object_get(fresh, k)) emit_delete(inf, v);
  }
  json_decref(fresh);
  json_decref(old);
  json_decref(list);
  return 0;
}

static void apply_event(drv_informer *inf, drv_api_event *ev)
{
  json_t *o = ev->object;
  drv_log_debug("informer %s: event %d %s rv %s", inf->resource, (int)ev->type,
                drv_json_get_str(o, "metadata.name") ? drv_json_get_str(o, "metadata.name") : "",
                drv_json_get_str(o, "metadata.resourceVersion") ? drv_json_get_str(o, "metadata.resourceVersion") : "");
  set_rv(inf, drv_json_get_str(o, "metadata.resourceVersion"));
  if (ev->type == DRV_API_BOOKMARK) return;
  if (inf->transform) inf->transform(o);
  _cleanup_free_ char *k = obj_key(o);
  pthread_mutex_lock(&inf->lock);
  json_t *old = json_incref(json_object_get(inf->cache, k));
  index_del(inf, k, old);
  if (ev->type == DRV_API_DELETED)
    json_object_del(inf->cache, k);
  else {
    json_object_set(inf->cache, k, o);
    index_add(inf, k, o);
  }
  pthread_mutex_unlock(&inf->lock);
  if (ev->type == DRV_API_DELETED)
    emit_delete(inf, o);
  else if (old)
    emit_update(inf, old, o);
  else
    emit_add(inf, o);
  json_decref(old);
}

static void resync(drv_informer *inf)
{
  pthread_mutex_lock(&inf->lock);
  json_t *snap = json_copy(inf->cache);
  pthread_mutex_unlock(&inf->lock);
  const char *k;
  json_t *v;
  json_object_foreach(snap, k, v) emit_update(inf, v, v);
  json_decref(snap);
}

static void nap(drv_informer *inf, int ms)
{
  for (int t = 0; t < ms && !inf->stop; t += 100) usleep(100 * 1000);
}

static void *run(void *arg)
{
  drv_informer *inf = arg;
  bool need_list = true;
  int failures = 0; /* consecutive failed watches: after a few, relist anyway */
  long long next_resync = inf->resync_ms ? drv_now_ms() + inf->resync_ms : 0;
  while (!inf->stop) {
    drv_err err;
    if (need_list) {
      if (relist(inf, &err) < 0) {
        drv_log_warn("informer %s: list: %s", inf->resource, err.msg);
        nap(inf, 1000);
        continue;
      }
      need_list = false;
    }
    _cleanup_free_ char *rv = drv_informer_last_rv(inf);
    drv_api_list_opts lo = {.label_selector = inf->label, .field_selector = inf->field,
                            .resource_version = rv, .timeout_seconds = 300, .allow_bookmarks = true};
    drv_api_watch *w = NULL;
    int orc = drv_api_watch_open(inf->c, &inf->ref, &lo, &w, &err);
    if (orc < 0) {
      /* the server may be restarting: keep resuming from the last resourceVersion; only a
       * 410 (history compacted past it) needs a relist */
      if (orc == DRV_API_EGONE || ++failures >= 10) {
        need_list = true;
        failures = 0;
      } else {
        drv_log_debug("informer %s: watch: %s", inf->resource, err.msg);
        nap(inf, 1000);
      }
      continue;
    }
    pthread_mutex_lock(&inf->lock);
    inf->w = w;
    pthread_mutex_unlock(&inf->lock);
    while (!inf->stop) {
      drv_api_event ev;
      int r = drv_api_watch_next(w, 500, &ev, &err);
      if (r == 1) {
        failures = 0;
        apply_event(inf, &ev);
        json_decref(ev.object);
      } else if (r == DRV_API_EEOF)
        break;
      else if (r < 0) {
        if (r == DRV_API_EGONE || ++failures >= 10) {
          need_list = true;
          failures = 0;
        } else {
          drv_log_debug("informer %s: watch: %s", inf->resource, err.msg);
          nap(inf, 500);
        }
        break;
      }
      if (next_resync && drv_now_ms() >= next_resync) {
        resync(inf);
        next_resync = drv_now_ms() + inf->resync_ms;
      }
    }
    pthread_mutex_lock(&inf->lock);
    inf->w = NULL;
    pthread_mutex_unlock(&inf->lock);
    drv_api_watch_close(w);
  }
  return NULL;
}

int drv_informer_start(drv_informer *inf, drv_err *err)
{
  int r = pthread_create(&inf->thread, NULL, run, inf);
  if (r) return drv_error(err, r, "start the %s informer", inf->resource);
  inf->started = true;
  return 0;
}

bool drv_informer_synced(drv_informer *inf)
{
  pthread_mutex_lock(&inf->lock);
  bool s = inf->synced;
  pthread_mutex_unlock(&inf->lock);
  return s;
}

bool drv_informer_wait_synced(drv_informer *inf, int timeout_ms)
{
  long long deadline = drv_now_ms() + timeout_ms;
  while (!drv_informer_synced(inf)) {
    if (drv_now_ms() >= deadline) return false;
    usleep(20 * 1000);
  }
  return true;
}

void drv_informer_free(drv_informer *inf)
{
  if (!inf) return;
  /* stop set under the lock the thread takes before waiting in the watch: either it sees
   * stop, or its watch is here to be woken */
  pthread_mutex_lock(&inf->lock);
  inf->stop = true;
  drv_api_watch_cancel(inf->w);
  pthread_mutex_unlock(&inf->lock);
  if (inf->started) pthread_join(inf->thread, NULL);
  json_decref(inf->cache);
  json_decref(inf->index);
  pthread_mutex_destroy(&inf->lock);
  pthread_cond_destroy(&inf->cond);
  free(inf->group);
  free(inf->version);
  free(inf->resource);
  free(inf->ns);
  free(inf->label);
  free(inf->field);
  free(inf->last_rv);
  free(inf);
}

json_t *drv_informer_get(drv_informer *inf, const char *ns, const char *name)
{
  _cleanup_free_ char *k = drv_api_key(ns, name);
  pthread_mutex_lock(&inf->lock);
  json_t *o = json_incref(json_object_get(inf->cache, k));
  pthread_mutex_unlock(&inf->lock);
  return o;
}

json_t *drv_informer_list(drv_informer *inf, const char *ns, bool (*filter)(json_t *, void *),
                          void *ud)
{
  json_t *out = json_array();
  pthread_mutex_lock(&inf->lock);
  const char *k;
  json_t *v;
  json_object_foreach(inf->cache, k, v)
  {
    if (ns && *ns) {
      const char *ons = drv_json_get_str(v, "metadata.namespace");
      if (!ons || strcmp(ons, ns)) continue;
    }
    json_array_append(out, v);
  }
  pthread_mutex_unlock(&inf->lock);
  if (filter) {
    json_t *keep = json_array();
    size_t i;
    json_array_foreach(out, i, v) if (filter(v, ud)) json_array_append(keep, v);
    json_decref(out);
    out = keep;
  }
  return out;
}

size_t drv_informer_count(drv_informer *inf)
{
  pthread_mutex_lock(&inf->lock);
  size_t n = json_object_size(inf->cache);
  pthread_mutex_unlock(&inf->lock);
  return n;
}

char *drv_informer_last_rv(drv_informer *inf)
{
  pthread_mutex_lock(&inf->lock);
  char *rv = drv_strdup(inf->last_rv);
  pthread_mutex_unlock(&inf->lock);
  return rv;
}

void drv_informer_set_transform(drv_informer *inf, void (*fn)(json_t *obj))
{
  inf->transform = fn;
}

void drv_informer_store_hint(drv_informer *inf, json_t *obj)
{
  if (!obj) return;
  _cleanup_free_ char *k = obj_key(obj);
  pthread_mutex_lock(&inf->lock);
  json_t *cur = json_object_get(inf->cache, k);
  if (!cur || rv_num(drv_json_get_str(cur, "metadata.resourceVersion")) <
                  rv_num(drv_json_get_str(obj, "metadata.resourceVersion"))) {
    index_del(inf, k, cur);
    json_object_set(inf->cache, k, obj);
    index_add(inf, k, obj);
  }
  pthread_mutex_unlock(&inf->lock);
}
