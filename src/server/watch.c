/* Watch streams: newline-separated {"type","object"} JSON events over a chunked response,
 * from a resourceVersion (410 Gone as an ERROR event when it is compacted), with label/field
 * selectors (objects moving in or out of a selector become ADDED/DELETED), BOOKMARKs,
 * timeoutSeconds, watch-list (sendInitialEvents=true ending with the initial-events-end
 * BOOKMARK) and Table objects for kubectl get -w. The content callback blocks in the
 * connection's own thread (thread-per-connection). */
#include <poll.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "api/selector.h"
#include "api/status.h"
#include "api/table.h"
#include "common/parse_bool.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/ops.h"

#define WATCH_BATCH 64
#define BOOKMARK_EVERY_MS 30000

typedef struct watch_state {
  drv_server *srv;
  struct watch_state *prev, *next; /* srv->watches, under srv->watch_mu */
  bool listed;
  drv_store_watch *w;
  drv_op op;
  drv_label_selector *ls;
  drv_field_selector *fs;
  char *only_key;          /* single-object watch */
  bool bookmarks, initial_events, initial_done, table, ended;
  drv_table_include include;
  long long deadline_ms, last_send_ms;
  int fd;
  drv_buf out;
  size_t off;
} watch_state;

static bool matches(watch_state *ws, drv_store_obj *o)
{
  if (!o) return false;
  if (ws->only_key && strcmp(o->key, ws->only_key) != 0) return false;
  if (!ws->ls && !ws->fs) return true;
  void *a = drv_store_attrs(ws->srv->store, o);
  if (!a) return false;
  if (ws->ls && !drv_label_selector_matches(ws->ls, drv_server_attrs_labels(a))) return false;
  if (ws->fs && !drv_field_selector_matches(ws->fs, drv_server_attrs_obj(a))) return false;
  return true;
}

static bool filter_cb(void *c, drv_store_obj *o)
{
  return matches(c, o);
}

static void emit(watch_state *ws, const char *type, drv_store_obj *o)
{
  drv_buf_printf(&ws->out, "{\"type\":\"%s\",\"object\":", type);
  if (ws->table || ws->op.res != ws->op.sres) {
    json_t *obj = drv_op_to_served(&ws->op, o);
    if (ws->table && obj) {
      json_t *t = drv_api_table(ws->op.res, obj, ws->include, time(NULL));
      json_decref(obj);
      obj = t;
    }
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : drv_strdup("{}");
    drv_buf_puts(&ws->out, s);
    free(s);
    json_decref(obj);
  } else {
    drv_buf_append(&ws->out, o->data, o->len);
  }
  drv_buf_puts(&ws->out, "}\n");
}

static void emit_bookmark(watch_state *ws, bool initial_end)
{
  char av[128];
  drv_api_resource_api_version(ws->op.res, av, sizeof av);
  drv_buf_printf(&ws->out,
                 "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
                 "\"metadata\":{\"resourceVersion\":\"%llu\"%s}}}\n",
                 ws->op.res->kind, av, (unsigned long long)drv_store_watch_progress(ws->w),
                 initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : "");
}

static void emit_gone(watch_state *ws, const char *msg)
{
  json_t *st = drv_status_gone(msg);
  char *s = json_dumps(st, JSON_COMPACT);
  json_decref(st);
  drv_buf_printf(&ws->out, "{\"type\":\"ERROR\",\"object\":%s}\n", s);
  free(s);
}

static bool client_gone(watch_state *ws)
{
  if (ws->fd < 0) return false;
  struct pollfd p = {ws->fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void fill(watch_state *ws)
{
  drv_store_event evs[WATCH_BATCH];
  while (ws->out.len == 0 && !ws->ended) {
    long long now = drv_now_ms();
    if (ws->srv->stopping || now >= ws->deadline_ms || client_gone(ws)) {
      ws->ended = true;
      return;
    }
    if (ws->initial_events && !ws->initial_done && drv_store_watch_snapshot_done(ws->w)) {
      ws->initial_done = true;
      emit_bookmark(ws, true);
      break;
    }
    long long wait = ws->deadline_ms - now;
    if (wait > 1000) wait = 1000;
    int n = drv_store_watch_next(ws->w, evs, WATCH_BATCH, (int)wait);
    if (n == DRV_STORE_EGONE) {
      emit_gone(ws, "The resourceVersion for the provided watch is too old.");
      ws->ended = true;
      break;
    }
    for (int i = 0; i < n; i++) {
      drv_store_event *e = &evs[i];
      bool now_in = e->type != DRV_STORE_DELETED && matches(ws, e->obj);
      bool was_in = e->type == DRV_STORE_DELETED ? matches(ws, e->prev ? e->prev : e->obj)
                                                  : (e->prev && matches(ws, e->prev));
      if (e->type == DRV_STORE_ADDED && now_in)
        emit(ws, "ADDED", e->obj);
      else if (e->type == DRV_STORE_MODIFIED && now_in)
        emit(ws, was_in ? "MODIFIED" : "ADDED", e->obj);
      else if (e->type == DRV_STORE_MODIFIED && was_in)
        emit(ws, "DELETED", e->obj);
      else if (e->type == DRV_STORE_DELETED && was_in)
        emit(ws, "DELETED", e->obj);
      drv_store_event_release(e);
    }
    if (ws->out.len == 0 && ws->bookmarks && ws->initial_done &&
        drv_now_ms() - ws->last_send_ms >= BOOKMARK_EVERY_MS)
      emit_bookmark(ws, false);
  }
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
  watch_state *ws = cls;
  if (ws->off == ws->out.len) {
    drv_buf_reset(&ws->out);
    ws->off = 0;
    fill(ws);
    if (ws->out.len == 0) return MHD_CONTENT_READER_END_OF_STREAM;
  }
  size_t n = ws->out.len - ws->off;
  if (n > max) n = max;
  memcpy(buf, ws->out.data + ws->off, n);
  ws->off += n;
  ws->last_send_ms = drv_now_ms();
  return (ssize_t)n;
}

void drv_watch_cancel_all(drv_server *s)
{
  pthread_mutex_lock(&s->watch_mu);
  for (watch_state *ws = s->watches; ws; ws = ws->next) drv_store_watch_cancel(ws->w);
  pthread_mutex_unlock(&s->watch_mu);
}

static void free_state(void *cls)
{
  watch_state *ws = cls;
  if (ws->listed) {
    pthread_mutex_lock(&ws->srv->watch_mu);
    if (ws->prev) ws->prev->next = ws->next;
    else ws->srv->watches = ws->next;
    if (ws->next) ws->next->prev = ws->prev;
    pthread_mutex_unlock(&ws->srv->watch_mu);
  }
  drv_store_watch_close(ws->w);
  drv_label_selector_free(ws->ls);
  drv_field_selector_free(ws->fs);
  free(ws->only_key);
  drv_buf_free(&ws->out);
  free(ws);
}

enum MHD_Result drv_serve_watch(drv_req *r, const drv_api_resource *res,
                                const drv_api_resource *sres)
{
  drv_server *s = r->srv;
  drv_route *rt = &r->route;
  watch_state *ws = drv_calloc(1, sizeof *ws);
  ws->srv = s;
  ws->fd = -1;
  ws->op = (drv_op){.res = res, .sres = sres, .ns = rt->ns};
  drv_err err = {0};
  const char *l = drv_req_arg(r, "labelSelector"), *f = drv_req_arg(r, "fieldSelector");
  json_t *st = NULL;
  if (l && *l && !(ws->ls = drv_label_selector_parse(l, &err))) {
    _cleanup_free_ char *m = drv_asprintf("unable to parse requirement: %s", err.msg);
    st = drv_status_bad_request(m);
  } else if (f && *f && !(ws->fs = drv_field_selector_parse(res, f, &err))) {
    st = drv_status_bad_request(err.msg);
  }
  if (st) {
    free_state(ws);
    return drv_respond_status(r, st);
  }
  if (rt->name[0]) ws->only_key = drv_server_key(sres, rt->ns, rt->name);
  ws->bookmarks = drv_req_flag(r, "allowWatchBookmarks");
  const char *acc = drv_req_header(r, "Accept");
  ws->table = acc && strstr(acc, "as=Table") && strstr(acc, "g=meta.k8s.io");
  ws->include = DRV_TABLE_OBJECT_METADATA;
  const char *inc = drv_req_arg(r, "includeObject");
  if (inc) drv_table_include_parse(inc, &ws->include);
  const char *sie = drv_req_arg(r, "sendInitialEvents");
  ws->initial_events = drv_parse_bool(sie) == 1;
  bool no_initial = drv_parse_bool(sie) == 0;
  ws->initial_done = !ws->initial_events;
  const char *rvs = drv_req_arg(r, "resourceVersion");
  uint64_t from = 0;
  if (rvs && *rvs && strcmp(rvs, "0") != 0) {
    char *end;
    from = strtoull(rvs, &end, 10);
    if (*end || from == 0) {
      free_state(ws);
      _cleanup_free_ char *m = drv_asprintf("invalid resource version \"%s\"", rvs);
      return drv_respond_status(r, drv_status_bad_request(m));
    }
    ws->initial_events = false;
    ws->initial_done = true;
  } else if (no_initial) {
    from = drv_store_revision(s->store);
  }
  long timeout = 1800;
  const char *ts = drv_req_arg(r, "timeoutSeconds");
  if (ts && strtol(ts, NULL, 10) > 0) timeout = strtol(ts, NULL, 10);
  ws->deadline_ms = drv_now_ms() + timeout * 1000;
  ws->last_send_ms = drv_now_ms();
  _cleanup_free_ char *prefix = drv_server_prefix(sres, rt->ns);
  int rc = drv_store_watch_open(s->store, prefix, from, filter_cb, ws, &ws->w, &err);
  if (rc == DRV_STORE_EGONE) {
    /* as Kubernetes' watch cache answers: a stream with one 410 ERROR event */
    emit_gone(ws, err.msg);
    ws->ended = true;
  } else if (rc < 0) {
    free_state(ws);
    return drv_respond_status(r, drv_status_internal(err.msg));
  } else {
    pthread_mutex_lock(&s->watch_mu);
    ws->next = s->watches;
    if (s->watches) s->watches->prev = ws;
    s->watches = ws;
    ws->listed = true;
    pthread_mutex_unlock(&s->watch_mu);
  }
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci) ws->fd = ci->connect_fd;
  if (r->counted) { /* long-running: not counted against the in-flight limit */
    __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_RELAXED);
    r->counted = false;
  }
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, ws, free_state);
  if (!resp) {
    free_state(ws);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  return drv_respond_response(r, 200, resp);
}
