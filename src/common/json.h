/* Generic jansson helpers: dotted-path access, parsing with named errors, canonical dumps. */
#ifndef DRV_COMMON_JSON_H
#define DRV_COMMON_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Value at a dotted path ("spec.template.metadata.labels"; no array indexing), NULL when a
 * step is missing or not an object. */
json_t *drv_json_get(const json_t *root, const char *path);
/* String / integer / bool at path, or the default when missing or of another type. */
const char *drv_json_get_str(const json_t *root, const char *path);
long long drv_json_get_int(const json_t *root, const char *path, long long dflt);
bool drv_json_get_bool(const json_t *root, const char *path, bool dflt);
/* Sets path to value (reference stolen), creating intermediate objects (replacing
 * non-objects on the way). Returns -1 when root is not an object. */
int drv_json_set(json_t *root, const char *path, json_t *value);
/* Sets only when missing (value stolen either way). Returns 1 when set, 0 when present. */
int drv_json_set_default(json_t *root, const char *path, json_t *value);
/* Deletes path; missing is fine. */
void drv_json_del(json_t *root, const char *path);
/* The object at key of parent, created (replacing a non-object) when missing. */
json_t *drv_json_obj(json_t *parent, const char *key);

/* Parses a complete JSON value; errors name line and column ("line 3 column 5: ..."). */
json_t *drv_json_parse(const char *buf, size_t len, drv_err *err);
/* Compact dump with sorted keys (stable bytes for hashes and comparisons). Caller frees. */
char *drv_json_dump_canonical(const json_t *v);
/* Compact dump, keys in insertion order. Caller frees. */
char *drv_json_dump(const json_t *v);

#endif
