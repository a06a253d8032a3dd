/* Server-side apply field ownership (metadata.managedFields, fieldsType FieldsV1), as
 * Kubernetes tracks it: every field an applier sets is owned by its (manager, Apply) entry;
 * an apply that changes a field another manager owns is a conflict (409 naming the fields
 * and the managers) unless forced, which takes the field over; fields an applier stops
 * applying are removed unless someone else owns them; ordinary writes (Update) take over the
 * fields they change.
 *
 * Field sets are FieldsV1 JSON: "f:<field>" for struct and map fields, "k:{<merge key>}" for
 * items of keyed lists (containers by name, ...), "v:<value>" for set items, "." for an item
 * itself; a leaf is {}. Merge keys and set/atomic lists come from the schema tables. */
#ifndef DRV_API_MANAGEDFIELDS_H
#define DRV_API_MANAGEDFIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include "api/resource.h"

/* The FieldsV1 set of obj's fields (apiVersion, kind, status and server-set metadata left out). */
json_t *drv_mf_fieldset(const drv_api_resource *res, const json_t *obj);

/* Server-side apply of config by manager onto current (NULL: the object does not exist).
 * Returns the object to write (a new reference; metadata.managedFields set), or NULL with
 * *status: 409 Conflict with a cause per conflicting field, 400 for a bad config. now: the
 * entry's RFC 3339 time. */
json_t *drv_mf_apply(const drv_api_resource *res, const json_t *current, const json_t *config,
                     const char *manager, bool force, const char *now, json_t **status);

/* An ordinary write by manager (subresource "" or e.g. "scale") from old to next: when old
 * has managedFields, next gets them with the changed fields moved to (manager, Update);
 * otherwise nothing happens (objects nobody applied cost nothing). */
void drv_mf_track_update(const drv_api_resource *res, const json_t *old, json_t *next,
                         const char *manager, const char *subresource, const char *now);

/* The manager of a request: the fieldManager parameter, else the User-Agent up to its first
 * '/' ("kubectl"), else "unknown". Copied into buf (size >= 129). */
const char *drv_mf_manager(const char *field_manager, const char *user_agent, char *buf, size_t size);

#endif
