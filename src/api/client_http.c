/* API client over HTTP: plain requests go through common/http_client.h (a small pool of
 * keep-alive handles shared by the loops' threads); watches read a streamed body each
 * (drv_http_stream), so watch_next can wait with a timeout and a caller can stop between events. */
#include "api/client_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/util.h"

#define POOL_MAX 16

typedef struct http_impl {
  char *server, *ca_file, *token, *cert, *key, *field_manager;
  char *tmp_dir; /* files decoded from the kubeconfig's *-data fields, removed with the client */
  bool insecure;
  pthread_mutex_t lock;
  drv_http_client *pool[POOL_MAX];
  int npool;
} http_impl;

static drv_http_client *pool_get(http_impl *h)
{
  pthread_mutex_lock(&h->lock);
  drv_http_client *c = h->npool ? h->pool[--h->npool] : NULL;
  pthread_mutex_unlock(&h->lock);
  return c ? c : drv_http_client_new();
}

static void pool_put(http_impl *h, drv_http_client *c)
{
  pthread_mutex_lock(&h->lock);
  if (h->npool < POOL_MAX) {
    h->pool[h->npool++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&h->lock);
  if (c) drv_http_client_free(c);
}

static void q_add(drv_buf *q, const char *k, const char *v)
{
  if (!v || !*v) return;
  _cleanup_free_ char *e = drv_http_escape(v);
  drv_buf_printf(q, "%c%s=%s", q->len ? '&' : '?', k, e);
}

static char *make_url(http_impl *h, const drv_api_ref *ref, const drv_api_list_opts *lo,
                      bool watch, const char *field_manager)
{
  _cleanup_free_ char *path = drv_api_ref_path(ref);
  drv_buf q = DRV_BUF_INIT;
  if (lo) {
    q_add(&q, "labelSelector", lo->label_selector);
    q_add(&q, "fieldSelector", lo->field_selector);
    q_add(&q, "resourceVersion", lo->resource_version);
    if (lo->limit > 0) drv_buf_printf(&q, "%climit=%ld", q.len ? '&' : '?', lo->limit);
    q_add(&q, "continue", lo->continue_token);
    if (watch) {
      drv_buf_printf(&q, "%cwatch=1", q.len ? '&' : '?');
      if (lo->timeout_seconds > 0)
        drv_buf_printf(&q, "&timeoutSeconds=%d", lo->timeout_seconds);
      if (lo->allow_bookmarks) drv_buf_puts(&q, "&allowWatchBookmarks=true");
    }
  } else if (watch)
    drv_buf_puts(&q, "?watch=1");
  q_add(&q, "fieldManager", field_manager);
  char *url = drv_asprintf("%s%s%s", h->server, path, q.data ? q.data : "");
  drv_buf_free(&q);
  return url;
}

/* Fills err from a failed answer (a Status when the server sent one) and returns -status. */
static int http_fail(long status, const char *method, const char *path, const char *body,
                     size_t len, drv_err *err)
{
  drv_err je;
  json_t *st = body && len ? drv_json_parse(body, len, &je) : NULL;
  const char *msg = st ? drv_json_get_str(st, "message") : NULL;
  if (msg)
    drv_error(err, 0, "%s", msg);
  else
    drv_error(err, 0, "%s %s: HTTP %ld%s%.*s", method, path, status, len ? ": " : "",
              (int)(len > 200 ? 200 : len), body ? body : "");
  json_decref(st);
  return -(int)status;
}

static int http_call(drv_api_client *c, const drv_api_request *req, json_t **out, drv_err *err)
{
  http_impl *h = c->impl;
  const char *method = "GET", *ctype = "application/json";
  const char *fm = NULL;
  json_t *body = req->body;
  json_t *delbody = NULL;
  switch (req->verb) {
  case DRV_API_GET:
  case DRV_API_LIST: break;
  case DRV_API_CREATE: method = "POST"; fm = req->field_manager ? req->field_manager : h->field_manager; break;
  case DRV_API_UPDATE: method = "PUT"; fm = req->field_manager ? req->field_manager : h->field_manager; break;
  case DRV_API_PATCH:
    method = "PATCH";
    fm = req->field_manager ? req->field_manager : h->field_manager;
    ctype = req->patch_type == DRV_API_PATCH_STRATEGIC ? "application/strategic-merge-patch+json"
            : req->patch_type == DRV_API_PATCH_JSON    ? "application/json-patch+json"
            : req->patch_type == DRV_API_PATCH_APPLY   ? "application/apply-patch+yaml"
                                                       : "application/merge-patch+json";
    break;
  case DRV_API_DELETE:
    method = "DELETE";
    if (req->del) {
      delbody = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
      if (req->del->propagation)
        json_object_set_new(delbody, "propagationPolicy", json_string(req->del->propagation));
      if (req->del->grace_period_seconds >= 0)
        json_object_set_new(delbody, "gracePeriodSeconds", json_integer(req->del->grace_period_seconds));
      if (req->del->precondition_uid || req->del->precondition_rv) {
        json_t *pc = json_object();
        if (req->del->precondition_uid) json_object_set_new(pc, "uid", json_string(req->del->precondition_uid));
        if (req->del->precondition_rv) json_object_set_new(pc, "resourceVersion", json_string(req->del->precondition_rv));
        json_object_set_new(delbody, "preconditions", pc);
      }
      body = delbody;
    }
    break;
  }
  drv_api_ref ref = req->ref;
  if (req->verb == DRV_API_LIST) ref.name = NULL;
  _cleanup_free_ char *url = make_url(h, &ref, req->verb == DRV_API_LIST ? req->list : NULL, false, fm);
  _cleanup_free_ char *payload = body ? drv_json_dump(body) : NULL;
  json_decref(delbody);
  _cleanup_free_ char *cth = drv_asprintf("Content-Type: %s", ctype);
  const char *headers[] = {cth, "Accept: application/json", NULL};
  drv_http_request rq = {.method = method, .url = url, .headers = headers,
                         .body = payload, .body_len = payload ? strlen(payload) : 0,
                         .bearer_token = h->token, .ca_file = h->ca_file,
                         .client_cert = h->cert, .client_key = h->key, .insecure_tls = h->insecure,
                         .timeout_ms = 60000};
  drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
  drv_http_client *hc = pool_get(h);
  int r = drv_http_do(hc, &rq, &rs, err);
  pool_put(h, hc);
  if (r < 0) { /* the HTTP client's message names the method and URL already */
    drv_http_response_free(&rs);
    return DRV_API_ETRANSPORT;
  }
  if (rs.status >= 400 || rs.status < 200) {
    _cleanup_free_ char *p = drv_api_ref_path(&ref);
    r = http_fail(rs.status, method, p, rs.body.data, rs.body.len, err);
    drv_http_response_free(&rs);
    return r;
  }
  if (out && rs.body.len) {
    *out = drv_json_parse(rs.body.data, rs.body.len, err);
    if (!*out) {
      drv_http_response_free(&rs);
      return drv_err_prefix(err, "%s %s: response", method, url), DRV_API_ETRANSPORT;
    }
  }
  drv_http_response_free(&rs);
  return 0;
}

/* ---- watch ---- */

typedef struct hwatch {
  drv_http_stream *st;
  drv_buf buf;   /* bytes received, lines consumed from off */
  size_t off;
  long status;
  bool done;
  char *url;
} hwatch;

static int http_watch_open(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *o,
                           drv_api_watch **out, drv_err *err)
{
  (void)err;
  http_impl *h = c->impl;
  hwatch *w = drv_calloc(1, sizeof *w);
  drv_api_ref r = *ref;
  r.name = NULL;
  w->url = make_url(h, &r, o, true, NULL);
  const char *headers[] = {"Accept: application/json", NULL};
  drv_http_request rq = {.url = w->url, .headers = headers, .bearer_token = h->token,
                         .ca_file = h->ca_file, .client_cert = h->cert, .client_key = h->key,
                         .insecure_tls = h->insecure};
  w->st = drv_http_stream_open(&rq);
  drv_api_watch *aw = drv_calloc(1, sizeof *aw);
  aw->ops = c->ops;
  aw->impl = w;
  *out = aw;
  return 0;
}

static int http_watch_next(drv_api_watch *aw, int timeout_ms, drv_api_event *ev, drv_err *err)
{
  hwatch *w = aw->impl;
  long long deadline = drv_now_ms() + timeout_ms;
  for (;;) {
    char *nl = w->buf.len > w->off ? memchr(w->buf.data + w->off, '\n', w->buf.len - w->off) : NULL;
    if (w->status >= 400 && w->done)
      return http_fail(w->status, "GET", w->url, w->buf.data, w->buf.len, err);
    if (nl && w->status < 400) {
      size_t len = (size_t)(nl - (w->buf.data + w->off));
      const char *line = w->buf.data + w->off;
      w->off += len + 1;
      if (len == 0 || (len == 1 && line[0] == '\r')) continue;
      json_t *e = drv_json_parse(line, len, err);
      if (!e) return drv_err_prefix(err, "watch %s: event", w->url), DRV_API_ETRANSPORT;
      const char *type = drv_json_get_str(e, "type");
      json_t *obj = json_object_get(e, "object");
      if (!type || !obj) {
        json_decref(e);
        return drv_error(err, 0, "watch %s: event without type or object", w->url), DRV_API_ETRANSPORT;
      }
      if (!strcmp(type, "ERROR")) {
        long code = (long)drv_json_get_int(obj, "code", 500);
        const char *msg = drv_json_get_str(obj, "message");
        drv_error(err, 0, "watch %s: %s", w->url, msg ? msg : "error event");
        json_decref(e);
        return code == 410 ? DRV_API_EGONE : -(int)code;
      }
      ev->type = !strcmp(type, "ADDED")      ? DRV_API_ADDED
                 : !strcmp(type, "MODIFIED") ? DRV_API_MODIFIED
                 : !strcmp(type, "DELETED")  ? DRV_API_DELETED
                                             : DRV_API_BOOKMARK;
      ev->object = json_incref(obj);
      json_decref(e);
      return 1;
    }
    if (w->done) return DRV_API_EEOF;
    if (w->off > 0 && w->off == w->buf.len) {
      w->buf.len = 0;
      w->off = 0;
    }
    long long left_ms = deadline - drv_now_ms();
    int r = drv_http_stream_read(w->st, left_ms > 0 ? (int)left_ms : 0, &w->buf, &w->status, err);
    if (r < 0) return drv_err_prefix(err, "watch %s", w->url), DRV_API_ETRANSPORT;
    if (r == 2) w->done = true;
    if (r == 0) return 0;
  }
}

static void http_watch_close(drv_api_watch *aw)
{
  hwatch *w = aw->impl;
  drv_http_stream_close(w->st);
  drv_buf_free(&w->buf);
  free(w->url);
  free(w);
  free(aw);
}

static void http_free(drv_api_client *c)
{
  http_impl *h = c->impl;
  for (int i = 0; i < h->npool; i++) drv_http_client_free(h->pool[i]);
  pthread_mutex_destroy(&h->lock);
  free(h->server);
  free(h->ca_file);
  free(h->token);
  free(h->cert);
  free(h->key);
  free(h->field_manager);
  if (h->tmp_dir) {
    drv_err err;
    drv_rm_rf(h->tmp_dir, &err);
    free(h->tmp_dir);
  }
  free(h);
  free(c);
}

static const drv_api_client_ops http_ops = {
    .call = http_call,
    .watch_open = http_watch_open,
    .watch_next = http_watch_next,
    .watch_close = http_watch_close,
    .free = http_free,
};

static char *dup_or_null(const char *s)
{
  return s ? drv_strdup(s) : NULL;
}

drv_api_client *drv_api_client_http_new(const drv_kubeconfig *kc, const char *field_manager,
                                        drv_err *err)
{
  if (!kc->server) return drv_error(err, 0, "API client: no server URL"), NULL;
  http_impl *h = drv_calloc(1, sizeof *h);
  pthread_mutex_init(&h->lock, NULL);
  h->server = drv_strdup(kc->server);
  h->ca_file = dup_or_null(kc->ca_file);
  h->token = dup_or_null(kc->token);
  h->cert = dup_or_null(kc->client_cert);
  h->key = dup_or_null(kc->client_key);
  h->insecure = kc->insecure;
  h->field_manager = drv_strdup(field_manager ? field_manager : "drover");
  drv_api_client *c = drv_calloc(1, sizeof *c);
  c->ops = &http_ops;
  c->impl = h;
  return c;
}

drv_api_client *drv_api_client_http_from_kubeconfig(const char *path, const char *field_manager,
                                                    drv_err *err)
{
  drv_kubeconfig kc;
  if (drv_kubeconfig_load(path, NULL, &kc, err) < 0) return NULL;
  /* libcurl takes the CA and client certificates by file name: the client owns the files
   * decoded from the kubeconfig and removes them when it is freed */
  drv_api_client *c = drv_api_client_http_new(&kc, field_manager, err);
  if (c) {
    ((http_impl *)c->impl)->tmp_dir = kc.tmp_dir;
    kc.tmp_dir = NULL;
  }
  drv_kubeconfig_free(&kc);
  return c;
}
