/* Metadata helpers on jansson objects: read and write the ObjectMeta fields every served
 * object has. Getters return NULL/0 when absent; setters create metadata as needed. */
#ifndef DRV_API_OBJECT_H
#define DRV_API_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "api/resource.h"

const char *drv_obj_api_version(const json_t *obj);
const char *drv_obj_kind(const json_t *obj);
const char *drv_obj_name(const json_t *obj);
const char *drv_obj_namespace(const json_t *obj);
const char *drv_obj_generate_name(const json_t *obj);
const char *drv_obj_uid(const json_t *obj);
const char *drv_obj_resource_version(const json_t *obj);
const char *drv_obj_creation_timestamp(const json_t *obj);
const char *drv_obj_deletion_timestamp(const json_t *obj);
long long drv_obj_generation(const json_t *obj);
/* metadata.labels / metadata.annotations objects, NULL when absent. */
json_t *drv_obj_labels(const json_t *obj);
json_t *drv_obj_annotations(const json_t *obj);
const char *drv_obj_label(const json_t *obj, const char *key);
const char *drv_obj_annotation(const json_t *obj, const char *key);
/* metadata.finalizers array, NULL when absent. */
json_t *drv_obj_finalizers(const json_t *obj);
bool drv_obj_has_finalizer(const json_t *obj, const char *finalizer);

/* metadata, created when missing (obj must be a JSON object). */
json_t *drv_obj_meta(json_t *obj);
void drv_obj_set_str(json_t *obj, const char *meta_key, const char *value); /* NULL deletes */
void drv_obj_set_name(json_t *obj, const char *name);
void drv_obj_set_namespace(json_t *obj, const char *ns);
void drv_obj_set_uid(json_t *obj, const char *uid);
void drv_obj_set_resource_version(json_t *obj, const char *rv);
void drv_obj_set_generation(json_t *obj, long long gen);
void drv_obj_set_label(json_t *obj, const char *key, const char *value);      /* NULL deletes */
void drv_obj_set_annotation(json_t *obj, const char *key, const char *value); /* NULL deletes */
/* Sets apiVersion and kind from res. */
void drv_obj_set_type(json_t *obj, const drv_api_resource *res);

/* The owner reference with controller: true, NULL when none. */
json_t *drv_obj_controller_ref(const json_t *obj);

/* RFC 3339 in UTC with seconds ("2026-11-24T21:05:56Z"), as metav1.Time serializes. */
void drv_api_time_format(time_t t, char *buf, size_t size);
/* Same with microseconds, as metav1.MicroTime ("...T21:05:56.123456Z"). */
void drv_api_microtime_format(long long unix_us, char *buf, size_t size);
/* Parses RFC 3339 (fractions and offsets accepted); -1 on malformed. */
int drv_api_time_parse(const char *s, time_t *out);
void drv_obj_set_creation_timestamp(json_t *obj, time_t t);

/* A random RFC 4122 version 4 UUID (36 chars + NUL into buf of size >= 37). */
void drv_api_new_uid(char *buf, size_t size);
/* generateName + 5 random characters from Kubernetes' alphabet (bcdfghjklmnpqrstvwxz2456789);
 * the prefix is cut so the result fits 63 characters. Caller frees. */
char *drv_api_generate_name(const char *prefix);

#endif
