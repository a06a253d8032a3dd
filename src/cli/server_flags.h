/* Flags shared by `drover server` and `drover up`, and running until a signal. */
#ifndef DRV_CLI_SERVER_FLAGS_H
#define DRV_CLI_SERVER_FLAGS_H

#include "server/server.h"

/* Parses --data-dir, --listen, --log-level, --max-requests-inflight, --max-requests-per-second,
 * --max-body-bytes into o (strings point into argv). Returns 0, 1 after --help, -1 on a bad flag
 * (message printed). */
int drv_cli_server_flags(const char *verb, int argc, char **argv, drv_server_opts *o);
/* Blocks SIGINT/SIGTERM for every thread started after it; drv_cli_wait_signal waits for one. */
void drv_cli_block_signals(void);
int drv_cli_wait_signal(void);

#endif
