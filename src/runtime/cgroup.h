/* Control groups: one front for cgroup v1, hybrid (v1 controllers + a v2 hierarchy, usually at
 * /sys/fs/cgroup/unified) and unified v2. Callers see a drv_cgroup (one container's or pod's
 * group, present in every hierarchy) and never which backend runs.
 *
 * Typical use (runtime `create`):
 *   drv_cgroup_system *sys;                      // detected once per process, cached
 *   drv_cgroup_system_get(&sys, &err);
 *   drv_cgroup_resources res;                   // from config.json linux.resources
 *   drv_cgroup_resources_from_json(json_object_get(linux, "resources"), &res, &err);
 *   drv_cgroup_resources_add_default_devices(&res);      // runc's default device rules
 *   drv_cgroup *cg;
 *   drv_cgroup_create(sys, spec_cgroups_path, id, &res, 0, &cg, &err);  // removed again on failure
 *   drv_cgroup_enter(cg, pid, 0, &err);
 *   state: save drv_cgroup_path(cg); later drv_cgroup_open(sys, saved, &cg, &err).
 */
#ifndef DRV_RUNTIME_CGROUP_H
#define DRV_RUNTIME_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* ---- the machine's cgroup layout ---------------------------------------------------------- */

typedef enum {
  DRV_CGROUP_MODE_V1 = 1, /* only v1 hierarchies */
  DRV_CGROUP_MODE_HYBRID, /* v1 controllers plus a (usually controller-less) v2 hierarchy */
  DRV_CGROUP_MODE_V2,     /* /sys/fs/cgroup is cgroup2 */
} drv_cgroup_mode;

/* Controllers drover knows, as bits. */
enum {
  DRV_CG_CPU = 1u << 0,
  DRV_CG_CPUACCT = 1u << 1,
  DRV_CG_CPUSET = 1u << 2,
  DRV_CG_MEMORY = 1u << 3,
  DRV_CG_DEVICES = 1u << 4,
  DRV_CG_FREEZER = 1u << 5,
  DRV_CG_BLKIO = 1u << 6, /* v2: io */
  DRV_CG_PIDS = 1u << 7,
  DRV_CG_HUGETLB = 1u << 8,
  DRV_CG_NET_CLS = 1u << 9,
  DRV_CG_NET_PRIO = 1u << 10,
  DRV_CG_PERF_EVENT = 1u << 11,
  DRV_CG_RDMA = 1u << 12,
  DRV_CG_MISC = 1u << 13,
};

typedef struct drv_cgroup_system drv_cgroup_system;

/* The layout of this process's view (/proc/self/mountinfo + /proc/self/cgroup), detected on
 * the first call and cached for the life of the process (do not free it). Thread-safe. */
int drv_cgroup_system_get(drv_cgroup_system **out, drv_err *err);
/* Detection from given texts (tests, or a caller that read them already). mountinfo is the
 * content of /proc/self/mountinfo; proc_cgroup of /proc/self/cgroup (may be NULL). Mount
 * points are used as they appear, so a fixture mountinfo can point into a temp dir. */
int drv_cgroup_system_detect(const char *mountinfo, const char *proc_cgroup,
                             drv_cgroup_system **out, drv_err *err);
/* A layout rooted at `root` (tests and tools): V2 → root is the cgroup2 mount; V1 → each
 * subdirectory root/<controller>[,<controller>] is a v1 hierarchy; HYBRID → V1 plus
 * root/unified as the v2 mount. Controllers of v2 come from root's cgroup.controllers. */
int drv_cgroup_system_from_root(drv_cgroup_mode mode, const char *root, drv_cgroup_system **out,
                                drv_err *err);
void drv_cgroup_system_free(drv_cgroup_system *sys);

drv_cgroup_mode drv_cgroup_system_mode(const drv_cgroup_system *sys);
const char *drv_cgroup_mode_name(drv_cgroup_mode mode); /* "v1", "hybrid", "v2" */
/* Bits of the controllers usable for resource limits (v1 mounted ones, or v2 enabled in the
 * root's cgroup.controllers; in hybrid only the v1 ones). */
unsigned drv_cgroup_system_controllers(const drv_cgroup_system *sys);
/* Mount point of the v2 hierarchy (V2, HYBRID) or NULL. */
const char *drv_cgroup_system_unified_mount(const drv_cgroup_system *sys);
/* Mount point of the v1 hierarchy holding `controller` (one DRV_CG_ bit) or NULL. */
const char *drv_cgroup_system_v1_mount(const drv_cgroup_system *sys, unsigned controller);
/* The cgroup and cgroup2 mounts at /sys/fs/cgroup and below, as detected (named hierarchies
 * such as name=systemd included): what a container's cgroup mount mirrors. opts are the super
 * options without rw/ro ("cpu,cpuacct", "name=systemd"; "" for cgroup2). */
typedef struct drv_cgroup_host_mount {
  char *point, *type, *opts;
} drv_cgroup_host_mount;
size_t drv_cgroup_system_host_mounts(const drv_cgroup_system *sys,
                                     const drv_cgroup_host_mount **out);
/* This process's own cgroup path for `controller` (v1) or for the unified hierarchy
 * (controller 0), from /proc/self/cgroup; NULL when unknown. */
const char *drv_cgroup_system_own_path(const drv_cgroup_system *sys, unsigned controller);

/* Turns on the kernel's "favordynmods" mode for cgroups: moving a task between groups then no
 * longer waits for an RCU grace period (7.5-19 ms measured here for the first move after a quiet
 * moment, 0.05 ms with it), at the price of a slightly slower fork/exit. Node setup policy, not
 * done implicitly: remounts the v2 mount keeping its options (+favordynmods), or on v1-only hosts
 * mounts a named hierarchy with it at /run/drover-cgroup-dynmods. Kernels from 6.x cannot turn it
 * off again until reboot. Returns 1 when it was on already, 0 when turned on now. */
int drv_cgroup_favor_dynmods(drv_cgroup_system *sys, drv_err *err);

/* ---- resources (OCI linux.resources) -------------------------------------------------------- */

typedef struct {
  bool set;
  int64_t v;
} drv_opt_i64;
typedef struct {
  bool set;
  uint64_t v;
} drv_opt_u64;
typedef struct {
  bool set;
  bool v;
} drv_opt_bool;

typedef struct drv_cgroup_device_rule {
  bool allow;
  char type;      /* 'a' (all), 'c', 'b' */
  int64_t major;  /* -1 = any */
  int64_t minor;  /* -1 = any */
  char access[4]; /* non-empty subset of "rwm", NUL-terminated */
} drv_cgroup_device_rule;

typedef struct drv_cgroup_weight_device {
  int64_t major, minor;
  drv_opt_u64 weight, leaf_weight;
} drv_cgroup_weight_device;

typedef struct drv_cgroup_throttle_device {
  int64_t major, minor;
  uint64_t rate;
} drv_cgroup_throttle_device;

typedef struct drv_cgroup_hugetlb {
  char *page_size; /* "2MB", "1GB", "64KB" */
  uint64_t limit;
} drv_cgroup_hugetlb;

typedef struct drv_cgroup_kv {
  char *key;
  char *value;
} drv_cgroup_kv;

typedef struct drv_cgroup_rdma {
  char *device;
  drv_opt_u64 hca_handles, hca_objects;
} drv_cgroup_rdma;

typedef struct drv_cgroup_resources {
  struct {
    drv_opt_u64 shares;           /* v1 cpu.shares; v2 cpu.weight (converted) */
    drv_opt_i64 quota;            /* µs, -1 = no limit */
    drv_opt_u64 period;           /* µs */
    drv_opt_u64 burst;            /* µs */
    drv_opt_i64 realtime_runtime; /* µs (v1 only) */
    drv_opt_u64 realtime_period;  /* µs (v1 only) */
    drv_opt_i64 idle;             /* 0 or 1 */
    char *cpus;                   /* cpuset list "0-1,3" */
    char *mems;
  } cpu;
  struct {
    drv_opt_i64 limit;                /* bytes, -1 = no limit */
    drv_opt_i64 reservation;          /* v1 soft limit; v2 memory.low */
    drv_opt_i64 swap;                 /* memory+swap, as in v1; v2 gets swap - limit */
    drv_opt_i64 kernel;               /* v1 only (deprecated by the kernel) */
    drv_opt_i64 kernel_tcp;           /* v1 only */
    drv_opt_u64 swappiness;           /* 0..100, v1 only */
    drv_opt_bool disable_oom_killer;  /* v1 only */
    drv_opt_bool use_hierarchy;       /* v1 only */
    drv_opt_bool check_before_update; /* refuse a limit below current usage */
  } memory;
  struct {
    drv_opt_i64 limit; /* > 0 a number; -1 = max; 0 = leave as is (like runc) */
  } pids;
  struct {
    drv_opt_u64 weight;      /* 10..1000; v2 io.weight converted to 1..10000 */
    drv_opt_u64 leaf_weight; /* v1 only */
    drv_cgroup_weight_device *weight_device;
    size_t n_weight_device;
    drv_cgroup_throttle_device *read_bps, *write_bps, *read_iops, *write_iops;
    size_t n_read_bps, n_write_bps, n_read_iops, n_write_iops;
  } blkio;
  drv_cgroup_hugetlb *hugetlb;
  size_t n_hugetlb;
  struct {
    drv_opt_u64 class_id;      /* v1 net_cls */
    drv_cgroup_kv *priorities; /* v1 net_prio: interface name → priority */
    size_t n_priorities;
  } network;
  drv_cgroup_rdma *rdma;
  size_t n_rdma;
  drv_cgroup_kv *unified; /* v2 file name → content, written as is */
  size_t n_unified;
  drv_cgroup_device_rule *devices; /* in order; later rules win */
  size_t n_devices;
} drv_cgroup_resources;

/* Parses OCI linux.resources (NULL or JSON null → empty). Errors name the field:
 * "linux.resources.memory.limit: expected an integer". On error *out is left empty. */
int drv_cgroup_resources_from_json(const json_t *resources, drv_cgroup_resources *out,
                                   drv_err *err);
void drv_cgroup_resources_init(drv_cgroup_resources *res);
void drv_cgroup_resources_free(drv_cgroup_resources *res);
/* Appends one device rule (for linux.devices entries: allow, 'c'/'b', major, minor, "rwm"). */
void drv_cgroup_resources_add_device(drv_cgroup_resources *res, const drv_cgroup_device_rule *rule);
/* Appends runc's default rules: mknod of any char/block device, /dev/null, zero, full, random,
 * urandom, tty, console, ptmx, pts/[*], net/tun. (Deny-all is not added: a spec starts its
 * list with {"allow": false, "access": "rwm"} itself, as runc's `spec` writes it.) */
void drv_cgroup_resources_add_default_devices(drv_cgroup_resources *res);
/* Checks values independent of the machine (ranges, formats); create/update also check the
 * machine-dependent ones (cpus present, controller mounted). */
int drv_cgroup_resources_validate(const drv_cgroup_resources *res, drv_err *err);

/* ---- a cgroup ------------------------------------------------------------------------------- */

typedef struct drv_cgroup drv_cgroup;

/* Resolves OCI linux.cgroupsPath like runc:
 *   "/a/b"            → /a/b under each hierarchy root;
 *   "a/b"             → <default parent>/a/b (default parent "/drover");
 *   NULL or ""        → <default parent>/<id>;
 *   "slice:prefix:name" (systemd form; always accepted, required with systemd=true)
 *                     → /<slice expanded like systemd>/<prefix>-<name>.scope, e.g.
 *                       "machine-a.slice:drover:x" → /machine.slice/machine-a.slice/drover-x.scope.
 * ".." components are refused. Returns a malloc'ed absolute path. */
int drv_cgroup_resolve_path(const char *cgroups_path, const char *id, bool systemd, char **out,
                            drv_err *err);

enum {
  DRV_CGROUP_CREATE_SYSTEMD =
      1u << 0,                      /* --systemd-cgroup: cgroups_path must be slice:prefix:name */
  DRV_CGROUP_CREATE_EXCL = 1u << 1, /* fail if the leaf exists already */
};

/* Creates the group in every hierarchy (parents as needed; v2: enables controllers in each
 * parent's cgroup.subtree_control), applies res (may be NULL) and returns it. On any failure
 * everything this call created is removed again. */
int drv_cgroup_create(drv_cgroup_system *sys, const char *cgroups_path, const char *id,
                      const drv_cgroup_resources *res, unsigned flags, drv_cgroup **out,
                      drv_err *err);
/* Opens an existing group by its resolved path (drv_cgroup_path of the creator). */
int drv_cgroup_open(drv_cgroup_system *sys, const char *path, drv_cgroup **out, drv_err *err);
void drv_cgroup_free(drv_cgroup *cg);

/* The resolved absolute path inside each hierarchy, e.g. "/drover/abc". */
const char *drv_cgroup_path(const drv_cgroup *cg);
/* The directory of this group in the hierarchy of `controller` (v1 bit; 0 = unified), or NULL. */
const char *drv_cgroup_dir(const drv_cgroup *cg, unsigned controller);

/* Applies res to a group drv_cgroup_create just made without any (as create would have: the
 * runtime makes the directories first, tells the init, then writes the limits). On failure
 * the directories create made are removed again; the group is still to be freed. */
int drv_cgroup_apply(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err);
/* Applies resources to an existing group (runtime `update`). Only the fields set change. */
int drv_cgroup_update(drv_cgroup *cg, const drv_cgroup_resources *res, drv_err *err);

enum {
  /* The process is in the unified group already (clone3 with CLONE_INTO_CGROUP). */
  DRV_CGROUP_ENTER_SKIP_UNIFIED = 1u << 0,
};
/* Moves pid (and its threads) into the group in every hierarchy. */
int drv_cgroup_enter(drv_cgroup *cg, pid_t pid, unsigned flags, drv_err *err);
/* A new O_DIRECTORY fd of the group in the v2 hierarchy, for clone3 CLONE_INTO_CGROUP
 * (cgroup arg); -1 with err when there is no unified group (mode V1). Caller closes it. In
 * HYBRID the child still has to enter the v1 hierarchies (DRV_CGROUP_ENTER_SKIP_UNIFIED). */
int drv_cgroup_unified_fd(const drv_cgroup *cg, drv_err *err);

/* Pids in the group (the leaf and its descendants), malloc'ed array. */
int drv_cgroup_pids(const drv_cgroup *cg, bool recursive, pid_t **pids, size_t *n, drv_err *err);

/* Pause/resume: v1 freezer.state, v2 cgroup.freeze; waits until the state is reached. */
int drv_cgroup_freeze(drv_cgroup *cg, bool frozen, drv_err *err);
/* *frozen true when paused (FROZEN/FREEZING on v1, frozen 1 on v2). */
int drv_cgroup_is_frozen(const drv_cgroup *cg, bool *frozen, drv_err *err);

/* Sends sig to every process of the group. SIGKILL uses v2 cgroup.kill when the kernel has it;
 * otherwise the group is frozen, signalled pid by pid and thawed, so no fork escapes. */
int drv_cgroup_killall(drv_cgroup *cg, int sig, drv_err *err);

/* Removes the group (and sub-groups) from every hierarchy, retrying while exiting processes
 * still hold it (up to ~2 s). A group already gone is fine. Does not kill: call killall first. */
int drv_cgroup_destroy(drv_cgroup *cg, drv_err *err);
/* The cheap removal of a group known to be empty (its init reaped in its own pid namespace):
 * one rmdir per hierarchy, no directory walk. False when a directory is still there (busy:
 * processes or sub-groups left); the caller then goes the killall + destroy way, which skips
 * the directories already removed. */
bool drv_cgroup_remove_empty(drv_cgroup *cg);

/* ---- stats ---------------------------------------------------------------------------------- */

enum {
  DRV_CGROUP_STATS_CPU = 1u << 0,
  DRV_CGROUP_STATS_MEMORY = 1u << 1,
  DRV_CGROUP_STATS_PIDS = 1u << 2,
  DRV_CGROUP_STATS_IO = 1u << 3,
};

#define DRV_CGROUP_UNLIMITED UINT64_MAX

typedef struct drv_cgroup_stats {
  unsigned have; /* DRV_CGROUP_STATS_ bits of the groups that were read */
  struct {
    uint64_t usage_ns, user_ns, system_ns;
    uint64_t nr_periods, nr_throttled, throttled_ns;
  } cpu;
  struct {
    uint64_t usage;       /* bytes charged now (v1 usage_in_bytes, v2 memory.current) */
    uint64_t max_usage;   /* peak, 0 when the kernel does not say */
    uint64_t limit;       /* DRV_CGROUP_UNLIMITED when none */
    uint64_t working_set; /* usage - inactive_file (floored at 0), as kubelet computes it */
    uint64_t rss;         /* anonymous memory */
    uint64_t cache;       /* page cache */
    uint64_t inactive_file;
    uint64_t swap;       /* swap in use (v1: memsw.usage - usage) */
    uint64_t failcnt;    /* v1 memory.failcnt; v2 memory.events max */
    uint64_t oom_events; /* v2 memory.events oom; v1 under_oom episodes are not counted: 0 */
    uint64_t oom_kills;  /* v1 memory.oom_control oom_kill; v2 memory.events oom_kill */
  } memory;
  struct {
    uint64_t current;
    uint64_t limit; /* DRV_CGROUP_UNLIMITED when max */
  } pids;
  struct {
    uint64_t read_bytes, write_bytes, read_ops, write_ops;
  } io;
} drv_cgroup_stats;

/* Reads what the group's controllers offer; a controller that is not there leaves its bit out
 * of st->have (not an error). */
int drv_cgroup_stats_read(const drv_cgroup *cg, drv_cgroup_stats *st, drv_err *err);

#endif
