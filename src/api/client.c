/* The implementation-independent half of the API client: conveniences over ops->call, paths,
 * keys and small object accessors. */
#include "api/client.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

int drv_api_call(drv_api_client *c, const drv_api_request *req, json_t **out, drv_err *err)
{
  if (out) *out = NULL;
  return c->ops->call(c, req, out, err);
}

int drv_api_get(drv_api_client *c, const drv_api_ref *ref, json_t **out, drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_GET, .ref = *ref};
  return drv_api_call(c, &r, out, err);
}

int drv_api_list(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *opts,
                 json_t **out, drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_LIST, .ref = *ref, .list = opts};
  r.ref.name = NULL;
  return drv_api_call(c, &r, out, err);
}

int drv_api_create(drv_api_client *c, const drv_api_ref *ref, json_t *obj, json_t **out,
                   drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_CREATE, .ref = *ref, .body = obj};
  return drv_api_call(c, &r, out, err);
}

int drv_api_update(drv_api_client *c, const drv_api_ref *ref, json_t *obj, json_t **out,
                   drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_UPDATE, .ref = *ref, .body = obj};
  if (!r.ref.name) r.ref.name = drv_json_get_str(obj, "metadata.name");
  return drv_api_call(c, &r, out, err);
}

int drv_api_update_status(drv_api_client *c, const drv_api_ref *ref, json_t *obj, json_t **out,
                          drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_UPDATE, .ref = *ref, .body = obj};
  if (!r.ref.name) r.ref.name = drv_json_get_str(obj, "metadata.name");
  r.ref.subresource = "status";
  return drv_api_call(c, &r, out, err);
}

int drv_api_patch(drv_api_client *c, const drv_api_ref *ref, drv_api_patch_type type,
                  json_t *patch, json_t **out, drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_PATCH, .ref = *ref, .patch_type = type, .body = patch};
  return drv_api_call(c, &r, out, err);
}

int drv_api_delete(drv_api_client *c, const drv_api_ref *ref, const drv_api_delete_opts *opts,
                   json_t **out, drv_err *err)
{
  drv_api_request r = {.verb = DRV_API_DELETE, .ref = *ref, .del = opts};
  return drv_api_call(c, &r, out, err);
}

int drv_api_bind(drv_api_client *c, const char *ns, const char *pod, const char *pod_uid,
                 const char *node, drv_err *err)
{
  json_t *b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
                        "Binding", "metadata", "name", pod, "namespace", ns, "target", "apiVersion",
                        "v1", "kind", "Node", "name", node);
  if (pod_uid && *pod_uid) json_object_set_new(json_object_get(b, "metadata"), "uid", json_string(pod_uid));
  drv_api_ref ref = {.version = "v1", .resource = "pods", .ns = ns, .name = pod, .subresource = "binding"};
  int r = drv_api_create(c, &ref, b, NULL, err);
  json_decref(b);
  return r;
}

int drv_api_watch_open(drv_api_client *c, const drv_api_ref *ref, const drv_api_list_opts *opts,
                       drv_api_watch **out, drv_err *err)
{
  *out = NULL;
  return c->ops->watch_open(c, ref, opts, out, err);
}

int drv_api_watch_next(drv_api_watch *w, int timeout_ms, drv_api_event *ev, drv_err *err)
{
  ev->object = NULL;
  return w->ops->watch_next(w, timeout_ms, ev, err);
}

void drv_api_watch_close(drv_api_watch *w)
{
  if (w) w->ops->watch_close(w);
}

void drv_api_watch_cancel(drv_api_watch *w)
{
  if (w && w->ops->watch_cancel) w->ops->watch_cancel(w);
}

void drv_api_client_free(drv_api_client *c)
{
  if (c) c->ops->free(c);
}

char *drv_api_ref_path(const drv_api_ref *ref)
{
  drv_buf b = DRV_BUF_INIT;
  if (ref->group && *ref->group)
    drv_buf_printf(&b, "/apis/%s/%s", ref->group, ref->version ? ref->version : "v1");
  else
    drv_buf_printf(&b, "/api/%s", ref->version ? ref->version : "v1");
  if (ref->ns && *ref->ns && strcmp(ref->resource, "namespaces") != 0)
    drv_buf_printf(&b, "/namespaces/%s", ref->ns);
  drv_buf_printf(&b, "/%s", ref->resource);
  if (ref->name && *ref->name) drv_buf_printf(&b, "/%s", ref->name);
  if (ref->subresource && *ref->subresource) drv_buf_printf(&b, "/%s", ref->subresource);
  return drv_buf_steal(&b);
}

char *drv_api_key(const char *ns, const char *name)
{
  if (ns && *ns) return drv_asprintf("%s/%s", ns, name ? name : "");
  return drv_strdup(name ? name : "");
}

void drv_api_key_split(const char *key, char **ns, char **name)
{
  const char *slash = strchr(key, '/');
  if (!slash) {
    *ns = drv_strdup("");
    *name = drv_strdup(key);
    return;
  }
  *ns = drv_strndup(key, (size_t)(slash - key));
  *name = drv_strdup(slash + 1);
}
