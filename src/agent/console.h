/* The receiving end of the runtime's console-socket protocol (runc's): a unix socket the
 * runtime connects to and sends the pty master of a process with terminal: true over. */
#ifndef DRV_AGENT_CONSOLE_H
#define DRV_AGENT_CONSOLE_H

#include "common/err.h"

/* Listens on a fresh socket under dir; *path gets its name (unlink it when done). */
int drv_console_listen(const char *dir, char **path, drv_err *err);
/* Waits up to timeout_ms for the runtime's connection and the master it sends; *master gets
 * it (close-on-exec). */
int drv_console_recv(int lsock, int timeout_ms, int *master, drv_err *err);

#endif
