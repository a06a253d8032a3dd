/* The ConfigMaps and Secrets the node's pods mount, each watched by name (fieldSelector
 * metadata.name=X), as kubelet's watch-based manager: the pod worker reads them from here
 * instead of asking the server on every sync, and a change wakes it at once. One thread polls
 * every watch without blocking. An object whose watch does not work (refused, server away) is
 * read with a GET at most once a second instead, so nothing depends on watches being allowed. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/internal.h"
#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define GET_TTL_MS 1000     /* an object without a working watch is re-read this often at most */
#define UNUSED_MS 30000     /* an object no pod asked for this long is dropped */
#define POLL_MS 100         /* how often the watches are looked at */
/* Each watch holds a connection (~22 KB of the agent's memory, measured); objects past this
 * many are read with GETs (GET_TTL_MS) instead. */
#define MAX_WATCHES 128

typedef struct src {
  char *ns, *name;
  bool secret;
  json_t *obj;              /* NULL: does not exist (when fetched_ms) */
  long long fetched_ms;     /* 0: never read */
  char *rv;                 /* where the watch starts / resumes */
  drv_api_watch *w;
  int fails;
  int busy;                 /* readers between their unlock and relock: keep the entry */
  long long next_open_ms, used_ms;
  struct src *next;
} src;

struct drv_volsrc {
  drv_api_client *api;
  void (*changed)(void *ud);
  void *ud;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool stop;
  pthread_t thr;
  src *list;
};

static void src_free(src *s)
{
  if (s->w) drv_api_watch_close(s->w);
  json_decref(s->obj);
  free(s->ns), free(s->name), free(s->rv), free(s);
}

static drv_api_ref ref_of(const src *s)
{
  return (drv_api_ref){.version = "v1", .resource = s->secret ? "secrets" : "configmaps", .ns = s->ns};
}

static void set_rv(src *s, const char *rv)
{
  if (!rv || !*rv) return;
  free(s->rv);
  s->rv = drv_strdup(rv);
}

/* Drains s's watch without blocking; true when the object changed. Under the lock. */
static bool drain(struct drv_volsrc *v, src *s, long long now)
{
  bool changed = false;
  for (;;) {
    drv_api_event ev;
    drv_err err;
    int r = drv_api_watch_next(s->w, 0, &ev, &err);
    if (r == 0) return changed;
    if (r == 1) {
      const char *rv = drv_obj_resource_version(ev.object);
      if (ev.type == DRV_API_BOOKMARK) {
        set_rv(s, rv);
      } else if (!strcmp(drv_obj_name(ev.object) ?: "", s->name)) {
        set_rv(s, rv);
        json_t *now_obj = ev.type == DRV_API_DELETED ? NULL : ev.object;
        if (!(s->obj && now_obj && json_equal(s->obj, now_obj)) && !(!s->obj && !now_obj)) changed = true;
        json_decref(s->obj);
        s->obj = json_incref(now_obj);
        s->fetched_ms = now;
        s->fails = 0;
      }
      json_decref(ev.object);
      continue;
    }
    /* The stream ended (resume from rv) or failed (back off; GETs meanwhile). */
    drv_api_watch_close(s->w);
    s->w = NULL;
    if (r == DRV_API_EEOF) {
      s->next_open_ms = now;
    } else {
      if (r == DRV_API_EGONE) {
        free(s->rv);
        s->rv = NULL; /* the next GET gives a new start */
      }
      s->fails++;
      s->next_open_ms = now + (s->fails < 10 ? s->fails : 10) * 1000;
      s->fetched_ms = 0; /* not trusted until read again */
      drv_log_debug("volume source %s/%s: watch: %s", s->ns, s->name, err.msg);
    }
    (void)v;
    return changed;
  }
}

static void *run(void *arg)
{
  struct drv_volsrc *v = arg;
  pthread_mutex_lock(&v->lock);
  while (!v->stop) {
    long long now = drv_now_ms();
    bool changed = false;
    int watches = 0;
    for (src *s = v->list; s; s = s->next) watches += s->w != NULL;
    for (src **pp = &v->list; *pp;) {
      src *s = *pp;
      if (now - s->used_ms > UNUSED_MS && !s->busy) {
        *pp = s->next;
        src_free(s);
        continue;
      }
      if (s->w) changed |= drain(v, s, now);
      else if (s->rv && s->fetched_ms && now >= s->next_open_ms && watches < MAX_WATCHES) {
        drv_api_ref ref = ref_of(s);
        _cleanup_free_ char *fs = drv_asprintf("metadata.name=%s", s->name);
        drv_api_list_opts lo = {.field_selector = fs, .resource_version = s->rv, .timeout_seconds = 300,
                                .allow_bookmarks = true};
        drv_err err;
        if (drv_api_watch_open(v->api, &ref, &lo, &s->w, &err) < 0) {
          s->w = NULL;
          s->next_open_ms = now + 5000;
        } else {
          watches++;
        }
      }
      pp = &s->next;
    }
    if (changed && v->changed) {
      pthread_mutex_unlock(&v->lock);
      v->changed(v->ud);
      pthread_mutex_lock(&v->lock);
    }
    struct timespec ts = drv_deadline_ms(CLOCK_REALTIME, POLL_MS);
    while (!v->stop && pthread_cond_timedwait(&v->cond, &v->lock, &ts) != ETIMEDOUT) {}
  }
  pthread_mutex_unlock(&v->lock);
  return NULL;
}

drv_volsrc *drv_volsrc_new(drv_api_client *api, void (*changed)(void *ud), void *ud)
{
  struct drv_volsrc *v = drv_calloc(1, sizeof *v);
  v->api = api;
  v->changed = changed;
  v->ud = ud;
  pthread_mutex_init(&v->lock, NULL);
  pthread_cond_init(&v->cond, NULL);
  if (pthread_create(&v->thr, NULL, run, v) != 0) {
    /* No thread: every read is a GET (with the 1 s reuse), still correct. */
    drv_log_warn("volume sources: cannot start a thread; reading ConfigMaps/Secrets without watches");
    v->stop = true;
  }
  return v;
}

void drv_volsrc_free(drv_volsrc *v)
{
  if (!v) return;
  pthread_mutex_lock(&v->lock);
  bool had_thread = !v->stop;
  v->stop = true;
  pthread_cond_broadcast(&v->cond);
  pthread_mutex_unlock(&v->lock);
  if (had_thread) pthread_join(v->thr, NULL);
  while (v->list) {
    src *s = v->list;
    v->list = s->next;
    src_free(s);
  }
  pthread_mutex_destroy(&v->lock);
  pthread_cond_destroy(&v->cond);
  free(v);
}

int drv_volsrc_get(drv_volsrc *v, const char *ns, bool secret, const char *name, json_t **out,
                   drv_err *err)
{
  *out = NULL;
  long long now = drv_now_ms();
  pthread_mutex_lock(&v->lock);
  src *s = v->list;
  while (s && !(s->secret == secret && !strcmp(s->ns, ns) && !strcmp(s->name, name))) s = s->next;
  if (!s) {
    s = drv_calloc(1, sizeof *s);
    s->ns = drv_strdup(ns);
    s->name = drv_strdup(name);
    s->secret = secret;
    s->next = v->list;
    v->list = s;
  }
  s->used_ms = now;
  /* Trusted: a watch keeps it current, or it was read less than a second ago. */
  if (s->fetched_ms && (s->w || now - s->fetched_ms < GET_TTL_MS)) {
    *out = json_incref(s->obj);
    int r = s->obj ? 0 : 1;
    pthread_mutex_unlock(&v->lock);
    return r;
  }
  s->busy++;
  pthread_mutex_unlock(&v->lock);
  /* A list by name: its resourceVersion starts the watch even when the object is absent. */
  drv_api_ref ref = {.version = "v1", .resource = secret ? "secrets" : "configmaps", .ns = ns};
  _cleanup_free_ char *fs = drv_asprintf("metadata.name=%s", name);
  drv_api_list_opts lo = {.field_selector = fs};
  json_t *list = NULL;
  int lr = drv_api_list(v->api, &ref, &lo, &list, err);
  pthread_mutex_lock(&v->lock);
  s->busy--;
  if (lr < 0) {
    pthread_mutex_unlock(&v->lock);
    return -1;
  }
  json_t *obj = json_array_get(json_object_get(list, "items"), 0);
  if (!s->w) {
    json_decref(s->obj);
    s->obj = json_incref(obj);
    s->fetched_ms = drv_now_ms();
    set_rv(s, drv_json_get_str(list, "metadata.resourceVersion"));
  }
  *out = json_incref(s->obj);
  int r = s->obj ? 0 : 1;
  pthread_mutex_unlock(&v->lock);
  json_decref(list);
  return r;
}
