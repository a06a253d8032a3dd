/* `drover scheduler --kubeconfig FILE`: the scheduler alone against drover or any
 * Kubernetes-API server, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/loop_cmd.h"
#include "scheduler/scheduler.h"

static int start(drv_api_client *c, const void *opts, void **loop, drv_err *err)
{
  return drv_scheduler_start(c, opts, (drv_scheduler **)loop, err);
}

static void stop(void *loop) { drv_scheduler_stop(loop); }

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
    case 'l':
      if (drv_cli_log_level_flag("scheduler", optarg) < 0) return 2;
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  return drv_cli_run_loop("scheduler", kubeconfig, &o, start, stop);
}
