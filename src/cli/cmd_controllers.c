/* `drover controllers --kubeconfig FILE`: the controllers alone against drover or any
 * Kubernetes-API server, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/client_http.h"
#include "cli/commands.h"
#include "cli/server_flags.h"
#include "common/log.h"
#include "controllers/controllers.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
  (void)sig;
  stop_flag = 1;
}

static void usage(FILE *out)
{
  fprintf(out, "usage: drover controllers [--kubeconfig FILE] [--node-monitor-grace SECONDS]\n"
               "                          [--pod-eviction-timeout SECONDS] [--service-cidr CIDR]\n"
               "                          [--cluster-cidr CIDR] [--node-cidr-mask-size N]\n"
               "                          [--allocate-node-cidrs=true|false] [--log-level L]\n\n"
               "Each Node without spec.podCIDR gets a /N (24) of --cluster-cidr (10.244.0.0/16).\n");
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
    case 'C': o.cluster_cidr = optarg; break;
    case 'm':
    case 'a':
      if (drv_cli_node_cidr_flag("controllers", c == 'm' ? "--node-cidr-mask-size" : "--allocate-node-cidrs",
                                 optarg, &o) < 0)
        return 2;
      break;
    case 'l': {
      drv_log_level lv;
      if (drv_log_level_parse(optarg, &lv) < 0) {
        fprintf(stderr, "drover controllers: --log-level `%s`: expected error, warn, info or debug\n", optarg);
        return 2;
      }
      drv_log_set_level(lv);
      break;
    }
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  drv_err err;
  if (drv_controllers_opts_check(&o, &err) < 0) {
    fprintf(stderr, "drover controllers: %s\n", err.msg);
    return 2;
  }
  drv_api_client *client = drv_api_client_http_from_kubeconfig(kubeconfig, "drover-controllers", &err);
  if (!client) {
    fprintf(stderr, "drover controllers: %s\n", err.msg);
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  drv_controllers *cs;
  if (drv_controllers_start(client, &o, &cs, &err) < 0) {
    fprintf(stderr, "drover controllers: %s\n", err.msg);
    drv_api_client_free(client);
    return 1;
  }
  drv_log_info("controllers running");
  while (!stop_flag) pause();
  drv_controllers_stop(cs);
  drv_api_client_free(client);
  return 0;
}
