/* `drover agent`: the node agent as a process. `drover agent sandbox DIR` is the pod sandbox
 * the agent starts for each pod (not meant to be run by hand). */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/eviction.h"
#include "agent/sandbox.h"
#include "cli/commands.h"
#include "common/log.h"

static void usage(FILE *out)
{
  fprintf(out,
          "usage: drover agent --data-dir DIR (--server URL --token T [--ca-file F] | --kubeconfig F)\n"
          "                    [--node-name N] [--node-ip IP] [--listen ADDR:PORT]\n"
          "                    [--pod-cidr CIDR] [--bridge NAME] [--max-pods N] [--log-level L]\n"
          "                    [--eviction-hard memory.available<100Mi,nodefs.available<10%%,...]\n"
          "                    [--eviction-pressure-transition-period DURATION (5m0s)]\n"
          "                    [--pod-max-pids N] [--cleanup-iptables]\n"
          "\n"
          "Registers this machine as a Node and runs the pods bound to it. Without a pod CIDR\n"
          "(the Node's spec.podCIDR or --pod-cidr) pods get loopback-only networking.\n"
          "--eviction-hard: kubelet's hard eviction thresholds (a list replaces all defaults; \"\" = none).\n"
          "--cleanup-iptables: remove this agent's Service and hostPort rules (by --data-dir and\n"
          "--node-name) from the current network namespace and exit.\n");
}

/* The full drover binary hands a standalone agent over to build/drover-agent (next to it)
 * when present: same process (execv keeps the pid), but only the agent's libraries mapped,
 * which is most of its resident memory. DROVER_AGENT_EXEC=0 keeps it in this binary. */
static void exec_lean_agent(char **argv)
{
  char path[PATH_MAX];
  const char *env = getenv("DROVER_AGENT_EXEC");
  if (env && !strcmp(env, "0")) return;
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
  if (n <= 0) return;
  path[n] = '\0';
  char *slash = strrchr(path, '/');
  if (!slash || !strcmp(slash + 1, "drover-agent")) return;
  strcpy(slash + 1, "drover-agent");
  if (access(path, X_OK) < 0) return;
  argv[0] = (char *)"drover-agent";
  execv(path, argv);
  argv[0] = (char *)"agent";
}

int drv_cmd_agent(int argc, char **argv)
{
  if (argc >= 3 && !strcmp(argv[1], "sandbox")) return drv_sandbox_main(argv[2]);
  exec_lean_agent(argv);
  static const struct option longopts[] = {
      {"server", required_argument, NULL, 's'},     {"token", required_argument, NULL, 't'},
      {"ca-file", required_argument, NULL, 'c'},    {"kubeconfig", required_argument, NULL, 'k'},
      {"data-dir", required_argument, NULL, 'd'},   {"node-name", required_argument, NULL, 'n'},
      {"node-ip", required_argument, NULL, 'i'},    {"listen", required_argument, NULL, 'l'},
      {"pod-cidr", required_argument, NULL, 'p'},   {"bridge", required_argument, NULL, 'b'},
      {"max-pods", required_argument, NULL, 'm'},   {"log-level", required_argument, NULL, 'L'},
      {"eviction-hard", required_argument, NULL, 'E'}, {"pod-max-pids", required_argument, NULL, 'P'},
      {"cleanup-iptables", no_argument, NULL, 'C'},
      {"eviction-pressure-transition-period", required_argument, NULL, 'T'},
      {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
  };
  drv_agent_opts o = {.register_timeout_s = 300};
  drv_log_level level = DRV_LOG_INFO;
  bool cleanup = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 's': o.server = optarg; break;
    case 't': o.token = optarg; break;
    case 'c': o.ca_file = optarg; break;
    case 'k': o.kubeconfig = optarg; break;
    case 'd': o.data_dir = optarg; break;
    case 'n': o.node_name = optarg; break;
    case 'i': o.node_ip = optarg; break;
    case 'l': o.listen = optarg; break;
    case 'p': o.pod_cidr = optarg; break;
    case 'b': o.bridge = optarg; break;
    case 'm': o.max_pods = atoi(optarg); break;
    case 'E': o.eviction_hard = optarg; break;
    case 'P': {
      char *end = NULL;
      o.pod_max_pids = strtoll(optarg, &end, 10);
      if (!*optarg || *end) {
        fprintf(stderr, "drover agent: --pod-max-pids `%s`: expected an integer (-1 = no limit)\n", optarg);
        return 2;
      }
      break;
    }
    case 'C': cleanup = true; break;
    case 'T': {
      drv_err e;
      if (drv_ev_parse_duration(optarg, &o.eviction_transition_ms, &e) < 0) {
        fprintf(stderr, "drover agent: --eviction-pressure-transition-period: %s\n", e.msg);
        return 2;
      }
      if (o.eviction_transition_ms == 0) o.eviction_transition_ms = 1; /* none: 0 is the default */
      break;
    }
    case 'L':
      if (drv_log_level_parse(optarg, &level) < 0) {
        fprintf(stderr, "drover agent: --log-level `%s`: expected error, warn, info or debug\n", optarg);
        return 2;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "drover agent: unexpected argument `%s`\n", argv[optind]);
    return 2;
  }
  if (!o.data_dir || (!cleanup && !o.server && !o.kubeconfig)) {
    usage(stderr);
    return 2;
  }
  drv_log_init(NULL, false, level);
  drv_err err;
  if (cleanup) {
    if (drv_agent_cleanup_network(&o, &err) < 0) {
      fprintf(stderr, "drover agent: %s\n", err.msg);
      return 1;
    }
    return 0;
  }
  if (drv_agent_run(&o, &err) < 0) {
    fprintf(stderr, "drover agent: %s\n", err.msg);
    return 1;
  }
  return 0;
}
