/* Create, update, patch and delete with Kubernetes' semantics over the store. The read-modify-
 * write of update and patch runs inside the store's encode callback, so it is atomic with the
 * revision check: no retry loops for patches. */
#include "server/ops.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/convert.h"
#include "api/defaults.h"
#include "api/managedfields.h"
#include "api/object.h"
#include "api/status.h"
#include "api/strategy.h"
#include "api/validate.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "server/internal.h"

/* ---- helpers ---- */

static json_t *parse_obj(const drv_store_obj *o)
{
  return json_loadb(o->data, o->len, 0, NULL);
}

json_t *drv_op_to_served(const drv_op *op, const drv_store_obj *o)
{
  json_t *obj = parse_obj(o);
  if (!obj || op->res == op->sres) return obj;
  drv_err err;
  json_t *c = drv_api_convert(obj, op->sres, op->res, &err);
  json_decref(obj);
  return c;
}

/* served → storage form; steals obj. */
static json_t *to_storage(const drv_op *op, json_t *obj, json_t **status)
{
  if (op->res == op->sres) return obj;
  drv_err err = {0};
  json_t *c = drv_api_convert(obj, op->res, op->sres, &err);
  json_decref(obj);
  if (!c) *status = drv_status_bad_request(err.msg);
  return c;
}

static json_t *to_served_json(const drv_op *op, json_t *stored)
{
  if (op->res == op->sres) return json_incref(stored);
  drv_err err;
  return drv_api_convert(stored, op->sres, op->res, &err);
}

static char *dump_with_rv(json_t *obj, uint64_t rev, size_t *len)
{
  char rv[32];
  snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
  drv_obj_set_resource_version(obj, rv);
  char *s = json_dumps(obj, JSON_COMPACT);
  *len = strlen(s);
  return s;
}

static void now_rfc3339(char *buf, size_t size)
{
  drv_api_time_format(time(NULL), buf, size);
}

static bool is_res(const drv_api_resource *r, const char *group, const char *plural)
{
  return strcmp(r->group, group) == 0 && strcmp(r->plural, plural) == 0;
}

/* apiVersion/kind of a body against the path's resource: missing are filled in. */
static json_t *check_type(const drv_op *op, json_t *obj)
{
  const char *av = drv_obj_api_version(obj), *kind = drv_obj_kind(obj);
  char want[128];
  drv_api_resource_api_version(op->res, want, sizeof want);
  if (av && *av && strcmp(av, want) != 0) {
    _cleanup_free_ char *m = drv_asprintf(
        "the API version in the data (%s) does not match the expected API version (%s)", av, want);
    return drv_status_bad_request(m);
  }
  if (kind && *kind && strcmp(kind, op->res->kind) != 0) {
    _cleanup_free_ char *m = drv_asprintf(
        "the kind in the data (%s) does not match the expected kind (%s)", kind, op->res->kind);
    return drv_status_bad_request(m);
  }
  drv_obj_set_type(obj, op->res);
  return NULL;
}

static json_t *check_namespace(const drv_op *op, json_t *obj)
{
  json_t *meta = drv_obj_meta(obj);
  if (!op->res->namespaced) {
    json_object_del(meta, "namespace");
    return NULL;
  }
  const char *ns = drv_obj_namespace(obj);
  if (!ns || !*ns) {
    drv_obj_set_namespace(obj, op->ns);
    return NULL;
  }
  if (op->ns && *op->ns && strcmp(ns, op->ns) != 0)
    return drv_status_bad_request(
        "the namespace of the provided object does not match the namespace sent on the request");
  return NULL;
}

static json_t *namespace_usable(drv_server *s, const drv_op *op)
{
  if (!op->res->namespaced) return NULL;
  const drv_api_resource *nsres = drv_api_resource_find("", "v1", "namespaces");
  _cleanup_free_ char *key = drv_server_key(nsres, "", op->ns);
  drv_store_obj *o;
  if (drv_store_get(s->store, key, &o) < 0) return drv_status_not_found(nsres, op->ns);
  /* every create asks: decode only a namespace that can be terminating (the key name is in its
   * bytes as it is whenever metadata has it) */
  if (!memmem(o->data, o->len, "\"deletionTimestamp\"", 19)) {
    drv_store_obj_unref(o);
    return NULL;
  }
  json_t *ns = parse_obj(o);
  drv_store_obj_unref(o);
  json_t *st = NULL;
  if (ns && drv_obj_deletion_timestamp(ns) && op->name == NULL) {
    _cleanup_free_ char *why = drv_asprintf(
        "unable to create new content in namespace %s because it is being terminated", op->ns);
    st = drv_status_forbidden(op->res, drv_obj_name(ns), why);
    json_object_set_new(st, "reason", json_string("Forbidden"));
  }
  json_decref(ns);
  return st;
}

static void strip_server_fields(json_t *obj)
{
  json_t *meta = drv_obj_meta(obj);
  json_object_del(meta, "resourceVersion");
  json_object_del(meta, "selfLink");
  json_object_del(meta, "deletionTimestamp");
  json_object_del(meta, "deletionGracePeriodSeconds");
  json_object_del(meta, "managedFields");
}

/* ---- create ---- */

typedef struct create_ctx {
  json_t *obj;  /* storage form */
} create_ctx;

static int enc_create(void *c, uint64_t rev, const drv_store_obj *cur, char **data, size_t *len,
                      drv_err *err)
{
  create_ctx *cc = c;
  *data = dump_with_rv(cc->obj, rev, len);
  return 0;
}

int drv_op_create(drv_server *s, const drv_op *op, json_t *body, drv_store_obj **out,
                  json_t **status)
{
  *out = NULL;
  *status = NULL;
  if (!json_is_object(body)) {
    *status = drv_status_bad_request("the body of the request is not a JSON object");
    return -1;
  }
  json_t *obj = json_deep_copy(body);
  if ((*status = check_type(op, obj)) || (*status = check_namespace(op, obj))) goto fail;
  const char *name = drv_obj_name(obj);
  const char *gen = drv_obj_generate_name(obj);
  bool generate = (!name || !*name) && gen && *gen;
  if ((!name || !*name) && !generate) {
    json_t *causes = json_array();
    json_array_append_new(causes, drv_status_cause("FieldValueRequired",
                                                   "Required value: name or generateName is required",
                                                   "metadata.name"));
    *status = drv_status_invalid(op->res, "", causes);
    goto fail;
  }
  drv_op nsop = *op;
  nsop.name = NULL;
  if ((*status = namespace_usable(s, &nsop))) goto fail;
  json_t *mf = op->keep_managed ? json_incref(drv_json_get(obj, "metadata.managedFields")) : NULL;
  strip_server_fields(obj);
  if (mf) json_object_set_new(drv_obj_meta(obj), "managedFields", mf);
  char uid[40], ts[64];
  drv_api_new_uid(uid, sizeof uid);
  drv_obj_set_uid(obj, uid);
  now_rfc3339(ts, sizeof ts);
  drv_obj_set_str(obj, "creationTimestamp", ts);
  drv_api_default(op->res, obj);
  drv_api_prepare_for_create(op->res, obj);
  if (is_res(op->sres, "", "pods") && !op->sub &&
      (*status = drv_server_pod_sa_admit(s, op->res, drv_obj_namespace(obj), obj)))
    goto fail;
  if (generate) {
    _cleanup_free_ char *n = drv_api_generate_name(gen);
    drv_obj_set_name(obj, n);
  }
  if ((*status = drv_api_validate(op->res, obj, NULL))) goto fail;
  if ((*status = drv_server_rbac_admit(s, op->res, op->ns, obj))) goto fail; /* no escalation */
  json_t *stored = to_storage(op, obj, status);
  obj = NULL;
  if (!stored) goto fail;
  /* node ports: allocated and written under one lock, so two Services never get the same */
  bool svc = is_res(op->sres, "", "services");
  if (svc) {
    pthread_mutex_lock(&s->np_mu);
    if ((*status = drv_server_cluster_ip(s, op->res, stored, NULL)) ||
        (*status = drv_server_node_ports(s, op->res, stored, NULL))) {
      pthread_mutex_unlock(&s->np_mu);
      json_decref(stored);
      return -1;
    }
  }
  int rc = 0;
  drv_err err = {0};
  for (int attempt = 0; attempt < 8; attempt++) {
    _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, drv_obj_name(stored));
    if (op->dry_run) {
      drv_store_obj *cur;
      if (drv_store_get(s->store, key, &cur) == 0) {
        drv_store_obj_unref(cur);
        rc = DRV_STORE_EEXIST;
      } else {
        size_t len;
        json_object_del(drv_obj_meta(stored), "resourceVersion");
        char *d = json_dumps(stored, JSON_COMPACT);
        len = strlen(d);
        *out = drv_store_obj_new(key, d, len, 0, 0);
        free(d);
        rc = 0;
      }
    } else {
      create_ctx cc = {stored};
      drv_store_write w = {DRV_STORE_PUT, key, true, false, 0, enc_create, &cc};
      rc = drv_store_apply(s->store, &w, out, &err);
    }
    if (rc != DRV_STORE_EEXIST || !generate) break;
    _cleanup_free_ char *n = drv_api_generate_name(gen);
    drv_obj_set_name(stored, n);
  }
  if (svc) pthread_mutex_unlock(&s->np_mu);
  if (rc == 0 && !op->dry_run && is_res(op->sres, "", "namespaces")) {
    drv_err nerr = {0}; /* its default ServiceAccount and kube-root-ca.crt (sadmission.c) */
    if (drv_server_namespace_defaults(s, drv_obj_name(stored), &nerr) < 0)
      drv_log_warn("namespace %s: %s", drv_obj_name(stored), nerr.msg);
  }
  if (rc == DRV_STORE_EEXIST) {
    *status = drv_status_already_exists(op->res, drv_obj_name(stored));
  } else if (rc < 0) {
    *status = drv_status_internal(err.msg);
  }
  json_decref(stored);
  return *status ? -1 : 0;
fail:
  json_decref(obj);
  return -1;
}

/* ---- update, patch, status, scale ---- */

typedef enum { UPD_PUT, UPD_PATCH } upd_kind;

typedef struct update_ctx {
  drv_server *s;
  const drv_op *op;
  upd_kind kind;
  json_t *body;               /* UPD_PUT: the new object (served form) */
  drv_patch_type ptype;       /* UPD_PATCH */
  const char *patch;
  size_t patch_len;
  json_t *status;             /* failure to answer */
  json_t *result;             /* storage form written (for dry runs) */
} update_ctx;

static json_t *conflict(const drv_op *op, const char *name)
{
  return drv_status_conflict(op->res, name, NULL);
}

/* Builds the new served object from the old one and the request. */
static json_t *updated_object(update_ctx *u, json_t *old, json_t **status)
{
  const drv_op *op = u->op;
  bool scale = op->sub && strcmp(op->sub, "scale") == 0;
  json_t *next = NULL;
  if (scale) {
    json_t *cur_scale = drv_api_scale_get(op->res, old);
    if (!cur_scale) {
      *status = drv_status_not_found(op->res, op->name);
      return NULL;
    }
    json_t *new_scale;
    if (u->kind == UPD_PATCH) {
      new_scale = drv_api_patch_apply(NULL, cur_scale, u->ptype, u->patch, u->patch_len, status);
    } else {
      new_scale = json_incref(u->body);
    }
    if (!new_scale) {
      json_decref(cur_scale);
      return NULL;
    }
    const char *rv = drv_obj_resource_version(new_scale);
    if (rv && *rv && strcmp(rv, drv_obj_resource_version(old) ?: "") != 0) {
      *status = conflict(op, op->name);
    } else {
      next = json_deep_copy(old);
      if (drv_api_scale_set(op->res, next, new_scale) < 0) {
        json_decref(next);
        next = NULL;
        json_t *causes = json_array();
        json_array_append_new(causes, drv_status_cause("FieldValueInvalid",
                                                       "Invalid value: must be a non-negative integer",
                                                       "spec.replicas"));
        *status = drv_status_invalid(op->res, op->name, causes);
      }
    }
    json_decref(cur_scale);
    json_decref(new_scale);
    if (next) { /* replicas move to the scaler's entry when anyone applied */
      char ts[64];
      now_rfc3339(ts, sizeof ts);
      drv_mf_track_update(op->res, old, next, op->manager ? op->manager : "drover", op->sub, ts);
    }
    return next;
  }
  if (u->kind == UPD_PATCH) {
    next = drv_api_patch_apply(op->res, old, u->ptype, u->patch, u->patch_len, status);
    if (!next) return NULL;
    if (!json_is_object(next)) {
      json_decref(next);
      *status = drv_status_bad_request("the patch does not result in an object");
      return NULL;
    }
    if (op->warnings || op->fv == DRV_FV_STRICT) {
      json_t *unknown = json_array();
      drv_api_unknown_fields(op->res, next, unknown);
      if (json_array_size(unknown) && op->fv == DRV_FV_STRICT) {
        drv_buf b = DRV_BUF_INIT;
        drv_buf_puts(&b, "strict decoding error: ");
        size_t i;
        json_t *f;
        json_array_foreach(unknown, i, f)
            drv_buf_printf(&b, "%sunknown field \"%s\"", i ? ", " : "", json_string_value(f));
        *status = drv_status_bad_request(b.data);
        drv_buf_free(&b);
        json_decref(unknown);
        json_decref(next);
        return NULL;
      }
      if (op->warnings && op->fv == DRV_FV_WARN) {
        size_t i;
        json_t *f;
        json_array_foreach(unknown, i, f)
        {
          _cleanup_free_ char *w = drv_asprintf("unknown field \"%s\"", json_string_value(f));
          json_array_append_new(op->warnings, json_string(w));
        }
      }
      json_decref(unknown);
    }
  } else {
    next = json_deep_copy(u->body);
  }
  /* the body's resourceVersion, when given, is the optimistic-concurrency precondition */
  const char *rv = drv_obj_resource_version(next);
  const char *oldrv = drv_obj_resource_version(old);
  if (rv && *rv && strcmp(rv, oldrv ? oldrv : "") != 0) {
    json_decref(next);
    *status = conflict(op, op->name);
    return NULL;
  }
  if ((*status = check_type(op, next)) || (*status = check_namespace(op, next))) {
    json_decref(next);
    return NULL;
  }
  const char *name = drv_obj_name(next);
  if (!name || !*name) {
    drv_obj_set_name(next, op->name);
  } else if (strcmp(name, op->name) != 0) {
    _cleanup_free_ char *m = drv_asprintf(
        "the name of the object (%s) does not match the name on the URL (%s)", name, op->name);
    json_decref(next);
    *status = drv_status_bad_request(m);
    return NULL;
  }
  /* what clients cannot change */
  json_t *meta = drv_obj_meta(next), *ometa = drv_obj_meta(old);
  static const char *const keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                     "deletionGracePeriodSeconds", "generation", NULL};
  for (const char *const *k = keep; *k; k++) {
    json_t *v = json_object_get(ometa, *k);
    if (v)
      json_object_set(meta, *k, v);
    else
      json_object_del(meta, *k);
  }
  if (!op->keep_managed) json_object_del(meta, "managedFields");
  json_object_del(meta, "selfLink");
  if (op->sub && strcmp(op->sub, "status") == 0) {
    drv_api_prepare_for_status_update(op->res, next, old);
    *status = drv_api_validate_status(op->res, next, old);
  } else if (op->sub && strcmp(op->sub, "finalize") == 0) {
    json_t *fin = json_incref(drv_json_get(next, "spec.finalizers"));
    json_decref(next);
    next = json_deep_copy(old);
    if (fin)
      drv_json_set(next, "spec.finalizers", fin);
    else
      drv_json_del(next, "spec.finalizers");
    *status = NULL;
  } else {
    drv_api_default(op->res, next);
    drv_api_prepare_for_update(op->res, next, old);
    *status = drv_api_validate(op->res, next, old);
    if (!*status) *status = drv_server_rbac_admit(u->s, op->res, op->ns, next); /* no escalation */
  }
  if (*status) {
    json_decref(next);
    return NULL;
  }
  if (!op->keep_managed) { /* field ownership moves with the change (when anyone applied) */
    char ts[64];
    now_rfc3339(ts, sizeof ts);
    drv_mf_track_update(op->res, old, next, op->manager ? op->manager : "drover", op->sub, ts);
  }
  return next;
}

static int enc_update(void *c, uint64_t rev, const drv_store_obj *cur, char **data, size_t *len,
                      drv_err *err)
{
  update_ctx *u = c;
  const drv_op *op = u->op;
  json_decref(u->result); /* the store runs this again when another write came first */
  u->result = NULL;
  json_t *stored_old = parse_obj(cur);
  json_t *old = stored_old ? to_served_json(op, stored_old) : NULL;
  if (!old) {
    json_decref(stored_old);
    u->status = drv_status_internal("stored object does not decode");
    return drv_error(err, EINVAL, "decode stored object"), -1;
  }
  json_t *next = updated_object(u, old, &u->status);
  json_decref(old);
  if (!next) {
    json_decref(stored_old);
    return drv_error(err, EINVAL, "update refused"), -1;
  }
  json_t *stored = to_storage(op, next, &u->status);
  if (!stored) {
    json_decref(stored_old);
    return drv_error(err, EINVAL, "convert"), -1;
  }
  if (is_res(op->sres, "", "services") && !(op->sub && strcmp(op->sub, "status") == 0) &&
      ((u->status = drv_server_cluster_ip(u->s, op->res, stored, stored_old)) ||
       (u->status = drv_server_node_ports(u->s, op->res, stored, stored_old)))) {
    json_decref(stored);
    json_decref(stored_old);
    return drv_error(err, EINVAL, "node ports refused"), -1;
  }
  /* nothing changed: no new revision, as Kubernetes does */
  drv_obj_set_resource_version(stored, drv_obj_resource_version(stored_old));
  bool same = json_equal(stored, stored_old);
  json_decref(stored_old);
  if (same || op->dry_run) {
    u->result = stored;
    return 1;
  }
  *data = dump_with_rv(stored, rev, len);
  u->result = stored;
  return 0;
}

static int enc_tombstone(void *c, uint64_t rev, const drv_store_obj *cur, char **data,
                         size_t *len, drv_err *err);

/* After a write that left an object marked for deletion with no finalizers: delete it. */
static void finish_deletion(drv_server *s, const drv_op *op, drv_store_obj **out)
{
  if (op->dry_run || !*out) return;
  /* after every update: decode only an object marked for deletion (see namespace_usable) */
  if (!memmem((*out)->data, (*out)->len, "\"deletionTimestamp\"", 19)) return;
  json_t *obj = parse_obj(*out);
  if (!obj) return;
  bool gone = drv_obj_deletion_timestamp(obj) && json_array_size(drv_obj_finalizers(obj)) == 0;
  /* namespaces also wait for spec.finalizers (the namespace controller's, via /finalize) */
  if (gone && is_res(op->sres, "", "namespaces") &&
      json_array_size(drv_json_get(obj, "spec.finalizers")) > 0)
    gone = false;
  /* pods are removed by their node's agent (grace period) unless they never ran */
  if (gone && is_res(op->sres, "", "pods") && drv_json_get_str(obj, "spec.nodeName") &&
      drv_json_get_int(obj, "metadata.deletionGracePeriodSeconds", 0) > 0)
    gone = false;
  json_decref(obj);
  if (!gone) return;
  drv_store_write w = {DRV_STORE_DELETE, (*out)->key, false, true, (*out)->mod_rev,
                       enc_tombstone, NULL};
  drv_err err;
  drv_store_obj *t = NULL;
  if (drv_store_apply(s->store, &w, &t, &err) == 0) {
    drv_store_obj_unref(*out);
    *out = t;
  }
}

static int run_update(drv_server *s, update_ctx *u, drv_store_obj **out, json_t **status)
{
  const drv_op *op = u->op;
  _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, op->name);
  drv_store_write w = {DRV_STORE_PUT, key, false, true, 0, enc_update, u};
  drv_err err = {0};
  bool svc = is_res(op->sres, "", "services");
  if (svc) pthread_mutex_lock(&s->np_mu); /* see drv_server_node_ports */
  int rc = drv_store_apply(s->store, &w, out, &err);
  if (svc) pthread_mutex_unlock(&s->np_mu);
  if (rc == 0 && op->dry_run && u->result) {
    drv_store_obj_unref(*out);
    char *d = json_dumps(u->result, JSON_COMPACT);
    *out = drv_store_obj_new(key, d, strlen(d), 0, 0);
    free(d);
  }
  json_decref(u->result);
  if (rc == 0) {
    finish_deletion(s, op, out);
    return 0;
  }
  if (u->status)
    *status = u->status;
  else if (rc == DRV_STORE_ENOENT)
    *status = drv_status_not_found(op->res, op->name);
  else
    *status = drv_status_internal(err.msg);
  return -1;
}

int drv_op_update(drv_server *s, const drv_op *op, json_t *body, drv_store_obj **out,
                  json_t **status)
{
  *out = NULL;
  *status = NULL;
  if (!json_is_object(body)) {
    *status = drv_status_bad_request("the body of the request is not a JSON object");
    return -1;
  }
  update_ctx u = {s, op, UPD_PUT, body, 0, NULL, 0, NULL, NULL};
  return run_update(s, &u, out, status);
}

int drv_op_patch(drv_server *s, const drv_op *op, drv_patch_type type, const char *patch,
                 size_t len, drv_store_obj **out, json_t **status)
{
  *out = NULL;
  *status = NULL;
  update_ctx u = {s, op, UPD_PATCH, NULL, type, patch, len, NULL, NULL};
  return run_update(s, &u, out, status);
}

/* ---- delete ---- */

typedef struct mark_ctx {
  json_t *obj;  /* storage form, marked */
} mark_ctx;

static int enc_mark(void *c, uint64_t rev, const drv_store_obj *cur, char **data, size_t *len,
                    drv_err *err)
{
  mark_ctx *m = c;
  if (!m->obj) return 1;
  *data = dump_with_rv(m->obj, rev, len);
  return 0;
}

static int enc_tombstone(void *c, uint64_t rev, const drv_store_obj *cur, char **data,
                         size_t *len, drv_err *err)
{
  json_t *obj = parse_obj(cur);
  if (!obj) return 0; /* the store reuses cur's bytes */
  *data = dump_with_rv(obj, rev, len);
  json_decref(obj);
  return 0;
}

int drv_op_delete(drv_server *s, const drv_op *op, const drv_delete_opts *d, drv_store_obj **out,
                  bool *deleted, json_t **status)
{
  *out = NULL;
  *status = NULL;
  *deleted = false;
  _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, op->name);
  for (int attempt = 0; attempt < 100; attempt++) {
    drv_store_obj *cur;
    if (drv_store_get(s->store, key, &cur) < 0) {
      *status = drv_status_not_found(op->res, op->name);
      return -1;
    }
    json_t *obj = parse_obj(cur);
    if (!obj) {
      drv_store_obj_unref(cur);
      *status = drv_status_internal("stored object does not decode");
      return -1;
    }
    const char *uid = drv_obj_uid(obj), *rv = drv_obj_resource_version(obj);
    if (d->pre_uid && *d->pre_uid && strcmp(d->pre_uid, uid ? uid : "") != 0) {
      _cleanup_free_ char *why = drv_asprintf(
          "Precondition failed: UID in precondition: %s, UID in object meta: %s", d->pre_uid,
          uid ? uid : "");
      *status = drv_status_conflict(op->res, op->name, why);
    } else if (d->pre_rv && *d->pre_rv && strcmp(d->pre_rv, rv ? rv : "") != 0) {
      _cleanup_free_ char *why = drv_asprintf(
          "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object "
          "meta: %s", d->pre_rv, rv ? rv : "");
      *status = drv_status_conflict(op->res, op->name, why);
    }
    if (*status) {
      json_decref(obj);
      drv_store_obj_unref(cur);
      return -1;
    }
    /* graceful deletion of a pod that runs on a node: its agent finishes the job */
    long grace = d->grace_seconds;
    bool graceful = false;
    if (is_res(op->sres, "", "pods") && drv_json_get_str(obj, "spec.nodeName")) {
      const char *phase = drv_json_get_str(obj, "status.phase");
      bool done = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
      if (grace < 0) grace = drv_json_get_int(obj, "spec.terminationGracePeriodSeconds", 30);
      graceful = grace > 0 && !done;
    }
    json_t *fins = drv_obj_finalizers(obj);
    bool foreground = d->propagation && strcmp(d->propagation, "Foreground") == 0 &&
                      !drv_obj_has_finalizer(obj, "foregroundDeletion");
    /* Orphan: the garbage collector strips the dependents' ownerReferences, then this */
    bool orphan = d->propagation && strcmp(d->propagation, "Orphan") == 0 &&
                  !drv_obj_has_finalizer(obj, "orphan");
    bool is_ns = is_res(op->sres, "", "namespaces");
    bool has_fins = json_array_size(fins) > 0 || foreground || orphan ||
                    (is_ns && json_array_size(drv_json_get(obj, "spec.finalizers")) > 0);
    if (graceful || has_fins) {
      /* mark: deletionTimestamp set, the object stays until finalizers/the agent are done */
      bool changed = false;
      json_t *meta = drv_obj_meta(obj);
      if (foreground || orphan) {
        if (!fins) {
          fins = json_array();
          json_object_set_new(meta, "finalizers", fins);
        }
        json_array_append_new(fins, json_string(foreground ? "foregroundDeletion" : "orphan"));
        changed = true;
      }
      long cur_grace = drv_json_get_int(obj, "metadata.deletionGracePeriodSeconds", -1);
      if (!drv_obj_deletion_timestamp(obj) || (graceful && grace < cur_grace)) {
        char ts[64];
        drv_api_time_format(time(NULL) + (graceful ? grace : 0), ts, sizeof ts);
        drv_obj_set_str(obj, "deletionTimestamp", ts);
        json_object_set_new(meta, "deletionGracePeriodSeconds",
                            json_integer(graceful ? grace : 0));
        changed = true;
      }
      if (is_ns && strcmp(drv_json_get_str(obj, "status.phase") ?: "", "Terminating") != 0) {
        drv_json_set(obj, "status.phase", json_string("Terminating"));
        changed = true;
      }
      if (op->dry_run || !changed) {
        char *data = json_dumps(obj, JSON_COMPACT);
        *out = drv_store_obj_new(key, data, strlen(data), cur->create_rev, cur->mod_rev);
        free(data);
        json_decref(obj);
        drv_store_obj_unref(cur);
        return 0;
      }
      mark_ctx m = {obj};
      drv_store_write w = {DRV_STORE_PUT, key, false, true, cur->mod_rev, enc_mark, &m};
      drv_err err = {0};
      int rc = drv_store_apply(s->store, &w, out, &err);
      json_decref(obj);
      drv_store_obj_unref(cur);
      if (rc == DRV_STORE_ECONFLICT || rc == DRV_STORE_ENOENT) {
        usleep(200);
        continue;
      }
      if (rc < 0) {
        *status = drv_status_internal(err.msg);
        return -1;
      }
      return 0;
    }
    json_decref(obj);
    if (op->dry_run) {
      *out = cur;
      *deleted = true;
      return 0;
    }
    drv_store_write w = {DRV_STORE_DELETE, key, false, true, cur->mod_rev, enc_tombstone, NULL};
    drv_err err = {0};
    int rc = drv_store_apply(s->store, &w, out, &err);
    drv_store_obj_unref(cur);
    if (rc == DRV_STORE_ECONFLICT || rc == DRV_STORE_ENOENT) {
      usleep(200);
      continue;
    }
    if (rc < 0) {
      *status = drv_status_internal(err.msg);
      return -1;
    }
    *deleted = true;
    return 0;
  }
  *status = drv_status_conflict(op->res, op->name, "the object keeps changing; try again");
  return -1;
}

/* ---- binding ---- */

typedef struct bind_ctx {
  const drv_op *op;
  const char *node, *uid;
  json_t *status;
} bind_ctx;

static int enc_bind(void *c, uint64_t rev, const drv_store_obj *cur, char **data, size_t *len,
                    drv_err *err)
{
  bind_ctx *b = c;
  const drv_op *op = b->op;
  json_t *pod = parse_obj(cur);
  if (!pod) {
    b->status = drv_status_internal("stored pod does not decode");
    return drv_error(err, EINVAL, "decode"), -1;
  }
  const char *assigned = drv_json_get_str(pod, "spec.nodeName");
  if (b->uid && *b->uid && strcmp(b->uid, drv_obj_uid(pod) ?: "") != 0) {
    b->status = drv_status_conflict(op->res, op->name, "the UID in the binding does not match the pod");
  } else if (assigned && *assigned) {
    _cleanup_free_ char *why =
        drv_asprintf("pod %s is already assigned to node \"%s\"", op->name, assigned);
    b->status = drv_status_conflict(op->res, op->name, why);
  } else if (drv_obj_deletion_timestamp(pod)) {
    b->status = drv_status_conflict(op->res, op->name, "the pod is being deleted");
  }
  if (b->status) {
    json_decref(pod);
    return drv_error(err, EINVAL, "binding refused"), -1;
  }
  drv_json_set(pod, "spec.nodeName", json_string(b->node));
  json_t *conds = drv_json_get(pod, "status.conditions");
  if (!json_is_array(conds)) {
    conds = json_array();
    drv_json_set(pod, "status.conditions", conds);
  }
  char ts[64];
  drv_api_time_format(time(NULL), ts, sizeof ts);
  size_t i;
  json_t *cnd;
  json_array_foreach(conds, i, cnd)
  {
    if (strcmp(drv_json_get_str(cnd, "type") ?: "", "PodScheduled") == 0) {
      json_array_remove(conds, i);
      break;
    }
  }
  json_array_append_new(conds, json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status",
                                         "True", "lastProbeTime", "lastTransitionTime", ts));
  if (op->dry_run) {
    json_decref(pod);
    return 1;
  }
  *data = dump_with_rv(pod, rev, len);
  json_decref(pod);
  return 0;
}

int drv_op_bind(drv_server *s, const drv_op *op, const char *node, const char *uid,
                json_t **status)
{
  *status = NULL;
  if (!node || !*node) {
    json_t *causes = json_array();
    json_array_append_new(causes, drv_status_cause("FieldValueRequired", "Required value", "target.name"));
    *status = drv_status_invalid(op->res, op->name, causes);
    return -1;
  }
  _cleanup_free_ char *key = drv_server_key(op->sres, op->ns, op->name);
  bind_ctx b = {op, node, uid, NULL};
  drv_store_write w = {DRV_STORE_PUT, key, false, true, 0, enc_bind, &b};
  drv_err err = {0};
  int rc = drv_store_apply(s->store, &w, NULL, &err);
  if (rc == 0) return 0;
  if (b.status)
    *status = b.status;
  else if (rc == DRV_STORE_ENOENT)
    *status = drv_status_not_found(op->res, op->name);
  else
    *status = drv_status_internal(err.msg);
  return -1;
}

/* ---- bootstrap ---- */

int drv_op_bootstrap(drv_server *s, drv_err *err)
{
  static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease",
                                      NULL};
  const drv_api_resource *nsres = drv_api_resource_find("", "v1", "namespaces");
  if (!nsres) return drv_error(err, ENOENT, "the api registry has no namespaces resource");
  for (const char *const *n = names; *n; n++) {
    _cleanup_free_ char *key = drv_server_key(nsres, "", *n);
    drv_store_obj *o;
    if (drv_store_get(s->store, key, &o) == 0) {
      drv_store_obj_unref(o);
      continue;
    }
    json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                             "metadata", "name", *n);
    drv_op op = {.res = nsres, .sres = nsres, .ns = "", .fv = DRV_FV_IGNORE};
    json_t *st = NULL;
    drv_store_obj *out = NULL;
    int rc = drv_op_create(s, &op, body, &out, &st);
    json_decref(body);
    drv_store_obj_unref(out);
    if (rc < 0) {
      const char *m = json_string_value(json_object_get(st, "message"));
      drv_error(err, EIO, "create namespace `%s`: %s", *n, m ? m : "failed");
      json_decref(st);
      return -1;
    }
  }
  return 0;
}
