/* Event recorder: creates core v1 Events; aggregates repeats (same object, reason, message)
 * within 10 minutes by patching count and lastTimestamp of the Event it created. */
#include "api/recorder.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define AGG_WINDOW_MS (10LL * 60 * 1000)
#define AGG_MAX 4096

typedef struct agg {
  char *key;       /* uid + reason + message */
  char *ns, *name; /* the Event */
  long long count;
  long long at_ms;
} agg;

struct drv_recorder {
  drv_api_client *c;
  char *component;
  char *host; /* source.host, NULL = none */
  pthread_mutex_t lock;
  agg *aggs;
  size_t naggs;
};

drv_recorder *drv_recorder_new(drv_api_client *c, const char *component)
{
  drv_recorder *r = drv_calloc(1, sizeof *r);
  r->c = c;
  r->component = drv_strdup(component);
  pthread_mutex_init(&r->lock, NULL);
  return r;
}

void drv_recorder_free(drv_recorder *r)
{
  if (!r) return;
  for (size_t i = 0; i < r->naggs; i++) {
    free(r->aggs[i].key);
    free(r->aggs[i].ns);
    free(r->aggs[i].name);
  }
  free(r->aggs);
  free(r->component);
  free(r->host);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

void drv_recorder_set_host(drv_recorder *r, const char *host)
{
  free(r->host);
  r->host = host ? drv_strdup(host) : NULL;
}

static void record(drv_recorder *r, const json_t *obj, const char *api_version, const char *kind,
                   const char *field_path, const char *type, const char *reason, const char *msg);

void drv_recorder_event(drv_recorder *r, const json_t *obj, const char *api_version,
                        const char *kind, const char *type, const char *reason, const char *fmt, ...)
{
  if (!r) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  record(r, obj, api_version, kind, NULL, type, reason, msg);
}

void drv_recorder_event_field(drv_recorder *r, const json_t *obj, const char *api_version,
                              const char *kind, const char *field_path, const char *type,
                              const char *reason, const char *fmt, ...)
{
  if (!r) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  record(r, obj, api_version, kind, field_path, type, reason, msg);
}

static void record(drv_recorder *r, const json_t *obj, const char *api_version, const char *kind,
                   const char *field_path, const char *type, const char *reason, const char *msg)
{
  const char *oname = drv_obj_name(obj), *ons = drv_obj_namespace(obj), *uid = drv_obj_uid(obj);
  if (!oname) return;
  const char *ens = ons && *ons ? ons : "default";
  char now[64];
  drv_api_time_format(time(NULL), now, sizeof now);
  _cleanup_free_ char *key = drv_asprintf("%s/%s/%s/%s/%s", uid ? uid : oname, field_path ? field_path : "",
                                          reason, type, msg);
  long long t = drv_now_ms();
  drv_err err;
  drv_api_ref ref = {.version = "v1", .resource = "events", .ns = ens};

  pthread_mutex_lock(&r->lock);
  agg *hit = NULL;
  for (size_t i = 0; i < r->naggs; i++)
    if (!strcmp(r->aggs[i].key, key) && t - r->aggs[i].at_ms < AGG_WINDOW_MS) hit = &r->aggs[i];
  _cleanup_free_ char *hit_name = NULL;
  long long count = 0;
  if (hit) {
    hit->count++;
    hit->at_ms = t;
    count = hit->count;
    hit_name = drv_strdup(hit->name);
  }
  pthread_mutex_unlock(&r->lock);

  if (hit_name) {
    ref.name = hit_name;
    json_t *patch = json_pack("{s:I, s:s}", "count", (json_int_t)count, "lastTimestamp", now);
    int rc = drv_api_patch(r->c, &ref, DRV_API_PATCH_MERGE, patch, NULL, &err);
    json_decref(patch);
    if (rc == 0) return;
    /* gone (TTL, deleted): create a new one below */
  }

  char ts[32];
  snprintf(ts, sizeof ts, "%llx", (unsigned long long)drv_now_ns());
  _cleanup_free_ char *ename = drv_asprintf("%s.%s", oname, ts);
  json_t *inv = json_pack("{s:s, s:s, s:s}", "apiVersion", api_version ? api_version : (drv_obj_api_version(obj) ? drv_obj_api_version(obj) : "v1"),
                          "kind", kind ? kind : (drv_obj_kind(obj) ? drv_obj_kind(obj) : ""), "name", oname);
  if (ons && *ons) json_object_set_new(inv, "namespace", json_string(ons));
  if (uid) json_object_set_new(inv, "uid", json_string(uid));
  if (drv_obj_resource_version(obj)) json_object_set_new(inv, "resourceVersion", json_string(drv_obj_resource_version(obj)));
  json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s, s:s}",
                         "apiVersion", "v1", "kind", "Event", "metadata", "name", ename, "namespace", ens,
                         "involvedObject", inv, "reason", reason, "message", msg, "type", type, "source",
                         "component", r->component, "firstTimestamp", now, "lastTimestamp", now, "count", 1,
                         "reportingComponent", r->component, "reportingInstance", r->component);
  if (field_path) json_object_set_new(inv, "fieldPath", json_string(field_path));
  if (r->host) {
    json_object_set_new(json_object_get(ev, "source"), "host", json_string(r->host));
    json_object_set_new(ev, "reportingInstance", json_string(r->host));
  }
  if (drv_api_create(r->c, &ref, ev, NULL, &err) < 0)
    drv_log_debug("event %s on %s/%s: %s", reason, ens, oname, err.msg);
  else {
    pthread_mutex_lock(&r->lock);
    if (r->naggs >= AGG_MAX) {
      /* drop the oldest half */
      for (size_t i = 0; i < r->naggs / 2; i++) {
        free(r->aggs[i].key);
        free(r->aggs[i].ns);
        free(r->aggs[i].name);
      }
      memmove(r->aggs, r->aggs + r->naggs / 2, (r->naggs - r->naggs / 2) * sizeof *r->aggs);
      r->naggs -= r->naggs / 2;
    }
    r->aggs = drv_realloc(r->aggs, (r->naggs + 1) * sizeof *r->aggs);
    r->aggs[r->naggs++] = (agg){drv_strdup(key), drv_strdup(ens), drv_strdup(ename), 1, t};
    pthread_mutex_unlock(&r->lock);
  }
  json_decref(ev);
}
