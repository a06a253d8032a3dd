/* Pieces shared by the runtime's own files (not part of the library API). */
#ifndef DRV_RUNTIME_INTERNAL_H
#define DRV_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

struct drv_seccomp_filter;
struct drv_cgroup;
struct drv_cgroup_system;

/* ---- paths inside a root (paths.c) -------------------------------------------------------- */

enum { DRV_RT_NOCREATE = 0, DRV_RT_CREATE_DIR, DRV_RT_CREATE_FILE };

/* Opens `path` inside the tree at rootfd as an O_PATH fd, resolving every component (and
 * symlink) with the root as "/" (openat2 RESOLVE_IN_ROOT), so nothing can point outside it.
 * create: make missing directories (and the last one as a directory or an empty file). */
int drv_rt_open_in_root(int rootfd, const char *path, int create, drv_err *err);

/* ---- state (state.c) ------------------------------------------------------------------------ */

/* What state.json holds. */
typedef struct drv_rt_saved {
  char *id, *bundle, *rootfs, *created, *cgroup_path;
  pid_t pid;
  unsigned long long start_time; /* /proc/<pid>/stat field 22, guards against pid reuse */
  json_t *config;                /* the spec document */
  json_t *annotations;
  bool systemd;
  bool monitor; /* a monitor process records the exit status in <dir>/exit */
} drv_rt_saved;

char *drv_rt_state_dir(const char *root, const char *id);
int drv_rt_saved_write(const char *dir, const drv_rt_saved *s, drv_err *err);
/* The same in two steps: written aside (.state.json.tmp), then renamed into place. */
int drv_rt_saved_write_aside(const char *dir, const drv_rt_saved *s, drv_err *err);
int drv_rt_saved_publish(const char *dir, drv_err *err);
int drv_rt_saved_read(const char *root, const char *id, drv_rt_saved *s, drv_err *err);
void drv_rt_saved_clear(drv_rt_saved *s);
/* 0 when not running or a zombie; else the start time. */
unsigned long long drv_rt_proc_start_time(pid_t pid, bool *zombie);
/* Alive with the recorded start time (and not a zombie). */
bool drv_rt_saved_alive(const drv_rt_saved *s);
int drv_rt_saved_status(const char *root, const drv_rt_saved *s, drv_rt_status *out);
/* For a container whose init is gone: waits up to ms for its monitor (if monitor) to have
 * written <dir>/exit. The monitor reaps the init after others see it gone (a zombie counts as
 * gone) and then writes the file: a reader could miss the status, and a delete could remove
 * the dir under the monitor and leave a dir holding only `exit`. */
void drv_rt_wait_exit_file(const char *root, const char *id, bool monitor, int ms);
/* The OCI state JSON text for hooks: status given explicitly. malloc'ed. */
char *drv_rt_state_text(const char *id, pid_t pid, const char *status, const char *bundle,
                        json_t *annotations);
char *drv_rt_now_rfc3339(void);
int drv_rt_open_cgroup(const drv_rt_saved *s, struct drv_cgroup **out, drv_err *err);

/* ---- a container in hand (create.c makes it, run.c uses it) ------------------------------ */

/* An emptied state dir kept under the root for the next create (renamed, not made or removed:
 * on a disk file system with `discard` a directory made and removed costs 0.2-0.4 ms, most of
 * it the removal waiting for the device). The name is no valid id ('~') and list skips it. */
#define DRV_RT_SPARE_DIR ".~spare"

struct drv_rt_container {
  char *root, *id, *dir, *bundle;
  int dir_fd; /* the state dir */
  /* The init's mount namespace, held so that its teardown (it waits for an RCU grace period)
   * happens during the removal, beside other work, instead of in the init's exit. */
  int mntns_fd;
  pid_t pid;
  bool reaped;     /* set by drv_rt_container_wait */
  bool started;    /* opts.start: the init went on by itself, no exec.fifo */
  int rmdir_errno; /* of the state dir's removal */
  /* The removal helper started while the container runs (run.c): it waits on pidfd for the
   * init's exit, then ends the mount namespace and removes the state dir. */
  int pidfd;
  pthread_t helper;
  bool helper_on;
  bool armed; /* the helper was started to wait for the exit */
  struct drv_cgroup *cg;
  drv_rt_spec *spec; /* hooks, annotations */
};

/* ---- hooks (hooks.c) ------------------------------------------------------------------------ */

/* Runs hooks[0..n) in order with state on stdin; stops at the first failure. */
int drv_rt_hooks_run(const drv_rt_hook *hooks, size_t n, const char *kind, const char *state,
                     drv_err *err);

/* ---- the process setup shared by init and exec (process.c) -------------------------------- */

/* Finds args[0] along PATH from env (or "/bin:/usr/bin..." default) in the current root,
 * like execvp would; malloc'ed path or NULL with err. */
char *drv_rt_lookup(const char *file, char *const *env, drv_err *err);
/* rlimits, oom_score_adj (before pivot or via /proc), user, groups, capabilities,
 * no_new_privileges and the seccomp filter in the order that works for all combinations.
 * setgroups_ok: false inside a user namespace whose setgroups is denied. */
int drv_rt_apply_identity(const drv_rt_process *p, const struct drv_seccomp_filter *seccomp,
                          const char *state, bool setgroups_ok, const uint64_t *bounded,
                          drv_err *err);
/* The bounding set alone (apply_identity does it when bounded is NULL); *bound: what is left.
 * Needs only CAP_SETPCAP and leaves the effective set as it is. */
int drv_rt_drop_bounding(const drv_rt_process *p, uint64_t *bound, drv_err *err);
/* Loads the filter; with SCMP_ACT_NOTIFY sends the listener fd (and state) to listenerPath. */
int drv_rt_load_seccomp(const struct drv_seccomp_filter *f, const char *state, drv_err *err);
int drv_rt_set_rlimits(const drv_rt_process *p, drv_err *err);
int drv_rt_set_oom(const drv_rt_process *p, drv_err *err);
/* Creates the pty, sends the master over console_fd (SCM_RIGHTS), makes the slave the
 * controlling terminal and fds 0-2. */
int drv_rt_setup_terminal(const drv_rt_process *p, int console_fd, drv_err *err);
/* Refuses to exec the runtime's own binary inside the container (CVE-2019-5736 class). */
int drv_rt_check_not_self(const char *path, dev_t self_dev, ino_t self_ino, drv_err *err);
/* Connects to a unix socket path (console socket). */
int drv_rt_connect_unix(const char *path, drv_err *err);

/* ---- sync protocol between the runtime and the child (create.c, exec.c) ---------------- */

enum {
  DRV_SYNC_PID = 1, /* child → parent: int pid (intermediate reports the init) */
  DRV_SYNC_GO,      /* parent → child: int host pid of the child; maps and cgroup done */
  DRV_SYNC_HOOKS,   /* child → parent: run prestart/createRuntime now */
  DRV_SYNC_HOOKS_DONE,
  DRV_SYNC_READY, /* child → parent: set up, waiting for start */
  DRV_SYNC_ERROR, /* child → parent: text follows */
  /* child → parent (run): pivoted; its mount namespace, old root and new root attached, for
   * the runtime to unmount the old root while the init goes on (drv_rt_detach_init_old_root).
   * value 1: the masked and read-only paths are left to the runtime too (MASKED answers). */
  DRV_SYNC_PIVOTED,
  /* parent → child (unshare_early): the cgroup's directories exist (no limits yet, not joined):
   * the init may bind-mount them; GO still comes before it may exec. */
  DRV_SYNC_DIRS,
  /* parent → child: value 0: the masked and read-only paths are mounted; 1: not done, the init
   * does them; 2: they failed, text says why. */
  DRV_SYNC_MASKED,
};

typedef struct drv_sync_msg {
  int type;
  int value;
  char text[DRV_ERR_MSG_MAX];
} drv_sync_msg;

int drv_sync_send(int fd, int type, int value, const char *text);
/* A message with one descriptor attached (SCM_RIGHTS). */
int drv_sync_send_fd(int fd, int type, int value, int passed);
/* n (up to 3) descriptors (SCM_RIGHTS). */
int drv_sync_send_fds(int fd, int type, int value, const int *fds, int n);
/* Reads one message; returns 0, or -1 with err (EOF → "child exited"). */
int drv_sync_recv(int fd, drv_sync_msg *m, drv_err *err);
/* The same, keeping an attached descriptor in *passed when it is -1 (closed otherwise; the
 * descriptors of any message come close-on-exec). */
int drv_sync_recv_fd(int fd, drv_sync_msg *m, int *passed, drv_err *err);
/* The same for up to three: passed[i] (i < npassed) takes the i-th one when it is -1. */
int drv_sync_recv_fds(int fd, drv_sync_msg *m, int *passed, int npassed, drv_err *err);
/* Child side: report err and exit. */
__attribute__((noreturn)) void drv_sync_fail(int fd, const drv_err *err);

/* ---- the init (init.c) ---------------------------------------------------------------------- */

typedef struct drv_rt_init_ctx {
  const drv_rt_spec *spec;
  const char *id, *bundle, *rootfs, *state_dir;
  int sync_fd;
  int fifo_fd;
  int console_fd;
  int stdio[3];
  int preserve_fds;
  bool no_pivot;
  bool no_new_keyring;
  int unshare_early; /* namespaces the init creates itself before waiting for GO */
  bool send_mntns;   /* attach the new mount namespace to READY (run holds it, see run.c) */
  int unshare_late;  /* namespaces created after the cgroup is joined (cgroup ns) */
  /* GO not received yet: with unshare_early the init starts on its mounts without it and
   * waits only where the cgroup is needed (drv_rt_init_await_go). */
  bool go_pending;
  bool dirs_pending; /* DIRS (or GO) not received yet */
  pid_t host_pid;    /* the init's pid in the runtime's pid namespace, from GO */
  int mntns_fd;   /* with send_mntns: the new mount namespace, sent with PIVOTED or READY */
  /* After PIVOTED: the old root, still to be unmounted here unless the runtime did it
   * meanwhile (drv_rt_detach_old_root). */
  int oldroot_fd;
  bool pivoted_sent;
  bool defer_masks; /* run: masked/read-only paths after pivot_root, by the runtime (MASKED) */
  int newroot_fd;   /* with defer_masks: the new root, for masks the runtime left to us */
  const struct drv_seccomp_filter *seccomp;
  const char *cgroup_path; /* resolved path in each hierarchy, for cgroup mounts */
  const struct drv_cgroup_system *cgroup_sys; /* the host's layout, detected before the clone */
  dev_t self_dev;
  ino_t self_ino;
} drv_rt_init_ctx;

/* Runs in the cloned child: never returns. */
__attribute__((noreturn)) void drv_rt_init_main(drv_rt_init_ctx *c);
/* In the init: waits for GO (cgroup joined, id maps written) unless it came already, then
 * becomes root of a user namespace and unshares the late namespaces. */
int drv_rt_init_await_go(drv_rt_init_ctx *c, drv_err *err);
/* The same up to DIRS: the group's directories exist (GO implies them). */
int drv_rt_init_await_dirs(drv_rt_init_ctx *c, drv_err *err);

/* Mount setup of the rootfs (mounts.c), in the child's mount namespace. */
int drv_rt_setup_rootfs(drv_rt_init_ctx *c, drv_err *err);
int drv_rt_finish_rootfs(drv_rt_init_ctx *c, drv_err *err);
int drv_rt_pivot(drv_rt_init_ctx *c, drv_err *err);
/* After PIVOTED, before the capabilities go: makes sure the old root is unmounted. */
int drv_rt_detach_old_root(drv_rt_init_ctx *c, drv_err *err);

/* run (create.c): unmounts the init's old root from inside the init's mount namespace, given
 * PIVOTED's descriptors, so that the unmount's RCU grace period is waited for here while the
 * init goes on; with masks, mounts the masked and read-only paths there first and answers
 * MASKED on sync_fd. Returns -1 only when this process could not return to its own
 * namespace. */
int drv_rt_detach_init_old_root(const drv_rt_spec *s, int sync_fd, bool masks, int mntns_fd,
                                int oldroot_fd, int newroot_fd);
/* The masked and read-only paths under the root at root_fd (after pivot_root), mounted through
 * descriptors (no /proc needed): /dev/null binds are cloned from the old root's /dev/null,
 * which must still be attached. */
int drv_rt_mask_paths_fd(const drv_rt_spec *s, int root_fd, int oldroot_fd, drv_err *err);
/* Whether the spec has masked or read-only paths. */
bool drv_rt_has_masks(const drv_rt_spec *s);

/* clone(2) with fork semantics (no new stack): returns 0 in the child. */
pid_t drv_rt_clone(unsigned long flags);
/* clone3 into the v2 cgroup behind cgroup_fd (when >= 0 and the kernel agrees); falls back to
 * drv_rt_clone. *into_cgroup tells whether the child was born in that group. */
pid_t drv_rt_clone3(unsigned long flags, int cgroup_fd, bool *into_cgroup);

#endif
