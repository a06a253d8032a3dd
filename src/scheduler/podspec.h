/* Converts API objects into the scheduler core's compact structs. */
#ifndef DRV_SCHEDULER_PODSPEC_H
#define DRV_SCHEDULER_PODSPEC_H

#include <jansson.h>

#include "scheduler/core.h"

/* What pod asks of a node: requests (max of the init containers' and the sum of the
 * containers', plus overhead; limits stand in for missing requests), priority, labels,
 * nodeSelector, node affinity, tolerations, host ports, required pod (anti-)affinity,
 * topology spread constraints.
 * out must be zeroed or cleared; drv_sched_pod_clear frees it. */
void drv_sched_pod_from_json(drv_sched *s, const json_t *pod, drv_sched_pod *out);

/* Node spec from a Node (allocatable, labels, taints, unschedulable). The label and taint
 * arrays are allocated into *labels and *taints for the caller to free after drv_sched_node_set. */
void drv_sched_node_from_json(drv_sched *s, const json_t *node, drv_sched_node_spec *out,
                              drv_sched_label **labels, drv_sched_taint **taints);

#endif
