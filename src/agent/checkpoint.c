/* Checkpoints: what the agent must know to re-adopt a pod after a crash, in
 * <data>/pods/<uid>/state.json (written atomically): the sandbox process, the pod IP and, per
 * container, its attempt, runtime id and the states already reported. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/internal.h"
#include "agent/sandbox.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

static json_t *term_json(const drv_cs_term *t, const char *reason, const char *msg)
{
  return json_pack("{s:i, s:s?, s:s?, s:I, s:I}", "exitCode", t->exit_code, "reason", reason,
                   "message", msg, "startedMs", (json_int_t)t->started_ms, "finishedMs",
                   (json_int_t)t->finished_ms);
}

static json_t *ctr_json(const drv_ctr *c)
{
  json_t *o = json_pack("{s:s, s:b, s:i, s:s?, s:i, s:s?, s:i, s:I, s:i, s:b, s:b}", "name",
                        c->name, "init", c->init, "attempt", c->attempt, "rtId", c->rt_id, "pid",
                        c->pid, "imageId", c->image_id, "kind", c->kind, "startedMs",
                        (json_int_t)c->started_ms, "failures", c->failures, "done", c->done,
                        "started", c->started);
  if (c->kind == DRV_CS_TERMINATED)
    json_object_set_new(o, "term", term_json(&c->term, c->term_reason, c->term_message));
  if (c->has_last) json_object_set_new(o, "last", term_json(&c->last, c->last_reason, NULL));
  return o;
}

int drv_pod_checkpoint(drv_agent *a, drv_pod *p)
{
  json_t *ctrs = json_array();
  for (size_t i = 0; i < p->n_init; i++) json_array_append_new(ctrs, ctr_json(&p->init[i]));
  for (size_t i = 0; i < p->n_ctrs; i++) json_array_append_new(ctrs, ctr_json(&p->ctrs[i]));
  json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:I, s:b, s:o}", "uid", p->uid,
                        "namespace", p->ns, "name", p->name, "sandboxPid", p->sandbox_pid,
                        "sandboxStart", (json_int_t)p->sandbox_start, "ip", p->ip, "startMs",
                        (json_int_t)p->start_ms, "initDone", p->init_done, "containers", ctrs);
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  _cleanup_free_ char *path = drv_asprintf("%s/state.json", p->dir);
  drv_err err;
  int r = drv_mkdir_p(p->dir, 0700, &err);
  if (r == 0) r = drv_write_file_atomic(path, text, strlen(text), 0600, &err);
  free(text);
  if (r < 0) drv_log_warn("pod %s/%s: checkpoint: %s", p->ns, p->name, err.msg);
  (void)a;
  return r;
}

static char *dup_or_null(const json_t *o, const char *k)
{
  const char *s = json_string_value(json_object_get(o, k));
  return s ? drv_strdup(s) : NULL;
}

static void term_from(const json_t *o, drv_cs_term *t, char **reason, char **msg)
{
  t->exit_code = (int)json_integer_value(json_object_get(o, "exitCode"));
  t->started_ms = json_integer_value(json_object_get(o, "startedMs"));
  t->finished_ms = json_integer_value(json_object_get(o, "finishedMs"));
  *reason = dup_or_null(o, "reason");
  if (msg) *msg = dup_or_null(o, "message");
  t->reason = *reason;
  t->message = msg ? *msg : NULL;
}

static drv_pod *pod_from(drv_agent *a, const json_t *o)
{
  const char *uid = json_string_value(json_object_get(o, "uid"));
  const char *ns = json_string_value(json_object_get(o, "namespace"));
  const char *name = json_string_value(json_object_get(o, "name"));
  if (!uid || !ns || !name) return NULL;
  drv_pod *p = drv_pod_new(a, uid, ns, name);
  p->sandbox_pid = (pid_t)json_integer_value(json_object_get(o, "sandboxPid"));
  p->sandbox_start = (unsigned long long)json_integer_value(json_object_get(o, "sandboxStart"));
  snprintf(p->ip, sizeof p->ip, "%s", json_string_value(json_object_get(o, "ip")) ?: "");
  p->start_ms = json_integer_value(json_object_get(o, "startMs"));
  p->init_done = json_is_true(json_object_get(o, "initDone"));
  json_t *ctrs = json_object_get(o, "containers");
  size_t n_init = 0, n = 0, i;
  json_t *c;
  json_array_foreach(ctrs, i, c)
  {
    if (json_is_true(json_object_get(c, "init"))) n_init++;
    else n++;
  }
  p->init = drv_calloc(n_init + 1, sizeof *p->init);
  p->ctrs = drv_calloc(n + 1, sizeof *p->ctrs);
  json_array_foreach(ctrs, i, c)
  {
    bool init = json_is_true(json_object_get(c, "init"));
    drv_ctr *x = init ? &p->init[p->n_init++] : &p->ctrs[p->n_ctrs++];
    x->name = drv_strdup(json_string_value(json_object_get(c, "name")) ?: "");
    x->init = init;
    x->attempt = (int)json_integer_value(json_object_get(c, "attempt"));
    x->rt_id = dup_or_null(c, "rtId");
    if (x->rt_id) snprintf(x->cid, sizeof x->cid, "drover://%s", x->rt_id);
    x->pid = (pid_t)json_integer_value(json_object_get(c, "pid"));
    x->image_id = dup_or_null(c, "imageId");
    x->kind = (drv_cs_kind)json_integer_value(json_object_get(c, "kind"));
    x->started_ms = json_integer_value(json_object_get(c, "startedMs"));
    x->failures = (int)json_integer_value(json_object_get(c, "failures"));
    x->done = json_is_true(json_object_get(c, "done"));
    x->started = json_is_true(json_object_get(c, "started"));
    drv_probe_reset(&x->liveness);
    drv_probe_reset(&x->readiness);
    drv_probe_reset(&x->startup);
    json_t *t = json_object_get(c, "term");
    if (t) term_from(t, &x->term, &x->term_reason, &x->term_message);
    json_t *l = json_object_get(c, "last");
    if (l) {
      x->has_last = true;
      term_from(l, &x->last, &x->last_reason, NULL);
    }
    if (x->kind == DRV_CS_WAITING) x->reason = drv_strdup(x->has_last ? "CrashLoopBackOff" : "ContainerCreating");
  }
  return p;
}

/* A pod dir without a checkpoint: the agent was killed between the pod's sandbox start and its
 * first checkpoint (or while removing the pod). No container of it ran; what it holds — the
 * sandbox process named in sandbox.pid with its namespaces, the veth, the address, the cgroup,
 * the files — goes now. Skipped, the sandbox was never stopped: a fresh one was started for the
 * pod, or the pod was deleted meanwhile, and the old one lived on. */
static void remove_unrecorded(drv_agent *a, const char *uid)
{
  drv_pod *p = drv_pod_new(a, uid, "", uid);
  p->sandbox_pid = drv_sandbox_find(p->dir, &p->sandbox_start);
  drv_log_info("pod dir %s has no checkpoint (an interrupted start or removal): removing it%s", p->dir,
               p->sandbox_pid ? " and its sandbox" : "");
  drv_pod_cleanup(a, p);
  drv_pod_free(p);
}

void drv_pods_restore(drv_agent *a)
{
  _cleanup_dir_ DIR *d = opendir(a->pods_dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    _cleanup_free_ char *path = drv_asprintf("%s/%s/state.json", a->pods_dir, de->d_name);
    char *text = NULL;
    size_t len;
    drv_err err;
    if (drv_read_file(path, 1 << 20, &text, &len, &err) < 0) {
      if (err.errnum == ENOENT) remove_unrecorded(a, de->d_name);
      continue;
    }
    json_t *o = json_loadb(text, len, 0, NULL);
    free(text);
    drv_pod *p = o ? pod_from(a, o) : NULL;
    json_decref(o);
    if (!p) {
      drv_log_warn("checkpoint `%s` is unreadable: ignored", path);
      continue;
    }
    if (a->pods.n == a->pods.cap) {
      a->pods.cap = a->pods.cap ? a->pods.cap * 2 : 16;
      a->pods.v = drv_realloc(a->pods.v, a->pods.cap * sizeof *a->pods.v);
    }
    a->pods.v[a->pods.n++] = p;
    drv_log_info("pod %s/%s: re-adopted from its checkpoint", p->ns, p->name);
  }
}
