/* Container probes (liveness, readiness, startup) as kubelet runs them: exec, httpGet and
 * tcpSocket handlers, initialDelaySeconds / periodSeconds / timeoutSeconds and the success and
 * failure thresholds that turn single results into a verdict. */
#ifndef DRV_AGENT_PROBE_H
#define DRV_AGENT_PROBE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

typedef enum { DRV_PROBE_NONE = 0, DRV_PROBE_EXEC, DRV_PROBE_HTTP, DRV_PROBE_TCP } drv_probe_kind;

typedef struct drv_probe_spec {
  drv_probe_kind kind;
  json_t *command;      /* exec: array of strings (borrowed from the pod spec) */
  const char *path;     /* http: "/" when unset */
  const char *host;     /* NULL = pod IP */
  int port;
  int initial_delay_ms, period_ms, timeout_ms;
  int success_threshold, failure_threshold;
} drv_probe_spec;

typedef struct drv_probe_state {
  int successes, failures; /* consecutive */
  int verdict;             /* 1 passing, 0 failing, -1 not decided yet */
  long long next_ms;       /* monotonic time of the next run, 0 = not scheduled */
} drv_probe_state;

/* Parses a Probe object (NULL = no probe: kind NONE). Named ports resolve against the
 * container's ports. Defaults as Kubernetes: period 10 s, timeout 1 s, success 1, failure 3. */
int drv_probe_parse(const json_t *probe, const json_t *ctr, drv_probe_spec *out, drv_err *err);
/* Whether a probe is due at now_ms for a container running since started_ms (monotonic). */
bool drv_probe_due(const drv_probe_state *st, const drv_probe_spec *sp, long long started_ms,
                   long long now_ms);
/* Records one result and schedules the next run; returns the verdict. */
int drv_probe_record(drv_probe_state *st, const drv_probe_spec *sp, bool ok, long long now_ms);
void drv_probe_reset(drv_probe_state *st);

/* A TCP connect to ip:port within timeout_ms, from inside the network namespace of netns_fd
 * (the pod's, so a pod without a node-reachable IP is probed on its own loopback; -1 = the
 * caller's namespace). */
bool drv_probe_tcp(int netns_fd, const char *ip, int port, int timeout_ms);
/* An HTTP/1.1 GET; 200..399 passes. */
bool drv_probe_http(int netns_fd, const char *ip, int port, const char *path, int timeout_ms);

#endif
