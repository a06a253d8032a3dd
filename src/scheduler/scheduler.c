/* The scheduler loop (see scheduler.h). Informer threads only append to an inbox; one
 * scheduler thread owns the core, the pod records and the queue, so none of them need locks. */
#include "scheduler/scheduler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/informer.h"
#include "api/leader.h"
#include "api/object.h"
#include "api/recorder.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "scheduler/podspec.h"

#define NONE UINT32_MAX
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 10000

enum { EV_NODE_SET, EV_NODE_DEL, EV_POD_SET, EV_POD_DEL, EV_BIND_FAILED };

#define BINDERS 4

typedef struct inbox_ev {
  int kind;
  json_t *obj;
} inbox_ev;

typedef struct prec {
  char *key;
  char *uid;
  json_t *pod;         /* latest seen */
  uint32_t handle;     /* core accounting, NONE when none */
  char *node_name;     /* where it is accounted or bound (NULL when pending) */
  char *bound_to;      /* we bound it there and wait for the update */
  bool queued;         /* wants scheduling (in the heap or the backoff list) */
  bool dead;           /* deleted: freed once no queue entry points at it */
  int inq;             /* queue entries pointing at it */
  int32_t priority;
  unsigned long long seq;
  int attempts;
  long long next_try;
  struct prec *next;   /* hash chain */
} prec;

struct drv_scheduler {
  drv_api_client *c;
  drv_scheduler_opts o;
  char *name;
  drv_sched *core;
  drv_informer *nodes, *pods;
  drv_recorder *rec;
  drv_leader *leader;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  inbox_ev *inbox;
  size_t ninbox, cinbox;
  volatile bool stop;
  /* scheduler thread only */
  prec **buckets;
  size_t nbuckets, nrecs;
  prec **heap;
  size_t nheap, cheap;
  prec **backoff;
  size_t nbackoff, cbackoff;
  unsigned long long seq;
  drv_scheduler_stats stats;
  pthread_mutex_t stats_lock;
  /* bindings in flight: the scheduler thread assumes and moves on; binders do the writes */
  pthread_t binders[BINDERS];
  int nbinders;
  pthread_mutex_t bind_lock;
  pthread_cond_t bind_cond;
  json_t **jobs;
  size_t hjobs, njobs, cjobs; /* pending jobs are [hjobs, njobs) */
};

/* ---- inbox (informer threads) ---- */

static void push(drv_scheduler *s, int kind, json_t *obj)
{
  pthread_mutex_lock(&s->lock);
  if (s->ninbox >= s->cinbox) {
    s->cinbox = s->cinbox ? s->cinbox * 2 : 1024;
    s->inbox = drv_realloc(s->inbox, s->cinbox * sizeof *s->inbox);
  }
  s->inbox[s->ninbox++] = (inbox_ev){kind, json_incref(obj)};
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

static void node_add(void *ud, json_t *o) { push(ud, EV_NODE_SET, o); }
static void node_upd(void *ud, json_t *old, json_t *o)
{
  /* Heartbeats change only status conditions; skip what cannot change a placement. */
  static const char *const keys[] = {"metadata.labels", "spec.taints", "spec.unschedulable",
                                     "status.allocatable", "status.capacity"};
  if (old != o) {
    bool same = true;
    for (size_t i = 0; i < DRV_ARRAY_LEN(keys) && same; i++) {
      json_t *a = drv_json_get(old, keys[i]), *b = drv_json_get(o, keys[i]);
      same = (!a && !b) || (a && b && json_equal(a, b));
    }
    if (same) return;
  }
  push(ud, EV_NODE_SET, o);
}
static void node_del(void *ud, json_t *o) { push(ud, EV_NODE_DEL, o); }
static void pod_add(void *ud, json_t *o) { push(ud, EV_POD_SET, o); }
static void pod_upd(void *ud, json_t *old, json_t *o) { push(ud, EV_POD_SET, o); }
static void pod_del(void *ud, json_t *o) { push(ud, EV_POD_DEL, o); }

/* ---- records ---- */

static uint64_t hstr(const char *p)
{
  uint64_t h = 1469598103934665603ULL;
  while (*p) h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
  return h;
}

static prec *rec_find(drv_scheduler *s, const char *key)
{
  for (prec *r = s->buckets[hstr(key) & (s->nbuckets - 1)]; r; r = r->next)
    if (!strcmp(r->key, key)) return r;
  return NULL;
}

static prec *rec_get(drv_scheduler *s, const char *key)
{
  prec *r = rec_find(s, key);
  if (r) return r;
  if (s->nrecs * 2 >= s->nbuckets) {
    size_t nb = s->nbuckets * 2;
    prec **b = drv_calloc(nb, sizeof *b);
    for (size_t i = 0; i < s->nbuckets; i++)
      for (prec *x = s->buckets[i], *nx; x; x = nx) {
        nx = x->next;
        size_t j = hstr(x->key) & (nb - 1);
        x->next = b[j];
        b[j] = x;
      }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
  }
  r = drv_calloc(1, sizeof *r);
  r->key = drv_strdup(key);
  r->handle = NONE;
  size_t j = hstr(key) & (s->nbuckets - 1);
  r->next = s->buckets[j];
  s->buckets[j] = r;
  s->nrecs++;
  return r;
}

static void release(drv_scheduler *s, prec *r)
{
  if (r->handle != NONE) drv_sched_pod_remove(s->core, r->handle);
  r->handle = NONE;
  free(r->node_name);
  r->node_name = NULL;
}

static void rec_free(prec *r)
{
  json_decref(r->pod);
  free(r->key);
  free(r->uid);
  free(r->node_name);
  free(r->bound_to);
  free(r);
}

/* Frees a deleted record once the queues no longer reference it. */
static void rec_maybe_free(prec *r)
{
  if (r->dead && r->inq == 0) rec_free(r);
}

/* ---- queue: a heap by (priority desc, seq asc) plus a backoff list ---- */

static bool before(const prec *a, const prec *b)
{
  return a->priority != b->priority ? a->priority > b->priority : a->seq < b->seq;
}

static void heap_push(drv_scheduler *s, prec *r)
{
  if (s->nheap >= s->cheap) {
    s->cheap = s->cheap ? s->cheap * 2 : 256;
    s->heap = drv_realloc(s->heap, s->cheap * sizeof *s->heap);
  }
  r->inq++;
  size_t i = s->nheap++;
  while (i > 0 && before(r, s->heap[(i - 1) / 2])) {
    s->heap[i] = s->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  s->heap[i] = r;
}

static prec *heap_pop(drv_scheduler *s)
{
  prec *top = s->heap[0], *last = s->heap[--s->nheap];
  size_t i = 0, n = s->nheap;
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    prec *mv = last;
    if (l < n && before(s->heap[l], mv)) m = l, mv = s->heap[l];
    if (l + 1 < n && before(s->heap[l + 1], mv)) m = l + 1;
    if (m == i) break;
    s->heap[i] = s->heap[m];
    i = m;
  }
  if (n) s->heap[i] = last;
  top->inq--;
  return top;
}

static void enqueue(drv_scheduler *s, prec *r)
{
  if (r->queued) return;
  r->queued = true;
  r->seq = ++s->seq;
  heap_push(s, r);
}

static void to_backoff(drv_scheduler *s, prec *r)
{
  r->attempts++;
  long long d = BACKOFF_MIN_MS;
  for (int i = 1; i < r->attempts && d < BACKOFF_MAX_MS; i++) d *= 2;
  if (d > BACKOFF_MAX_MS) d = BACKOFF_MAX_MS;
  r->next_try = drv_now_ms() + d;
  r->queued = true;
  r->inq++;
  if (s->nbackoff >= s->cbackoff) {
    s->cbackoff = s->cbackoff ? s->cbackoff * 2 : 256;
    s->backoff = drv_realloc(s->backoff, s->cbackoff * sizeof *s->backoff);
  }
  s->backoff[s->nbackoff++] = r;
}

/* Moves due (or, after a cluster change, all) backoff entries to the active heap. */
static void flush_backoff(drv_scheduler *s, bool all)
{
  long long now = drv_now_ms();
  size_t k = 0;
  for (size_t i = 0; i < s->nbackoff; i++) {
    prec *r = s->backoff[i];
    if (r->dead || !r->queued) { /* deleted or bound meanwhile */
      r->inq--;
      rec_maybe_free(r);
      continue;
    }
    if (all || r->next_try <= now) {
      r->inq--;
      r->seq = ++s->seq;
      heap_push(s, r);
    } else
      s->backoff[k++] = r;
  }
  s->nbackoff = k;
}

/* ---- applying watch events ---- */

static const char *pod_phase(json_t *p)
{
  const char *ph = drv_json_get_str(p, "status.phase");
  return ph ? ph : "";
}

static void account(drv_scheduler *s, prec *r, const char *node)
{
  if (r->node_name && !strcmp(r->node_name, node) && r->handle != NONE) return;
  release(s, r);
  r->node_name = drv_strdup(node);
  uint32_t id = drv_sched_node_find(s->core, node);
  if (id == NONE) return; /* node not seen yet: accounted when it appears */
  drv_sched_pod sp;
  drv_sched_pod_from_json(s->core, r->pod, &sp);
  r->handle = drv_sched_pod_add(s->core, id, &sp);
  drv_sched_pod_clear(&sp);
}

static bool on_pod(drv_scheduler *s, json_t *pod, bool deleted)
{
  _cleanup_free_ char *key = drv_api_key(drv_obj_namespace(pod), drv_obj_name(pod));
  prec *r = rec_find(s, key);
  const char *uid = drv_obj_uid(pod);
  const char *phase = pod_phase(pod);
  bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
  if (deleted || terminal) {
    if (!r) return false;
    bool freed = r->handle != NONE;
    release(s, r);
    if (deleted) {
      /* unlink from the table */
      size_t j = hstr(key) & (s->nbuckets - 1);
      for (prec **pp = &s->buckets[j]; *pp; pp = &(*pp)->next)
        if (*pp == r) {
          *pp = r->next;
          break;
        }
      s->nrecs--;
      r->queued = false;
      r->dead = true;
      rec_maybe_free(r);
    } else if (r->queued)
      r->queued = false;
    return freed;
  }
  if (!r) r = rec_get(s, key);
  if (uid && (!r->uid || strcmp(r->uid, uid))) {
    /* a new pod under an old name */
    release(s, r);
    free(r->uid);
    r->uid = drv_strdup(uid);
    free(r->bound_to);
    r->bound_to = NULL;
    r->attempts = 0;
  }
  json_decref(r->pod);
  r->pod = json_incref(pod);
  r->priority = (int32_t)drv_json_get_int(pod, "spec.priority", 0);
  const char *node = drv_json_get_str(pod, "spec.nodeName");
  if (node && *node) {
    account(s, r, node);
    free(r->bound_to);
    r->bound_to = NULL;
    r->queued = false; /* stale queue entries are skipped */
    return false;
  }
  const char *sn = drv_json_get_str(pod, "spec.schedulerName");
  if (sn && *sn && strcmp(sn, s->name)) return false;
  if (drv_obj_deletion_timestamp(pod)) return false;
  if (r->bound_to) return false; /* our binding's update is on its way */
  enqueue(s, r);
  return false;
}

static void on_node(drv_scheduler *s, json_t *node, bool deleted)
{
  const char *name = drv_obj_name(node);
  if (!name) return;
  if (deleted) {
    drv_sched_node_remove(s->core, name);
    /* its pods stay known by node name: a node registered again under that name counts them */
    for (size_t i = 0; i < s->nbuckets; i++)
      for (prec *r = s->buckets[i]; r; r = r->next)
        if (r->handle != NONE && r->node_name && !strcmp(r->node_name, name)) {
          drv_sched_pod_remove(s->core, r->handle);
          r->handle = NONE;
        }
    return;
  }
  bool known = drv_sched_node_find(s->core, name) != NONE;
  drv_sched_node_spec sp;
  drv_sched_label *labels = NULL;
  drv_sched_taint *taints = NULL;
  drv_sched_node_from_json(s->core, node, &sp, &labels, &taints);
  drv_sched_node_set(s->core, &sp);
  free(labels);
  free(taints);
  if (!known) /* pods bound before the node was seen */
    for (size_t i = 0; i < s->nbuckets; i++)
      for (prec *r = s->buckets[i]; r; r = r->next)
        if (r->node_name && r->handle == NONE && !strcmp(r->node_name, name)) {
          char *n = drv_strdup(r->node_name);
          free(r->node_name);
          r->node_name = NULL;
          account(s, r, n);
          free(n);
        }
}

/* ---- one pod ---- */

static void set_unschedulable(drv_scheduler *s, prec *r, const char *msg)
{
  const char *ns = drv_obj_namespace(r->pod), *name = drv_obj_name(r->pod);
  drv_api_ref ref = {.version = "v1", .resource = "pods", .ns = ns, .name = name};
  json_t *cur = json_incref(r->pod);
  for (int attempt = 0; attempt < 3 && cur; attempt++) {
    json_t *conds = drv_json_get(cur, "status.conditions");
    json_t *c = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(conds, i, v) if (!strcmp(drv_json_get_str(v, "type") ? drv_json_get_str(v, "type") : "", "PodScheduled")) c = v;
    if (c && !strcmp(drv_json_get_str(c, "status") ? drv_json_get_str(c, "status") : "", "False") &&
        !strcmp(drv_json_get_str(c, "message") ? drv_json_get_str(c, "message") : "", msg))
      break; /* already says so */
    json_t *upd = json_deep_copy(cur);
    json_t *st = drv_json_obj(upd, "status");
    json_t *cs = json_object_get(st, "conditions");
    if (!json_is_array(cs)) {
      cs = json_array();
      json_object_set_new(st, "conditions", cs);
    }
    json_t *nc = NULL;
    json_array_foreach(cs, i, v) if (!strcmp(drv_json_get_str(v, "type") ? drv_json_get_str(v, "type") : "", "PodScheduled")) nc = v;
    if (!nc) {
      nc = json_object();
      json_array_append_new(cs, nc);
    }
    char now[64];
    drv_api_time_format(time(NULL), now, sizeof now);
    json_object_set_new(nc, "type", json_string("PodScheduled"));
    json_object_set_new(nc, "status", json_string("False"));
    json_object_set_new(nc, "reason", json_string("Unschedulable"));
    json_object_set_new(nc, "message", json_string(msg));
    json_object_set_new(nc, "lastProbeTime", json_null());
    json_object_set_new(nc, "lastTransitionTime", json_string(now));
    if (!json_object_get(st, "phase")) json_object_set_new(st, "phase", json_string("Pending"));
    drv_err err;
    int rc = drv_api_update_status(s->c, &ref, upd, NULL, &err);
    json_decref(upd);
    json_decref(cur);
    cur = NULL;
    if (rc == DRV_API_ECONFLICT) {
      if (drv_api_get(s->c, &ref, &cur, &err) < 0) cur = NULL;
      continue;
    }
    if (rc < 0) drv_log_debug("scheduler: condition on %s/%s: %s", ns, name, err.msg);
    break;
  }
  json_decref(cur);
}

static void schedule_one(drv_scheduler *s, prec *r)
{
  drv_sched_pod sp;
  drv_sched_pod_from_json(s->core, r->pod, &sp);
  uint32_t node = drv_sched_place(s->core, &sp, NULL);
  const char *ns = drv_obj_namespace(r->pod), *name = drv_obj_name(r->pod);
  if (node == NONE) {
    char *msg = drv_sched_explain(s->core, &sp);
    drv_sched_pod_clear(&sp);
    drv_recorder_event(s->rec, r->pod, "v1", "Pod", "Warning", "FailedScheduling", "%s", msg);
    set_unschedulable(s, r, msg);
    drv_log_debug("scheduler: %s/%s: %s", ns, name, msg);
    free(msg);
    pthread_mutex_lock(&s->stats_lock);
    s->stats.unschedulable++;
    pthread_mutex_unlock(&s->stats_lock);
    to_backoff(s, r);
    return;
  }
  const char *nname = drv_sched_node_name(s->core, node);
  /* assume: account the pod now so the next pods in this cycle see it */
  release(s, r);
  r->handle = drv_sched_pod_add(s->core, node, &sp);
  r->node_name = drv_strdup(nname);
  drv_sched_pod_clear(&sp);
  free(r->bound_to);
  r->bound_to = drv_strdup(nname);
  r->attempts = 0;
  json_t *job = json_pack("{s:s, s:s, s:s, s:s, s:O}", "key", r->key, "ns", ns, "name", name, "node", nname,
                          "pod", r->pod);
  pthread_mutex_lock(&s->bind_lock);
  if (s->hjobs == s->njobs) s->hjobs = s->njobs = 0;
  if (s->njobs >= s->cjobs) {
    s->cjobs = s->cjobs ? s->cjobs * 2 : 256;
    s->jobs = drv_realloc(s->jobs, s->cjobs * sizeof *s->jobs);
  }
  s->jobs[s->njobs++] = job;
  pthread_cond_signal(&s->bind_cond);
  pthread_mutex_unlock(&s->bind_lock);
}

/* Binder threads: POST pods/<name>/binding; a failure goes back to the scheduler thread,
 * which drops the assumption and retries unless the pod is gone or bound already. */
static void *binder(void *arg)
{
  drv_scheduler *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->bind_lock);
    while (s->hjobs == s->njobs && !s->stop) pthread_cond_wait(&s->bind_cond, &s->bind_lock);
    if (s->stop) {
      pthread_mutex_unlock(&s->bind_lock);
      return NULL;
    }
    json_t *job = s->jobs[s->hjobs++];
    pthread_mutex_unlock(&s->bind_lock);
    json_t *pod = json_object_get(job, "pod");
    const char *ns = drv_json_get_str(job, "ns"), *name = drv_json_get_str(job, "name");
    const char *node = drv_json_get_str(job, "node");
    drv_err err;
    int rc = drv_api_bind(s->c, ns, name, drv_obj_uid(pod), node, &err);
    pthread_mutex_lock(&s->stats_lock);
    if (rc < 0)
      s->stats.bind_errors++;
    else
      s->stats.scheduled++;
    pthread_mutex_unlock(&s->stats_lock);
    if (rc < 0) {
      if (rc != DRV_API_ENOTFOUND && rc != DRV_API_ECONFLICT)
        drv_log_warn("scheduler: bind %s/%s to %s: %s", ns, name, node, err.msg);
      json_object_set_new(job, "rc", json_integer(rc));
      push(s, EV_BIND_FAILED, job);
    } else
      drv_recorder_event(s->rec, pod, "v1", "Pod", "Normal", "Scheduled", "Successfully assigned %s/%s to %s", ns,
                         name, node);
    json_decref(job);
  }
}

static void on_bind_failed(drv_scheduler *s, json_t *job)
{
  prec *r = rec_find(s, drv_json_get_str(job, "key"));
  const char *node = drv_json_get_str(job, "node");
  const char *uid = drv_obj_uid(json_object_get(job, "pod"));
  if (!r || !r->bound_to || strcmp(r->bound_to, node) || (uid && r->uid && strcmp(uid, r->uid))) return;
  free(r->bound_to);
  r->bound_to = NULL;
  /* a pod bound meanwhile (409) shows its node in the next update; one gone (404) is done */
  const char *cur = drv_json_get_str(r->pod, "spec.nodeName");
  if (cur && *cur) return;
  release(s, r);
  long long rc = drv_json_get_int(job, "rc", -1);
  if (rc != DRV_API_ENOTFOUND && rc != DRV_API_ECONFLICT) to_backoff(s, r);
}

/* ---- the thread ---- */

static void *run(void *arg)
{
  drv_scheduler *s = arg;
  drv_informer_wait_synced(s->nodes, 30000);
  int batch = s->o.batch > 0 ? s->o.batch : 512;
  while (!s->stop) {
    pthread_mutex_lock(&s->lock);
    if (!s->ninbox && !s->nheap) {
      struct timespec ts = drv_deadline_ms(CLOCK_REALTIME, 1000);
      pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    inbox_ev *evs = s->inbox;
    size_t nev = s->ninbox;
    s->inbox = NULL;
    s->ninbox = s->cinbox = 0;
    pthread_mutex_unlock(&s->lock);
    bool changed = false;
    for (size_t i = 0; i < nev; i++) {
      switch (evs[i].kind) {
      case EV_NODE_SET: on_node(s, evs[i].obj, false); changed = true; break;
      case EV_NODE_DEL: on_node(s, evs[i].obj, true); break;
      case EV_POD_SET: changed |= on_pod(s, evs[i].obj, false); break;
      case EV_POD_DEL: changed |= on_pod(s, evs[i].obj, true); break;
      case EV_BIND_FAILED: on_bind_failed(s, evs[i].obj); break;
      }
      json_decref(evs[i].obj);
    }
    free(evs);
    flush_backoff(s, changed);
    if (!drv_leader_is_leader(s->leader)) {
      /* standing by: keep the picture current, place nothing */
      usleep(100 * 1000);
      continue;
    }
    for (int k = 0; k < batch && s->nheap && !s->stop; k++) {
      prec *r = heap_pop(s);
      if (r->dead || !r->queued) { /* deleted or bound while queued */
        rec_maybe_free(r);
        continue;
      }
      r->queued = false;
      schedule_one(s, r);
    }
  }
  return NULL;
}

int drv_scheduler_start(drv_api_client *c, const drv_scheduler_opts *opts, drv_scheduler **out,
                        drv_err *err)
{
  drv_scheduler *s = drv_calloc(1, sizeof *s);
  s->c = c;
  if (opts) s->o = *opts;
  s->name = drv_strdup(s->o.scheduler_name ? s->o.scheduler_name : "default-scheduler");
  drv_sched_opts so;
  drv_sched_opts_default(&so);
  so.strategy = s->o.strategy;
  if (s->o.tolerance >= 0 && opts) so.tolerance = s->o.tolerance;
  s->core = drv_sched_new(&so);
  s->nbuckets = 1024;
  s->buckets = drv_calloc(s->nbuckets, sizeof *s->buckets);
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->stats_lock, NULL);
  pthread_cond_init(&s->cond, NULL);
  pthread_mutex_init(&s->bind_lock, NULL);
  pthread_cond_init(&s->bind_cond, NULL);
  s->rec = drv_recorder_new(c, s->name);
  drv_api_ref nodes = {.version = "v1", .resource = "nodes"};
  drv_api_ref pods = {.version = "v1", .resource = "pods"};
  s->nodes = drv_informer_new(c, &nodes, NULL, NULL);
  s->pods = drv_informer_new(c, &pods, NULL, NULL);
  drv_informer_add_handlers(s->nodes, &(drv_informer_handlers){node_add, node_upd, node_del, s});
  drv_informer_add_handlers(s->pods, &(drv_informer_handlers){pod_add, pod_upd, pod_del, s});
  if (!s->o.no_leader_election) {
    _cleanup_free_ char *id = drv_leader_identity();
    s->leader = drv_leader_new(c, "kube-system", s->name, id, 0);
    if (drv_leader_start(s->leader, err) < 0) {
      drv_scheduler_stop(s);
      return -1;
    }
  }
  if (drv_informer_start(s->nodes, err) < 0 || drv_informer_start(s->pods, err) < 0) {
    drv_scheduler_stop(s);
    return -1;
  }
  for (int i = 0; i < BINDERS; i++) {
    int rc = pthread_create(&s->binders[i], NULL, binder, s);
    if (rc) {
      drv_scheduler_stop(s);
      return drv_error(err, rc, "start the scheduler's binders");
    }
    s->nbinders++;
  }
  int rc = pthread_create(&s->thread, NULL, run, s);
  if (rc) {
    drv_scheduler_stop(s);
    return drv_error(err, rc, "start the scheduler thread");
  }
  *out = s;
  return 0;
}

void drv_scheduler_stop(drv_scheduler *s)
{
  if (!s) return;
  s->stop = true;
  pthread_mutex_lock(&s->lock);
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
  if (s->thread) pthread_join(s->thread, NULL);
  pthread_mutex_lock(&s->bind_lock);
  pthread_cond_broadcast(&s->bind_cond);
  pthread_mutex_unlock(&s->bind_lock);
  for (int i = 0; i < s->nbinders; i++) pthread_join(s->binders[i], NULL);
  drv_leader_free(s->leader);
  for (size_t i = s->hjobs; i < s->njobs; i++) json_decref(s->jobs[i]);
  free(s->jobs);
  drv_informer_free(s->nodes);
  drv_informer_free(s->pods);
  for (size_t i = 0; i < s->ninbox; i++) json_decref(s->inbox[i].obj);
  free(s->inbox);
  /* deleted records still referenced by the queues */
  for (size_t i = 0; i < s->nheap; i++) {
    s->heap[i]->inq--;
    rec_maybe_free(s->heap[i]);
  }
  for (size_t i = 0; i < s->nbackoff; i++) {
    s->backoff[i]->inq--;
    rec_maybe_free(s->backoff[i]);
  }
  for (size_t i = 0; i < s->nbuckets; i++)
    for (prec *r = s->buckets[i], *n; r; r = n) {
      n = r->next;
      rec_free(r);
    }
  free(s->buckets);
  free(s->heap);
  free(s->backoff);
  drv_recorder_free(s->rec);
  drv_sched_free(s->core);
  pthread_mutex_destroy(&s->lock);
  pthread_mutex_destroy(&s->stats_lock);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->bind_lock);
  pthread_cond_destroy(&s->bind_cond);
  free(s->name);
  free(s);
}

void drv_scheduler_get_stats(drv_scheduler *s, drv_scheduler_stats *out)
{
  pthread_mutex_lock(&s->stats_lock);
  *out = s->stats;
  pthread_mutex_unlock(&s->stats_lock);
}
