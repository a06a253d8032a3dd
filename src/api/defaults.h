/* Defaults as Kubernetes applies them on create and update (after decoding, before
 * validation): pods' restartPolicy, dnsPolicy, containers' imagePullPolicy...; deployments'
 * strategy and replicas; services' type and target ports; namespaces' finalizers... */
#ifndef DRV_API_DEFAULTS_H
#define DRV_API_DEFAULTS_H

#include <jansson.h>

#include "api/resource.h"

/* Fills missing fields of obj (of resource res) in place, and writes every quantity in its
 * canonical string form (resources, capacities, size limits...). Never fails: malformed fields
 * are left for validation to name. */
void drv_api_default(const drv_api_resource *res, json_t *obj);

/* Pieces other layers reuse (the pod template of a deployment is defaulted as a pod spec; the
 * service account and priority that admission adds are set on pods only). */
void drv_api_default_pod_spec(json_t *spec);
/* A Node's status.nodeInfo with every string Kubernetes serializes (also on status writes). */
void drv_api_default_node_status(json_t *node);
/* Subjects of role bindings (validate_rbac.c). */
void drv_api_default_rbac(json_t *obj);
/* "Always" for ":latest" or no tag (digests aside), else "IfNotPresent". */
const char *drv_api_default_pull_policy(const char *image);

#endif
