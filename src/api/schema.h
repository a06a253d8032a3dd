/* Compact type tables of the served kinds: the one source for OpenAPI documents, strategic
 * merge patch (merge keys, strategies) and unknown-field detection. */
#ifndef DRV_API_SCHEMA_H
#define DRV_API_SCHEMA_H

#include <stdbool.h>

#include "api/resource.h"

typedef enum {
  DRV_S_STRING = 1,
  DRV_S_INT,          /* integer (int32/int64) */
  DRV_S_NUMBER,
  DRV_S_BOOL,
  DRV_S_OBJECT,       /* a struct: `type` names it */
  DRV_S_MAP,          /* map[string]elem (elem object: `type`) */
  DRV_S_ARRAY,        /* []elem (elem object: `type`) */
  DRV_S_INT_OR_STRING,
  DRV_S_QUANTITY,
  DRV_S_TIME,         /* metav1.Time: RFC 3339 string */
  DRV_S_ANY,          /* free-form JSON (RawExtension, unknown fields preserved) */
} drv_schema_kind;

enum {
  DRV_SF_REQUIRED = 1u << 0,
  DRV_SF_REPLACE = 1u << 1,     /* patch strategy replace (atomic) */
  DRV_SF_RETAIN_KEYS = 1u << 2, /* patch strategy retainKeys (volume sources, strategy) */
  DRV_SF_MERGE = 1u << 3,       /* merge a list of primitives as a set (finalizers) */
};

typedef struct drv_schema_type drv_schema_type;

typedef struct drv_schema_field {
  const char *name;
  drv_schema_kind kind;
  drv_schema_kind elem;          /* element kind of MAP/ARRAY */
  const drv_schema_type *type;   /* struct of OBJECT, or of MAP/ARRAY elements */
  const char *merge_key;         /* ARRAY of objects merged by this key (strategy merge) */
  unsigned flags;                /* DRV_SF_* */
  const char *desc;
} drv_schema_field;

struct drv_schema_type {
  const char *name;              /* "io.k8s.api.core.v1.PodSpec" */
  const char *desc;
  const drv_schema_field *fields;  /* terminated by a {NULL} entry */
  bool preserve_unknown;         /* accept fields not listed */
};

/* The top-level type of a served resource (its kind's struct), NULL for none. */
const drv_schema_type *drv_schema_for(const drv_api_resource *res);
/* A field of t by name, NULL when unknown. */
const drv_schema_field *drv_schema_field_find(const drv_schema_type *t, const char *name);
/* Every named type reachable from the served kinds, each once, NULL-terminated static array. */
const drv_schema_type *const *drv_schema_all_types(void);

#endif
