/* Shared by the cgroup backends (cgroup*.c) and their unit tests; not for other modules. */
#ifndef DRV_RUNTIME_CGROUP_INTERNAL_H
#define DRV_RUNTIME_CGROUP_INTERNAL_H

#include <linux/bpf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/cgroup.h"

#define DRV_CG_MAX_HIER 16

/* An error whose message says it all: errnum is kept for callers, but its strerror text
 * ("Invalid argument") is not appended. */
static inline int __attribute__((format(printf, 3, 4)))
drv_cg_fail(drv_err *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  drv_verror(err, 0, fmt, ap);
  va_end(ap);
  if (err) err->errnum = errnum;
  return -1;
}

typedef struct drv_cg_hier {
  unsigned controllers; /* DRV_CG_ bits; 0 for a named hierarchy we do not use */
  char *mount;          /* where it is mounted */
  char *own;            /* this process's path, from /proc/self/cgroup */
} drv_cg_hier;

struct drv_cgroup_system {
  drv_cgroup_mode mode;
  drv_cg_hier v1[DRV_CG_MAX_HIER];
  size_t n_v1;
  char *unified; /* v2 mount or NULL */
  char *unified_own;
  unsigned v2_controllers; /* from the unified root's cgroup.controllers */
  drv_cgroup_host_mount host[DRV_CG_MAX_HIER + 2]; /* under /sys/fs/cgroup, mountinfo order */
  size_t n_host;
};

struct drv_cgroup {
  drv_cgroup_system *sys;
  char *path;                     /* "/drover/x" */
  char *v1_dirs[DRV_CG_MAX_HIER]; /* per sys->v1[i]; NULL when that hierarchy is not used */
  char *unified_dir;              /* NULL in V1 mode */
  /* Set by create: the topmost directory this call made, per hierarchy (for undo). */
  char *v1_created[DRV_CG_MAX_HIER];
  char *unified_created;
};

/* Controller names, both directions. v2 names io for DRV_CG_BLKIO. */
const char *drv_cg_controller_name(unsigned bit, bool v2);
unsigned drv_cg_controller_bit(const char *name, bool v2);
/* Bits of a comma list ("cpu,cpuacct" / mount options "rw,cpu,cpuacct"). */
unsigned drv_cg_controller_bits(const char *list, bool v2);

/* Directory of the group in the hierarchy holding controller (v1 bit) or unified (0); NULL. */
const char *drv_cg_dir(const drv_cgroup *cg, unsigned controller);

/* File helpers. Writes open with O_TRUNC (harmless on cgroupfs, needed for fixture trees).
 * Errors read "write `VALUE` to `DIR/FILE`: reason". */
int drv_cg_write(const char *dir, const char *file, const char *value, drv_err *err);
/* Several values, one write(2) each, through one open file (devices.allow, io.max …). */
int drv_cg_write_lines(const char *dir, const char *file, char *const *lines, size_t n,
                       drv_err *err);
/* Reads a small file; trailing newline stripped. */
int drv_cg_read(const char *dir, const char *file, char **out, drv_err *err);
bool drv_cg_has(const char *dir, const char *file);
/* Parses "max" (→ DRV_CGROUP_UNLIMITED) or a decimal. */
int drv_cg_parse_u64(const char *s, uint64_t *out);
/* Reads a file holding one number (or "max"). */
int drv_cg_read_u64(const char *dir, const char *file, uint64_t *out, drv_err *err);
/* Value of key in "key value\n" lines (memory.stat, cpu.stat, cgroup.events); false if absent. */
bool drv_cg_kv_get(const char *text, const char *key, uint64_t *out);

/* Polls with growing sleeps (1 ms → 20 ms) until done() or deadline_ms; true when done. */
bool drv_cg_wait(bool (*done)(void *), void *arg, long long deadline_ms);

/* rmdir with retries on EBUSY, depth-first through sub-groups; ENOENT is success. */
int drv_cg_rmdir_tree(const char *dir, long long deadline_ms, drv_err *err);

/* For the favordynmods remount of the v2 mount at `mount_point`, from mountinfo text: the
 * mount(2) flags and data that keep its current options; 1 when favordynmods is on already,
 * 0 when flags/data were filled (data malloc'ed), -1 when the mount is not in mountinfo. */
int drv_cg_dynmods_remount_args(const char *mountinfo, const char *mount_point,
                                unsigned long *flags, char **data);

/* Backends. */
int drv_cg_v1_prepare_dir(const drv_cgroup_system *sys, size_t hier, const char *path, bool excl,
                          char **dir, char **created, drv_err *err);
int drv_cg_v2_prepare_dir(const drv_cgroup_system *sys, const char *path, bool excl, char **dir,
                          char **created, drv_err *err);
int drv_cg_v1_freeze(const char *dir, bool frozen, drv_err *err);
int drv_cg_v2_freeze(const char *dir, bool frozen, drv_err *err);
int drv_cg_v2_kill(const char *dir, drv_err *err); /* cgroup.kill; -ENOTSUP when absent */

/* Resources. Each writes only what is set in res and names the field in errors. */
int drv_cg_apply_v1(drv_cgroup *cg, const drv_cgroup_resources *res, bool update, drv_err *err);
int drv_cg_apply_v2(drv_cgroup *cg, const drv_cgroup_resources *res, bool update, drv_err *err);

/* Conversions shared by v2 apply and tests (same formulas as runc and crun). */
uint64_t drv_cg_shares_to_weight(uint64_t shares);   /* [2, 262144] → [1, 10000] */
uint64_t drv_cg_blkio_to_io_weight(uint64_t weight); /* [10, 1000] → [1, 10000] */
/* OCI memory.swap (memory+swap) → v2 memory.swap.max; *out -1 = "max", *unset when nothing
 * is to be written. */
int drv_cg_swap_to_v2(const drv_cgroup_resources *res, int64_t *out, bool *unset, drv_err *err);
/* Cpu list "0-3,5" → bitmap (cpus < 1024); -1 on a syntax error. */
int drv_cg_parse_cpu_list(const char *list, uint64_t bits[16]);

/* eBPF device program (v2). The program checks rules from last to first and returns the
 * verdict of the first that matches; no match → allow (as the parent's allow-all on v1).
 * An allow rule matches when the access asked is within its access; a deny rule when the
 * access asked touches its access. */
struct bpf_insn *drv_cg_devices_bpf(const drv_cgroup_device_rule *rules, size_t n, size_t *len);
/* Loads the program and attaches it to the group dir (BPF_F_ALLOW_MULTI), then detaches the
 * programs that were there before, so an update replaces the rules. */
int drv_cg_devices_bpf_apply(const char *dir, const struct bpf_insn *insns, size_t len,
                             drv_err *err);

/* Stats backends. */
int drv_cg_stats_v1(const drv_cgroup *cg, drv_cgroup_stats *st, drv_err *err);
int drv_cg_stats_v2(const char *dir, drv_cgroup_stats *st, drv_err *err);
/* Parsers (pure, for tests). */
void drv_cg_parse_v2_io_stat(const char *text, drv_cgroup_stats *st);
void drv_cg_parse_v1_blkio(const char *bytes_text, const char *ops_text, drv_cgroup_stats *st);

#endif
