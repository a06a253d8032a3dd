/* The node agent: registers this machine as a Node, renews its Lease every second, runs the
 * pods bound to it as containers (runtime + image libraries, pod network from net/), reports
 * their status, serves logs and metrics on its own HTTP port, and pushes usage to the server.
 *
 * `drover agent` runs it as a process; `drover up` runs it in-process with drv_agent_start()
 * (it still talks to the server only over HTTP). Containers outlive the agent: a restarted
 * agent re-adopts them from its checkpoints in <data_dir>/pods. */
#ifndef DRV_AGENT_AGENT_H
#define DRV_AGENT_AGENT_H

#include <stdbool.h>

#include "common/err.h"

typedef struct drv_agent drv_agent;

typedef struct drv_agent_opts {
  const char *server;     /* API server URL ("https://127.0.0.1:6443"), or from kubeconfig */
  const char *token;      /* bearer token */
  const char *ca_file;    /* CA of the server; NULL with server+token = no verification */
  const char *kubeconfig; /* alternative to server/token/ca_file */
  const char *data_dir;   /* checkpoints, logs, images, runtime state */
  const char *node_name;  /* NULL = hostname */
  const char *node_ip;    /* NULL = the address this machine uses to reach the server */
  const char *listen;     /* agent HTTP "ADDR:PORT"; NULL = node_ip:10250 */
  /* Pod network. Pod CIDR from the Node's spec.podCIDR, else this; neither = pods get a
   * network namespace with loopback only (the host's network is left untouched). */
  const char *pod_cidr;
  const char *bridge;     /* NULL = "drover0" */
  /* Neither pod CIDR at registration: wait this long for the control plane's node IPAM to
   * set spec.podCIDR. 0 = 10 s when a controller manager holds its Lease, else no wait;
   * < 0 = no wait. */
  int pod_cidr_wait_ms;
  int max_pods;           /* 0 = 110 */
  int register_timeout_s; /* keep trying to reach the server this long at start; 0 = once */
  long long pod_max_pids; /* kubelet's --pod-max-pids: pids.max of each pod's cgroup; <= 0 = none */
  /* kubelet's --eviction-hard ("memory.available<100Mi,nodefs.available<10%"); NULL = kubelet's
   * defaults; "" = no eviction. */
  const char *eviction_hard;
  /* kubelet's --eviction-pressure-transition-period: a pressure condition stays True this long
   * after its threshold was last crossed; 0 = kubelet's 5 min (the CLI maps "0s" to 1 ms). */
  long long eviction_transition_ms;
} drv_agent_opts;

/* Checks the options alone (names, CIDR, thresholds, addresses), touching nothing, so that a
 * caller can refuse a command line before it starts or writes anything. */
int drv_agent_opts_check(const drv_agent_opts *opts, drv_err *err);
/* Starts the agent's threads and returns once the Node is registered. */
int drv_agent_start(const drv_agent_opts *opts, drv_agent **out, drv_err *err);
/* Stops the agent's threads; containers keep running (as after a crash). */
void drv_agent_stop(drv_agent *a);
/* Removes the nat rules of the agent with this data dir and node name from the current network
 * namespace (its Services and hostPorts; other agents' rules stay), as kube-proxy --cleanup. */
int drv_agent_cleanup_network(const drv_agent_opts *opts, drv_err *err);
/* Blocks until SIGINT/SIGTERM (for `drover agent`). */
int drv_agent_run(const drv_agent_opts *opts, drv_err *err);

#endif
