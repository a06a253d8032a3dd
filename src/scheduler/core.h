/* The scheduler's core: a node table, the filters and the scores, in pure C over compact
 * structs (strings interned to integers), with no JSON and no API: the plumbing in
 * scheduler.c converts objects (podspec.c) and bench/scheduler drives this directly.
 *
 * Speed: nodes with the same allocatable, labels (but kubernetes.io/hostname), taints and
 * unschedulable flag form a class; node-level filters (selector, affinity, taints) and their
 * scores run once per class, not per node. Each class keeps its nodes in a tournament tree
 * holding, per subtree, the largest free cpu/memory/pods (to prune nodes that cannot fit) and
 * the range of requested cpu/memory (an upper bound of the resource scores). A best-first
 * branch-and-bound over all classes finds the best node and stops when no unexplored subtree
 * can beat it by more than `tolerance` score points: the result is within `tolerance` of the
 * exhaustive scorer's best (drv_sched_place_exhaustive), which is kept for tests and benches.
 *
 * Scores follow Kubernetes' plugins, each 0..100 times a weight: NodeResourcesFit
 * (LeastAllocated = spread, or MostAllocated = bin-packing), NodeResourcesBalancedAllocation,
 * NodeAffinity (preferred terms: matched weight over total weight), TaintToleration
 * (PreferNoSchedule taints not tolerated), PodTopologySpread (ScheduleAnyway constraints:
 * fewer matching pods in the node's domain score higher; DoNotSchedule ones filter),
 * InterPodAffinity (preferred terms: weights of the terms the node's domain satisfies). Not thread-safe: one scheduler thread owns it. */
#ifndef DRV_SCHEDULER_CORE_H
#define DRV_SCHEDULER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t drv_sched_str; /* interned string id, 0 = none */

typedef enum { DRV_SCHED_SPREAD = 0, DRV_SCHED_PACK } drv_sched_strategy;

typedef enum {
  DRV_SCHED_OP_IN = 0,
  DRV_SCHED_OP_NOTIN,
  DRV_SCHED_OP_EXISTS,
  DRV_SCHED_OP_DOES_NOT_EXIST,
  DRV_SCHED_OP_GT,
  DRV_SCHED_OP_LT,
} drv_sched_op;

typedef enum {
  DRV_SCHED_NO_SCHEDULE = 1,
  DRV_SCHED_PREFER_NO_SCHEDULE = 2,
  DRV_SCHED_NO_EXECUTE = 3,
} drv_sched_effect;

typedef struct drv_sched_label {
  drv_sched_str key, value;
} drv_sched_label;

typedef struct drv_sched_expr {
  drv_sched_str key;
  uint8_t op;          /* drv_sched_op */
  uint16_t nvalues;
  drv_sched_str *values;
  long long num;       /* Gt/Lt operand */
} drv_sched_expr;

/* Expressions ANDed (a NodeSelectorTerm, or a LabelSelector with matchLabels as In). */
typedef struct drv_sched_term {
  uint16_t nexprs;
  drv_sched_expr *exprs;
  int32_t weight;      /* preferred terms */
} drv_sched_term;

typedef struct drv_sched_pod_term {
  drv_sched_term sel;
  drv_sched_str topology_key;
  uint16_t nns;
  drv_sched_str *namespaces; /* empty = the pod's own namespace */
} drv_sched_pod_term;

typedef struct drv_sched_taint {
  drv_sched_str key, value;
  uint8_t effect;
} drv_sched_taint;

typedef struct drv_sched_toleration {
  drv_sched_str key;   /* 0 with exists = every taint */
  drv_sched_str value;
  bool exists;         /* operator Exists (else Equal) */
  uint8_t effect;      /* 0 = every effect */
} drv_sched_toleration;

typedef struct drv_sched_port {
  uint16_t port;
  uint8_t proto;       /* 0 TCP, 1 UDP, 2 SCTP */
  uint32_t ip;         /* host IP (network order), 0 = every address */
} drv_sched_port;

typedef struct drv_sched_spread {
  drv_sched_term sel;        /* pods counted (in the pod's namespace) */
  drv_sched_str topology_key;
  int32_t max_skew;
  bool hard;                 /* whenUnsatisfiable: DoNotSchedule (else ScheduleAnyway) */
} drv_sched_spread;

/* What a pod asks of a node. Arrays belong to the struct (drv_sched_pod_clear frees them). */
typedef struct drv_sched_pod {
  int64_t cpu_m, mem, eph;       /* requests: millicores, bytes, bytes */
  int32_t priority;
  drv_sched_str ns;
  uint16_t nlabels, nselector, nrequired, npreferred, ntols, nports, naff, nanti;
  drv_sched_label *labels;
  drv_sched_label *selector;     /* spec.nodeSelector */
  drv_sched_term *required;      /* nodeAffinity required terms (ORed) */
  drv_sched_term *preferred;     /* nodeAffinity preferred terms with weights */
  drv_sched_toleration *tols;
  drv_sched_port *ports;
  drv_sched_pod_term *aff;       /* podAffinity required */
  drv_sched_pod_term *anti;      /* podAntiAffinity required */
  uint16_t nspread;
  drv_sched_spread *spread;      /* topologySpreadConstraints (the first 8 count) */
  uint16_t npaff, npanti;
  drv_sched_pod_term *paff;      /* podAffinity preferred (weight in sel.weight) */
  drv_sched_pod_term *panti;     /* podAntiAffinity preferred */
} drv_sched_pod;

typedef struct drv_sched_node_spec {
  const char *name;
  int64_t cpu_m, mem, eph, pods; /* allocatable (eph 0 = not tracked) */
  bool unschedulable;
  uint16_t nlabels, ntaints;
  const drv_sched_label *labels;
  const drv_sched_taint *taints;
} drv_sched_node_spec;

typedef struct drv_sched_opts {
  drv_sched_strategy strategy;
  int w_fit, w_balanced, w_node_affinity, w_taint; /* Kubernetes defaults 1, 1, 2, 3 */
  int w_spread;      /* PodTopologySpread score weight, Kubernetes default 2 */
  int w_pod_affinity; /* InterPodAffinity (preferred terms) score weight, Kubernetes default 2 */
  double tolerance;  /* score points the fast search may leave on the table; 0 = exact */
} drv_sched_opts;

void drv_sched_opts_default(drv_sched_opts *o);

typedef struct drv_sched drv_sched;

drv_sched *drv_sched_new(const drv_sched_opts *opts);
void drv_sched_free(drv_sched *s);

drv_sched_str drv_sched_intern(drv_sched *s, const char *str);
drv_sched_str drv_sched_intern_n(drv_sched *s, const char *str, size_t len);
const char *drv_sched_string(drv_sched *s, drv_sched_str id);

/* Adds or replaces (by name) a node; its placed pods stay. Returns the node id. */
uint32_t drv_sched_node_set(drv_sched *s, const drv_sched_node_spec *spec);
/* Removes a node: it no longer receives pods (ids are not reused). */
void drv_sched_node_remove(drv_sched *s, const char *name);
/* Node id by name, UINT32_MAX when unknown or removed. */
uint32_t drv_sched_node_find(drv_sched *s, const char *name);
const char *drv_sched_node_name(drv_sched *s, uint32_t node);
size_t drv_sched_node_count(drv_sched *s); /* live nodes */

/* Accounts a pod on a node (bound, or assumed while its binding is in flight). The core keeps
 * its own copy of what affinity needs. Returns a handle for drv_sched_pod_remove. */
uint32_t drv_sched_pod_add(drv_sched *s, uint32_t node, const drv_sched_pod *pod);
void drv_sched_pod_remove(drv_sched *s, uint32_t handle);

/* Best node for pod (fast search), or UINT32_MAX when none fits. *score gets its score. */
uint32_t drv_sched_place(drv_sched *s, const drv_sched_pod *pod, double *score);
/* Same answer by scoring every node (the reference the fast search is measured against). */
uint32_t drv_sched_place_exhaustive(drv_sched *s, const drv_sched_pod *pod, double *score);
/* Score of pod on node, or -1 when a filter rejects it. */
double drv_sched_score(drv_sched *s, const drv_sched_pod *pod, uint32_t node);

/* Kubernetes' FitError text for a pod no node accepts: "0/3 nodes are available: 3
 * Insufficient cpu." (reasons counted per node, sorted). Caller frees. */
char *drv_sched_explain(drv_sched *s, const drv_sched_pod *pod);

void drv_sched_pod_clear(drv_sched_pod *pod);

#endif
