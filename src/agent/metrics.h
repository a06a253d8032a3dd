/* Usage metrics of the node and its containers: sampled every second from cgroups and procfs,
 * pushed to the server (metrics.k8s.io, for the autoscaler and `kubectl top`) and written in
 * Prometheus text format with cAdvisor's metric names for the agent's /metrics.
 *
 * A snapshot is a JSON object:
 *   {"ts": ms, "node": {"cpu_ns", "mem_ws", "mem_usage"},
 *    "containers": [{"namespace", "pod", "container", "id", "image", "cpu_ns", "mem_ws",
 *                    "mem_usage", "rss", "mem_limit", "pids", "oom_kills", "start_s"}],
 *    "pods": [{"namespace", "pod", "rx_bytes", "tx_bytes", "rx_packets", "tx_packets"}]} */
#ifndef DRV_AGENT_METRICS_H
#define DRV_AGENT_METRICS_H

#include <jansson.h>

#include "common/buf.h"

/* Writes snap (may be NULL: node-less output with the agent's own health only). */
void drv_metrics_prometheus(const json_t *snap, const char *node, drv_buf *out);
/* Appends a Prometheus label value with \\, \" and \n escaped. */
void drv_metrics_label(drv_buf *out, const char *v);
/* The NodeMetrics (with its "pods" array) for the server, usage rates between prev and cur.
 * New reference; NULL when prev is NULL (no rate yet). */
json_t *drv_metrics_node_metrics(const json_t *prev, const json_t *cur, const char *node);

#endif
