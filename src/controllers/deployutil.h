/* The pure arithmetic of Deployments, as Kubernetes computes it (unit-tested on its own):
 * intOrString percentages, surge/unavailable fenceposts, the new ReplicaSet's next size, and
 * the pod-template hash that names ReplicaSets. */
#ifndef DRV_CONTROLLERS_DEPLOYUTIL_H
#define DRV_CONTROLLERS_DEPLOYUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* An intOrString (5 or "25%") scaled against total, rounding up or down; -1 + err when the
 * value is malformed. NULL → dflt. */
int drv_deploy_scaled_value(const json_t *v, long long total, bool round_up, long long dflt,
                            long long *out, drv_err *err);
/* maxSurge rounded up, maxUnavailable rounded down; both 0 → unavailable 1. Defaults 25%. */
int drv_deploy_fenceposts(const json_t *max_surge, const json_t *max_unavailable, long long desired,
                          long long *surge, long long *unavailable, drv_err *err);
/* The new ReplicaSet's size for the next rolling step: replicas + surge minus what all
 * ReplicaSets already ask for, capped at replicas. */
long long drv_deploy_new_rs_replicas(long long replicas, long long surge, long long all_rs_replicas,
                                     long long new_rs_replicas);
/* How many old pods may go: all - (replicas - maxUnavailable) - unavailable new pods. */
long long drv_deploy_max_scaled_down(long long replicas, long long max_unavailable,
                                     long long all_rs_replicas, long long new_rs_replicas,
                                     long long new_rs_available);

/* Proportional scaling of n active ReplicaSets (sorted: largest first) when a Deployment's
 * size changes mid-rollout: sizes[i] and the max-replicas annotation each was last scaled
 * under (annotated[i], <= 0 = unknown → status_replicas) → out[i]. Kubernetes' rules:
 * each gets round(size × (replicas + surge) / annotated) - size, bounded by what is left to
 * add (or remove); leftovers go to the first. */
void drv_deploy_proportions(size_t n, const long long *sizes, const long long *annotated,
                            long long replicas, long long surge, long long status_replicas,
                            long long *out);

/* The pod-template-hash of a template (FNV-1a 32 of its canonical JSON, plus the collision
 * count when > 0), encoded with Kubernetes' safe alphabet as Kubernetes encodes its hash.
 * Stable across processes and restarts: keys are sorted. Caller frees. */
char *drv_deploy_template_hash(const json_t *template, long long collision_count);
/* template equality ignoring the pod-template-hash label. */
bool drv_deploy_templates_equal(const json_t *a, const json_t *b);

#endif
