/* Label selectors ("app=web,tier!=db", "env in (a,b)", "!gpu", matchLabels/matchExpressions)
 * and field selectors ("metadata.name=x,status.phase!=Running"). Parsed once, matched many
 * times; parse errors name the offending part. */
#ifndef DRV_API_SELECTOR_H
#define DRV_API_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>

#include "api/resource.h"
#include "common/err.h"

typedef struct drv_label_selector drv_label_selector;

/* The query-string form ("a=b,c!=d,e in (f,g),h notin (i),j,!k"); "" or NULL selects all. */
drv_label_selector *drv_label_selector_parse(const char *s, drv_err *err);
/* A metav1.LabelSelector JSON ({matchLabels, matchExpressions}); NULL json selects all,
 * {} selects all (as a Deployment's selector would, though validation refuses it). */
drv_label_selector *drv_label_selector_from_json(const json_t *sel, drv_err *err);
/* A plain map selector (Service.spec.selector, ReplicationController): equality on each key.
 * NULL or {} selects nothing when nothing_if_empty (services), everything otherwise. */
drv_label_selector *drv_label_selector_from_map(const json_t *map, bool nothing_if_empty);
/* labels: a JSON object of strings (or NULL = no labels). */
bool drv_label_selector_matches(const drv_label_selector *sel, const json_t *labels);
bool drv_label_selector_empty(const drv_label_selector *sel);
/* Canonical string form ("a=b,c in (d,e)") as Kubernetes prints it; caller frees. */
char *drv_label_selector_string(const drv_label_selector *sel);
/* The value a requirement `key=value` (or `key==value`, `key in (value)`) pins, else NULL:
 * lets a store use an index. */
const char *drv_label_selector_equals(const drv_label_selector *sel, const char *key);
void drv_label_selector_free(drv_label_selector *sel);
void drv_label_selector_freep(drv_label_selector **sel);
#define _cleanup_label_selector_ __attribute__((cleanup(drv_label_selector_freep)))

/* Converts a LabelSelector JSON to its string form ("app=web,tier in (a)") (Scale's
 * status.selector, HPA status); NULL on malformed JSON. Caller frees. */
char *drv_label_selector_json_to_string(const json_t *sel);

typedef struct drv_field_selector drv_field_selector;

/* "f=v,f==v,f!=v"; fields are checked against what res supports (metadata.name,
 * metadata.namespace everywhere; pods: spec.nodeName, spec.restartPolicy, spec.schedulerName,
 * spec.serviceAccountName, status.phase, status.podIP, status.nominatedNodeName; events:
 * involvedObject.*, reason, source, type, reportingComponent; nodes: spec.unschedulable;
 * namespaces: status.phase; secrets: type; ...). An unsupported field gives Kubernetes' error
 * `field label not supported: <f>`. res NULL accepts any dotted path. */
drv_field_selector *drv_field_selector_parse(const drv_api_resource *res, const char *s,
                                             drv_err *err);
bool drv_field_selector_matches(const drv_field_selector *sel, const json_t *obj);
bool drv_field_selector_empty(const drv_field_selector *sel);
/* The value `field=value` pins, else NULL (metadata.name, spec.nodeName index lookups). */
const char *drv_field_selector_equals(const drv_field_selector *sel, const char *field);
void drv_field_selector_free(drv_field_selector *sel);
void drv_field_selector_freep(drv_field_selector **sel);
#define _cleanup_field_selector_ __attribute__((cleanup(drv_field_selector_freep)))

#endif
