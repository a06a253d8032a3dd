/* Status error objects with Kubernetes' reasons, codes and message texts (see status.h). */
#include "api/status.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"

json_t *drv_status_failure(int code, const char *reason, const char *message)
{
  json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:s}", "kind", "Status", "apiVersion", "v1",
                        "metadata", "status", "Failure", "message", message ? message : "");
  if (reason && *reason) json_object_set_new(s, "reason", json_string(reason));
  json_object_set_new(s, "code", json_integer(code));
  return s;
}

json_t *drv_status_success(const char *name, const drv_api_resource *res)
{
  json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                        "metadata", "status", "Success", "code", 200);
  if (name || res) {
    json_t *d = json_object();
    if (name) json_object_set_new(d, "name", json_string(name));
    if (res) {
      json_object_set_new(d, "group", json_string(res->group));
      json_object_set_new(d, "kind", json_string(res->plural));
    }
    json_object_set_new(s, "details", d);
  }
  return s;
}

/* details {name, group, kind}: kind is the resource plural for most errors (as Kubernetes'
 * NewNotFound(qualifiedResource) fills it) and the Kind for Invalid. */
static void set_details(json_t *s, const drv_api_resource *res, const char *name, bool use_kind)
{
  json_t *d = json_object();
  if (name && *name) json_object_set_new(d, "name", json_string(name));
  if (res) {
    if (res->group[0]) json_object_set_new(d, "group", json_string(res->group));
    json_object_set_new(d, "kind", json_string(use_kind ? res->kind : res->plural));
  }
  json_object_set_new(s, "details", d);
}

static const char *qualified(const drv_api_resource *res, char *buf, size_t size)
{
  if (!res) return "resource";
  return drv_api_resource_qualified(res, buf, size);
}

json_t *drv_status_not_found(const drv_api_resource *res, const char *name)
{
  char q[192];
  char *msg = drv_asprintf("%s \"%s\" not found", qualified(res, q, sizeof(q)), name ? name : "");
  json_t *s = drv_status_failure(404, "NotFound", msg);
  free(msg);
  set_details(s, res, name, false);
  return s;
}

json_t *drv_status_already_exists(const drv_api_resource *res, const char *name)
{
  char q[192];
  char *msg = drv_asprintf("%s \"%s\" already exists", qualified(res, q, sizeof(q)),
                           name ? name : "");
  json_t *s = drv_status_failure(409, "AlreadyExists", msg);
  free(msg);
  set_details(s, res, name, false);
  return s;
}

json_t *drv_status_conflict(const drv_api_resource *res, const char *name, const char *why)
{
  char q[192];
  if (!why)
    why = "the object has been modified; please apply your changes to the latest version and "
          "try again";
  char *msg = drv_asprintf("Operation cannot be fulfilled on %s \"%s\": %s",
                           qualified(res, q, sizeof(q)), name ? name : "", why);
  json_t *s = drv_status_failure(409, "Conflict", msg);
  free(msg);
  set_details(s, res, name, false);
  return s;
}

json_t *drv_status_cause(const char *reason, const char *message, const char *field)
{
  json_t *c = json_object();
  json_object_set_new(c, "reason", json_string(reason));
  json_object_set_new(c, "message", json_string(message));
  if (field) json_object_set_new(c, "field", json_string(field));
  return c;
}

json_t *drv_status_invalid(const drv_api_resource *res, const char *name, json_t *causes)
{
  /* `Pod "x" is invalid: spec.containers[0].image: Required value` (one cause) or a
   * bracketed, comma-separated list of "field: message" for several, as ErrorList prints. */
  drv_buf b = DRV_BUF_INIT;
  drv_buf_printf(&b, "%s \"%s\" is invalid: ", res ? res->kind : "Object", name ? name : "");
  size_t n = json_array_size(causes);
  if (n > 1) drv_buf_putc(&b, '[');
  size_t i;
  json_t *c;
  json_array_foreach(causes, i, c)
  {
    if (i) drv_buf_puts(&b, ", ");
    const char *f = json_string_value(json_object_get(c, "field"));
    const char *m = json_string_value(json_object_get(c, "message"));
    if (f && *f) drv_buf_printf(&b, "%s: ", f);
    drv_buf_puts(&b, m ? m : "");
  }
  if (n > 1) drv_buf_putc(&b, ']');
  json_t *s = drv_status_failure(422, "Invalid", b.data);
  drv_buf_free(&b);
  set_details(s, res, name, true);
  json_object_set_new(json_object_get(s, "details"), "causes", causes ? causes : json_array());
  return s;
}

json_t *drv_status_bad_request(const char *message)
{
  return drv_status_failure(400, "BadRequest", message);
}

json_t *drv_status_unauthorized(void)
{
  return drv_status_failure(401, "Unauthorized", "Unauthorized");
}

json_t *drv_status_forbidden(const drv_api_resource *res, const char *name, const char *why)
{
  char q[192];
  char *msg = name && *name ? drv_asprintf("%s \"%s\" is forbidden: %s",
                                           qualified(res, q, sizeof(q)), name, why)
                            : drv_asprintf("%s is forbidden: %s", qualified(res, q, sizeof(q)), why);
  json_t *s = drv_status_failure(403, "Forbidden", msg);
  free(msg);
  set_details(s, res, name, false);
  return s;
}

json_t *drv_status_gone(const char *message)
{
  return drv_status_failure(410, "Expired", message);
}

json_t *drv_status_method_not_allowed(const drv_api_resource *res, const char *method)
{
  char q[192];
  char *msg = drv_asprintf("%s is not supported on resources of kind \"%s\"", method,
                           qualified(res, q, sizeof(q)));
  json_t *s = drv_status_failure(405, "MethodNotAllowed", msg);
  free(msg);
  set_details(s, res, NULL, false);
  return s;
}

json_t *drv_status_too_many_requests(int retry_after_seconds)
{
  json_t *s = drv_status_failure(429, "TooManyRequests",
                                 "Too many requests, please try again later.");
  json_object_set_new(s, "details", json_pack("{s:i}", "retryAfterSeconds", retry_after_seconds));
  return s;
}

json_t *drv_status_internal(const char *message)
{
  char *msg = drv_asprintf("Internal error occurred: %s", message);
  json_t *s = drv_status_failure(500, "InternalError", msg);
  free(msg);
  json_object_set_new(s, "details", json_pack("{s:[{s:s}]}", "causes", "message", message));
  return s;
}

json_t *drv_status_too_large(const char *message)
{
  return drv_status_failure(413, "RequestEntityTooLarge", message);
}

json_t *drv_status_unsupported_media_type(const char *content_type)
{
  char *msg = drv_asprintf("the body of the request was in an unknown format - accepted media "
                           "types include: application/json, application/yaml%s%s",
                           content_type ? "; got: " : "", content_type ? content_type : "");
  json_t *s = drv_status_failure(415, "UnsupportedMediaType", msg);
  free(msg);
  return s;
}

json_t *drv_status_not_acceptable(const char *message)
{
  return drv_status_failure(406, "NotAcceptable", message);
}

int drv_status_code(const json_t *status)
{
  json_t *c = json_object_get(status, "code");
  return json_is_integer(c) ? (int)json_integer_value(c) : 500;
}
