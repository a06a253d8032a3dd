/* drover's OCI runtime as a library: what `drover runtime` (runc-compatible CLI) and the node
 * agent call in-process. A container's state lives on disk under <root>/<id>/ (state.json plus
 * the exec.fifo while it is "created"), so any process — a new CLI invocation, an agent that was
 * kill -9'ed and restarted — can find and drive containers created by another one.
 *
 * Lifecycle (OCI runtime spec): create → "created" (init set up, blocked until start) →
 * start → "running" → the process exits → "stopped" → delete. The container's init is never
 * tied to the caller's life: it runs in its own session (setsid), with no parent-death signal,
 * and with opts.detach it is reparented away from the caller at once. */
#ifndef DRV_RUNTIME_RUNTIME_H
#define DRV_RUNTIME_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Default state root of the CLI (runc uses /run/runc). */
#define DRV_RT_DEFAULT_ROOT "/run/drover-runtime"

/* ---- spec (config.json) ------------------------------------------------------------------ */

/* A parsed and validated OCI runtime spec; the full C view lives in runtime/spec.h. */
typedef struct drv_rt_spec drv_rt_spec;

/* Reads <bundle>/config.json. Errors name the bad field, e.g.
 * "config.json: linux.namespaces[2].type: unknown namespace type `foo`". */
int drv_rt_spec_load(const char *bundle, drv_rt_spec **out, drv_err *err);
/* Parses an in-memory spec (the agent builds one with jansson). The spec keeps a reference
 * to doc; the caller keeps its own. */
int drv_rt_spec_parse(json_t *doc, drv_rt_spec **out, drv_err *err);
void drv_rt_spec_free(drv_rt_spec *spec);
/* process.terminal of a parsed spec. */
bool drv_rt_spec_terminal(const drv_rt_spec *spec);
/* A default spec like `runc spec` (busybox-friendly: args ["sh"], terminal true).
 * rootless: user namespace mapping the caller's uid/gid, no cgroups. New reference. */
json_t *drv_rt_spec_default(bool rootless);

/* ---- container lifecycle ----------------------------------------------------------------- */

typedef struct drv_rt_create_opts {
  const char *root;           /* state root dir; NULL = DRV_RT_DEFAULT_ROOT */
  const char *id;             /* container id: [A-Za-z0-9][A-Za-z0-9_.+-]* , at most 1024 */
  const char *bundle;         /* bundle directory (rootfs.path is relative to it) */
  json_t *spec;               /* optional in-memory spec; NULL = read <bundle>/config.json */
  /* Optional: <bundle>/config.json already loaded by the caller (drv_rt_spec_load); create
   * takes it over (frees it, also on failure). Spares a second read and parse. */
  drv_rt_spec *loaded;
  /* drv_rt_create_container only (run): the init goes on to the container process as soon as
   * it is set up, as if started at that moment (there is no exec.fifo to wait on), sparing a
   * round trip between the two; drv_rt_container_start then only runs poststart hooks. */
  bool start;
  const char *pid_file;       /* optional: write the init's pid here (atomically) */
  const char *console_socket; /* unix socket path that receives the pty master (terminal: true) */
  bool no_pivot;              /* chroot-style MS_MOVE instead of pivot_root (ramfs roots) */
  bool no_new_keyring;        /* keep the caller's session keyring */
  int preserve_fds;           /* pass fds 3 .. 3+preserve_fds-1 to the container */
  /* stdin/stdout/stderr for the container process; -1 = inherit the caller's. The agent passes
   * pipe ends or log files here. Ignored for the fds a terminal replaces. */
  int stdio[3];
  /* Reparent the init away from the caller at once (double fork); the caller then never
   * gets SIGCHLD for it. The CLI leaves this false (containerd's shim is a subreaper and
   * wants to reap the init it is given). */
  bool detach;
  /* Keep a tiny monitor process (its own session) that waits for the init and records the
   * exit status in <root>/<id>/exit, which drv_rt_state reports. Implies detach. */
  bool monitor;
} drv_rt_create_opts;

/* Initializes opts with defaults (stdio -1, root default). */
void drv_rt_create_opts_init(drv_rt_create_opts *opts);

/* Creates the container: namespaces, cgroup, mounts, pivot_root, devices, createRuntime /
 * createContainer / prestart hooks; the init then waits for drv_rt_start(). On failure nothing
 * is left behind (state dir, cgroup, mounts, processes). *pid_out may be NULL. */
int drv_rt_create(const drv_rt_create_opts *opts, pid_t *pid_out, drv_err *err);

/* Lets a "created" container run its process, then runs the poststart hooks. */
int drv_rt_start(const char *root, const char *id, drv_err *err);

/* create + start in one call; the init stays a child of the caller unless opts->detach.
 * When wait is true, waits for it, deletes the container and stores its exit code (or 128 +
 * signal) in *exit_code. */
int drv_rt_run(const drv_rt_create_opts *opts, bool wait, int *exit_code, pid_t *pid_out,
               drv_err *err);

typedef enum {
  DRV_RT_CREATING = 0,
  DRV_RT_CREATED,
  DRV_RT_RUNNING,
  DRV_RT_PAUSED,
  DRV_RT_STOPPED,
} drv_rt_status;

const char *drv_rt_status_name(drv_rt_status s); /* "creating", "created", ... */

typedef struct drv_rt_state {
  char *id;
  char *bundle;
  char *rootfs; /* absolute rootfs path */
  pid_t pid;    /* 0 once stopped */
  drv_rt_status status;
  char *created;       /* RFC 3339 creation time */
  char *owner;         /* "" (runc prints the owner uid name, we print "") */
  json_t *annotations; /* object, never NULL */
  int exit_code;       /* known only with opts.monitor; -1 otherwise */
} drv_rt_state;

void drv_rt_state_clear(drv_rt_state *st);

/* Reads <root>/<id>, checks whether the init is alive (pid + start time, so a reused pid is
 * not mistaken for it) and fills st. */
int drv_rt_state_get(const char *root, const char *id, drv_rt_state *st, drv_err *err);
/* The OCI state JSON (runc's `state` output: ociVersion, id, pid, status, bundle, rootfs,
 * created, owner, annotations). New reference. */
json_t *drv_rt_state_json(const drv_rt_state *st);

/* Sends sig to the init; all = every process of the container (its cgroup). Killing a stopped
 * container is an error (like runc) unless all is set. */
int drv_rt_kill(const char *root, const char *id, int sig, bool all, drv_err *err);

/* Removes a stopped (or created) container: poststop hooks, cgroup, state dir. force: kills
 * a running one first (SIGKILL to the whole cgroup) and waits for it. */
int drv_rt_delete(const char *root, const char *id, bool force, drv_err *err);

/* Every container under root (sorted by id). */
int drv_rt_list(const char *root, drv_rt_state **out, size_t *n, drv_err *err);
void drv_rt_list_free(drv_rt_state *list, size_t n);

/* Pids (host view) of every process in the container's cgroup, sorted. */
int drv_rt_ps(const char *root, const char *id, pid_t **pids, size_t *n, drv_err *err);

int drv_rt_pause(const char *root, const char *id, drv_err *err);
int drv_rt_resume(const char *root, const char *id, drv_err *err);

/* Applies a linux.resources object (the `runc update --resources` format) to the running
 * container's cgroup and records it in the state. */
int drv_rt_update(const char *root, const char *id, json_t *resources, drv_err *err);

/* ---- exec -------------------------------------------------------------------------------- */

typedef struct drv_rt_exec_opts {
  const char *root;
  const char *id;
  json_t *process;            /* an OCI "process" object (args required); see process.json */
  const char *console_socket; /* with process.terminal */
  const char *pid_file;
  int stdio[3]; /* -1 = inherit */
  int preserve_fds;
  bool detach; /* see drv_rt_create_opts.detach */
} drv_rt_exec_opts;

void drv_rt_exec_opts_init(drv_rt_exec_opts *opts);

/* Starts a process in a running container: joins all of its namespaces and its cgroup, applies
 * the process' user, capabilities, rlimits, apparmor-free security settings (no_new_privileges,
 * seccomp from the container spec unless process carries its own). *pid_out gets its pid; when
 * !detach the process is the caller's child (waitpid it). */
int drv_rt_exec(const drv_rt_exec_opts *opts, pid_t *pid_out, drv_err *err);

/* Waits for a child pid returned by drv_rt_run/drv_rt_exec; exit code or 128 + signal. */
int drv_rt_wait(pid_t pid, int *exit_code, drv_err *err);

/* `run` in steps, for a caller that acts between them (the CLI relays a terminal and forwards
 * signals): the container stays in hand, so starting it and removing it after its exit need
 * not read its state back from disk. create → start → wait → remove; free in any case (it
 * removes nothing by itself). */
typedef struct drv_rt_container drv_rt_container;
int drv_rt_create_container(const drv_rt_create_opts *opts, drv_rt_container **out, drv_err *err);
pid_t drv_rt_container_pid(const drv_rt_container *c);
int drv_rt_container_start(drv_rt_container *c, drv_err *err);
/* Waits for the init (the caller's child) and reaps it; exit code or 128 + signal. */
int drv_rt_container_wait(drv_rt_container *c, int *exit_code, drv_err *err);
/* After drv_rt_container_wait: what `delete` does to a stopped container (poststop hooks,
 * cgroup, state dir); a container not waited for is killed first, as `delete --force`. */
int drv_rt_container_remove(drv_rt_container *c, drv_err *err);
/* wait + remove, with the slow parts of the removal prepared while the container runs (helper
 * threads that wake on its exit). *exit_code as drv_rt_container_wait. */
int drv_rt_container_wait_remove(drv_rt_container *c, int *exit_code, drv_err *err);
void drv_rt_container_free(drv_rt_container *c);

/* ---- misc -------------------------------------------------------------------------------- */

/* The hidden CLI verb a monitor (opts.monitor) re-executes drover-runtime with:
 * `drover-runtime __monitor PID DIRFD`. drv_rt_monitor_run waits for the child pid and records
 * its exit status in the state directory open at dirfd. */
#define DRV_RT_MONITOR_VERB "__monitor"
int drv_rt_monitor_run(pid_t pid, int dirfd);

/* `runc features`-style JSON describing what this runtime supports. New reference. */
json_t *drv_rt_features(void);

/* Validates a container id (non-empty, no '/', no "..", at most 1024 chars). */
int drv_rt_check_id(const char *id, drv_err *err);

#endif
