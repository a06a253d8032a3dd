/* Request body decoding with fieldValidation=Strict|Warn|Ignore: unknown fields (against the
 * schema tables) and duplicate fields, reported with Kubernetes' texts. */
#ifndef DRV_API_FIELDVALIDATION_H
#define DRV_API_FIELDVALIDATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/resource.h"

typedef enum {
  DRV_FV_STRICT = 0, /* the default for kubectl >= 1.27 (it sends Strict) */
  DRV_FV_WARN,       /* the server default when the parameter is absent */
  DRV_FV_IGNORE,
} drv_field_validation;

/* "Strict" | "Warn" | "Ignore" (NULL or "" → Warn); -1 on anything else. */
int drv_field_validation_parse(const char *s, drv_field_validation *out);

/* Decodes body (JSON, or YAML when yaml is true; a Kubernetes protobuf envelope, recognized by
 * its "k8s\0" prefix, whatever the flag: see protobuf.h) as an object of res. Unknown and duplicate
 * fields: Strict → NULL + *status 400 BadRequest `strict decoding error: unknown field
 * "spec.foo", duplicate field "x"`; Warn → the object, and each problem appended to
 * *warnings (an array created on demand) as `unknown field "spec.foo"`, to send as
 * `Warning: 299 - "<text>"` headers; Ignore → the object. Malformed bodies → NULL + 400. */
json_t *drv_api_decode(const drv_api_resource *res, const char *body, size_t len, bool yaml,
                       drv_field_validation fv, json_t **warnings, json_t **status);

/* Duplicate keys of a JSON or YAML document as field paths ("metadata.name",
 * "spec.containers[0].env[1].value"), each appended once to out (a JSON array of strings). The
 * text must be one the decoder accepted. Returns how many. */
size_t drv_api_duplicate_fields_json(const char *text, size_t len, json_t *out);
size_t drv_api_duplicate_fields_yaml(const char *text, size_t len, json_t *out);

/* The value of an HTTP Warning header for text, as Kubernetes sends it: `299 - "<text>"` with
 * '"' and '\\' escaped (RFC 7234 quoted-string, which client-go parses). Caller frees. */
char *drv_api_warning_header(const char *text);

/* Unknown fields of obj against res's schema, as paths ("spec.foo", "spec.containers[0].bar"),
 * appended to out (a JSON array of strings). Returns how many were found. */
size_t drv_api_unknown_fields(const drv_api_resource *res, const json_t *obj, json_t *out);

#endif
