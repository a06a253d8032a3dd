/* Field validation as Kubernetes' ValidateX functions do it: every bad field is a cause
 * with its path ("spec.template.spec.containers[0].image"), reason and message; the result
 * is a 422 Invalid Status naming them all. */
#ifndef DRV_API_VALIDATE_H
#define DRV_API_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "api/resource.h"

/* Validates obj (already defaulted) for create (old == NULL) or update (old != NULL: also
 * immutable fields). Returns NULL when valid, else a new 422 Status (status.h). */
json_t *drv_api_validate(const drv_api_resource *res, const json_t *obj, const json_t *old);
/* Same for an update through /status (only status fields and metadata checked). */
json_t *drv_api_validate_status(const drv_api_resource *res, const json_t *obj,
                                const json_t *old);

/* Name and syntax checks. Each returns NULL when s is valid, else a static message such as
 * "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or
 * '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used
 * for validation is ...)". */
const char *drv_api_check_dns1123_subdomain(const char *s);
const char *drv_api_check_dns1123_label(const char *s);
const char *drv_api_check_dns1035_label(const char *s);
const char *drv_api_check_label_key(const char *s);   /* qualified name with optional prefix */
const char *drv_api_check_label_value(const char *s);
/* The name rule for res (most: subdomain; namespaces, services: DNS-1123/1035 labels). */
const char *drv_api_check_object_name(const drv_api_resource *res, const char *name);

#endif
