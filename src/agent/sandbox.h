/* The pod sandbox: a tiny process of drover's own (`drover agent sandbox DIR`, no pause image)
 * that holds the pod's network, IPC and UTS namespaces for its containers to join. It runs in
 * its own session, reparented away from the agent, so it outlives an agent crash.
 *
 * It is also the pod's log shim: the agent hands it the read ends of each container's
 * stdout/stderr pipes over DIR/sandbox.sock, and it writes them to CRI-format log files with
 * rotation. The container's output thus never depends on the agent being alive. */
#ifndef DRV_AGENT_SANDBOX_H
#define DRV_AGENT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Starts the sandbox for the pod whose directory is pod_dir (exists): new net/ipc/uts
 * namespaces (host_network: the node's network namespace is kept), hostname set, detached;
 * *pid gets its pid once it listens on its socket. */
int drv_sandbox_spawn(const char *pod_dir, const char *hostname, bool host_network, pid_t *pid,
                      drv_err *err);
/* The live sandbox process of pod_dir named by its sandbox.pid (checked against the process's
 * command line, so a reused pid is not taken for it): its pid, with *start_time set; 0 if
 * there is none. */
pid_t drv_sandbox_find(const char *pod_dir, unsigned long long *start_time);
/* The sandbox's main loop; returns the process exit code. */
int drv_sandbox_main(const char *pod_dir);
/* Passes out_fd/err_fd (read ends) to the sandbox, which logs them to log_path. The caller
 * closes its copies afterwards. */
int drv_sandbox_attach_log(const char *pod_dir, const char *log_path, size_t max_size,
                           int max_files, int out_fd, int err_fd, drv_err *err);

/* An interactive container (stdin: true or tty: true): the sandbox logs its output as
 * drv_sandbox_attach_log does, writing unfinished lines at once, and holds its stdin open under
 * key (the runtime id) so that `kubectl attach -i` reaches it even after an agent restart.
 * tty: fds = {pty master}; else fds = {stdout read end, stderr read end, stdin write end}. */
int drv_sandbox_attach_io(const char *pod_dir, const char *key, bool tty, const char *log_path,
                          size_t max_size, int max_files, const int *fds, drv_err *err);
/* A copy of the container's stdin (pipe write end or pty master), for one attach session. */
int drv_sandbox_stdin(const char *pod_dir, const char *key, int *fd, drv_err *err);
/* The sandbox lets go of the container's stdin: the process reads EOF (a TTY hangs up).
 * For stdinOnce after the first attach, and when the container is gone. */
int drv_sandbox_close_stdin(const char *pod_dir, const char *key, drv_err *err);

/* Start time of pid (field 22 of /proc/PID/stat), 0 when it does not exist. A pid plus its
 * start time names a process even across pid reuse. */
unsigned long long drv_proc_start_time(pid_t pid);
bool drv_proc_alive(pid_t pid, unsigned long long start_time);

#endif
