/* Handlers for object paths: get, list (selectors, pages, tables), create, update, patch, delete,
 * deletecollection, and the status/scale/binding/eviction subresources. */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/fieldvalidation.h"
#include "api/managedfields.h"
#include "api/object.h"
#include "api/patch.h"
#include "api/selector.h"
#include "api/status.h"
#include "api/strategy.h"
#include "api/table.h"
#include "common/json.h"
#include "common/util.h"
#include "api/protobuf.h"
#include "common/yaml.h"
#include "server/internal.h"
#include "server/ops.h"
#include "server/protobuf.h"

/* ---- keys ---- */

char *drv_server_prefix(const drv_api_resource *sres, const char *ns)
{
  const char *g = sres->group[0] ? sres->group : "core";
  if (sres->namespaced && ns && *ns) return drv_asprintf("/%s/%s/%s/", g, sres->plural, ns);
  return drv_asprintf("/%s/%s/", g, sres->plural);
}

json_t *drv_server_stored_core(drv_server *s, const char *plural, const char *ns, const char *name)
{
  const drv_api_resource *res = drv_api_resource_find("", "v1", plural);
  _cleanup_free_ char *key = drv_server_key(res, ns, name);
  drv_store_obj *o;
  if (drv_store_get(s->store, key, &o) < 0) return NULL;
  json_t *obj = json_loadb(o->data, o->len, 0, NULL);
  drv_store_obj_unref(o);
  return obj;
}

char *drv_server_key(const drv_api_resource *sres, const char *ns, const char *name)
{
  const char *g = sres->group[0] ? sres->group : "core";
  if (sres->namespaced) return drv_asprintf("/%s/%s/%s/%s", g, sres->plural, ns ? ns : "", name);
  return drv_asprintf("/%s/%s/%s", g, sres->plural, name);
}

/* ---- selector data kept per object ---- */

typedef struct attrs {
  json_t *labels;
  json_t *fields; /* the fields selectors may name, in the object's shape */
} attrs;

static const char *const selectable[] = {
    "metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
    "spec.schedulerName", "spec.serviceAccountName", "spec.unschedulable", "status.phase",
    "status.podIP", "status.nominatedNodeName", "type", "reason", "source", "reportingComponent",
    "reportingController", "involvedObject", "regarding", "spec.type", "spec.clusterIP", NULL};

void *drv_server_attrs(const drv_store_obj *o)
{
  json_t *obj = json_loadb(o->data, o->len, 0, NULL);
  if (!obj) return NULL;
  attrs *a = drv_calloc(1, sizeof *a);
  a->labels = json_incref(drv_json_get(obj, "metadata.labels"));
  a->fields = json_object();
  for (const char *const *p = selectable; *p; p++) {
    json_t *v = drv_json_get(obj, *p);
    if (v) drv_json_set(a->fields, *p, json_incref(v));
  }
  json_decref(obj);
  return a;
}

void drv_server_attrs_free(void *p)
{
  attrs *a = p;
  if (!a) return;
  json_decref(a->labels);
  json_decref(a->fields);
  free(a);
}

const json_t *drv_server_attrs_labels(void *a)
{
  return a ? ((attrs *)a)->labels : NULL;
}

const json_t *drv_server_attrs_obj(void *a)
{
  return a ? ((attrs *)a)->fields : NULL;
}

typedef struct sel_ctx {
  drv_store *st;
  drv_label_selector *ls;
  drv_field_selector *fs;
} sel_ctx;

static bool sel_match(void *c, drv_store_obj *o)
{
  sel_ctx *sc = c;
  void *a = drv_store_attrs(sc->st, o);
  if (!a) return false;
  if (sc->ls && !drv_label_selector_matches(sc->ls, drv_server_attrs_labels(a))) return false;
  if (sc->fs && !drv_field_selector_matches(sc->fs, drv_server_attrs_obj(a))) return false;
  return true;
}

/* Parses labelSelector/fieldSelector; on error *status is set. */
static int parse_selectors(drv_req *r, const drv_api_resource *res, sel_ctx *sc, json_t **status)
{
  memset(sc, 0, sizeof *sc);
  sc->st = r->srv->store;
  drv_err err = {0};
  const char *l = drv_req_arg(r, "labelSelector"), *f = drv_req_arg(r, "fieldSelector");
  if (l && *l && !(sc->ls = drv_label_selector_parse(l, &err))) {
    _cleanup_free_ char *m = drv_asprintf("unable to parse requirement: %s", err.msg);
    *status = drv_status_bad_request(m);
    return -1;
  }
  if (f && *f && !(sc->fs = drv_field_selector_parse(res, f, &err))) {
    drv_label_selector_free(sc->ls);
    sc->ls = NULL;
    *status = drv_status_bad_request(err.msg);
    return -1;
  }
  if (sc->ls && drv_label_selector_empty(sc->ls)) {
    drv_label_selector_free(sc->ls);
    sc->ls = NULL;
  }
  if (sc->fs && drv_field_selector_empty(sc->fs)) {
    drv_field_selector_free(sc->fs);
    sc->fs = NULL;
  }
  return 0;
}

static void sel_free(sel_ctx *sc)
{
  drv_label_selector_free(sc->ls);
  drv_field_selector_free(sc->fs);
}

/* ---- request helpers ---- */

static bool wants_table(drv_req *r)
{
  const char *acc = drv_req_header(r, "Accept");
  return acc && strstr(acc, "as=Table") && strstr(acc, "g=meta.k8s.io");
}

static bool is_dry_run(drv_req *r)
{
  const char *d = drv_req_arg(r, "dryRun");
  return d && strcmp(d, "All") == 0;
}

static drv_table_include table_include(drv_req *r)
{
  drv_table_include inc = DRV_TABLE_OBJECT_METADATA;
  const char *s = drv_req_arg(r, "includeObject");
  if (s) drv_table_include_parse(s, &inc);
  return inc;
}

static enum MHD_Result respond_served(drv_req *r, const drv_op *op, int code, drv_store_obj *o)
{
  if (wants_table(r)) {
    json_t *obj = drv_op_to_served(op, o);
    drv_store_obj_unref(o);
    if (!obj) return drv_respond_status(r, drv_status_internal("stored object does not decode"));
    json_t *t = drv_api_table(op->res, obj, table_include(r), time(NULL));
    json_decref(obj);
    return drv_respond_json(r, code, t);
  }
  if (op->res == op->sres) return drv_respond_obj(r, code, o);
  json_t *obj = drv_op_to_served(op, o);
  drv_store_obj_unref(o);
  if (!obj) return drv_respond_status(r, drv_status_internal("stored object does not convert"));
  return drv_respond_json(r, code, obj);
}

static bool is_yaml_ct(const char *ct)
{
  return ct && (strncmp(ct, "application/yaml", 16) == 0 || strncmp(ct, "application/apply-patch+yaml", 28) == 0);
}

/* Decodes the request body as an object of res (JSON or YAML, fieldValidation). */
static json_t *decode_body(drv_req *r, const drv_op *op, json_t **status)
{
  const char *ct = drv_req_header(r, "Content-Type");
  if (drv_pb_is_protobuf(ct) && r->body.len) {
    /* kubectl's typed commands: decode to JSON, then the JSON path (field validation) */
    drv_err err = {0};
    json_t *obj = drv_pb_decode(r->body.data, r->body.len, &err);
    if (!obj) {
      *status = drv_status_failure(415, "UnsupportedMediaType", err.msg);
      return NULL;
    }
    char *js = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    drv_buf_free(&r->body);
    drv_buf_puts(&r->body, js);
    free(js);
    ct = "application/json";
  }
  if (ct && strncmp(ct, "application/json", 16) != 0 && !is_yaml_ct(ct) &&
      !drv_api_is_protobuf(ct) && strncmp(ct, "*/*", 3) != 0) {
    *status = drv_status_unsupported_media_type(ct);
    return NULL;
  }
  if (r->body.len == 0) {
    *status = drv_status_bad_request("the request body is empty");
    return NULL;
  }
  json_t *warnings = NULL;
  json_t *obj = drv_api_decode(op->res, r->body.data, r->body.len, is_yaml_ct(ct), op->fv,
                               &warnings, status);
  if (warnings) {
    if (!r->warnings) r->warnings = json_array();
    json_array_extend(r->warnings, warnings);
    json_decref(warnings);
  }
  return obj;
}

static json_t *fv_parse(drv_req *r, drv_field_validation *fv)
{
  const char *s = drv_req_arg(r, "fieldValidation");
  if (drv_field_validation_parse(s, fv) < 0) {
    _cleanup_free_ char *m = drv_asprintf(
        "fieldValidation parameter \"%s\" is invalid: must be one of Strict, Warn, Ignore", s);
    return drv_status_bad_request(m);
  }
  return NULL;
}

/* ---- continue tokens: base64 of {"rv":N,"start":"<key>"} ---- */

static char *make_continue(uint64_t rv, const char *key)
{
  json_t *j = json_pack("{s:I, s:s}", "rv", (json_int_t)rv, "start", key);
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  size_t n = strlen(s);
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, (unsigned char *)s, (int)n);
  free(s);
  return out;
}

static char *parse_continue(const char *tok, const char *prefix, uint64_t *rv)
{
  size_t n = strlen(tok);
  if (n == 0 || n % 4 || n > 4096) return NULL;
  _cleanup_free_ unsigned char *raw = drv_malloc(n);
  int len = EVP_DecodeBlock(raw, (const unsigned char *)tok, (int)n);
  if (len <= 0) return NULL;
  while (len > 0 && raw[len - 1] == 0) len--;
  json_t *j = json_loadb((char *)raw, (size_t)len, 0, NULL);
  const char *start = json_string_value(json_object_get(j, "start"));
  char *key = start && strncmp(start, prefix, strlen(prefix)) == 0 ? drv_strdup(start) : NULL;
  json_int_t r = json_integer_value(json_object_get(j, "rv"));
  *rv = r > 0 ? (uint64_t)r : 0;
  json_decref(j);
  return key;
}

/* ---- get / list ---- */

/* A list at a revision older than the kept history: 410, and for a continued list (as
 * Kubernetes does) a token that goes on from the same key at the current revision. */
static enum MHD_Result list_expired(drv_req *r, uint64_t at, const char *after)
{
  if (!after) {
    _cleanup_free_ char *m = drv_asprintf("too old resource version: %llu (%llu)",
                                          (unsigned long long)at,
                                          (unsigned long long)drv_store_revision(r->srv->store));
    return drv_respond_status(r, drv_status_gone(m));
  }
  json_t *st = drv_status_failure(
      410, "Expired",
      "The provided continue parameter is too old to display a consistent list result. You can "
      "start a new list without the continue parameter, or use the continue token in this "
      "response to retrieve the remainder of the results. Continuing with the provided token "
      "results in an inconsistent list - objects that were created, modified, or deleted between "
      "the time the first chunk was returned and now may show up in the list.");
  _cleanup_free_ char *tok = make_continue(drv_store_revision(r->srv->store), after);
  json_object_set_new(json_object_get(st, "metadata"), "continue", json_string(tok));
  return drv_respond_status(r, st);
}

static enum MHD_Result do_get(drv_req *r, drv_op *op)
{
  _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, op->name);
  drv_store_obj *o;
  if (drv_store_get(r->srv->store, key, &o) < 0)
    return drv_respond_status(r, drv_status_not_found(op->res, op->name));
  if (op->sub && strcmp(op->sub, "scale") == 0) {
    json_t *obj = drv_op_to_served(op, o);
    drv_store_obj_unref(o);
    json_t *scale = obj ? drv_api_scale_get(op->res, obj) : NULL;
    json_decref(obj);
    if (!scale) return drv_respond_status(r, drv_status_not_found(op->res, op->name));
    return drv_respond_json(r, 200, scale);
  }
  return respond_served(r, op, 200, o);
}

static enum MHD_Result do_list(drv_req *r, drv_op *op)
{
  json_t *st = NULL;
  sel_ctx sc;
  if (parse_selectors(r, op->res, &sc, &st) < 0) return drv_respond_status(r, st);
  _cleanup_free_ char *prefix = drv_server_prefix(op->sres, op->ns);
  long limit = 0;
  const char *ls = drv_req_arg(r, "limit"), *cont = drv_req_arg(r, "continue");
  if (ls && *ls) {
    /* Kubernetes refuses a limit that is no integer; one <= 0 means no limit */
    char *end;
    errno = 0;
    limit = strtol(ls, &end, 10);
    if (*end || errno) {
      sel_free(&sc);
      _cleanup_free_ char *m = drv_asprintf("invalid limit \"%s\": not an integer", ls);
      return drv_respond_status(r, drv_status_bad_request(m));
    }
  }
  if (limit < 0) limit = 0;
  _cleanup_free_ char *after = NULL;
  uint64_t at = 0; /* the revision a continued or exact list shows */
  if (cont && *cont && !(after = parse_continue(cont, prefix, &at))) {
    sel_free(&sc);
    return drv_respond_status(r, drv_status_bad_request("continue key is not valid"));
  }
  const char *rvs = drv_req_arg(r, "resourceVersion"), *match = drv_req_arg(r, "resourceVersionMatch");
  if (rvs && *rvs) {
    /* any resourceVersion given is a revision number ("0" = any) */
    char *end;
    errno = 0;
    (void)strtoull(rvs, &end, 10);
    if (*end || !isdigit((unsigned char)*rvs) || errno) {
      sel_free(&sc);
      _cleanup_free_ char *m = drv_asprintf("invalid resource version \"%s\"", rvs);
      return drv_respond_status(r, drv_status_bad_request(m));
    }
  }
  if (!after && match && !strcmp(match, "Exact") && rvs) {
    char *end;
    at = strtoull(rvs, &end, 10);
    if (!*rvs || *end || !at) {
      sel_free(&sc);
      _cleanup_free_ char *m = drv_asprintf("invalid resource version \"%s\"", rvs);
      return drv_respond_status(r, drv_status_bad_request(m));
    }
  }
  drv_store_list l;
  int lrc = drv_store_list_prefix_at(r->srv->store, prefix, after, (size_t)limit,
                                     sc.ls || sc.fs ? sel_match : NULL, &sc, at, &l);
  sel_free(&sc);
  if (lrc == DRV_STORE_EGONE) return list_expired(r, at, after);
  char av[128];
  drv_api_resource_api_version(op->res, av, sizeof av);
  _cleanup_free_ char *ctok = l.next_key ? make_continue(l.rev, l.next_key) : NULL;
  bool convert = op->res != op->sres;
  if (wants_table(r) || convert) {
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++) {
      json_t *o = drv_op_to_served(op, l.items[i]);
      if (o) json_array_append_new(items, o);
    }
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)l.rev);
    json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", op->res->list_kind,
                             "apiVersion", av, "metadata", "resourceVersion", rv, "items", items);
    if (ctok) json_object_set_new(json_object_get(list, "metadata"), "continue", json_string(ctok));
    drv_store_list_free(&l);
    if (wants_table(r)) {
      json_t *t = drv_api_table(op->res, list, table_include(r), time(NULL));
      json_decref(list);
      return drv_respond_json(r, 200, t);
    }
    return drv_respond_json(r, 200, list);
  }
  /* the stored bytes, concatenated: no parse, no re-encode */
  size_t total = 128 + (ctok ? strlen(ctok) : 0);
  for (size_t i = 0; i < l.n; i++) total += l.items[i]->len + 1;
  drv_buf b = DRV_BUF_INIT;
  drv_buf_reserve(&b, total);
  drv_buf_printf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\"",
                 op->res->list_kind, av, (unsigned long long)l.rev);
  if (ctok) drv_buf_printf(&b, ",\"continue\":\"%s\"", ctok);
  drv_buf_puts(&b, "},\"items\":[");
  for (size_t i = 0; i < l.n; i++) {
    if (i) drv_buf_putc(&b, ',');
    drv_buf_append(&b, l.items[i]->data, l.items[i]->len);
  }
  drv_buf_puts(&b, "]}");
  drv_store_list_free(&l);
  size_t len = b.len;
  return drv_respond_bytes(r, 200, "application/json", drv_buf_steal(&b), len);
}

/* ---- writes ---- */

static enum MHD_Result do_create(drv_req *r, drv_op *op)
{
  json_t *st = NULL;
  json_t *body = decode_body(r, op, &st);
  if (!body) return drv_respond_status(r, st);
  drv_store_obj *out;
  int rc = drv_op_create(r->srv, op, body, &out, &st);
  json_decref(body);
  if (rc < 0) return drv_respond_status(r, st);
  return respond_served(r, op, 201, out);
}

static enum MHD_Result do_update(drv_req *r, drv_op *op)
{
  json_t *st = NULL;
  json_t *body;
  if (op->sub && strcmp(op->sub, "scale") == 0) {
    body = r->body.len ? drv_json_parse(r->body.data, r->body.len, NULL) : NULL;
    if (!body) return drv_respond_status(r, drv_status_bad_request("the body is not a Scale object"));
  } else {
    body = decode_body(r, op, &st);
    if (!body) return drv_respond_status(r, st);
  }
  drv_store_obj *out;
  int rc = drv_op_update(r->srv, op, body, &out, &st);
  json_decref(body);
  if (rc < 0) return drv_respond_status(r, st);
  if (op->sub && strcmp(op->sub, "scale") == 0) {
    drv_store_obj_unref(out);
    return do_get(r, op);
  }
  return respond_served(r, op, 200, out);
}

/* Server-side apply with field ownership (managedfields.h): the applied configuration creates
 * the object or merges into it; conflicts with other managers are 409 unless force=true.
 * Raced by another write, it starts over from the newer object. */
static enum MHD_Result do_apply(drv_req *r, drv_op *op, json_t *cfg)
{
  const char *mgr = drv_req_arg(r, "fieldManager");
  if (!mgr || !*mgr) {
    json_decref(cfg);
    return drv_respond_status(r, drv_status_bad_request("PATCH, application/apply-patch+yaml requires fieldManager"));
  }
  bool force = drv_req_flag(r, "force");
  _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, op->name);
  json_t *st = NULL;
  for (int attempt = 0;; attempt++) {
    drv_store_obj *cur = NULL, *out = NULL;
    json_t *curj = NULL;
    if (drv_store_get(r->srv->store, key, &cur) == 0) {
      curj = drv_op_to_served(op, cur);
      drv_store_obj_unref(cur);
    }
    char now[64];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_t *obj = drv_mf_apply(op->res, curj, cfg, mgr, force, now, &st);
    if (!obj) {
      json_decref(curj);
      break;
    }
    drv_op aop = *op;
    aop.keep_managed = true;
    int rc;
    if (!curj) {
      drv_obj_set_name(obj, op->name);
      rc = drv_op_create(r->srv, &aop, obj, &out, &st);
    } else {
      drv_obj_set_str(obj, "resourceVersion", drv_obj_resource_version(curj) ?: "");
      rc = drv_op_update(r->srv, &aop, obj, &out, &st);
    }
    bool existed = curj != NULL;
    json_decref(obj);
    json_decref(curj);
    if (rc == 0) {
      json_decref(cfg);
      return respond_served(r, op, existed ? 200 : 201, out);
    }
    /* another write came between the read and ours: apply again over it */
    int code = drv_status_code(st);
    if ((code != 409 || drv_json_get(st, "details.causes")) || attempt >= 5) break;
    json_decref(st);
    st = NULL;
  }
  json_decref(cfg);
  return drv_respond_status(r, st);
}

/* Repeated keys in a patch body, as in an object body: Strict → the 400 to answer, Warn → a
 * warning each (fieldValidation). */
static json_t *patch_duplicates(drv_req *r, const drv_op *op, drv_patch_type type,
                                const char *patch, size_t len)
{
  if (op->fv == DRV_FV_IGNORE || !len) return NULL;
  json_t *dups = json_array();
  if (type == DRV_PATCH_APPLY) {
    drv_api_duplicate_fields_yaml(patch, len, dups);
  } else {
    json_t *v = json_loadb(patch, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (!v) drv_api_duplicate_fields_json(patch, len, dups); /* or malformed: found later */
    json_decref(v);
  }
  json_t *st = NULL;
  size_t i;
  json_t *d;
  if (json_array_size(dups) && op->fv == DRV_FV_STRICT) {
    drv_buf b = DRV_BUF_INIT;
    drv_buf_puts(&b, "strict decoding error: ");
    json_array_foreach(dups, i, d) drv_buf_printf(&b, "%sduplicate field \"%s\"", i ? ", " : "", json_string_value(d));
    st = drv_status_bad_request(b.data);
    drv_buf_free(&b);
  } else {
    json_array_foreach(dups, i, d)
    {
      _cleanup_free_ char *w = drv_asprintf("duplicate field \"%s\"", json_string_value(d));
      if (!r->warnings) r->warnings = json_array();
      json_array_append_new(r->warnings, json_string(w));
    }
  }
  json_decref(dups);
  return st;
}

static enum MHD_Result do_patch(drv_req *r, drv_op *op)
{
  const char *ct = drv_req_header(r, "Content-Type");
  drv_patch_type type = ct ? drv_patch_type_from_content_type(ct) : 0;
  if (!type) return drv_respond_status(r, drv_status_unsupported_media_type(ct ? ct : ""));
  json_t *st = patch_duplicates(r, op, type, r->body.data ? r->body.data : "", r->body.len);
  if (st) return drv_respond_status(r, st);
  drv_store_obj *out;
  const char *patch = r->body.data ? r->body.data : "";
  size_t plen = r->body.len;
  _cleanup_free_ char *converted = NULL;
  if (type == DRV_PATCH_APPLY) {
    /* server-side apply: with field ownership on objects (do_apply); on subresources the
     * applied configuration is merged in (strategic merge) */
    drv_err err = {0};
    json_t *cfg = drv_yaml_load(patch, plen, &err);
    if (!cfg || !json_is_object(cfg)) {
      json_decref(cfg);
      return drv_respond_status(r, drv_status_bad_request(err.msg[0] ? err.msg : "apply body is not an object"));
    }
    if (!op->sub) return do_apply(r, op, cfg);
    _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, op->name);
    drv_store_obj *cur;
    if (drv_store_get(r->srv->store, key, &cur) < 0) {
      drv_obj_set_name(cfg, op->name);
      int rc = drv_op_create(r->srv, op, cfg, &out, &st);
      json_decref(cfg);
      if (rc < 0) return drv_respond_status(r, st);
      return respond_served(r, op, 201, out);
    }
    drv_store_obj_unref(cur);
    converted = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    patch = converted;
    plen = strlen(converted);
    type = DRV_PATCH_STRATEGIC;
  }
  if (drv_op_patch(r->srv, op, type, patch, plen, &out, &st) < 0) return drv_respond_status(r, st);
  if (op->sub && strcmp(op->sub, "scale") == 0) {
    drv_store_obj_unref(out);
    return do_get(r, op);
  }
  return respond_served(r, op, 200, out);
}

/* DeleteOptions from the body and the query. */
static json_t *delete_opts(drv_req *r, drv_op *op, drv_delete_opts *d, json_t **holder)
{
  memset(d, 0, sizeof *d);
  d->grace_seconds = -1;
  *holder = NULL;
  if (r->body.len) {
    json_t *b = drv_pb_is_protobuf(drv_req_header(r, "Content-Type"))
                    ? drv_pb_decode(r->body.data, r->body.len, NULL)
                    : drv_json_parse(r->body.data, r->body.len, NULL);
    if (!json_is_object(b)) {
      json_decref(b);
      return drv_status_bad_request("the body is not a DeleteOptions object");
    }
    *holder = b;
    d->propagation = json_string_value(json_object_get(b, "propagationPolicy"));
    json_t *g = json_object_get(b, "gracePeriodSeconds");
    if (json_is_integer(g)) d->grace_seconds = (long)json_integer_value(g);
    d->pre_uid = drv_json_get_str(b, "preconditions.uid");
    d->pre_rv = drv_json_get_str(b, "preconditions.resourceVersion");
    json_t *dr = json_object_get(b, "dryRun");
    if (json_is_array(dr) && json_array_size(dr) &&
        strcmp(json_string_value(json_array_get(dr, 0)) ?: "", "All") == 0)
      op->dry_run = true;
    if (json_is_true(json_object_get(b, "orphanDependents"))) d->propagation = "Orphan";
  }
  const char *p = drv_req_arg(r, "propagationPolicy"), *g = drv_req_arg(r, "gracePeriodSeconds");
  if (p) d->propagation = p;
  if (g) d->grace_seconds = strtol(g, NULL, 10);
  if (d->propagation && strcmp(d->propagation, "Foreground") && strcmp(d->propagation, "Background") &&
      strcmp(d->propagation, "Orphan"))
    return drv_status_bad_request("propagationPolicy must be one of Foreground, Background, Orphan");
  return NULL;
}

static enum MHD_Result do_delete(drv_req *r, drv_op *op)
{
  drv_delete_opts d;
  json_t *holder;
  json_t *st = delete_opts(r, op, &d, &holder);
  if (st) return drv_respond_status(r, st);
  drv_store_obj *out;
  bool deleted;
  int rc = drv_op_delete(r->srv, op, &d, &out, &deleted, &st);
  json_decref(holder);
  if (rc < 0) return drv_respond_status(r, st);
  return respond_served(r, op, deleted ? 200 : 202, out);
}

static enum MHD_Result do_delete_collection(drv_req *r, drv_op *op)
{
  json_t *st = NULL;
  sel_ctx sc;
  if (parse_selectors(r, op->res, &sc, &st) < 0) return drv_respond_status(r, st);
  drv_delete_opts d;
  json_t *holder;
  if ((st = delete_opts(r, op, &d, &holder))) {
    sel_free(&sc);
    return drv_respond_status(r, st);
  }
  _cleanup_free_ char *prefix = drv_server_prefix(op->sres, op->ns);
  drv_store_list l;
  drv_store_list_prefix(r->srv->store, prefix, NULL, 0, sc.ls || sc.fs ? sel_match : NULL, &sc, &l);
  sel_free(&sc);
  json_t *items = json_array();
  for (size_t i = 0; i < l.n; i++) {
    json_t *obj = json_loadb(l.items[i]->data, l.items[i]->len, 0, NULL);
    drv_op one = *op;
    one.name = drv_obj_name(obj);
    one.ns = drv_obj_namespace(obj) ? drv_obj_namespace(obj) : "";
    drv_store_obj *out = NULL;
    bool deleted;
    json_t *est = NULL;
    if (one.name && drv_op_delete(r->srv, &one, &d, &out, &deleted, &est) == 0) {
      json_t *o = drv_op_to_served(op, out);
      if (o) json_array_append_new(items, o);
    }
    json_decref(est);
    drv_store_obj_unref(out);
    json_decref(obj);
  }
  drv_store_list_free(&l);
  json_decref(holder);
  char av[128], rv[32];
  drv_api_resource_api_version(op->res, av, sizeof av);
  snprintf(rv, sizeof rv, "%llu", (unsigned long long)drv_store_revision(r->srv->store));
  return drv_respond_json(r, 200, json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", op->res->list_kind,
                                            "apiVersion", av, "metadata", "resourceVersion", rv,
                                            "items", items));
}

/* pods/binding: assigns the pod to a node once. */
static enum MHD_Result do_binding(drv_req *r, drv_op *op)
{
  json_t *b = r->body.len ? drv_json_parse(r->body.data, r->body.len, NULL) : NULL;
  json_t *st = NULL;
  int rc = drv_op_bind(r->srv, op, drv_json_get_str(b, "target.name"),
                       drv_json_get_str(b, "metadata.uid"), &st);
  json_decref(b);
  if (rc < 0) return drv_respond_status(r, st);
  return drv_respond_json(r, 201, json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status",
                                            "apiVersion", "v1", "metadata", "status", "Success",
                                            "code", 201));
}

/* pods/eviction: without disruption budgets, an eviction is a delete with its options. */
static enum MHD_Result do_eviction(drv_req *r, drv_op *op)
{
  json_t *b = !r->body.len ? NULL
              : drv_pb_is_protobuf(drv_req_header(r, "Content-Type"))
                  ? drv_pb_decode(r->body.data, r->body.len, NULL)
                  : drv_json_parse(r->body.data, r->body.len, NULL);
  drv_delete_opts d = {.grace_seconds = -1};
  json_t *dopts = json_object_get(b, "deleteOptions");
  if (json_is_object(dopts)) {
    json_t *g = json_object_get(dopts, "gracePeriodSeconds");
    if (json_is_integer(g)) d.grace_seconds = (long)json_integer_value(g);
    d.pre_uid = drv_json_get_str(dopts, "preconditions.uid");
    d.pre_rv = drv_json_get_str(dopts, "preconditions.resourceVersion");
  }
  drv_op pod = *op;
  pod.sub = NULL;
  drv_store_obj *out = NULL;
  bool deleted;
  json_t *st = NULL;
  int rc = drv_op_delete(r->srv, &pod, &d, &out, &deleted, &st);
  json_decref(b);
  drv_store_obj_unref(out);
  if (rc < 0) return drv_respond_status(r, st);
  json_t *ok = json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                         "metadata", "status", "Success", "code", 201);
  return drv_respond_json(r, 201, ok);
}

/* ---- dispatch ---- */

static enum MHD_Result not_found(drv_req *r)
{
  return drv_respond_status(
      r, drv_status_failure(404, "NotFound", "the server could not find the requested resource"));
}

static enum MHD_Result method_not_allowed(drv_req *r, const drv_api_resource *res)
{
  return drv_respond_status(r, drv_status_method_not_allowed(res, r->method));
}

enum MHD_Result drv_serve_objects(drv_req *r)
{
  drv_route *rt = &r->route;
  const char *version = rt->version;
  const drv_api_resource *res = drv_api_resource_find(rt->group, version, rt->resource);
  if (!res || !res->stored) return not_found(r);
  const drv_api_resource *sres = drv_api_resource_storage(res);
  if (!sres) sres = res;
  if (!res->namespaced && rt->ns[0]) return not_found(r);
  if (res->namespaced && !rt->ns[0] && rt->name[0]) return not_found(r);
  /* across every namespace only reads make sense (list, watch) */
  if (res->namespaced && !rt->ns[0] && strcmp(r->method, "GET") != 0)
    return method_not_allowed(r, res);
  unsigned subbit = 0;
  if (rt->sub[0]) {
    subbit = drv_api_subresource_bit(rt->sub);
    if (!subbit || !(res->subresources & subbit) || !rt->name[0]) return not_found(r);
  }
  drv_op op = {.res = res, .sres = sres, .ns = rt->ns, .name = rt->name[0] ? rt->name : NULL,
               .sub = rt->sub[0] ? rt->sub : NULL, .dry_run = is_dry_run(r)};
  json_t *st = fv_parse(r, &op.fv);
  if (st) return drv_respond_status(r, st);
  char manager[160];
  op.manager = drv_mf_manager(drv_req_arg(r, "fieldManager"), drv_req_header(r, "User-Agent"), manager,
                              sizeof manager);
  if (!r->warnings) r->warnings = json_array();
  op.warnings = r->warnings;
  const char *m = r->method;
  if (subbit & (DRV_SUB_LOG | DRV_SUB_EXEC | DRV_SUB_ATTACH | DRV_SUB_PORTFORWARD)) return drv_serve_pod_proxy(r, res);
  if (subbit == DRV_SUB_TOKEN) return drv_serve_token_request(r);
  if (!strcmp(m, "GET")) {
    bool watch = rt->watch_path || drv_req_flag(r, "watch");
    if (watch) {
      if (op.name) {
        /* watching one object: a collection watch narrowed by name */
        return drv_serve_watch(r, res, sres);
      }
      return drv_serve_watch(r, res, sres);
    }
    if (op.name) {
      if (subbit && subbit != DRV_SUB_STATUS && subbit != DRV_SUB_SCALE) return method_not_allowed(r, res);
      return do_get(r, &op);
    }
    if (!(res->verbs & DRV_VERB_LIST)) return method_not_allowed(r, res);
    return do_list(r, &op);
  }
  if (!strcmp(m, "POST")) {
    if (subbit == DRV_SUB_BINDING) return do_binding(r, &op);
    if (subbit == DRV_SUB_EVICTION) return do_eviction(r, &op);
    if (op.name || !(res->verbs & DRV_VERB_CREATE)) return method_not_allowed(r, res);
    return do_create(r, &op);
  }
  if (!strcmp(m, "PUT")) {
    if (!op.name || !(res->verbs & DRV_VERB_UPDATE)) return method_not_allowed(r, res);
    return do_update(r, &op);
  }
  if (!strcmp(m, "PATCH")) {
    if (!op.name || !(res->verbs & DRV_VERB_PATCH)) return method_not_allowed(r, res);
    return do_patch(r, &op);
  }
  if (!strcmp(m, "DELETE")) {
    if (op.sub) return method_not_allowed(r, res);
    if (op.name) {
      if (!(res->verbs & DRV_VERB_DELETE)) return method_not_allowed(r, res);
      return do_delete(r, &op);
    }
    if (!(res->verbs & DRV_VERB_DELETECOLLECTION)) return method_not_allowed(r, res);
    return do_delete_collection(r, &op);
  }
  return method_not_allowed(r, res);
}
