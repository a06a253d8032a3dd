/* The C view of an OCI runtime spec (config.json), parsed once and validated up front so that
 * the container setup in the child never meets a malformed field: every error names the field. */
#ifndef DRV_RUNTIME_SPEC_H
#define DRV_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/runtime.h"

enum {
  DRV_CAP_BOUNDING,
  DRV_CAP_EFFECTIVE,
  DRV_CAP_INHERITABLE,
  DRV_CAP_PERMITTED,
  DRV_CAP_AMBIENT,
  DRV_CAP_NSETS
};

enum {
  DRV_HOOK_PRESTART,
  DRV_HOOK_CREATE_RUNTIME,
  DRV_HOOK_CREATE_CONTAINER,
  DRV_HOOK_START_CONTAINER,
  DRV_HOOK_POSTSTART,
  DRV_HOOK_POSTSTOP,
  DRV_HOOK_NKINDS
};

typedef struct drv_rt_mount {
  char *destination;
  char *type;                       /* may be NULL for bind mounts */
  char *source;                     /* may be NULL */
  unsigned long flags;              /* MS_* set by options */
  unsigned long clear_flags;        /* MS_* explicitly cleared (rw, suid, ...) */
  unsigned long propagation;        /* MS_PRIVATE|MS_SHARED|... (|MS_REC) or 0 */
  unsigned long rec_set, rec_clear; /* MOUNT_ATTR_* for rro, rnosuid, ... (mount_setattr) */
  bool bind;                        /* bind or rbind (MS_BIND in flags; MS_REC with rbind) */
  char *data;                       /* comma-joined options the kernel parses (size=, mode=, ...) */
} drv_rt_mount;

typedef struct drv_rt_ns {
  int type;   /* CLONE_NEW* */
  char *path; /* join this one; NULL = create a new namespace */
} drv_rt_ns;

typedef struct drv_rt_idmap {
  uint32_t container_id, host_id, size;
} drv_rt_idmap;

typedef struct drv_rt_rlimit {
  int resource;
  struct rlimit lim;
} drv_rt_rlimit;

typedef struct drv_rt_device {
  char *path;
  mode_t type; /* S_IFCHR, S_IFBLK, S_IFIFO */
  unsigned major, minor;
  mode_t mode; /* permission bits; 0666 when absent */
  uid_t uid;
  gid_t gid;
} drv_rt_device;

typedef struct drv_rt_hook {
  char *path;
  char **args; /* NULL-terminated, may be NULL */
  char **env;
  int timeout; /* seconds, 0 = none */
} drv_rt_hook;

typedef struct drv_rt_process {
  bool terminal;
  unsigned short console_height, console_width;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  bool has_umask;
  mode_t umask;
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated, never NULL */
  char *cwd;
  bool has_caps;
  uint64_t caps[DRV_CAP_NSETS];
  drv_rt_rlimit *rlimits;
  size_t nrlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  json_t *seccomp; /* exec's own linux.seccomp (borrowed), or NULL */
} drv_rt_process;

struct drv_rt_spec {
  json_t *doc;     /* the whole config (one reference) */
  char *root_path; /* as written; made absolute against the bundle at create time */
  bool root_readonly;
  char *hostname, *domainname;
  bool has_process;
  drv_rt_process process;
  drv_rt_mount *mounts;
  size_t nmounts;
  drv_rt_hook *hooks[DRV_HOOK_NKINDS];
  size_t nhooks[DRV_HOOK_NKINDS];
  drv_rt_ns *ns;
  size_t nns;
  int new_ns_flags; /* CLONE_NEW* of namespaces to create */
  bool joins;       /* some namespace is joined by path */
  drv_rt_idmap *uid_maps, *gid_maps;
  size_t nuid_maps, ngid_maps;
  char **sysctl_keys, **sysctl_values;
  size_t nsysctl;
  json_t *resources;  /* linux.resources (borrowed from doc) or NULL */
  char *cgroups_path; /* linux.cgroupsPath or NULL */
  drv_rt_device *devices;
  size_t ndevices;
  char **masked_paths, **readonly_paths; /* NULL-terminated, may be NULL */
  unsigned long rootfs_propagation;      /* MS_* | MS_REC, 0 = default (rslave... private) */
  json_t *seccomp;                       /* linux.seccomp (borrowed) or NULL */
  json_t *annotations;                   /* object (borrowed) or NULL */
  bool has_personality;
  unsigned long personality;
};

/* Parses one "process" object; prefix names it in errors ("process" or "process.json").
 * need_args: args must be a non-empty array. */
int drv_rt_process_parse(json_t *p, const char *prefix, bool need_args, drv_rt_process *out,
                         drv_err *err);
void drv_rt_process_clear(drv_rt_process *p);

/* Parses one mount option list into m (exposed for tests). */
int drv_rt_mount_options(json_t *opts, const char *field, drv_rt_mount *m, drv_err *err);

/* Namespace type name ("pid", "network", ...) → CLONE_NEW*, 0 when unknown. */
int drv_rt_ns_type(const char *name);
const char *drv_rt_ns_proc_name(int type); /* CLONE_NEWNET → "net" */

/* Capability name → number, -1 when unknown. */
int drv_rt_cap_from_name(const char *name);
/* Number → "CAP_…", NULL past the last capability drover knows. */
const char *drv_rt_cap_name(int cap);

#endif
