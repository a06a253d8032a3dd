/* The pod-level cgroup, as kubelet lays it out: every pod has a group under its QoS class's
 * (<root>/kubepods for Guaranteed, <root>/kubepods/burstable, <root>/kubepods/besteffort) named
 * pod<uid>, holding the sandbox (in a "sandbox" leaf, so that on cgroup v2 no process sits in a
 * group that has children) and one group per container. The pod group carries the pod's summed
 * limits, so containers together never exceed them. */
#ifndef DRV_AGENT_PODCGROUP_H
#define DRV_AGENT_PODCGROUP_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/cgroup.h"

#define DRV_POD_CGROUP_ROOT "/drover/kubepods"

/* Kubernetes' QoS class of a pod spec: "Guaranteed", "Burstable" or "BestEffort" (init
 * containers count as containers do). */
const char *drv_pod_qos_class(const json_t *spec);

/* The pod's group: DRV_POD_CGROUP_ROOT[/burstable|/besteffort]/pod<uid>. */
char *drv_pod_cgroup_path_for(const char *qos, const char *uid);

/* The pod-level resources kubelet sets: cpu shares from the summed requests (2 for BestEffort),
 * a cpu quota when every container has a cpu limit, a memory limit when every container has a
 * memory limit (init containers: the larger of their maximum and the sum of the others; none
 * below 1 MiB, which the container's own limit reports), and
 * pids.max = pod_max_pids when > 0. Bad quantities are errors naming the container. */
int drv_pod_cgroup_resources(const json_t *spec, int64_t pod_max_pids, drv_cgroup_resources *res,
                             drv_err *err);

/* Creates (or updates) the QoS parent and the pod's group with its resources; *path_out gets
 * the pod group's path. */
int drv_pod_cgroup_setup(drv_cgroup_system *sys, const json_t *spec, const char *uid, int64_t pod_max_pids,
                         char **path_out, drv_err *err);

/* Moves pid (the sandbox) into <pod group>/sandbox. */
int drv_pod_cgroup_enter_sandbox(drv_cgroup_system *sys, const char *pod_path, pid_t pid, drv_err *err);

#endif
