#include "cli/loop_cmd.h"

#include <stdio.h>

#include "api/client_http.h"
#include "cli/server_flags.h"
#include "common/log.h"

int drv_cli_run_loop(const char *verb, const char *kubeconfig, const void *opts, drv_cli_loop_start start,
                     drv_cli_loop_stop stop)
{
  drv_err err;
  char agent[64];
  snprintf(agent, sizeof agent, "drover-%s", verb);
  drv_api_client *client = drv_api_client_http_from_kubeconfig(kubeconfig, agent, &err);
  if (!client) {
    fprintf(stderr, "drover %s: %s\n", verb, err.msg);
    return 1;
  }
  drv_cli_block_signals();
  void *loop;
  if (start(client, opts, &loop, &err) < 0) {
    fprintf(stderr, "drover %s: %s\n", verb, err.msg);
    drv_api_client_free(client);
    return 1;
  }
  drv_log_info("%s running", verb);
  drv_cli_wait_signal();
  stop(loop);
  drv_api_client_free(client);
  return 0;
}

int drv_cli_log_level_flag(const char *verb, const char *value)
{
  drv_log_level lv;
  if (drv_log_level_parse(value, &lv) < 0) {
    fprintf(stderr, "drover %s: --log-level `%s`: expected error, warn, info or debug\n", verb, value);
    return -1;
  }
  drv_log_set_level(lv);
  return 0;
}
