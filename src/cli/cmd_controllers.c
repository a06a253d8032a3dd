/* `drover controllers --kubeconfig FILE`: the controllers alone against drover or any
 * Kubernetes-API server, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/loop_cmd.h"
#include "cli/server_flags.h"
#include "controllers/controllers.h"

static int start(drv_api_client *c, const void *opts, void **loop, drv_err *err)
{
  return drv_controllers_start(c, opts, (drv_controllers **)loop, err);
}

static void stop(void *loop) { drv_controllers_stop(loop); }

static void usage(FILE *out)
{
  fprintf(out, "usage: drover controllers [--kubeconfig FILE] [--node-monitor-grace SECONDS]\n"
               "                          [--pod-eviction-timeout SECONDS] [--service-cidr CIDR]\n"
               "                          [--cluster-cidr CIDR] [--node-cidr-mask-size N]\n"
               "                          [--allocate-node-cidrs=true|false] [--root-ca-file FILE]\n"
               "                          [--log-level L]\n\n"
               "Each Node without spec.podCIDR gets a /N (24) of --cluster-cidr (10.244.0.0/16).\n"
               "--root-ca-file: the cluster CA, published in each namespace as kube-root-ca.crt.\n");
}

static int seconds_ms(const char *flag, const char *v, int *out)
{
  char *end;
  double s = strtod(v, &end);
  if (*end || s <= 0 || s > 86400) {
    fprintf(stderr, "drover controllers: %s `%s`: expected seconds > 0\n", flag, v);
    return -1;
  }
  *out = (int)(s * 1000);
  return 0;
}

int drv_cmd_controllers(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"kubeconfig", required_argument, NULL, 'k'},
      {"node-monitor-grace", required_argument, NULL, 'g'},
      {"pod-eviction-timeout", required_argument, NULL, 'e'},
      {"service-cidr", required_argument, NULL, 'c'},
      {"cluster-cidr", required_argument, NULL, 'C'},
      {"node-cidr-mask-size", required_argument, NULL, 'm'},
      {"allocate-node-cidrs", optional_argument, NULL, 'a'},
      {"log-level", required_argument, NULL, 'l'},
      {"root-ca-file", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *kubeconfig = NULL;
  drv_controllers_opts o = {0};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'k': kubeconfig = optarg; break;
    case 'g':
      if (seconds_ms("--node-monitor-grace", optarg, &o.node_monitor_grace_ms) < 0) return 2;
      break;
    case 'e':
      if (seconds_ms("--pod-eviction-timeout", optarg, &o.pod_eviction_ms) < 0) return 2;
      break;
    case 'c': o.service_cidr = optarg; break;
    case 'r': o.root_ca_file = optarg; break;
    case 'C': o.cluster_cidr = optarg; break;
    case 'm':
    case 'a':
      if (drv_cli_node_cidr_flag("controllers", c == 'm' ? "--node-cidr-mask-size" : "--allocate-node-cidrs",
                                 optarg, &o) < 0)
        return 2;
      break;
    case 'l':
      if (drv_cli_log_level_flag("controllers", optarg) < 0) return 2;
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  drv_err err;
  if (drv_controllers_opts_check(&o, &err) < 0) {
    fprintf(stderr, "drover controllers: %s\n", err.msg);
    return 2;
  }
  return drv_cli_run_loop("controllers", kubeconfig, &o, start, stop);
}
