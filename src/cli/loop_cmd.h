/* What `drover scheduler` and `drover controllers` share: a control loop run alone against a
 * kubeconfig until SIGINT/SIGTERM, and the --log-level flag. */
#ifndef DRV_CLI_LOOP_CMD_H
#define DRV_CLI_LOOP_CMD_H

#include "api/client.h"
#include "common/err.h"

typedef int (*drv_cli_loop_start)(drv_api_client *c, const void *opts, void **loop, drv_err *err);
typedef void (*drv_cli_loop_stop)(void *loop);

/* Connects with kubeconfig (NULL: $KUBECONFIG, then ~/.kube/config), starts the loop and waits
 * for a signal in the main thread only (signals are blocked in the loop's threads, so none is
 * lost to them), then stops it. Returns the process exit code; errors are printed with verb. */
int drv_cli_run_loop(const char *verb, const char *kubeconfig, const void *opts, drv_cli_loop_start start,
                     drv_cli_loop_stop stop);

/* --log-level VALUE: sets the level, or prints an error naming the flag and returns -1. */
int drv_cli_log_level_flag(const char *verb, const char *value);

#endif
