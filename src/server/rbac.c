/* Authorization in the request path: a request's attributes as Kubernetes derives them (verb
 * from the method, resource, subresource, namespace, name, or the non-resource path), the
 * default policy kept in the store, and the review APIs: SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SubjectAccessReview, LocalSubjectAccessReview
 * (authorization.k8s.io/v1) and SelfSubjectReview (authentication.k8s.io/v1). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api/status.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "server/authz.h"
#include "server/internal.h"
#include "server/ops.h"
#include "server/protobuf.h"
#include "server/tokenrequest.h"

/* ---- request attributes ---- */

static bool streaming_sub(const char *sub)
{
  return !strcmp(sub, "exec") || !strcmp(sub, "attach") || !strcmp(sub, "portforward");
}

/* list/watch narrowed to one object by fieldSelector=metadata.name=X is authorized by name. */
static void name_from_field_selector(drv_req *r, char *buf, size_t size)
{
  const char *fs = drv_req_arg(r, "fieldSelector");
  buf[0] = 0;
  if (!fs) return;
  const char *p = NULL;
  if (!strncmp(fs, "metadata.name==", 15)) p = fs + 15;
  else if (!strncmp(fs, "metadata.name=", 14)) p = fs + 14;
  if (p && !strchr(p, ',') && strlen(p) < size) snprintf(buf, size, "%s", p);
}

static void request_attrs(drv_req *r, drv_authz_attrs *a, char *verb, size_t vsize, char *name,
                          size_t nsize)
{
  const drv_route *rt = &r->route;
  memset(a, 0, sizeof *a);
  const char *m = r->method;
  if (rt->kind != DRV_ROUTE_OBJECTS) {
    size_t i = 0;
    for (; m[i] && i + 1 < vsize; i++) verb[i] = (char)tolower((unsigned char)m[i]);
    verb[i] = 0;
    if (!strcmp(verb, "head")) snprintf(verb, vsize, "get");
    a->verb = verb;
    a->path = r->url;
    return;
  }
  a->resource_request = true;
  a->group = rt->group;
  a->resource = rt->resource;
  a->sub = rt->sub;
  a->ns = rt->ns;
  a->name = rt->name;
  /* a Namespace object is in its own namespace, so RoleBindings there can grant it */
  if (!rt->group[0] && !strcmp(rt->resource, "namespaces") && rt->name[0] && !rt->ns[0]) a->ns = rt->name;
  const char *v = "get";
  if (rt->sub[0] && streaming_sub(rt->sub)) v = "create"; /* websocket GETs too, as 1.31+ */
  else if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
    if (rt->watch_path || drv_req_flag(r, "watch")) v = "watch";
    else if (!rt->name[0]) v = "list";
    if (!rt->name[0]) {
      name_from_field_selector(r, name, nsize);
      a->name = name;
    }
  } else if (!strcmp(m, "POST")) v = "create";
  else if (!strcmp(m, "PUT")) v = "update";
  else if (!strcmp(m, "PATCH")) v = "patch";
  else if (!strcmp(m, "DELETE")) v = rt->name[0] ? "delete" : "deletecollection";
  else v = "unknown";
  snprintf(verb, vsize, "%s", v);
  a->verb = verb;
}

/* ---- node restriction ---- */

/* A field of the request body (JSON, or protobuf as kubectl and client-go send). */
static char *body_field(drv_req *r, const char *path)
{
  if (!r->body.len) return NULL;
  json_t *b = drv_pb_is_protobuf(drv_req_header(r, "Content-Type"))
                  ? drv_pb_decode(r->body.data, r->body.len, NULL)
                  : drv_json_parse(r->body.data, r->body.len, NULL);
  const char *v = drv_json_get_str(b, path);
  char *out = v ? drv_strdup(v) : NULL;
  json_decref(b);
  return out;
}

static bool pod_exists(drv_req *r, const char *ns, const char *name)
{
  const drv_api_resource *res = drv_api_resource_find("", "v1", "pods");
  _cleanup_free_ char *key = drv_server_key(res, ns, name);
  drv_store_obj *o;
  if (drv_store_get(r->srv->store, key, &o) < 0) return false;
  drv_store_obj_unref(o);
  return true;
}

/* spec.nodeName of a stored pod, or NULL. */
static char *pod_node(drv_req *r, const char *ns, const char *name)
{
  const drv_api_resource *res = drv_api_resource_find("", "v1", "pods");
  _cleanup_free_ char *key = drv_server_key(res, ns, name);
  drv_store_obj *o;
  if (drv_store_get(r->srv->store, key, &o) < 0) return NULL;
  json_t *pod = json_loadb(o->data, o->len, 0, NULL);
  drv_store_obj_unref(o);
  const char *n = drv_json_get_str(pod, "spec.nodeName");
  char *out = n ? drv_strdup(n) : NULL;
  json_decref(pod);
  return out;
}

static json_t *node_forbidden(const drv_authz_attrs *a, const char *node, const char *what, const char *name)
{
  char q[256];
  if (a->group && *a->group) snprintf(q, sizeof q, "%s.%s", a->resource, a->group);
  else snprintf(q, sizeof q, "%s", a->resource);
  _cleanup_free_ char *msg = name && *name
      ? drv_asprintf("%s \"%s\" is forbidden: node \"%s\" is not allowed to modify %s", q, name, node, what)
      : drv_asprintf("%s is forbidden: node \"%s\" is not allowed to modify %s", q, node, what);
  json_t *st = drv_status_failure(403, "Forbidden", msg);
  json_t *d = json_pack("{s:s}", "kind", a->resource);
  if (name && *name) json_object_set_new(d, "name", json_string(name));
  json_object_set_new(st, "details", d);
  return st;
}

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

/* A node's pod create: a mirror pod naming no service account, as NodeRestriction admits.
 * Otherwise a node would make a pod of its own run as any service account and then ask that
 * account's token bound to it. */
static json_t *node_pod_create_restrict(drv_req *r, const char *node)
{
  json_t *b = drv_pb_is_protobuf(drv_req_header(r, "Content-Type"))
                  ? drv_pb_decode(r->body.data, r->body.len, NULL)
                  : drv_json_parse(r->body.data, r->body.len, NULL);
  const char *sa = drv_json_get_str(b, "spec.serviceAccountName"), *dep = drv_json_get_str(b, "spec.serviceAccount");
  bool mirror = json_object_get(drv_json_get(b, "metadata.annotations"), MIRROR_ANNOTATION) != NULL;
  _cleanup_free_ char *msg = NULL;
  if (!mirror)
    msg = drv_asprintf("pod does not have \"" MIRROR_ANNOTATION "\" annotation, node \"%s\" can only create mirror pods",
                       node);
  else if ((sa && *sa) || (dep && *dep))
    msg = drv_asprintf("node \"%s\" can not create pods that reference a service account", node);
  json_decref(b);
  return msg ? drv_status_failure(403, "Forbidden", msg) : NULL;
}

/* The pod a node asks a token for is a mirror pod: it runs as no service account. */
static bool is_mirror(const json_t *pod)
{
  return json_object_get(drv_json_get(pod, "metadata.annotations"), MIRROR_ANNOTATION) != NULL;
}

/* A node asks a service account token: only bound to a pod of its own that runs as that
 * service account (Kubernetes' Node authorizer and NodeRestriction). */
static json_t *node_token_restrict(drv_req *r, const drv_authz_attrs *a, const char *node)
{
  _cleanup_free_ char *kind = body_field(r, "spec.boundObjectRef.kind");
  _cleanup_free_ char *pname = body_field(r, "spec.boundObjectRef.name");
  if (!kind || strcmp(kind, "Pod") || !pname)
    return node_forbidden(a, node, "tokens not bound to a pod (spec.boundObjectRef)", a->name);
  const drv_api_resource *res = drv_api_resource_find("", "v1", "pods");
  _cleanup_free_ char *key = drv_server_key(res, a->ns, pname);
  drv_store_obj *o;
  json_t *pod = NULL;
  if (drv_store_get(r->srv->store, key, &o) == 0) {
    pod = json_loadb(o->data, o->len, 0, NULL);
    drv_store_obj_unref(o);
  }
  const char *bound = drv_json_get_str(pod, "spec.nodeName");
  const char *sa = drv_json_get_str(pod, "spec.serviceAccountName");
  json_t *st = NULL;
  if (!bound || strcmp(bound, node)) {
    _cleanup_free_ char *what = drv_asprintf("tokens bound to pods of other nodes (\"%s\" is on \"%s\")", pname,
                                             bound ? bound : "");
    st = node_forbidden(a, node, what, a->name);
  } else if (is_mirror(pod)) {
    _cleanup_free_ char *what = drv_asprintf("tokens bound to mirror pods (\"%s\" runs as no service account)", pname);
    st = node_forbidden(a, node, what, a->name);
  } else if (strcmp(sa ? sa : "default", a->name)) {
    _cleanup_free_ char *what = drv_asprintf("tokens of service accounts its pods do not run as (\"%s\" runs as \"%s\")",
                                             pname, sa ? sa : "default");
    st = node_forbidden(a, node, what, a->name);
  }
  json_decref(pod);
  return st;
}

/* What Kubernetes' Node authorizer and NodeRestriction admission keep a node agent to: its
 * own Node, Lease and metrics, and the pods bound to it; reads stay as RBAC grants them. */
static json_t *node_restrict(drv_req *r, const drv_auth_user *u, const drv_authz_attrs *a)
{
  size_t pl = strlen(DRV_AUTH_NODE_PREFIX);
  if (!a->resource_request || strncmp(u->name, DRV_AUTH_NODE_PREFIX, pl) ||
      !drv_auth_user_in_group(u, DRV_AUTH_NODES))
    return NULL;
  const char *v = a->verb;
  if (!strcmp(v, "get") || !strcmp(v, "list") || !strcmp(v, "watch")) return NULL;
  const char *node = u->name + pl;
  bool create = !strcmp(v, "create");
  bool nodes = !a->group[0] && !strcmp(a->resource, "nodes");
  bool leases = !strcmp(a->group, "coordination.k8s.io") && !strcmp(a->resource, "leases") &&
                !strcmp(a->ns, "kube-node-lease");
  bool metrics = !strcmp(a->group, "metrics.k8s.io") && !strcmp(a->resource, "nodes");
  if (nodes || leases || metrics) {
    _cleanup_free_ char *bname = create && !a->name[0] ? body_field(r, "metadata.name") : NULL;
    const char *target = bname ? bname : a->name;
    if (!strcmp(target, node)) return NULL;
    _cleanup_free_ char *what = drv_asprintf("%s \"%s\"", nodes || metrics ? "node" : "lease", target);
    return node_forbidden(a, node, what, target);
  }
  if (!a->group[0] && !strcmp(a->resource, "serviceaccounts") && !strcmp(a->sub, "token") && create)
    return node_token_restrict(r, a, node);
  if (!a->group[0] && !strcmp(a->resource, "pods") && a->name[0] && strcmp(a->sub, "eviction")) {
    _cleanup_free_ char *bound = pod_node(r, a->ns, a->name);
    /* A pod already gone: the delete answers 404 as Kubernetes' does (an agent's final delete
     * of a pod removed meanwhile is no attempt on another node's pod). */
    if (!bound && !strcmp(v, "delete") && !pod_exists(r, a->ns, a->name)) return NULL;
    if (!bound || strcmp(bound, node)) {
      _cleanup_free_ char *what = drv_asprintf("pods bound to other nodes (\"%s\" is on \"%s\")", a->name,
                                               bound ? bound : "");
      return node_forbidden(a, node, what, a->name);
    }
    return NULL;
  }
  if (!a->group[0] && !strcmp(a->resource, "pods") && create) {
    _cleanup_free_ char *bound = body_field(r, "spec.nodeName");
    if (!bound || strcmp(bound, node)) return node_forbidden(a, node, "pods of other nodes", NULL);
    return node_pod_create_restrict(r, node);
  }
  return NULL;
}

json_t *drv_server_authorize(drv_req *r)
{
  const drv_auth_user *u = r->ident;
  if (!u || !r->srv->authz || drv_auth_user_in_group(u, DRV_AUTH_MASTERS)) return NULL;
  drv_authz_attrs a;
  char verb[32], name[254];
  request_attrs(r, &a, verb, sizeof verb, name, sizeof name);
  if (!drv_authz_allowed(r->srv->authz, u, &a, NULL, 0)) return drv_authz_forbidden_status(u, &a);
  return node_restrict(r, u, &a);
}

__thread const drv_auth_user *drv_server_tls_ident;

json_t *drv_server_rbac_admit(drv_server *s, const drv_api_resource *res, const char *ns, const json_t *obj)
{
  const drv_auth_user *u = drv_server_tls_ident;
  if (!u || !s->authz || strcmp(res->group, "rbac.authorization.k8s.io")) return NULL;
  _cleanup_free_ char *why = drv_authz_escalation(s->authz, u, res->namespaced ? ns : "", obj);
  if (!why) return NULL;
  return drv_status_forbidden(res, drv_json_get_str(obj, "metadata.name"), why);
}

/* ---- impersonation (kubectl --as/--as-group) ---- */

typedef struct group_ctx {
  drv_req *r;
  const drv_auth_user *real;
  drv_auth_user *who;
  json_t *denied;
} group_ctx;

/* One Impersonate-Group header: the real identity must be allowed to impersonate it. */
static enum MHD_Result impersonate_group(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  group_ctx *gc = cls;
  (void)kind;
  if (strcasecmp(key, "Impersonate-Group") || !value || gc->denied) return MHD_YES;
  drv_authz_attrs a = {.verb = "impersonate", .resource_request = true, .group = "", .resource = "groups",
                       .sub = "", .ns = "", .name = value};
  if (!drv_auth_user_in_group(gc->real, DRV_AUTH_MASTERS) &&
      !drv_authz_allowed(gc->r->srv->authz, gc->real, &a, NULL, 0)) {
    gc->denied = drv_authz_forbidden_status(gc->real, &a);
    return MHD_YES;
  }
  if (gc->who->ngroups < DRV_AUTH_MAX_GROUPS - 1 && strlen(value) < sizeof gc->who->groups[0])
    snprintf(gc->who->groups[gc->who->ngroups++], sizeof gc->who->groups[0], "%s", value);
  return MHD_YES;
}

json_t *drv_server_impersonate(drv_req *r, drv_auth_user *ident)
{
  const char *as = drv_req_header(r, "Impersonate-User");
  const char *as_group = drv_req_header(r, "Impersonate-Group");
  if (!as && !as_group) return NULL;
  if (!as || !*as) return drv_status_bad_request("requested impersonation of groups without a user");
  drv_authz_attrs a = {.verb = "impersonate", .resource_request = true, .group = "", .resource = "users",
                       .sub = "", .ns = "", .name = as};
  if (!drv_auth_user_in_group(ident, DRV_AUTH_MASTERS) && !drv_authz_allowed(r->srv->authz, ident, &a, NULL, 0))
    return drv_authz_forbidden_status(ident, &a);
  drv_auth_user who = {0};
  if (strlen(as) >= sizeof who.name) return drv_status_bad_request("Impersonate-User is too long");
  snprintf(who.name, sizeof who.name, "%s", as);
  group_ctx gc = {r, ident, &who, NULL};
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, impersonate_group, &gc);
  if (gc.denied) return gc.denied;
  if (strcmp(who.name, "system:anonymous") && !drv_auth_user_in_group(&who, DRV_AUTH_AUTHENTICATED))
    snprintf(who.groups[who.ngroups++], sizeof who.groups[0], "%s", DRV_AUTH_AUTHENTICATED);
  *ident = who;
  return NULL;
}

/* ---- default policy ---- */

static bool has_entry(const json_t *arr, const json_t *e)
{
  size_t i;
  json_t *x;
  json_array_foreach(arr, i, x) if (json_equal(x, e)) return true;
  return false;
}

/* Creates obj when missing; a default object still marked autoupdate gets back the rules
 * (or subjects) it lacks, as Kubernetes reconciles its bootstrap policy. */
static int reconcile(drv_server *s, json_t *want, drv_err *err)
{
  const char *kind = json_string_value(json_object_get(want, "kind"));
  const char *name = drv_json_get_str(want, "metadata.name");
  const drv_api_resource *res = drv_api_resource_by_kind("rbac.authorization.k8s.io/v1", kind);
  if (!res) return drv_error(err, ENOENT, "the api registry has no %s", kind);
  _cleanup_free_ char *key = drv_server_key(res, "", name);
  drv_op op = {.res = res, .sres = res, .ns = ""};
  drv_store_obj *cur = NULL, *out = NULL;
  json_t *st = NULL;
  int rc = 0;
  if (drv_store_get(s->store, key, &cur) < 0) {
    rc = drv_op_create(s, &op, want, &out, &st);
  } else {
    json_t *have = json_loadb(cur->data, cur->len, 0, NULL);
    drv_store_obj_unref(cur);
    json_t *ann = drv_json_get(have, "metadata.annotations");
    const char *au = json_string_value(json_object_get(ann, "rbac.authorization.kubernetes.io/autoupdate"));
    const char *field = !strcmp(kind, "ClusterRole") ? "rules" : "subjects";
    bool changed = false;
    if (json_is_object(have) && au && !strcmp(au, "true")) {
      json_t *ha = json_object_get(have, field);
      if (!json_is_array(ha)) {
        ha = json_array();
        json_object_set_new(have, field, ha);
      }
      size_t i;
      json_t *w;
      json_array_foreach(json_object_get(want, field), i, w) if (!has_entry(ha, w))
      {
        json_array_append(ha, w);
        changed = true;
      }
    }
    if (changed) {
      op.name = name;
      rc = drv_op_update(s, &op, have, &out, &st);
    }
    json_decref(have);
  }
  drv_store_obj_unref(out);
  if (rc < 0) {
    drv_error(err, 0, "bootstrap %s %s: %s", kind, name,
              json_string_value(json_object_get(st, "message")) ?: "failed");
    json_decref(st);
    return -1;
  }
  return 0;
}

int drv_server_rbac_bootstrap(drv_server *s, drv_err *err)
{
  json_t *all = drv_authz_default_policy();
  size_t i;
  json_t *o;
  int rc = 0;
  json_array_foreach(all, i, o) if (rc == 0) rc = reconcile(s, o, err);
  json_decref(all);
  return rc;
}

/* ---- reviews ---- */

static json_t *groups_json(const drv_auth_user *u)
{
  json_t *g = json_array();
  for (int i = 0; i < u->ngroups; i++) json_array_append_new(g, json_string(u->groups[i]));
  return g;
}

/* authentication.k8s.io/v1 UserInfo: username, uid, groups, extra (key → [values]). */
json_t *drv_server_user_info(const drv_auth_user *u)
{
  json_t *ui = json_pack("{s:s, s:o}", "username", u->name, "groups", groups_json(u));
  if (u->uid[0]) json_object_set_new(ui, "uid", json_string(u->uid));
  if (u->nextra) {
    json_t *ex = json_object();
    for (int i = 0; i < u->nextra; i++) {
      json_t *vals = json_object_get(ex, u->extra[i][0]);
      if (!vals) json_object_set_new(ex, u->extra[i][0], vals = json_array());
      json_array_append_new(vals, json_string(u->extra[i][1]));
    }
    json_object_set_new(ui, "extra", ex);
  }
  return ui;
}

/* Attributes from spec.resourceAttributes or spec.nonResourceAttributes; false when neither. */
static bool review_attrs(const json_t *spec, drv_authz_attrs *a)
{
  memset(a, 0, sizeof *a);
  json_t *ra = json_object_get(spec, "resourceAttributes");
  json_t *na = json_object_get(spec, "nonResourceAttributes");
  if (json_is_object(ra)) {
    a->resource_request = true;
    a->verb = json_string_value(json_object_get(ra, "verb")) ?: "";
    a->group = json_string_value(json_object_get(ra, "group")) ?: "";
    a->resource = json_string_value(json_object_get(ra, "resource")) ?: "";
    a->sub = json_string_value(json_object_get(ra, "subresource")) ?: "";
    a->ns = json_string_value(json_object_get(ra, "namespace")) ?: "";
    a->name = json_string_value(json_object_get(ra, "name")) ?: "";
    return true;
  }
  if (json_is_object(na)) {
    a->verb = json_string_value(json_object_get(na, "verb")) ?: "";
    a->path = json_string_value(json_object_get(na, "path")) ?: "";
    return true;
  }
  return false;
}

static json_t *invalid_spec(const drv_api_resource *res, const char *msg)
{
  json_t *causes = json_array();
  json_array_append_new(causes, drv_status_cause("FieldValueRequired", msg, "spec"));
  return drv_status_invalid(res, "", causes);
}

/* Answers an access review for user u: spec echoed, status {allowed, reason}. */
static enum MHD_Result access_review(drv_req *r, const drv_api_resource *res, json_t *body,
                                     const drv_auth_user *u)
{
  json_t *spec = json_object_get(body, "spec");
  drv_authz_attrs a;
  if (!review_attrs(spec, &a)) {
    json_decref(body);
    return drv_respond_status(
        r, invalid_spec(res, "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified"));
  }
  char why[512];
  bool ok = drv_authz_allowed(r->srv->authz, u, &a, why, sizeof why);
  json_t *status = json_pack("{s:b}", "allowed", ok);
  if (ok && why[0]) json_object_set_new(status, "reason", json_string(why));
  json_object_set_new(body, "status", status);
  json_object_set_new(body, "apiVersion", json_string("authorization.k8s.io/v1"));
  json_object_set_new(body, "kind", json_string(res->kind));
  if (!json_is_object(json_object_get(body, "metadata")))
    json_object_set_new(body, "metadata", json_object());
  return drv_respond_json(r, 201, body);
}

/* The identity a SubjectAccessReview asks about. */
static void user_from_spec(const json_t *spec, drv_auth_user *u)
{
  memset(u, 0, sizeof *u);
  snprintf(u->name, sizeof u->name, "%s", json_string_value(json_object_get(spec, "user")) ?: "");
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(spec, "groups"), i, g)
  {
    const char *s = json_string_value(g);
    if (s && u->ngroups < DRV_AUTH_MAX_GROUPS && strlen(s) < sizeof u->groups[0])
      snprintf(u->groups[u->ngroups++], sizeof u->groups[0], "%s", s);
  }
}

enum MHD_Result drv_serve_reviews(drv_req *r, bool *handled)
{
  const drv_route *rt = &r->route;
  bool authz = !strcmp(rt->group, "authorization.k8s.io"), authn = !strcmp(rt->group, "authentication.k8s.io");
  *handled = false;
  if (!authz && !authn) return MHD_NO;
  const drv_api_resource *res = drv_api_resource_find(rt->group, rt->version, rt->resource);
  if (!res || res->stored) return MHD_NO;
  *handled = true;
  if (rt->name[0] || rt->sub[0] || (rt->ns[0] && !res->namespaced) || (!rt->ns[0] && res->namespaced))
    return drv_respond_status(r, drv_status_failure(404, "NotFound", "the server could not find the requested resource"));
  if (strcmp(r->method, "POST"))
    return drv_respond_status(r, drv_status_method_not_allowed(res, r->method));
  const drv_auth_user *me = r->ident;
  drv_auth_user anon = {.name = "system:anonymous"};
  if (!me) me = &anon;
  json_t *st = NULL;
  json_t *body = drv_req_body_object(r, &st);
  if (!body) return drv_respond_status(r, st);
  if (!strcmp(res->kind, "SelfSubjectReview")) {
    json_object_set_new(body, "status", json_pack("{s:o}", "userInfo", drv_server_user_info(me)));
    json_object_set_new(body, "apiVersion", json_string("authentication.k8s.io/v1"));
    json_object_set_new(body, "kind", json_string("SelfSubjectReview"));
    if (!json_is_object(json_object_get(body, "metadata"))) json_object_set_new(body, "metadata", json_object());
    return drv_respond_json(r, 201, body);
  }
  if (!strcmp(res->kind, "TokenReview")) return drv_serve_token_review(r, body);
  if (!strcmp(res->kind, "SelfSubjectAccessReview")) return access_review(r, res, body, me);
  if (!strcmp(res->kind, "SelfSubjectRulesReview")) {
    const char *ns = drv_json_get_str(body, "spec.namespace");
    json_object_set_new(body, "status", drv_authz_rules_status(r->srv->authz, me, ns ? ns : ""));
    json_object_set_new(body, "apiVersion", json_string("authorization.k8s.io/v1"));
    json_object_set_new(body, "kind", json_string("SelfSubjectRulesReview"));
    if (!json_is_object(json_object_get(body, "metadata"))) json_object_set_new(body, "metadata", json_object());
    return drv_respond_json(r, 201, body);
  }
  /* SubjectAccessReview / LocalSubjectAccessReview: about someone else */
  json_t *spec = json_object_get(body, "spec");
  drv_auth_user who;
  user_from_spec(spec, &who);
  if (!who.name[0] && !who.ngroups) {
    json_decref(body);
    return drv_respond_status(r, invalid_spec(res, "Required value: at least one of user or group must be specified"));
  }
  if (res->namespaced) {
    const char *ns = drv_json_get_str(spec, "resourceAttributes.namespace");
    if (!ns || strcmp(ns, rt->ns)) {
      json_decref(body);
      _cleanup_free_ char *m = drv_asprintf("Invalid value: spec.resourceAttributes.namespace must match "
                                            "metadata.namespace \"%s\"", rt->ns);
      return drv_respond_status(r, invalid_spec(res, m));
    }
  }
  return access_review(r, res, body, &who);
}
