/* The scheduler loop: watches Nodes and Pods through an API client, places pending pods with
 * the core (core.h) and binds them through pods/binding; for a pod no node accepts it records
 * a FailedScheduling Event and the PodScheduled=False condition (reason Unschedulable) with
 * Kubernetes' message, and retries with backoff (1 s doubling to 10 s) or sooner when the
 * cluster changes. Pending pods are taken by priority, then age, many per cycle.
 *
 * Only one instance schedules at a time: it holds the Lease kube-system/<scheduler name>.
 *
 * `drover up` runs it in-process: drv_scheduler_start(client, &opts, &s, &err) … at exit
 * drv_scheduler_stop(s). `drover scheduler --kubeconfig FILE` runs it alone. */
#ifndef DRV_SCHEDULER_SCHEDULER_H
#define DRV_SCHEDULER_SCHEDULER_H

#include "api/client.h"
#include "scheduler/core.h"

typedef struct drv_scheduler_opts {
  const char *scheduler_name;   /* pods with this spec.schedulerName; NULL = "default-scheduler" */
  drv_sched_strategy strategy;  /* spread (default) or pack */
  double tolerance;             /* score points the search may give up for speed; < 0 = default */
  int batch;                    /* pods per cycle, 0 = 512 */
  bool no_leader_election;      /* schedule without holding the kube-system/<name> Lease */
} drv_scheduler_opts;

typedef struct drv_scheduler drv_scheduler;

/* The client must outlive the scheduler. */
int drv_scheduler_start(drv_api_client *c, const drv_scheduler_opts *opts, drv_scheduler **out,
                        drv_err *err);
void drv_scheduler_stop(drv_scheduler *s);

/* Counters for tests and metrics. */
typedef struct drv_scheduler_stats {
  unsigned long long scheduled, unschedulable, bind_errors;
} drv_scheduler_stats;
void drv_scheduler_get_stats(drv_scheduler *s, drv_scheduler_stats *out);

#endif
