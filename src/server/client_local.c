/* The in-process API client (api/client.h) for control loops running inside `drover up`:
 * reads come from the store's watch cache, writes go through the same operations (defaults,
 * validation, concurrency) as HTTP requests. No sockets, no TLS, no JSON round trip for
 * requests. */
#include <errno.h>
#include <string.h>

#include "api/client.h"
#include "api/object.h"
#include "api/selector.h"
#include "api/status.h"
#include "api/strategy.h"
#include "common/json.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/ops.h"
#include "server/tokenrequest.h"

typedef struct local_watch {
  drv_server *srv;
  drv_store_watch *w;
  drv_op op;
  drv_label_selector *ls;
  drv_field_selector *fs;
  bool bookmarks;
  long long deadline_ms;
  drv_store_event pending[64];
  int npending, ipending;
  bool ended;
  bool cancelled; /* atomic: local_watch_cancel was called */
} local_watch;

static int fail(json_t *st, drv_err *err)
{
  int code = drv_status_code(st);
  const char *m = json_string_value(json_object_get(st, "message"));
  drv_error(err, 0, "%s", m ? m : "request failed");
  err->errnum = code;
  json_decref(st);
  return -code;
}

static int resolve(const drv_api_ref *ref, drv_op *op, drv_err *err)
{
  memset(op, 0, sizeof *op);
  const drv_api_resource *res =
      drv_api_resource_find(ref->group ? ref->group : "", ref->version ? ref->version : "",
                            ref->resource ? ref->resource : "");
  if (!res || !res->stored) {
    drv_error(err, 0, "the server could not find the requested resource %s",
              ref->resource ? ref->resource : "");
    err->errnum = 404;
    return DRV_API_ENOTFOUND;
  }
  op->res = res;
  op->sres = drv_api_resource_storage(res);
  if (!op->sres) op->sres = res;
  op->ns = res->namespaced && ref->ns ? ref->ns : "";
  op->name = ref->name && *ref->name ? ref->name : NULL;
  op->sub = ref->subresource && *ref->subresource ? ref->subresource : NULL;
  op->fv = DRV_FV_IGNORE;
  return 0;
}

static int out_obj(const drv_op *op, drv_store_obj *o, json_t **out)
{
  if (out) *out = o ? drv_op_to_served(op, o) : NULL;
  drv_store_obj_unref(o);
  return 0;
}

typedef struct sel {
  drv_server *srv;
  drv_label_selector *ls;
  drv_field_selector *fs;
} sel;

static bool sel_match(void *c, drv_store_obj *o)
{
  sel *s = c;
  if (!s->ls && !s->fs) return true;
  void *a = drv_store_attrs(s->srv->store, o);
  if (!a) return false;
  if (s->ls && !drv_label_selector_matches(s->ls, drv_server_attrs_labels(a))) return false;
  if (s->fs && !drv_field_selector_matches(s->fs, drv_server_attrs_obj(a))) return false;
  return true;
}

static int parse_sel(drv_server *srv, const drv_api_resource *res, const drv_api_list_opts *o,
                     sel *s, drv_err *err)
{
  memset(s, 0, sizeof *s);
  s->srv = srv;
  if (o && o->label_selector && *o->label_selector &&
      !(s->ls = drv_label_selector_parse(o->label_selector, err))) {
    err->errnum = 400;
    return DRV_API_EBADREQ;
  }
  if (o && o->field_selector && *o->field_selector &&
      !(s->fs = drv_field_selector_parse(res, o->field_selector, err))) {
    drv_label_selector_free(s->ls);
    s->ls = NULL;
    err->errnum = 400;
    return DRV_API_EBADREQ;
  }
  return 0;
}

static int do_list(drv_server *srv, const drv_op *op, const drv_api_list_opts *o, json_t **out,
                   drv_err *err)
{
  sel s;
  int rc = parse_sel(srv, op->res, o, &s, err);
  if (rc < 0) return rc;
  _cleanup_free_ char *prefix = drv_server_prefix(op->sres, op->ns);
  drv_store_list l;
  /* in-process continue tokens are "<revision><next key>" (keys start with '/'): pages are one
   * snapshot, as over HTTP */
  const char *after = NULL;
  uint64_t at = 0;
  if (o && o->continue_token && *o->continue_token) {
    char *end;
    at = strtoull(o->continue_token, &end, 10);
    after = end;
    if (*after != '/') {
      drv_label_selector_free(s.ls);
      drv_field_selector_free(s.fs);
      drv_error(err, 400, "continue token `%s` is not valid", o->continue_token);
      return DRV_API_EBADREQ;
    }
  }
  int lrc = drv_store_list_prefix_at(srv->store, prefix, after,
                                     o && o->limit > 0 ? (size_t)o->limit : 0,
                                     s.ls || s.fs ? sel_match : NULL, &s, at, &l);
  drv_label_selector_free(s.ls);
  drv_field_selector_free(s.fs);
  if (lrc == DRV_STORE_EGONE) {
    drv_error(err, 410, "the continue token is too old: list again");
    return DRV_API_EGONE;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l.n; i++) {
    json_t *obj = drv_op_to_served(op, l.items[i]);
    if (obj) json_array_append_new(items, obj);
  }
  char av[128], rv[32];
  drv_api_resource_api_version(op->res, av, sizeof av);
  snprintf(rv, sizeof rv, "%llu", (unsigned long long)l.rev);
  json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", op->res->list_kind, "apiVersion",
                           av, "metadata", "resourceVersion", rv, "items", items);
  if (l.next_key) {
    _cleanup_free_ char *tok = drv_asprintf("%llu%s", (unsigned long long)l.rev, l.next_key);
    json_object_set_new(json_object_get(list, "metadata"), "continue", json_string(tok));
  }
  drv_store_list_free(&l);
  if (out)
    *out = list;
  else
    json_decref(list);
  return 0;
}

static drv_patch_type patch_type(drv_api_patch_type t)
{
  switch (t) {
  case DRV_API_PATCH_STRATEGIC: return DRV_PATCH_STRATEGIC;
  case DRV_API_PATCH_JSON: return DRV_PATCH_JSON;
  case DRV_API_PATCH_APPLY: return DRV_PATCH_STRATEGIC; /* applied as a strategic merge */
  default: return DRV_PATCH_MERGE;
  }
}

static int local_call(drv_api_client *c, const drv_api_request *req, json_t **out, drv_err *err)
{
  drv_server *srv = c->impl;
  if (out) *out = NULL;
  drv_op op;
  int rc = resolve(&req->ref, &op, err);
  if (rc < 0) return rc;
  json_t *st = NULL;
  drv_store_obj *o = NULL;
  switch (req->verb) {
  case DRV_API_GET: {
    if (!op.name) return do_list(srv, &op, NULL, out, err);
    _cleanup_free_ char *key = drv_server_key(op.sres, op.ns, op.name);
    if (drv_store_get(srv->store, key, &o) < 0) return fail(drv_status_not_found(op.res, op.name), err);
    if (op.sub && strcmp(op.sub, "scale") == 0) {
      json_t *obj = drv_op_to_served(&op, o);
      drv_store_obj_unref(o);
      json_t *scale = obj ? drv_api_scale_get(op.res, obj) : NULL;
      json_decref(obj);
      if (!scale) return fail(drv_status_not_found(op.res, op.name), err);
      if (out)
        *out = scale;
      else
        json_decref(scale);
      return 0;
    }
    return out_obj(&op, o, out);
  }
  case DRV_API_LIST:
    return do_list(srv, &op, req->list, out, err);
  case DRV_API_CREATE:
    if (op.res->namespaced && !op.ns[0]) {
      const char *bns = drv_json_get_str(req->body, "metadata.namespace");
      if (!bns || !*bns)
        return fail(drv_status_bad_request("a namespace is required to create namespaced objects"), err);
      op.ns = bns;
    }
    if (op.sub && strcmp(op.sub, "binding") == 0) {
      if (drv_op_bind(srv, &op, drv_json_get_str(req->body, "target.name"),
                      drv_json_get_str(req->body, "metadata.uid"), &st) < 0)
        return fail(st, err);
      return 0;
    }
    if (op.sub && strcmp(op.sub, "token") == 0) { /* serviceaccounts/NAME/token */
      json_t *resp = op.name ? drv_server_token_request(srv, op.ns, op.name, req->body, &st) : NULL;
      if (!resp) return fail(st ? st : drv_status_bad_request("a token request needs a service account name"), err);
      if (out)
        *out = resp;
      else
        json_decref(resp);
      return 0;
    }
    if (op.sub && strcmp(op.sub, "eviction") == 0) {
      drv_delete_opts d = {.grace_seconds = -1};
      json_t *g = drv_json_get(req->body, "deleteOptions.gracePeriodSeconds");
      if (json_is_integer(g)) d.grace_seconds = (long)json_integer_value(g);
      op.sub = NULL;
      bool deleted;
      if (drv_op_delete(srv, &op, &d, &o, &deleted, &st) < 0) return fail(st, err);
      drv_store_obj_unref(o);
      return 0;
    }
    op.name = NULL;
    if (drv_op_create(srv, &op, req->body, &o, &st) < 0) return fail(st, err);
    return out_obj(&op, o, out);
  case DRV_API_UPDATE:
    if (!op.name) return fail(drv_status_bad_request("update needs a name"), err);
    if (drv_op_update(srv, &op, req->body, &o, &st) < 0) return fail(st, err);
    return out_obj(&op, o, out);
  case DRV_API_PATCH: {
    if (!op.name) return fail(drv_status_bad_request("patch needs a name"), err);
    _cleanup_free_ char *p = json_dumps(req->body, JSON_COMPACT);
    if (!p) return fail(drv_status_bad_request("patch body is not JSON"), err);
    if (req->patch_type == DRV_API_PATCH_APPLY) {
      _cleanup_free_ char *key = drv_server_key(op.sres, op.ns, op.name);
      if (drv_store_get(srv->store, key, &o) < 0) {
        json_t *body = json_deep_copy(req->body);
        drv_obj_set_name(body, op.name);
        const char *nm = op.name;
        op.name = NULL;
        rc = drv_op_create(srv, &op, body, &o, &st);
        op.name = nm;
        json_decref(body);
        if (rc < 0) return fail(st, err);
        return out_obj(&op, o, out);
      }
      drv_store_obj_unref(o);
    }
    if (drv_op_patch(srv, &op, patch_type(req->patch_type), p, strlen(p), &o, &st) < 0)
      return fail(st, err);
    return out_obj(&op, o, out);
  }
  case DRV_API_DELETE: {
    if (!op.name) return fail(drv_status_bad_request("delete needs a name"), err);
    drv_delete_opts d = {.grace_seconds = -1};
    if (req->del) {
      d.propagation = req->del->propagation;
      d.grace_seconds = req->del->grace_period_seconds;
      d.pre_uid = req->del->precondition_uid;
      d.pre_rv = req->del->precondition_rv;
    }
    bool deleted;
    if (drv_op_delete(srv, &op, &d, &o, &deleted, &st) < 0) return fail(st, err);
    return out_obj(&op, o, out);
  }
  }
  return fail(drv_status_bad_request("unknown verb"), err);
}

/* ---- watch ---- */

static bool w_match(local_watch *lw, drv_store_obj *o)
{
  sel s = {lw->srv, lw->ls, lw->fs};
  return o && sel_match(&s, o);
}

static bool w_filter(void *c, drv_store_obj *o)
{
  return w_match(c, o);
}

static void lw_free(local_watch *lw)
{
  for (int i = lw->ipending; i < lw->npending; i++) drv_store_event_release(&lw->pending[i]);
  drv_store_watch_close(lw->w);
  drv_label_selector_free(lw->ls);
  drv_field_selector_free(lw->fs);
  free(lw);
}

static int local_watch_open(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *o,
                            drv_api_watch **out, drv_err *err)
{
  drv_server *srv = c->impl;
  local_watch *lw = drv_calloc(1, sizeof *lw);
  lw->srv = srv;
  int rc = resolve(ref, &lw->op, err);
  if (rc < 0) {
    free(lw);
    return rc;
  }
  sel s;
  if ((rc = parse_sel(srv, lw->op.res, o, &s, err)) < 0) {
    free(lw);
    return rc;
  }
  lw->ls = s.ls;
  lw->fs = s.fs;
  lw->bookmarks = o && o->allow_bookmarks;
  int timeout = o && o->timeout_seconds > 0 ? o->timeout_seconds : 1800;
  lw->deadline_ms = drv_now_ms() + timeout * 1000LL;
  uint64_t from = 0;
  if (o && o->resource_version && *o->resource_version && strcmp(o->resource_version, "0") != 0)
    from = strtoull(o->resource_version, NULL, 10);
  _cleanup_free_ char *prefix = drv_server_prefix(lw->op.sres, lw->op.ns);
  rc = drv_store_watch_open(srv->store, prefix, from, w_filter, lw, &lw->w, err);
  if (rc == DRV_STORE_EGONE) {
    lw_free(lw);
    err->errnum = 410;
    return DRV_API_EGONE;
  }
  if (rc < 0) {
    lw_free(lw);
    return DRV_API_ETRANSPORT;
  }
  drv_api_watch *w = drv_calloc(1, sizeof *w);
  w->ops = c->ops;
  w->impl = lw;
  *out = w;
  return 0;
}

static int local_watch_next(drv_api_watch *w, int timeout_ms, drv_api_event *ev, drv_err *err)
{
  local_watch *lw = w->impl;
  long long end = drv_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    while (lw->ipending < lw->npending) {
      drv_store_event *e = &lw->pending[lw->ipending++];
      bool now_in = e->type != DRV_STORE_DELETED && w_match(lw, e->obj);
      bool was_in = e->type == DRV_STORE_DELETED ? w_match(lw, e->prev ? e->prev : e->obj)
                                                  : (e->prev && w_match(lw, e->prev));
      int type = -1;
      if (e->type == DRV_STORE_ADDED && now_in) type = DRV_API_ADDED;
      else if (e->type == DRV_STORE_MODIFIED && now_in) type = was_in ? DRV_API_MODIFIED : DRV_API_ADDED;
      else if (e->type == DRV_STORE_MODIFIED && was_in) type = DRV_API_DELETED;
      else if (e->type == DRV_STORE_DELETED && was_in) type = DRV_API_DELETED;
      json_t *obj = type >= 0 ? drv_op_to_served(&lw->op, e->obj) : NULL;
      drv_store_event_release(e);
      if (obj) {
        ev->type = (drv_api_event_type)type;
        ev->object = obj;
        return 1;
      }
    }
    long long now = drv_now_ms();
    if (lw->srv->stopping || now >= lw->deadline_ms) return DRV_API_EEOF;
    long long wait = end - now;
    if (wait < 0) wait = 0;
    if (wait > lw->deadline_ms - now) wait = lw->deadline_ms - now;
    lw->ipending = lw->npending = 0;
    int n = drv_store_watch_next(lw->w, lw->pending, 64, (int)wait);
    if (n == DRV_STORE_EGONE) {
      drv_error(err, 0, "too old resource version");
      err->errnum = 410;
      return DRV_API_EGONE;
    }
    lw->npending = n > 0 ? n : 0;
    if (n <= 0 && __atomic_load_n(&lw->cancelled, __ATOMIC_ACQUIRE)) return 0;
    if (n <= 0 && drv_now_ms() >= end) {
      if (lw->bookmarks) {
        char av[128], rv[32];
        drv_api_resource_api_version(lw->op.res, av, sizeof av);
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)drv_store_watch_progress(lw->w));
        ev->type = DRV_API_BOOKMARK;
        ev->object = json_pack("{s:s, s:s, s:{s:s}}", "kind", lw->op.res->kind, "apiVersion", av,
                               "metadata", "resourceVersion", rv);
        return 1;
      }
      return 0;
    }
  }
}

static void local_watch_close(drv_api_watch *w)
{
  if (!w) return;
  lw_free(w->impl);
  free(w);
}

static void local_free(drv_api_client *c)
{
  free(c);
}

static void local_watch_cancel(drv_api_watch *w)
{
  local_watch *lw = w->impl;
  __atomic_store_n(&lw->cancelled, true, __ATOMIC_RELEASE);
  drv_store_watch_cancel(lw->w);
}

static const drv_api_client_ops local_ops = {local_call, local_watch_open, local_watch_next,
                                             local_watch_close, local_free, local_watch_cancel};

drv_api_client *drv_server_client(drv_server *s)
{
  drv_api_client *c = drv_calloc(1, sizeof *c);
  c->ops = &local_ops;
  c->impl = s;
  return c;
}
