/* Lease-based leader election (see leader.h). One thread per elector. */
#include "api/leader.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

struct drv_leader {
  drv_api_client *c;
  char *ns, *name, *id;
  int lease_ms;
  pthread_t thread;
  bool started;
  volatile bool stop;
  pthread_mutex_t lock;
  bool leader;
  long long renewed_ms;   /* our last successful renewal */
  char *seen;             /* the other holder's record as last seen ("holder|renewTime") */
  long long seen_ms;      /* when it last changed, by our clock */
};

char *drv_leader_identity(void)
{
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  return drv_asprintf("%s_%d", host, (int)getpid());
}

drv_leader *drv_leader_new(drv_api_client *c, const char *ns, const char *name,
                           const char *identity, int lease_ms)
{
  drv_leader *l = drv_calloc(1, sizeof *l);
  l->c = c;
  l->ns = drv_strdup(ns);
  l->name = drv_strdup(name);
  l->id = drv_strdup(identity);
  l->lease_ms = lease_ms > 0 ? lease_ms : 15000;
  pthread_mutex_init(&l->lock, NULL);
  return l;
}

static void now_micro(char *buf, size_t size)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  drv_api_microtime_format((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, buf, size);
}

static void set_leader(drv_leader *l, bool v)
{
  pthread_mutex_lock(&l->lock);
  if (v != l->leader) drv_log_info("leader election %s/%s: %s", l->ns, l->name, v ? "leading" : "not leading");
  l->leader = v;
  if (v) l->renewed_ms = drv_now_ms();
  pthread_mutex_unlock(&l->lock);
}

/* A holder on this host whose process is gone (a crash, a kill -9) need not be waited for. */
static bool holder_dead_here(const char *holder)
{
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  size_t n = strlen(host);
  if (!holder || strncmp(holder, host, n) || holder[n] != '_') return false;
  char *end;
  long pid = strtol(holder + n + 1, &end, 10);
  if (*end || pid <= 0) return false;
  return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* One round: create, renew or take over the Lease. */
static void round_once(drv_leader *l)
{
  drv_api_ref ref = {.group = "coordination.k8s.io", .version = "v1", .resource = "leases", .ns = l->ns,
                     .name = l->name};
  drv_err err;
  json_t *cur = NULL;
  char now[64];
  now_micro(now, sizeof now);
  int secs = (l->lease_ms + 999) / 1000;
  int rc = drv_api_get(l->c, &ref, &cur, &err);
  if (rc == DRV_API_ENOTFOUND) {
    json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}", "apiVersion",
                              "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name,
                              "namespace", l->ns, "spec", "holderIdentity", l->id, "leaseDurationSeconds",
                              secs, "acquireTime", now, "renewTime", now, "leaseTransitions", 0);
    drv_api_ref cref = ref;
    cref.name = NULL;
    if (drv_api_create(l->c, &cref, lease, NULL, &err) == 0) set_leader(l, true);
    json_decref(lease);
    return;
  }
  if (rc < 0) return;
  const char *holder = drv_json_get_str(cur, "spec.holderIdentity");
  const char *renew = drv_json_get_str(cur, "spec.renewTime");
  json_t *upd = json_deep_copy(cur);
  json_t *spec = drv_json_obj(upd, "spec");
  bool mine = holder && !strcmp(holder, l->id);
  bool take = false;
  if (!mine) {
    char rec[512];
    snprintf(rec, sizeof rec, "%s|%s", holder ? holder : "", renew ? renew : "");
    if (!l->seen || strcmp(l->seen, rec)) {
      free(l->seen);
      l->seen = drv_strdup(rec);
      l->seen_ms = drv_now_ms();
    }
    long long dur = drv_json_get_int(cur, "spec.leaseDurationSeconds", secs) * 1000;
    take = !holder || !*holder || drv_now_ms() - l->seen_ms > dur || holder_dead_here(holder);
    if (!take) set_leader(l, false);
  }
  if (mine || take) {
    json_object_set_new(spec, "holderIdentity", json_string(l->id));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(secs));
    json_object_set_new(spec, "renewTime", json_string(now));
    if (take) {
      json_object_set_new(spec, "acquireTime", json_string(now));
      json_object_set_new(spec, "leaseTransitions",
                          json_integer(drv_json_get_int(cur, "spec.leaseTransitions", 0) + 1));
    }
    if (drv_api_update(l->c, &ref, upd, NULL, &err) == 0)
      set_leader(l, true);
  }
  json_decref(upd);
  json_decref(cur);
}

static void *run(void *arg)
{
  drv_leader *l = arg;
  while (!l->stop) {
    round_once(l);
    /* a leader that could not renew for a whole lease steps down */
    pthread_mutex_lock(&l->lock);
    if (l->leader && drv_now_ms() - l->renewed_ms > l->lease_ms) {
      l->leader = false;
      drv_log_warn("leader election %s/%s: lost (no renewal for %d ms)", l->ns, l->name, l->lease_ms);
    }
    pthread_mutex_unlock(&l->lock);
    for (int t = 0; t < l->lease_ms / 3 && !l->stop; t += 100) usleep(100 * 1000);
  }
  return NULL;
}

int drv_leader_start(drv_leader *l, drv_err *err)
{
  int r = pthread_create(&l->thread, NULL, run, l);
  if (r) return drv_error(err, r, "start leader election for %s/%s", l->ns, l->name);
  l->started = true;
  return 0;
}

bool drv_leader_is_leader(drv_leader *l)
{
  if (!l) return true;
  pthread_mutex_lock(&l->lock);
  bool v = l->leader;
  pthread_mutex_unlock(&l->lock);
  return v;
}

void drv_leader_free(drv_leader *l)
{
  if (!l) return;
  l->stop = true;
  if (l->started) pthread_join(l->thread, NULL);
  if (l->leader) {
    /* release: a successor need not wait for the lease to run out */
    drv_api_ref ref = {.group = "coordination.k8s.io", .version = "v1", .resource = "leases", .ns = l->ns,
                       .name = l->name};
    drv_err err;
    json_t *cur = NULL;
    if (drv_api_get(l->c, &ref, &cur, &err) == 0) {
      const char *holder = drv_json_get_str(cur, "spec.holderIdentity");
      if (holder && !strcmp(holder, l->id)) {
        json_object_set_new(drv_json_obj(cur, "spec"), "holderIdentity", json_string(""));
        drv_api_update(l->c, &ref, cur, NULL, &err);
      }
    }
    json_decref(cur);
  }
  pthread_mutex_destroy(&l->lock);
  free(l->ns);
  free(l->name);
  free(l->id);
  free(l->seen);
  free(l);
}
