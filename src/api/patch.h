/* The three PATCH kinds Kubernetes serves: JSON patch (RFC 6902), JSON merge patch
 * (RFC 7386) and strategic merge patch (merge keys and $patch directives of the served types;
 * what kubectl apply/edit/label/set send). */
#ifndef DRV_API_PATCH_H
#define DRV_API_PATCH_H

#include <jansson.h>
#include <stddef.h>

#include "api/resource.h"
#include "common/err.h"

typedef enum {
  DRV_PATCH_JSON = 1,      /* application/json-patch+json */
  DRV_PATCH_MERGE,         /* application/merge-patch+json */
  DRV_PATCH_STRATEGIC,     /* application/strategic-merge-patch+json */
  DRV_PATCH_APPLY,         /* application/apply-patch+yaml (not applied here) */
} drv_patch_type;

/* Content-Type (parameters ignored) → patch type; 0 when it is no patch type. */
drv_patch_type drv_patch_type_from_content_type(const char *content_type);

/* Applies patch (bytes as received) to original (not modified) and returns the new object,
 * or NULL with *status set to the Status to answer (400 BadRequest for a malformed patch,
 * 422 Invalid for a failed JSON patch "test" or a bad path, as Kubernetes answers). res is
 * needed for strategic merge (merge keys); may be NULL for the others. */
json_t *drv_api_patch_apply(const drv_api_resource *res, const json_t *original, drv_patch_type type,
                            const char *patch, size_t len, json_t **status);

/* The individual algorithms, on parsed JSON. Each returns a new object or NULL + err. */
json_t *drv_json_merge_patch(const json_t *original, const json_t *patch);
json_t *drv_json_patch(const json_t *original, const json_t *ops, drv_err *err);
/* Strategic merge of patch into original for an object of kind res (type info for nested
 * fields comes from the schema tables: openapi.h). */
json_t *drv_strategic_merge_patch(const drv_api_resource *res, const json_t *original,
                                  const json_t *patch, drv_err *err);

/* JSON pointer (RFC 6901) lookup: "/spec/containers/0/name" with ~0 and ~1 escapes. */
json_t *drv_json_pointer_get(const json_t *root, const char *pointer);

#endif
