/* Pod status as Kubernetes reports it, computed from what the agent knows of each container:
 * container states with their reasons, restart counts, phase and the four conditions. Pure
 * functions (no I/O) so the rules are unit-tested on their own. */
#ifndef DRV_AGENT_STATUS_H
#define DRV_AGENT_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { DRV_CS_WAITING = 0, DRV_CS_RUNNING, DRV_CS_TERMINATED } drv_cs_kind;

typedef struct drv_cs_term {
  int exit_code;
  const char *reason; /* "Completed", "Error", "OOMKilled", … */
  const char *message;
  long long started_ms, finished_ms; /* wall clock */
  const char *container_id;
} drv_cs_term;

typedef struct drv_ctr_status {
  const char *name;
  const char *image;
  const char *image_id;
  const char *container_id; /* "drover://<id>", NULL before the first start */
  drv_cs_kind kind;
  const char *reason;  /* waiting: ContainerCreating, ErrImagePull, CrashLoopBackOff, … */
  const char *message;
  long long started_ms; /* running */
  drv_cs_term term;     /* terminated */
  bool has_last;
  drv_cs_term last;     /* lastState.terminated */
  int restart_count;
  bool ready;
  bool started;
} drv_ctr_status;

typedef struct drv_pod_view {
  const char *restart_policy; /* "Always" (default), "OnFailure", "Never" */
  const drv_ctr_status *init;
  size_t n_init;
  const drv_ctr_status *ctrs;
  size_t n_ctrs;
  bool init_done;      /* every init container completed */
  const char *pod_ip;  /* NULL until the sandbox has one */
  const char *host_ip;
  long long start_ms;  /* when the agent accepted the pod */
  const char *reason;  /* pod-level failure reason (e.g. "Evicted"), usually NULL */
  const char *message;
  const char *qos_class; /* "Guaranteed", "Burstable", "BestEffort"; NULL = not reported */
  bool rejected;         /* refused at admission or evicted: Failed whatever the containers */
} drv_pod_view;

/* "Pending", "Running", "Succeeded" or "Failed", by kubelet's rules. */
const char *drv_pod_phase(const drv_pod_view *v);
/* The whole status object (phase, conditions, hostIP, podIP(s), startTime,
 * initContainerStatuses, containerStatuses). prev: the status the server has, to keep
 * lastTransitionTime of conditions that did not change (may be NULL). New reference. */
json_t *drv_pod_status_json(const drv_pod_view *v, const json_t *prev, long long now_ms);

/* Trims a pod as the agent's informer caches it: of the status only phase and conditions
 * (what the agent reads back; it writes the rest itself), no managedFields. Pods' parsed JSON
 * is most of the agent's heap, and the status was more than half of each. */
void drv_pod_trim_cached(json_t *pod);

/* Restart back-off as kubelet does it: 10 s after the first failure, doubling, 5 min at most. */
long long drv_backoff_ms(int failures);

/* RFC 3339 UTC (seconds) of a wall-clock time in ms. */
void drv_status_time(long long ms, char *buf, size_t size);

#endif
