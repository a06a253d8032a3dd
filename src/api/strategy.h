/* What the server does to an object around create, update and the status subresource, as
 * Kubernetes' registry strategies do: generation, status reset, spec/status separation. */
#ifndef DRV_API_STRATEGY_H
#define DRV_API_STRATEGY_H

#include <jansson.h>
#include <stdbool.h>

#include "api/resource.h"

/* Before create: metadata.namespace cleared on cluster-scoped kinds; generation 1 where the
 * type tracks it; status cleared for types whose
 * status only controllers write (deployments, replicasets, hpa, ...), pods get status.phase
 * Pending, namespaces Active, nodes keep theirs. */
void drv_api_prepare_for_create(const drv_api_resource *res, json_t *obj);
/* Before update of the main resource: status copied from old (types with a status
 * subresource), generation bumped when spec changed. */
void drv_api_prepare_for_update(const drv_api_resource *res, json_t *obj, const json_t *old);
/* Before an update through /status: everything but status (and metadata labels/annotations
 * is kept from old too, as Kubernetes does) copied from old. */
void drv_api_prepare_for_status_update(const drv_api_resource *res, json_t *obj,
                                       const json_t *old);
/* True when the type has a spec whose changes bump metadata.generation. */
bool drv_api_tracks_generation(const drv_api_resource *res);

/* The Scale subresource (autoscaling/v1 Scale) of a deployment/replicaset, NULL for others. */
json_t *drv_api_scale_get(const drv_api_resource *res, const json_t *obj);
/* Applies a Scale's spec.replicas to obj; -1 when scale has no valid spec.replicas. */
int drv_api_scale_set(const drv_api_resource *res, json_t *obj, const json_t *scale);

#endif
