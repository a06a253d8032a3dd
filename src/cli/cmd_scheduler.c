/* `drover scheduler --kubeconfig FILE`: the scheduler alone against drover or any
 * Kubernetes-API server, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/client_http.h"
#include "cli/commands.h"
#include "common/log.h"
#include "scheduler/scheduler.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
  (void)sig;
  stop_flag = 1;
}

static void usage(FILE *out)
{
  fprintf(out, "usage: drover scheduler [--kubeconfig FILE] [--scheduler-name NAME]\n"
               "                        [--strategy spread|pack] [--tolerance POINTS] [--log-level L]\n");
}

int drv_cmd_scheduler(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"kubeconfig", required_argument, NULL, 'k'}, {"scheduler-name", required_argument, NULL, 'n'},
      {"strategy", required_argument, NULL, 's'},   {"tolerance", required_argument, NULL, 't'},
      {"log-level", required_argument, NULL, 'l'},  {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *kubeconfig = NULL;
  drv_scheduler_opts o = {.tolerance = -1};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'k': kubeconfig = optarg; break;
    case 'n': o.scheduler_name = optarg; break;
    case 's':
      if (!strcmp(optarg, "spread"))
        o.strategy = DRV_SCHED_SPREAD;
      else if (!strcmp(optarg, "pack"))
        o.strategy = DRV_SCHED_PACK;
      else {
        fprintf(stderr, "drover scheduler: --strategy `%s`: expected spread or pack\n", optarg);
        return 2;
      }
      break;
    case 't': o.tolerance = atof(optarg); break;
    case 'l': {
      drv_log_level lv;
      if (drv_log_level_parse(optarg, &lv) < 0) {
        fprintf(stderr, "drover scheduler: --log-level `%s`: expected error, warn, info or debug\n", optarg);
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
  drv_api_client *client = drv_api_client_http_from_kubeconfig(kubeconfig, "drover-scheduler", &err);
  if (!client) {
    fprintf(stderr, "drover scheduler: %s\n", err.msg);
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  drv_scheduler *s;
  if (drv_scheduler_start(client, &o, &s, &err) < 0) {
    fprintf(stderr, "drover scheduler: %s\n", err.msg);
    drv_api_client_free(client);
    return 1;
  }
  drv_log_info("scheduler running");
  while (!stop_flag) pause();
  drv_scheduler_stop(s);
  drv_api_client_free(client);
  return 0;
}
