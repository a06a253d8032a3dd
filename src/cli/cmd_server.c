/* `drover server`: the API server alone, with the embedded store. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/server_flags.h"
#include "common/log.h"
#include "common/util.h"

int drv_cmd_server(int argc, char **argv)
{
  drv_server_opts o;
  int rc = drv_cli_server_flags("server", argc, argv, &o, NULL);
  if (rc) return rc > 0 ? 0 : 2;
  drv_cli_block_signals();
  drv_server *s;
  drv_err err = {0};
  if (drv_server_start(&o, &s, &err) < 0) {
    fprintf(stderr, "drover server: %s\n", err.msg);
    return 1;
  }
  _cleanup_free_ char *url = drv_server_url(s);
  printf("drover: API server at %s\nexport KUBECONFIG=%s\n", url, drv_server_kubeconfig(s));
  fflush(stdout);
  drv_cli_wait_signal();
  drv_log_info("server: stopping");
  drv_server_stop(s);
  return 0;
}
