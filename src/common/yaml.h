/* YAML → JSON as kubectl converts manifests (sigs.k8s.io/yaml): plain scalars become
 * integers, floats, booleans (true/false/yes/no/on/off, YAML 1.1) or null (~, null, empty) by
 * YAML 1.1 rules; quoted scalars stay strings; anchors and aliases resolved; "---" separates
 * documents. Errors carry line numbers. */
#ifndef DRV_COMMON_YAML_H
#define DRV_COMMON_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

/* Nesting deeper than this is refused ("nesting too deep"). */
#define DRV_YAML_MAX_DEPTH 512

/* Every document of buf as a JSON array (empty documents skipped). */
json_t *drv_yaml_load_all(const char *buf, size_t len, drv_err *err);
/* Exactly one document (an empty input is an error; more than one is an error). */
json_t *drv_yaml_load(const char *buf, size_t len, drv_err *err);
/* JSON → YAML text (block style, keys in order, strings quoted when they would otherwise
 * read as another type). Caller frees. */
char *drv_json_to_yaml(const json_t *v);

#endif
