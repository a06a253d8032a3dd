#include "agent/status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

long long drv_backoff_ms(int failures)
{
  if (failures <= 0) return 0;
  long long ms = 10000;
  for (int i = 1; i < failures && ms < 300000; i++) ms *= 2;
  return ms > 300000 ? 300000 : ms;
}

void drv_status_time(long long ms, char *buf, size_t size)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool policy_is(const drv_pod_view *v, const char *p)
{
  const char *rp = v->restart_policy && *v->restart_policy ? v->restart_policy : "Always";
  return strcmp(rp, p) == 0;
}

const char *drv_pod_phase(const drv_pod_view *v)
{
  if (v->rejected || (v->reason && !strcmp(v->reason, "Evicted"))) return "Failed";
  if (!v->init_done) {
    /* An init container that failed for good fails the pod. */
    for (size_t i = 0; i < v->n_init; i++) {
      const drv_ctr_status *c = &v->init[i];
      if (policy_is(v, "Never") && c->kind == DRV_CS_TERMINATED && c->term.exit_code != 0)
        return "Failed";
    }
    return "Pending";
  }
  size_t running = 0, waiting = 0, succeeded = 0, failed = 0, stopped = 0;
  for (size_t i = 0; i < v->n_ctrs; i++) {
    const drv_ctr_status *c = &v->ctrs[i];
    switch (c->kind) {
    case DRV_CS_RUNNING: running++; break;
    case DRV_CS_TERMINATED:
      stopped++;
      if (c->term.exit_code == 0) succeeded++;
      else failed++;
      break;
    case DRV_CS_WAITING:
      /* Waiting after having run (back-off) counts as stopped, like kubelet. */
      if (c->has_last) {
        stopped++;
        if (c->last.exit_code == 0) succeeded++;
        else failed++;
      } else
        waiting++;
      break;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (v->n_ctrs == 0) return "Pending";
  if (stopped == v->n_ctrs) {
    if (policy_is(v, "Always")) return "Running";
    if (failed == 0) return "Succeeded";
    if (policy_is(v, "OnFailure")) return "Running";
    return "Failed";
  }
  return "Pending";
}

static json_t *term_json(const drv_cs_term *t)
{
  char s[32], f[32];
  drv_status_time(t->started_ms, s, sizeof s);
  drv_status_time(t->finished_ms, f, sizeof f);
  json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "exitCode", t->exit_code, "reason",
                        t->reason ? t->reason : (t->exit_code ? "Error" : "Completed"), "startedAt",
                        s, "finishedAt", f);
  if (t->message && *t->message) json_object_set_new(o, "message", json_string(t->message));
  if (t->container_id) json_object_set_new(o, "containerID", json_string(t->container_id));
  return o;
}

static json_t *ctr_json(const drv_ctr_status *c)
{
  json_t *state = json_object();
  switch (c->kind) {
  case DRV_CS_WAITING: {
    json_t *w = json_pack("{s:s}", "reason", c->reason ? c->reason : "ContainerCreating");
    if (c->message && *c->message) json_object_set_new(w, "message", json_string(c->message));
    json_object_set_new(state, "waiting", w);
    break;
  }
  case DRV_CS_RUNNING: {
    char s[32];
    drv_status_time(c->started_ms, s, sizeof s);
    json_object_set_new(state, "running", json_pack("{s:s}", "startedAt", s));
    break;
  }
  case DRV_CS_TERMINATED: json_object_set_new(state, "terminated", term_json(&c->term)); break;
  }
  json_t *last = json_object();
  if (c->has_last) json_object_set_new(last, "terminated", term_json(&c->last));
  json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:i, s:s, s:s, s:b}", "name", c->name, "state", state,
                        "lastState", last, "ready", c->ready, "restartCount", c->restart_count,
                        "image", c->image ? c->image : "", "imageID",
                        c->image_id ? c->image_id : "", "started",
                        c->kind == DRV_CS_RUNNING && c->started);
  if (c->container_id) json_object_set_new(o, "containerID", json_string(c->container_id));
  return o;
}

static const char *prev_transition(const json_t *prev, const char *type, const char *status)
{
  json_t *conds = prev ? json_object_get(prev, "conditions") : NULL;
  size_t i;
  json_t *c;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_string_value(json_object_get(c, "type"));
    const char *s = json_string_value(json_object_get(c, "status"));
    if (t && s && !strcmp(t, type) && !strcmp(s, status))
      return json_string_value(json_object_get(c, "lastTransitionTime"));
  }
  return NULL;
}

static void add_cond(json_t *arr, const json_t *prev, const char *type, bool ok,
                     const char *reason, const char *now)
{
  const char *status = ok ? "True" : "False";
  const char *lt = prev_transition(prev, type, status);
  json_t *c = json_pack("{s:s, s:s, s:s}", "type", type, "status", status, "lastTransitionTime",
                        lt ? lt : now);
  if (!ok && reason) json_object_set_new(c, "reason", json_string(reason));
  json_array_append_new(arr, c);
}

json_t *drv_pod_status_json(const drv_pod_view *v, const json_t *prev, long long now_ms)
{
  char now[32], start[32];
  drv_status_time(now_ms, now, sizeof now);
  drv_status_time(v->start_ms, start, sizeof start);
  const char *phase = drv_pod_phase(v);
  json_t *st = json_pack("{s:s, s:s}", "phase", phase, "startTime", start);
  if (v->host_ip) json_object_set_new(st, "hostIP", json_string(v->host_ip));
  if (v->host_ip) json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", v->host_ip));
  if (v->pod_ip) {
    json_object_set_new(st, "podIP", json_string(v->pod_ip));
    json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", v->pod_ip));
  }
  if (v->reason) json_object_set_new(st, "reason", json_string(v->reason));
  if (v->message) json_object_set_new(st, "message", json_string(v->message));

  bool all_ready = v->n_ctrs > 0;
  for (size_t i = 0; i < v->n_ctrs; i++)
    all_ready = all_ready && v->ctrs[i].ready && v->ctrs[i].kind == DRV_CS_RUNNING;
  bool done = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
  if (done) all_ready = false;
  json_t *conds = json_array();
  add_cond(conds, prev, "PodScheduled", true, NULL, now);
  add_cond(conds, prev, "Initialized", v->init_done, "ContainersNotInitialized", now);
  add_cond(conds, prev, "ContainersReady", all_ready,
           done ? "PodCompleted" : "ContainersNotReady", now);
  add_cond(conds, prev, "Ready", all_ready, done ? "PodCompleted" : "ContainersNotReady", now);
  /* A pod kubelet evicts under node pressure (not one refused at admission) is marked as a
   * disruption target, with the eviction message. */
  if (v->reason && !strcmp(v->reason, "Evicted") && v->message &&
      !strncmp(v->message, "The node was low on resource", 28)) {
    const char *lt = prev_transition(prev, "DisruptionTarget", "True");
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DisruptionTarget", "status",
                                           "True", "lastTransitionTime", lt ? lt : now, "reason",
                                           "TerminationByKubelet", "message", v->message));
  }
  json_object_set_new(st, "conditions", conds);

  json_t *ics = json_array();
  for (size_t i = 0; i < v->n_init; i++) json_array_append_new(ics, ctr_json(&v->init[i]));
  if (v->n_init) json_object_set_new(st, "initContainerStatuses", ics);
  else json_decref(ics);
  json_t *cs = json_array();
  for (size_t i = 0; i < v->n_ctrs; i++) json_array_append_new(cs, ctr_json(&v->ctrs[i]));
  json_object_set_new(st, "containerStatuses", cs);
  if (v->qos_class) json_object_set_new(st, "qosClass", json_string(v->qos_class));
  return st;
}

void drv_pod_trim_cached(json_t *pod)
{
  json_t *meta = json_object_get(pod, "metadata");
  if (meta) json_object_del(meta, "managedFields");
  json_t *st = json_object_get(pod, "status");
  if (!json_is_object(st)) return;
  json_t *keep = json_object();
  json_t *phase = json_object_get(st, "phase"), *conds = json_object_get(st, "conditions");
  if (phase) json_object_set(keep, "phase", phase);
  if (conds) json_object_set(keep, "conditions", conds);
  json_object_set_new(pod, "status", keep);
}
