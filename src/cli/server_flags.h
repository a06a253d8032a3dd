/* Flags shared by `drover server` and `drover up`, and running until a signal. */
#ifndef DRV_CLI_SERVER_FLAGS_H
#define DRV_CLI_SERVER_FLAGS_H

#include <stdbool.h>

#include "controllers/controllers.h"
#include "server/server.h"

/* `drover up` only: the local agent. */
typedef struct drv_cli_up_flags {
  bool no_agent;             /* --no-agent */
  const char *agent_listen;  /* --agent-listen ADDR:PORT (default: the agent's, :10250) */
  const char *node_name;     /* --node-name NAME (default: host name) */
  const char *bridge;        /* --bridge NAME: the local agent's pod bridge (default drover0) */
  const char *eviction_hard; /* --eviction-hard LIST (default: kubelet's thresholds) */
  drv_controllers_opts ctl;  /* --cluster-cidr, --node-cidr-mask-size, --allocate-node-cidrs */
} drv_cli_up_flags;

/* Parses --data-dir, --listen, --log-level, --max-requests-inflight, --max-requests-per-second,
 * --max-body-bytes into o (strings point into argv), and with up != NULL the agent flags.
 * Returns 0, 1 after --help, -1 on a bad flag (message printed). */
int drv_cli_server_flags(const char *verb, int argc, char **argv, drv_server_opts *o,
                         drv_cli_up_flags *up);
/* --node-cidr-mask-size N or --allocate-node-cidrs[=true|false] (v NULL = true) into o.
 * Returns 0 or -1 (message printed). */
int drv_cli_node_cidr_flag(const char *verb, const char *flag, const char *v, drv_controllers_opts *o);
/* Blocks SIGINT/SIGTERM for every thread started after it; drv_cli_wait_signal waits for one. */
void drv_cli_block_signals(void);
int drv_cli_wait_signal(void);

#endif
