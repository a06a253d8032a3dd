/* Node-pressure eviction as kubelet does it with hard thresholds (--eviction-hard): the node's
 * free memory, disk and pids are measured every second against the thresholds; a crossed one
 * sets the Node's MemoryPressure / DiskPressure / PIDPressure condition, rejects new pods that
 * would add to it, and evicts pods one at a time in kubelet's order until it is relieved. An
 * evicted pod is killed at once (no grace period: a hard threshold) and stays on the server in
 * phase Failed with reason Evicted, a message saying why, and a Warning Event.
 *
 * The parser, the ranking and the messages are pure functions (unit-tested); eviction.c's
 * drv_agent_eviction_check() does the measuring and the killing. */
#ifndef DRV_AGENT_EVICTION_H
#define DRV_AGENT_EVICTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum {
  DRV_EV_MEMORY_AVAILABLE = 0, /* memory.available: MemAvailable of /proc/meminfo */
  DRV_EV_NODEFS_AVAILABLE,     /* nodefs.available: free bytes of the data dir's filesystem */
  DRV_EV_NODEFS_INODES_FREE,   /* nodefs.inodesFree */
  DRV_EV_IMAGEFS_AVAILABLE,    /* imagefs.available: the image store's filesystem */
  DRV_EV_IMAGEFS_INODES_FREE,  /* imagefs.inodesFree */
  DRV_EV_PID_AVAILABLE,        /* pid.available: kernel.pid_max minus the processes there are */
  DRV_EV_NSIGNALS
} drv_ev_signal;

typedef struct drv_ev_threshold {
  bool set;
  bool percent;     /* value is a percentage of the capacity */
  double pct;       /* 0..100 */
  int64_t quantity; /* bytes (inodes, pids: a count) */
} drv_ev_threshold;

typedef struct drv_ev_config {
  drv_ev_threshold t[DRV_EV_NSIGNALS];
} drv_ev_config;

/* Parses kubelet's --eviction-hard syntax, "memory.available<100Mi,nodefs.available<10%".
 * NULL gives kubelet's Linux defaults (memory.available<100Mi, nodefs.available<10%,
 * nodefs.inodesFree<5%, imagefs.available<15%); as with kubelet, a given list replaces all of
 * them; "" turns eviction off. Errors name the bad item. */
int drv_ev_parse(const char *spec, drv_ev_config *out, drv_err *err);
const char *drv_ev_signal_name(drv_ev_signal s);

/* A Go duration as kubelet's flags take it ("5m0s", "30s", "1h", "250ms", "0") in ms. */
int drv_ev_parse_duration(const char *s, long long *ms, drv_err *err);

/* The threshold in units of the signal for this capacity. */
int64_t drv_ev_threshold_value(const drv_ev_threshold *t, int64_t capacity);
/* Whether available is below the threshold (an unset threshold never is). */
bool drv_ev_crossed(const drv_ev_threshold *t, int64_t available, int64_t capacity);

/* A candidate for eviction: what kubelet ranks by. */
typedef struct drv_ev_candidate {
  int64_t usage;   /* of the starved resource */
  int64_t request; /* summed requests of that resource */
  int32_t priority;
  size_t index;    /* the caller's */
} drv_ev_candidate;

/* Sorts candidates into kubelet's eviction order: pods whose usage exceeds their requests
 * first (so BestEffort before Burstable over its requests before the rest), then lower
 * priority, then the larger usage above requests. */
void drv_ev_rank(drv_ev_candidate *c, size_t n);

/* Quantity text as kubelet prints it in messages: "100Mi", "21473336Ki", "5%" … (malloc'ed). */
char *drv_ev_format_bytes(int64_t v);

#endif
