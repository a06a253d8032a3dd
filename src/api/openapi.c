/* OpenAPI v3 documents generated from the schema tables (see openapi.h): component schemas
 * with the patch-strategy extensions kubectl reads, and the path operations with the
 * fieldValidation parameter kubectl looks for before it asks for server-side validation. */
#include "api/openapi.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/resource.h"
#include "api/schema.h"
#include "common/json.h"
#include "common/util.h"

#define REF_PREFIX "#/components/schemas/"
#define QTY_NAME "io.k8s.apimachinery.pkg.api.resource.Quantity"
#define IOS_NAME "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
#define TIME_NAME "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
#define PATCH_NAME "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
#define STATUS_NAME "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
#define DELOPTS_NAME "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"

typedef struct doc {
  char path[96];   /* "api/v1", "apis/apps/v1" */
  char *json;
  char hash[65];
} doc;

static doc docs[16];
static size_t ndocs;
static char *index_json;

static json_t *ref(const char *name)
{
  char *r = drv_asprintf(REF_PREFIX "%s", name);
  json_t *o = json_pack("{s:s}", "$ref", r);
  free(r);
  return o;
}

/* A reference wrapped the way Kubernetes' v3 documents do it (so descriptions can sit beside). */
static json_t *ref_field(const char *name, const char *desc)
{
  json_t *o = json_pack("{s:[o]}", "allOf", ref(name));
  if (desc && *desc) json_object_set_new(o, "description", json_string(desc));
  return o;
}

static json_t *scalar_schema(drv_schema_kind k, const char *desc);

static json_t *kind_schema(drv_schema_kind k, const drv_schema_type *t, const char *desc)
{
  if (k == DRV_S_OBJECT) {
    json_t *o = ref_field(t->name, desc);
    json_object_set_new(o, "default", json_object());
    return o;
  }
  return scalar_schema(k, desc);
}

static json_t *scalar_schema(drv_schema_kind k, const char *desc)
{
  json_t *o;
  switch (k) {
  case DRV_S_STRING: o = json_pack("{s:s}", "type", "string"); break;
  case DRV_S_INT: o = json_pack("{s:s, s:s}", "type", "integer", "format", "int64"); break;
  case DRV_S_NUMBER: o = json_pack("{s:s, s:s}", "type", "number", "format", "double"); break;
  case DRV_S_BOOL: o = json_pack("{s:s}", "type", "boolean"); break;
  case DRV_S_QUANTITY: o = ref_field(QTY_NAME, desc); return o;
  case DRV_S_INT_OR_STRING: o = ref_field(IOS_NAME, desc); return o;
  case DRV_S_TIME: o = ref_field(TIME_NAME, desc); return o;
  default: o = json_pack("{s:s, s:b}", "type", "object", "x-kubernetes-preserve-unknown-fields", 1); break;
  }
  if (desc && *desc) json_object_set_new(o, "description", json_string(desc));
  return o;
}

static json_t *field_schema(const drv_schema_field *f)
{
  json_t *o;
  if (f->kind == DRV_S_ARRAY) {
    o = json_pack("{s:s, s:o}", "type", "array", "items", kind_schema(f->elem, f->type, NULL));
    if (f->merge_key) {
      json_object_set_new(o, "x-kubernetes-patch-merge-key", json_string(f->merge_key));
      json_object_set_new(o, "x-kubernetes-patch-strategy",
                          json_string(f->flags & DRV_SF_RETAIN_KEYS ? "merge,retainKeys" : "merge"));
    } else if (f->flags & DRV_SF_MERGE) {
      json_object_set_new(o, "x-kubernetes-patch-strategy", json_string("merge"));
      json_object_set_new(o, "x-kubernetes-list-type", json_string("set"));
    } else {
      json_object_set_new(o, "x-kubernetes-list-type", json_string("atomic"));
    }
    if (f->desc && *f->desc) json_object_set_new(o, "description", json_string(f->desc));
  } else if (f->kind == DRV_S_MAP) {
    json_t *item = kind_schema(f->elem, f->type, NULL);
    if (f->elem == DRV_S_STRING) json_object_set_new(item, "default", json_string(""));
    o = json_pack("{s:s, s:o}", "type", "object", "additionalProperties", item);
    if (f->desc && *f->desc) json_object_set_new(o, "description", json_string(f->desc));
  } else {
    o = kind_schema(f->kind, f->type, f->desc);
    if (f->flags & DRV_SF_RETAIN_KEYS)
      json_object_set_new(o, "x-kubernetes-patch-strategy", json_string("retainKeys"));
  }
  return o;
}

static json_t *type_schema(const drv_schema_type *t)
{
  json_t *props = json_object();
  json_t *req = json_array();
  for (const drv_schema_field *f = t->fields; f->name; f++) {
    json_object_set_new(props, f->name, field_schema(f));
    if (f->flags & DRV_SF_REQUIRED) json_array_append_new(req, json_string(f->name));
  }
  json_t *o = json_pack("{s:s, s:s, s:o}", "description", t->desc ? t->desc : "", "type", "object",
                        "properties", props);
  if (json_array_size(req)) json_object_set_new(o, "required", req);
  else json_decref(req);
  if (t->preserve_unknown) json_object_set_new(o, "x-kubernetes-preserve-unknown-fields", json_true());
  return o;
}

static void add_type(json_t *schemas, const drv_schema_type *t)
{
  if (!t || json_object_get(schemas, t->name)) return;
  json_object_set_new(schemas, t->name, type_schema(t));
  for (const drv_schema_field *f = t->fields; f->name; f++) add_type(schemas, f->type);
}

static json_t *gvk(const char *g, const char *v, const char *k)
{
  return json_pack("{s:s, s:s, s:s}", "group", g, "version", v, "kind", k);
}

static json_t *param(const char *name, const char *in, const char *desc, bool required)
{
  json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:b}}", "name", name, "in", in, "description",
                        desc, "schema", "type", "string", "uniqueItems", 1);
  if (required) json_object_set_new(p, "required", json_true());
  return p;
}

static void write_params(json_t *params, bool patch)
{
  json_array_append_new(params, param("dryRun", "query",
      "When present, modifications are not persisted. Valid value: All.", false));
  json_array_append_new(params, param("fieldManager", "query",
      "A name associated with the actor or entity that is making these changes.", false));
  json_array_append_new(params, param("fieldValidation", "query",
      "How the server handles unknown and duplicate fields in the object: Ignore, Warn "
      "(default) or Strict.", false));
  if (patch)
    json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "force", "in",
        "query", "description", "Force is going to \"force\" Apply requests.", "schema", "type", "boolean"));
}

static json_t *json_content(json_t *schema)
{
  json_t *c = json_object();
  const char *types[] = {"application/json", "application/yaml"};
  for (size_t i = 0; i < 2; i++) json_object_set_new(c, types[i], json_pack("{s:O}", "schema", schema));
  json_decref(schema);
  return c;
}

static json_t *response(const char *type_name)
{
  return json_pack("{s:{s:s, s:o}, s:{s:s}}", "200", "description", "OK", "content",
                   json_content(ref(type_name)), "401", "description", "Unauthorized");
}

static json_t *operation(const drv_api_resource *r, const char *action, const char *op_id,
                         const char *desc, const char *resp_type, const char *body_type,
                         const char *sub, const drv_schema_type *subt)
{
  json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "description", desc, "operationId", op_id,
                        "responses", response(resp_type), "x-kubernetes-action", action);
  const char *g = r->group, *v = r->version, *k = r->kind;
  if (sub && subt && !strcmp(sub, "token")) { /* serviceaccounts/token: a TokenRequest */
    g = "authentication.k8s.io";
    v = "v1";
    k = "TokenRequest";
  } else if (sub && subt) { /* scale: autoscaling/v1 Scale */
    g = "autoscaling";
    v = "v1";
    k = "Scale";
  }
  json_object_set_new(o, "x-kubernetes-group-version-kind", gvk(g, v, k));
  json_t *params = json_array();
  if (!strcmp(action, "post") || !strcmp(action, "put") || !strcmp(action, "patch"))
    write_params(params, !strcmp(action, "patch"));
  if (!strcmp(action, "list") || !strcmp(action, "watchlist") || !strcmp(action, "deletecollection")) {
    const char *lp[] = {"labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
                        "timeoutSeconds", "watch", "allowWatchBookmarks", "sendInitialEvents"};
    for (size_t i = 0; i < DRV_ARRAY_LEN(lp); i++)
      json_array_append_new(params, param(lp[i], "query", lp[i], false));
  }
  if (json_array_size(params)) json_object_set_new(o, "parameters", params);
  else json_decref(params);
  if (body_type) {
    json_t *content;
    if (!strcmp(action, "patch")) {
      content = json_object();
      const char *pts[] = {"application/apply-patch+yaml", "application/json-patch+json",
                           "application/merge-patch+json", "application/strategic-merge-patch+json"};
      for (size_t i = 0; i < DRV_ARRAY_LEN(pts); i++)
        json_object_set_new(content, pts[i], json_pack("{s:o}", "schema", ref(PATCH_NAME)));
    } else {
      content = json_pack("{s:{s:o}}", "*/*", "schema", ref(body_type));
    }
    json_object_set_new(o, "requestBody", json_pack("{s:o, s:b}", "content", content, "required", 1));
  }
  return o;
}

static void path_params(json_t *item, bool ns, bool name)
{
  json_t *p = json_array();
  if (name) json_array_append_new(p, param("name", "path", "name of the resource", true));
  if (ns) json_array_append_new(p, param("namespace", "path", "object name and auth scope, such as for teams and projects", true));
  json_array_append_new(p, param("pretty", "query", "If 'true', then the output is pretty printed.", false));
  json_object_set_new(item, "parameters", p);
}

/* "apps" + "v1" + "Deployment" → "AppsV1"; core → "CoreV1". */
static void op_prefix(const drv_api_resource *r, char *buf, size_t size)
{
  char g[64] = "Core";
  if (r->group[0]) {
    size_t n = strcspn(r->group, ".");
    if (n >= sizeof(g)) n = sizeof(g) - 1;
    memcpy(g, r->group, n);
    g[n] = '\0';
    g[0] = (char)(g[0] - 'a' + 'A');
  }
  snprintf(buf, size, "%s%c%s", g, r->version[0] - 'a' + 'A', r->version + 1);
}

static void add_paths(json_t *paths, const drv_api_resource *r, const char *type_name,
                      const char *list_name)
{
  char base[128], pfx[64], id[256];
  if (r->group[0]) snprintf(base, sizeof(base), "/apis/%s/%s", r->group, r->version);
  else snprintf(base, sizeof(base), "/api/%s", r->version);
  op_prefix(r, pfx, sizeof(pfx));
  const char *scope = r->namespaced ? "Namespaced" : "";
  char *coll = r->namespaced ? drv_asprintf("%s/namespaces/{namespace}/%s", base, r->plural)
                             : drv_asprintf("%s/%s", base, r->plural);
  json_t *item = json_object();
  snprintf(id, sizeof(id), "list%s%s%s", pfx, scope, r->kind);
  if (r->verbs & DRV_VERB_LIST) /* reviews are create-only */
    json_object_set_new(item, "get", operation(r, "list", id, "list or watch objects", list_name, NULL, NULL, NULL));
  if (r->verbs & DRV_VERB_CREATE) {
    snprintf(id, sizeof(id), "create%s%s%s", pfx, scope, r->kind);
    json_object_set_new(item, "post", operation(r, "post", id, "create an object", type_name, type_name, NULL, NULL));
  }
  if (r->verbs & DRV_VERB_DELETECOLLECTION) {
    snprintf(id, sizeof(id), "deletecollection%s%s%s", pfx, scope, r->kind);
    json_object_set_new(item, "delete", operation(r, "deletecollection", id, "delete collection", STATUS_NAME, NULL, NULL, NULL));
  }
  path_params(item, r->namespaced, false);
  json_object_set_new(paths, coll, item);
  char *one = drv_asprintf("%s/{name}", coll);
  item = json_object();
  snprintf(id, sizeof(id), "read%s%s%s", pfx, scope, r->kind);
  if (r->verbs & DRV_VERB_GET)
    json_object_set_new(item, "get", operation(r, "get", id, "read the specified object", type_name, NULL, NULL, NULL));
  if (r->verbs & DRV_VERB_UPDATE) {
    snprintf(id, sizeof(id), "replace%s%s%s", pfx, scope, r->kind);
    json_object_set_new(item, "put", operation(r, "put", id, "replace the specified object", type_name, type_name, NULL, NULL));
  }
  if (r->verbs & DRV_VERB_PATCH) {
    snprintf(id, sizeof(id), "patch%s%s%s", pfx, scope, r->kind);
    json_object_set_new(item, "patch", operation(r, "patch", id, "partially update the specified object", type_name, PATCH_NAME, NULL, NULL));
  }
  if (r->verbs & DRV_VERB_DELETE) {
    snprintf(id, sizeof(id), "delete%s%s%s", pfx, scope, r->kind);
    json_object_set_new(item, "delete", operation(r, "delete", id, "delete an object", STATUS_NAME, NULL, NULL, NULL));
  }
  path_params(item, r->namespaced, true);
  if (r->verbs & (DRV_VERB_GET | DRV_VERB_UPDATE | DRV_VERB_PATCH | DRV_VERB_DELETE)) json_object_set_new(paths, one, item);
  else json_decref(item);
  /* status and scale subresources */
  const unsigned subs[] = {DRV_SUB_STATUS, DRV_SUB_SCALE};
  for (size_t s = 0; s < 2; s++) {
    if (!(r->subresources & subs[s])) continue;
    const char *sn = drv_api_subresource_name(subs[s]);
    const char *tn = subs[s] == DRV_SUB_SCALE ? "io.k8s.api.autoscaling.v1.Scale" : type_name;
    const drv_schema_type *st = subs[s] == DRV_SUB_SCALE ? (const drv_schema_type *)1 : NULL;
    char *sp = drv_asprintf("%s/%s", one, sn);
    char cap[32];
    snprintf(cap, sizeof(cap), "%c%s", sn[0] - 'a' + 'A', sn + 1);
    item = json_object();
    snprintf(id, sizeof(id), "read%s%s%s%s", pfx, scope, r->kind, cap);
    json_object_set_new(item, "get", operation(r, "get", id, "read the subresource", tn, NULL, sn, st));
    snprintf(id, sizeof(id), "replace%s%s%s%s", pfx, scope, r->kind, cap);
    json_object_set_new(item, "put", operation(r, "put", id, "replace the subresource", tn, tn, sn, st));
    snprintf(id, sizeof(id), "patch%s%s%s%s", pfx, scope, r->kind, cap);
    json_object_set_new(item, "patch", operation(r, "patch", id, "partially update the subresource", tn, PATCH_NAME, sn, st));
    path_params(item, r->namespaced, true);
    json_object_set_new(paths, sp, item);
    free(sp);
  }
  if (r->subresources & DRV_SUB_TOKEN) { /* POST serviceaccounts/{name}/token */
    static const char treq[] = "io.k8s.api.authentication.v1.TokenRequest";
    char *sp = drv_asprintf("%s/token", one);
    item = json_object();
    snprintf(id, sizeof(id), "create%s%s%sToken", pfx, scope, r->kind);
    json_object_set_new(item, "post", operation(r, "post", id, "create token of a ServiceAccount", treq, treq, "token",
                                                (const drv_schema_type *)1));
    path_params(item, r->namespaced, true);
    json_object_set_new(paths, sp, item);
    free(sp);
  }
  if (r->namespaced && (r->verbs & DRV_VERB_LIST)) {
    char *all = drv_asprintf("%s/%s", base, r->plural);
    item = json_object();
    snprintf(id, sizeof(id), "list%s%sForAllNamespaces", pfx, r->kind);
    json_object_set_new(item, "get", operation(r, "list", id, "list or watch objects of any namespace", list_name, NULL, NULL, NULL));
    path_params(item, false, false);
    json_object_set_new(paths, all, item);
    free(all);
  }
  free(one);
  free(coll);
}

static void add_meta_schemas(json_t *schemas)
{
  json_object_set_new(schemas, QTY_NAME, json_pack("{s:s, s:[{s:s},{s:s}]}", "description",
      "Quantity is a fixed-point representation of a number (e.g. 100m, 128Mi, 1.5).", "oneOf",
      "type", "string", "type", "number"));
  json_object_set_new(schemas, IOS_NAME, json_pack("{s:s, s:s, s:s}", "description",
      "IntOrString is a type that can hold an int32 or a string.", "type", "string", "format",
      "int-or-string"));
  json_object_set_new(schemas, TIME_NAME, json_pack("{s:s, s:s, s:s}", "description",
      "Time is a wrapper around time.Time, serialized in RFC 3339 form.", "type", "string",
      "format", "date-time"));
  json_object_set_new(schemas, PATCH_NAME, json_pack("{s:s, s:s}", "description",
      "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
      "type", "object"));
  json_object_set_new(schemas, STATUS_NAME, json_pack("{s:s, s:s, s:b}", "description",
      "Status is a return value for calls that don't return other objects.", "type", "object",
      "x-kubernetes-preserve-unknown-fields", 1));
  json_object_set_new(schemas, DELOPTS_NAME, json_pack("{s:s, s:s, s:b}", "description",
      "DeleteOptions may be provided when deleting an API object.", "type", "object",
      "x-kubernetes-preserve-unknown-fields", 1));
}

/* The schema of a subresource's own kind (Scale, TokenRequest), with its group-version-kind. */
static void add_subresource_type(json_t *schemas, const drv_api_resource *res)
{
  const drv_schema_type *t = drv_schema_for(res);
  add_type(schemas, t);
  json_object_set_new(json_object_get(schemas, t->name), "x-kubernetes-group-version-kind",
                      json_pack("[o]", gvk(res->group, res->version, res->kind)));
}

static char *build_doc(const char *group, const char *version)
{
  json_t *schemas = json_object();
  json_t *paths = json_object();
  add_meta_schemas(schemas);
  size_t n;
  const drv_api_resource *rs = drv_api_resources(&n);
  for (size_t i = 0; i < n; i++) {
    const drv_api_resource *r = &rs[i];
    if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
    const drv_schema_type *t = drv_schema_for(r);
    if (!t) continue;
    add_type(schemas, t);
    json_object_set_new(json_object_get(schemas, t->name), "x-kubernetes-group-version-kind",
                        json_pack("[o]", gvk(r->group, r->version, r->kind)));
    /* the List type beside it: "io.k8s.api.apps.v1.DeploymentList" */
    char *list_name = drv_asprintf("%sList", t->name);
    json_t *list = json_pack("{s:s, s:s, s:{s:{s:s}, s:{s:s, s:o}, s:{s:s}, s:o}, s:[s], s:[o]}",
        "description", "A list of objects.", "type", "object", "properties",
        "apiVersion", "type", "string", "items", "type", "array", "items", ref_field(t->name, NULL),
        "kind", "type", "string", "metadata", ref_field("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta", NULL),
        "required", "items", "x-kubernetes-group-version-kind", gvk(r->group, r->version, r->list_kind));
    json_object_set_new(schemas, list_name, list);
    if (r->subresources & DRV_SUB_SCALE) {
      static const drv_api_resource scale_res = {"autoscaling", "v1", "Scale", "ScaleList", "", "",
                                                 NULL, NULL, true, 0, 0, "", "", false};
      add_subresource_type(schemas, &scale_res);
    }
    if (r->subresources & DRV_SUB_TOKEN) { /* serviceaccounts/token takes a TokenRequest */
      static const drv_api_resource treq_res = {"authentication.k8s.io", "v1", "TokenRequest", "", "", "",
                                                NULL, NULL, true, 0, 0, "", "", false};
      add_subresource_type(schemas, &treq_res);
    }
    add_paths(paths, r, t->name, list_name);
    free(list_name);
  }
  /* ListMeta for the List types */
  const drv_schema_type *const *all = drv_schema_all_types();
  for (size_t i = 0; all[i]; i++)
    if (!strcmp(all[i]->name, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")) add_type(schemas, all[i]);
  json_t *d = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o, s:{s:{s:s, s:s, s:s, s:s}}}, s:[{s:[]}]}",
      "openapi", "3.0.0", "info", "title", "Kubernetes", "version", "v1.32.0", "paths", paths,
      "components", "schemas", schemas, "securitySchemes", "BearerToken", "type", "apiKey",
      "description", "Bearer Token authentication", "name", "authorization", "in", "header",
      "security", "BearerToken");
  char *s = drv_json_dump_canonical(d);
  json_decref(d);
  return s;
}

static void build_all(void)
{
  json_t *index_paths = json_object();
  for (const char *const *gv = drv_api_group_versions(); *gv && ndocs < DRV_ARRAY_LEN(docs); gv++) {
    const char *slash = strchr(*gv, '/');
    char group[64] = "";
    const char *version = *gv;
    if (slash) {
      snprintf(group, sizeof(group), "%.*s", (int)(slash - *gv), *gv);
      version = slash + 1;
    }
    doc *d = &docs[ndocs++];
    if (slash) snprintf(d->path, sizeof(d->path), "apis/%s", *gv);
    else snprintf(d->path, sizeof(d->path), "api/%s", *gv);
    d->json = build_doc(group, version);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)d->json, strlen(d->json), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(d->hash + 2 * i, 3, "%02X", md[i]);
    char *url = drv_asprintf("/openapi/v3/%s?hash=%s", d->path, d->hash);
    json_object_set_new(index_paths, d->path, json_pack("{s:s}", "serverRelativeURL", url));
    free(url);
  }
  json_t *idx = json_pack("{s:o}", "paths", index_paths);
  index_json = drv_json_dump(idx);
  json_decref(idx);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

const char *drv_api_openapi_index(void)
{
  pthread_once(&once, build_all);
  return index_json;
}

const char *drv_api_openapi_doc(const char *path, const char **hash)
{
  pthread_once(&once, build_all);
  while (*path == '/') path++;
  if (!strncmp(path, "openapi/v3/", 11)) path += 11;
  size_t n = strcspn(path, "?");
  while (n && path[n - 1] == '/') n--;
  for (size_t i = 0; i < ndocs; i++)
    if (strlen(docs[i].path) == n && !strncmp(docs[i].path, path, n)) {
      if (hash) *hash = docs[i].hash;
      return docs[i].json;
    }
  return NULL;
}
