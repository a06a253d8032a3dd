/* Server housekeeping: Events expire an hour after they were last seen (Kubernetes'
 * --event-ttl), so a long-running cluster does not accumulate them forever. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/ops.h"

#define SWEEP_EVERY_S 60

static time_t last_seen(const json_t *ev)
{
  static const char *const paths[] = {"series.lastObservedTime", "lastTimestamp", "eventTime",
                                      "metadata.creationTimestamp", NULL};
  time_t best = 0;
  for (const char *const *p = paths; *p; p++) {
    const char *s = drv_json_get_str(ev, *p);
    time_t t;
    if (s && drv_api_time_parse(s, &t) == 0 && t > best) best = t;
  }
  return best;
}

size_t drv_server_expire_events(drv_server *s, time_t now, long ttl_s)
{
  const drv_api_resource *res = drv_api_resource_find("", "v1", "events");
  if (!res) return 0;
  _cleanup_free_ char *prefix = drv_server_prefix(res, NULL);
  drv_store_list l;
  drv_store_list_prefix(s->store, prefix, NULL, 0, NULL, NULL, &l);
  size_t n = 0;
  for (size_t i = 0; i < l.n; i++) {
    json_t *ev = json_loadb(l.items[i]->data, l.items[i]->len, 0, NULL);
    time_t seen = ev ? last_seen(ev) : 0;
    if (ev && seen && now - seen > ttl_s) {
      drv_op op = {.res = res, .sres = res, .ns = drv_obj_namespace(ev), .name = drv_obj_name(ev)};
      drv_delete_opts d = {.grace_seconds = 0, .pre_rv = drv_obj_resource_version(ev)};
      drv_store_obj *out = NULL;
      json_t *st = NULL;
      bool deleted = false;
      if (op.ns && op.name && drv_op_delete(s, &op, &d, &out, &deleted, &st) == 0 && deleted) n++;
      drv_store_obj_unref(out);
      json_decref(st);
    }
    json_decref(ev);
  }
  drv_store_list_free(&l);
  return n;
}

static void *housekeeping_main(void *arg)
{
  drv_server *s = arg;
  pthread_mutex_lock(&s->hk_mu);
  while (!s->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += SWEEP_EVERY_S;
    pthread_cond_timedwait(&s->hk_cond, &s->hk_mu, &ts);
    if (s->stopping) break;
    pthread_mutex_unlock(&s->hk_mu);
    size_t n = drv_server_expire_events(s, time(NULL), s->opts.event_ttl_s);
    if (n) drv_log_debug("server: %zu events expired", n);
    pthread_mutex_lock(&s->hk_mu);
  }
  pthread_mutex_unlock(&s->hk_mu);
  return NULL;
}

int drv_server_housekeeping_start(drv_server *s)
{
  pthread_mutex_init(&s->hk_mu, NULL);
  pthread_cond_init(&s->hk_cond, NULL);
  if (pthread_create(&s->hk_thread, NULL, housekeeping_main, s) != 0) return -1;
  s->hk_started = true;
  return 0;
}

void drv_server_housekeeping_stop(drv_server *s)
{
  if (!s->hk_started) return;
  pthread_mutex_lock(&s->hk_mu);
  s->stopping = true;
  pthread_cond_signal(&s->hk_cond);
  pthread_mutex_unlock(&s->hk_mu);
  pthread_join(s->hk_thread, NULL);
  pthread_mutex_destroy(&s->hk_mu);
  pthread_cond_destroy(&s->hk_cond);
  s->hk_started = false;
}
