/* Flag parsing shared by `drover server` and `drover up`. */
#include "cli/server_flags.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static void usage(const char *verb, FILE *out)
{
  fprintf(out,
          "usage: drover %s [--data-dir DIR] [--listen ADDR:PORT] [--log-level LEVEL]\n"
          "       [--max-requests-inflight N] [--max-requests-per-second N] [--max-body-bytes N]\n\n"
          "  --data-dir DIR   store, certificates, tokens and kubeconfig (default /var/lib/drover)\n"
          "  --listen ADDR:PORT  HTTPS address of the API (default 127.0.0.1:6443)\n"
          "  --service-cluster-ip-range CIDR  ClusterIPs come from it; its first address is the\n"
          "                   `kubernetes` Service's (default 10.96.0.0/12)\n"
          "  --service-node-port-range FIRST-LAST  node ports of NodePort and LoadBalancer\n"
          "                   Services (default 30000-32767)\n"
          "  --watch-history N  revisions whose events are kept (in memory and the store) for\n"
          "                   watches and paginated lists from an older resourceVersion (default 100000)\n"
          "%s",
          verb,
          strcmp(verb, "up") == 0
              ? "  --no-agent       do not run the local node agent\n"
                "  --agent-listen ADDR:PORT  the local agent's HTTP address (default :10250)\n"
                "  --node-name NAME the local node's name (default: host name)\n"
                "  --bridge NAME    the local agent's pod bridge (default drover0)\n"
                "  --cluster-cidr CIDR  pod CIDRs of the nodes come from it (default 10.244.0.0/16)\n"
                "  --node-cidr-mask-size N  each node's share of it (default 24)\n"
                "  --allocate-node-cidrs=false  leave the nodes' spec.podCIDR alone\n"
                "  --eviction-hard LIST  the local agent's hard eviction thresholds, kubelet's syntax\n"
              : "");
}

static int num(const char *verb, const char *flag, const char *v, double *out)
{
  char *end;
  double d = strtod(v, &end);
  if (!*v || *end || d <= 0) {
    fprintf(stderr, "drover %s: %s: `%s` is not a positive number\n", verb, flag, v);
    return -1;
  }
  *out = d;
  return 0;
}

int drv_cli_server_flags(const char *verb, int argc, char **argv, drv_server_opts *o,
                         drv_cli_up_flags *up)
{
  static const struct option opts[] = {
      {"data-dir", required_argument, NULL, 'd'},
      {"listen", required_argument, NULL, 'l'},
      {"log-level", required_argument, NULL, 'v'},
      {"max-requests-inflight", required_argument, NULL, 'i'},
      {"max-requests-per-second", required_argument, NULL, 'r'},
      {"max-body-bytes", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},
      {"no-agent", no_argument, NULL, 'N'},
      {"agent-listen", required_argument, NULL, 'A'},
      {"node-name", required_argument, NULL, 'n'},
      {"bridge", required_argument, NULL, 'B'},
      {"eviction-hard", required_argument, NULL, 'E'},
      {"cluster-cidr", required_argument, NULL, 'C'},
      {"node-cidr-mask-size", required_argument, NULL, 'M'},
      {"allocate-node-cidrs", optional_argument, NULL, 'a'},
      {"service-cluster-ip-range", required_argument, NULL, 'S'},
      {"service-node-port-range", required_argument, NULL, 'P'},
      {"watch-history", required_argument, NULL, 'H'},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof *o);
  if (up) memset(up, 0, sizeof *up);
  o->data_dir = "/var/lib/drover";
  o->listen = "127.0.0.1:6443";
  optind = 1;
  opterr = 0;
  int c, idx = -1;
  double d;
  while ((c = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
    switch (c) {
    case 'd': o->data_dir = optarg; break;
    case 'l': o->listen = optarg; break;
    case 'v': {
      drv_log_level lvl;
      if (drv_log_level_parse(optarg, &lvl) < 0) {
        fprintf(stderr, "drover %s: --log-level: `%s` is not one of error, warn, info, debug\n", verb, optarg);
        return -1;
      }
      drv_log_set_level(lvl);
      break;
    }
    case 'i': if (num(verb, "--max-requests-inflight", optarg, &d) < 0) return -1; o->max_inflight = (int)d; break;
    case 'r': if (num(verb, "--max-requests-per-second", optarg, &d) < 0) return -1; o->max_rps = d; break;
    case 'b': if (num(verb, "--max-body-bytes", optarg, &d) < 0) return -1; o->max_body = (size_t)d; break;
    case 'S':
      o->service_cidr = optarg;
      if (up) up->ctl.service_cidr = optarg; /* the controllers allocate ClusterIPs from it */
      break;
    case 'P': o->node_port_range = optarg; break;
    case 'H': if (num(verb, "--watch-history", optarg, &d) < 0) return -1; o->history = (size_t)d; break;
    case 'h': usage(verb, stdout); return 1;
    case 'N':
    case 'A':
    case 'n':
    case 'B':
    case 'E':
    case 'C':
    case 'M':
    case 'a':
      if (!up) {
        /* name the flag itself: with a separate value argv[optind - 1] is the value */
        fprintf(stderr, "drover %s: unknown flag `--%s` (see drover %s --help)\n", verb,
                idx >= 0 ? opts[idx].name : "?", verb);
        return -1;
      }
      if (c == 'N') up->no_agent = true;
      if (c == 'A') up->agent_listen = optarg;
      if (c == 'n') up->node_name = optarg;
      if (c == 'B') up->bridge = optarg;
      if (c == 'E') up->eviction_hard = optarg;
      if (c == 'C') up->ctl.cluster_cidr = optarg;
      if ((c == 'M' || c == 'a') &&
          drv_cli_node_cidr_flag(verb, c == 'M' ? "--node-cidr-mask-size" : "--allocate-node-cidrs", optarg,
                                 &up->ctl) < 0)
        return -1;
      break;
    case ':':
      fprintf(stderr, "drover %s: %s needs a value\n", verb, argv[optind - 1]);
      return -1;
    default:
      fprintf(stderr, "drover %s: unknown flag `%s` (see drover %s --help)\n", verb, argv[optind - 1], verb);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "drover %s: unexpected argument `%s`\n", verb, argv[optind]);
    return -1;
  }
  if (!*o->data_dir) {
    fprintf(stderr, "drover %s: --data-dir must not be empty\n", verb);
    return -1;
  }
  return 0;
}

int drv_cli_node_cidr_flag(const char *verb, const char *flag, const char *v, drv_controllers_opts *o)
{
  if (!strcmp(flag, "--allocate-node-cidrs")) {
    if (!v || !strcmp(v, "true")) o->no_allocate_node_cidrs = false;
    else if (!strcmp(v, "false")) o->no_allocate_node_cidrs = true;
    else {
      fprintf(stderr, "drover %s: %s=`%s`: expected true or false\n", verb, flag, v);
      return -1;
    }
    return 0;
  }
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < 1 || n > 30) {
    fprintf(stderr, "drover %s: %s `%s`: expected a prefix length from 1 to 30\n", verb, flag, v);
    return -1;
  }
  o->node_cidr_mask_size = (int)n;
  return 0;
}

static sigset_t stop_set;

void drv_cli_block_signals(void)
{
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int drv_cli_wait_signal(void)
{
  int sig = 0;
  sigwait(&stop_set, &sig);
  return sig;
}
