/* config.json → struct drv_rt_spec, validating every field it reads. */
#include "runtime/spec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/util.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
  const char *name, *proc;
  int flag;
} ns_types[] = {
    {"pid", "pid", CLONE_NEWPID},          {"network", "net", CLONE_NEWNET},
    {"mount", "mnt", CLONE_NEWNS},         {"ipc", "ipc", CLONE_NEWIPC},
    {"uts", "uts", CLONE_NEWUTS},          {"user", "user", CLONE_NEWUSER},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

int drv_rt_ns_type(const char *name)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(ns_types); i++)
    if (strcmp(ns_types[i].name, name) == 0) return ns_types[i].flag;
  return 0;
}

const char *drv_rt_ns_proc_name(int type)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(ns_types); i++)
    if (ns_types[i].flag == type) return ns_types[i].proc;
  return "?";
}

static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

const char *drv_rt_cap_name(int cap)
{
  return cap >= 0 && (size_t)cap < DRV_ARRAY_LEN(cap_names) ? cap_names[cap] : NULL;
}

int drv_rt_cap_from_name(const char *name)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(cap_names); i++)
    if (strcasecmp(cap_names[i], name) == 0) return (int)i;
  return -1;
}

/* ---- small typed getters that name the field on error ---------------------------------- */

static int get_str(json_t *obj, const char *key, const char *field, bool required, char **out,
                   drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    if (required) return drv_error(err, 0, "%s.%s: required", field, key);
    return 0;
  }
  if (!json_is_string(v)) return drv_error(err, 0, "%s.%s: must be a string", field, key);
  *out = drv_strdup(json_string_value(v));
  return 0;
}

static int get_bool(json_t *obj, const char *key, const char *field, bool *out, drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) return drv_error(err, 0, "%s.%s: must be a boolean", field, key);
  *out = json_is_true(v);
  return 0;
}

/* Integer within [lo, hi]; *present tells whether the key was there. */
static int get_int(json_t *obj, const char *key, const char *field, long long lo,
                   unsigned long long hi, long long *out, bool *present, drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  if (present) *present = false;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v)) return drv_error(err, 0, "%s.%s: must be an integer", field, key);
  long long n = json_integer_value(v);
  if (n < lo || (n >= 0 && (unsigned long long)n > hi))
    return drv_error(err, 0, "%s.%s: %lld out of range", field, key, n);
  *out = n;
  if (present) *present = true;
  return 0;
}

/* Array of strings → NULL-terminated vector (NULL when absent). */
static int get_strv(json_t *obj, const char *key, const char *field, char ***out, drv_err *err)
{
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_array(v)) return drv_error(err, 0, "%s.%s: must be an array of strings", field, key);
  size_t n = json_array_size(v);
  char **vec = drv_calloc(n + 1, sizeof *vec);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(v, i);
    if (!json_is_string(s)) {
      drv_strv_free(vec);
      return drv_error(err, 0, "%s.%s[%zu]: must be a string", field, key, i);
    }
    vec[i] = drv_strdup(json_string_value(s));
  }
  *out = vec;
  return 0;
}

static int check_obj(json_t *v, const char *field, drv_err *err)
{
  if (v && !json_is_object(v) && !json_is_null(v))
    return drv_error(err, 0, "%s: must be an object", field);
  return 0;
}

/* ---- process ------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  int res;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_caps(json_t *caps, const char *prefix, drv_rt_process *out, drv_err *err)
{
  static const char *const sets[DRV_CAP_NSETS] = {"bounding", "effective", "inheritable",
                                                  "permitted", "ambient"};
  if (!caps || json_is_null(caps)) return 0;
  if (!json_is_object(caps)) return drv_error(err, 0, "%s.capabilities: must be an object", prefix);
  out->has_caps = true;
  for (int s = 0; s < DRV_CAP_NSETS; s++) {
    json_t *a = json_object_get(caps, sets[s]);
    if (!a || json_is_null(a)) continue;
    if (!json_is_array(a))
      return drv_error(err, 0, "%s.capabilities.%s: must be an array", prefix, sets[s]);
    size_t i;
    json_t *c;
    json_array_foreach(a, i, c)
    {
      if (!json_is_string(c))
        return drv_error(err, 0, "%s.capabilities.%s[%zu]: must be a string", prefix, sets[s], i);
      int n = drv_rt_cap_from_name(json_string_value(c));
      if (n < 0)
        return drv_error(err, 0, "%s.capabilities.%s[%zu]: unknown capability `%s`", prefix,
                         sets[s], i, json_string_value(c));
      out->caps[s] |= 1ULL << n;
    }
  }
  return 0;
}

static int process_parse(json_t *p, const char *prefix, bool need_args, drv_rt_process *out,
                         drv_err *err)
{
  char f[128];
  long long n;
  bool present;
  memset(out, 0, sizeof *out);
  if (!json_is_object(p)) return drv_error(err, 0, "%s: must be an object", prefix);
  if (get_bool(p, "terminal", prefix, &out->terminal, err) < 0) return -1;
  json_t *cs = json_object_get(p, "consoleSize");
  if (cs && !json_is_null(cs)) {
    snprintf(f, sizeof f, "%s.consoleSize", prefix);
    if (check_obj(cs, f, err) < 0) return -1;
    if (get_int(cs, "height", f, 0, USHRT_MAX, &n, &present, err) < 0) return -1;
    if (present) out->console_height = (unsigned short)n;
    if (get_int(cs, "width", f, 0, USHRT_MAX, &n, &present, err) < 0) return -1;
    if (present) out->console_width = (unsigned short)n;
  }
  json_t *user = json_object_get(p, "user");
  snprintf(f, sizeof f, "%s.user", prefix);
  if (check_obj(user, f, err) < 0) return -1;
  if (json_is_object(user)) {
    if (get_int(user, "uid", f, 0, UINT32_MAX - 1, &n, &present, err) < 0) return -1;
    if (present) out->uid = (uid_t)n;
    if (get_int(user, "gid", f, 0, UINT32_MAX - 1, &n, &present, err) < 0) return -1;
    if (present) out->gid = (gid_t)n;
    if (get_int(user, "umask", f, 0, 0777, &n, &present, err) < 0) return -1;
    if (present) out->has_umask = true, out->umask = (mode_t)n;
    json_t *g = json_object_get(user, "additionalGids");
    if (g && !json_is_null(g)) {
      if (!json_is_array(g)) return drv_error(err, 0, "%s.additionalGids: must be an array", f);
      out->ngroups = json_array_size(g);
      out->groups = drv_calloc(out->ngroups + 1, sizeof(gid_t));
      for (size_t i = 0; i < out->ngroups; i++) {
        json_t *x = json_array_get(g, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) >= (json_int_t)UINT32_MAX)
          return drv_error(err, 0, "%s.additionalGids[%zu]: must be a gid", f, i);
        out->groups[i] = (gid_t)json_integer_value(x);
      }
    }
  }
  if (get_strv(p, "args", prefix, &out->args, err) < 0) return -1;
  if (need_args && (!out->args || !out->args[0]))
    return drv_error(err, 0, "%s.args: must be a non-empty array", prefix);
  if (out->args && out->args[0] && !out->args[0][0])
    return drv_error(err, 0, "%s.args[0]: must not be empty", prefix);
  if (get_strv(p, "env", prefix, &out->env, err) < 0) return -1;
  if (!out->env) out->env = drv_calloc(1, sizeof(char *));
  for (size_t i = 0; out->env[i]; i++)
    if (!strchr(out->env[i], '=') || out->env[i][0] == '=')
      return drv_error(err, 0, "%s.env[%zu]: `%s` is not NAME=VALUE", prefix, i, out->env[i]);
  if (get_str(p, "cwd", prefix, false, &out->cwd, err) < 0) return -1;
  if (!out->cwd) out->cwd = drv_strdup("/");
  if (out->cwd[0] != '/')
    return drv_error(err, 0, "%s.cwd: `%s` must be an absolute path", prefix, out->cwd);
  if (parse_caps(json_object_get(p, "capabilities"), prefix, out, err) < 0) return -1;
  json_t *rl = json_object_get(p, "rlimits");
  if (rl && !json_is_null(rl)) {
    if (!json_is_array(rl)) return drv_error(err, 0, "%s.rlimits: must be an array", prefix);
    out->nrlimits = json_array_size(rl);
    out->rlimits = drv_calloc(out->nrlimits + 1, sizeof *out->rlimits);
    for (size_t i = 0; i < out->nrlimits; i++) {
      json_t *r = json_array_get(rl, i);
      snprintf(f, sizeof f, "%s.rlimits[%zu]", prefix, i);
      if (!json_is_object(r)) return drv_error(err, 0, "%s: must be an object", f);
      _cleanup_free_ char *type = NULL;
      if (get_str(r, "type", f, true, &type, err) < 0) return -1;
      int res = -1;
      for (size_t k = 0; k < DRV_ARRAY_LEN(rlimit_names); k++)
        if (strcmp(rlimit_names[k].name, type) == 0) res = rlimit_names[k].res;
      if (res < 0) return drv_error(err, 0, "%s.type: unknown rlimit `%s`", f, type);
      for (size_t k = 0; k < i; k++)
        if (out->rlimits[k].resource == res)
          return drv_error(err, 0, "%s.type: `%s` given twice", f, type);
      json_t *soft = json_object_get(r, "soft"), *hard = json_object_get(r, "hard");
      if (!json_is_integer(soft)) return drv_error(err, 0, "%s.soft: must be an integer", f);
      if (!json_is_integer(hard)) return drv_error(err, 0, "%s.hard: must be an integer", f);
      /* json_int_t is signed 64-bit: -1 / huge values mean unlimited */
      out->rlimits[i].resource = res;
      out->rlimits[i].lim.rlim_cur = (rlim_t)json_integer_value(soft);
      out->rlimits[i].lim.rlim_max = (rlim_t)json_integer_value(hard);
      if (out->rlimits[i].lim.rlim_cur > out->rlimits[i].lim.rlim_max)
        return drv_error(err, 0, "%s: soft limit is above the hard limit", f);
    }
  }
  if (get_bool(p, "noNewPrivileges", prefix, &out->no_new_privileges, err) < 0) return -1;
  if (get_int(p, "oomScoreAdj", prefix, -1000, 1000, &n, &present, err) < 0) return -1;
  if (present) out->has_oom_score_adj = true, out->oom_score_adj = (int)n;
  return 0;
}

int drv_rt_process_parse(json_t *p, const char *prefix, bool need_args, drv_rt_process *out,
                         drv_err *err)
{
  int r = process_parse(p, prefix, need_args, out, err);
  if (r < 0) drv_rt_process_clear(out);
  return r;
}

void drv_rt_process_clear(drv_rt_process *p)
{
  free(p->groups);
  drv_strv_free(p->args);
  drv_strv_free(p->env);
  free(p->cwd);
  free(p->rlimits);
  memset(p, 0, sizeof *p);
}

/* ---- mounts ------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  unsigned long set, clear;
} mount_opts[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"suid", 0, MS_NOSUID},
    {"nosuid", MS_NOSUID, 0},
    {"dev", 0, MS_NODEV},
    {"nodev", MS_NODEV, 0},
    {"exec", 0, MS_NOEXEC},
    {"noexec", MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", MS_REMOUNT, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"atime", 0, MS_NOATIME},
    {"noatime", MS_NOATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
    {"silent", MS_SILENT, 0},
    {"loud", 0, MS_SILENT},
};

static const struct {
  const char *name;
  unsigned long flag;
} prop_opts[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static const struct {
  const char *name;
  unsigned long set, clear;
} rec_opts[] = {
    {"rro", MOUNT_ATTR_RDONLY, 0},         {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},     {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},       {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},     {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnoatime", MOUNT_ATTR_NOATIME, 0},   {"rstrictatime", MOUNT_ATTR_STRICTATIME, 0},
    {"rrelatime", MOUNT_ATTR_RELATIME, 0}, {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
};

int drv_rt_mount_options(json_t *opts, const char *field, drv_rt_mount *m, drv_err *err)
{
  if (!opts || json_is_null(opts)) return 0;
  if (!json_is_array(opts)) return drv_error(err, 0, "%s.options: must be an array", field);
  _cleanup_free_ char *data = NULL;
  size_t i;
  json_t *o;
  json_array_foreach(opts, i, o)
  {
    if (!json_is_string(o)) return drv_error(err, 0, "%s.options[%zu]: must be a string", field, i);
    const char *s = json_string_value(o);
    bool known = false;
    for (size_t k = 0; k < DRV_ARRAY_LEN(mount_opts) && !known; k++)
      if (strcmp(mount_opts[k].name, s) == 0) {
        m->flags = (m->flags | mount_opts[k].set) & ~mount_opts[k].clear;
        m->clear_flags = (m->clear_flags | mount_opts[k].clear) & ~mount_opts[k].set;
        known = true;
      }
    for (size_t k = 0; k < DRV_ARRAY_LEN(prop_opts) && !known; k++)
      if (strcmp(prop_opts[k].name, s) == 0) m->propagation = prop_opts[k].flag, known = true;
    for (size_t k = 0; k < DRV_ARRAY_LEN(rec_opts) && !known; k++)
      if (strcmp(rec_opts[k].name, s) == 0) {
        m->rec_set = (m->rec_set | rec_opts[k].set) & ~rec_opts[k].clear;
        m->rec_clear = (m->rec_clear | rec_opts[k].clear) & ~rec_opts[k].set;
        known = true;
      }
    /* Options handled by other runtimes' helpers that change nothing here. */
    if (!known && (!strcmp(s, "tmpcopyup") || !strcmp(s, "defaults") || !strncmp(s, "x-", 2)))
      known = true;
    if (!known) {
      char *d = data ? drv_asprintf("%s,%s", data, s) : drv_strdup(s);
      free(data);
      data = d;
    }
  }
  if (m->flags & MS_BIND) m->bind = true;
  m->data = drv_steal_ptr(data);
  return 0;
}

static int parse_mounts(drv_rt_spec *s, json_t *mounts, drv_err *err)
{
  if (!mounts || json_is_null(mounts)) return 0;
  if (!json_is_array(mounts)) return drv_error(err, 0, "mounts: must be an array");
  s->nmounts = json_array_size(mounts);
  s->mounts = drv_calloc(s->nmounts + 1, sizeof *s->mounts);
  for (size_t i = 0; i < s->nmounts; i++) {
    json_t *j = json_array_get(mounts, i);
    drv_rt_mount *m = &s->mounts[i];
    char f[64];
    snprintf(f, sizeof f, "mounts[%zu]", i);
    if (!json_is_object(j)) return drv_error(err, 0, "%s: must be an object", f);
    if (get_str(j, "destination", f, true, &m->destination, err) < 0) return -1;
    if (m->destination[0] != '/')
      return drv_error(err, 0, "%s.destination: `%s` must be an absolute path", f, m->destination);
    if (get_str(j, "type", f, false, &m->type, err) < 0) return -1;
    if (get_str(j, "source", f, false, &m->source, err) < 0) return -1;
    if (drv_rt_mount_options(json_object_get(j, "options"), f, m, err) < 0) return -1;
    if (m->type && !strcmp(m->type, "bind")) m->bind = true, m->flags |= MS_BIND;
    if (m->bind && !m->source) return drv_error(err, 0, "%s.source: required for a bind mount", f);
    if (!m->bind && !m->type) return drv_error(err, 0, "%s.type: required", f);
    if (m->bind && m->source[0] != '/' && !m->source[0])
      return drv_error(err, 0, "%s.source: must not be empty", f);
  }
  return 0;
}

/* ---- hooks ------------------------------------------------------------------------------- */

static int parse_hooks(drv_rt_spec *s, json_t *hooks, drv_err *err)
{
  static const char *const kinds[DRV_HOOK_NKINDS] = {
      "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  if (!hooks || json_is_null(hooks)) return 0;
  if (!json_is_object(hooks)) return drv_error(err, 0, "hooks: must be an object");
  for (int k = 0; k < DRV_HOOK_NKINDS; k++) {
    json_t *a = json_object_get(hooks, kinds[k]);
    if (!a || json_is_null(a)) continue;
    if (!json_is_array(a)) return drv_error(err, 0, "hooks.%s: must be an array", kinds[k]);
    s->nhooks[k] = json_array_size(a);
    s->hooks[k] = drv_calloc(s->nhooks[k] + 1, sizeof(drv_rt_hook));
    for (size_t i = 0; i < s->nhooks[k]; i++) {
      json_t *h = json_array_get(a, i);
      drv_rt_hook *hk = &s->hooks[k][i];
      char f[64];
      long long n;
      bool present;
      snprintf(f, sizeof f, "hooks.%s[%zu]", kinds[k], i);
      if (!json_is_object(h)) return drv_error(err, 0, "%s: must be an object", f);
      if (get_str(h, "path", f, true, &hk->path, err) < 0) return -1;
      if (hk->path[0] != '/')
        return drv_error(err, 0, "%s.path: `%s` must be an absolute path", f, hk->path);
      if (get_strv(h, "args", f, &hk->args, err) < 0) return -1;
      if (get_strv(h, "env", f, &hk->env, err) < 0) return -1;
      if (get_int(h, "timeout", f, 1, INT_MAX, &n, &present, err) < 0) return -1;
      if (present) hk->timeout = (int)n;
    }
  }
  return 0;
}

/* ---- linux ------------------------------------------------------------------------------- */

static int parse_idmaps(json_t *a, const char *field, drv_rt_idmap **out, size_t *n, drv_err *err)
{
  if (!a || json_is_null(a)) return 0;
  if (!json_is_array(a)) return drv_error(err, 0, "linux.%s: must be an array", field);
  *n = json_array_size(a);
  *out = drv_calloc(*n + 1, sizeof **out);
  for (size_t i = 0; i < *n; i++) {
    json_t *m = json_array_get(a, i);
    char f[64];
    long long v;
    bool present;
    snprintf(f, sizeof f, "linux.%s[%zu]", field, i);
    if (!json_is_object(m)) return drv_error(err, 0, "%s: must be an object", f);
    if (get_int(m, "containerID", f, 0, UINT32_MAX, &v, &present, err) < 0) return -1;
    if (!present) return drv_error(err, 0, "%s.containerID: required", f);
    (*out)[i].container_id = (uint32_t)v;
    if (get_int(m, "hostID", f, 0, UINT32_MAX, &v, &present, err) < 0) return -1;
    if (!present) return drv_error(err, 0, "%s.hostID: required", f);
    (*out)[i].host_id = (uint32_t)v;
    if (get_int(m, "size", f, 1, UINT32_MAX, &v, &present, err) < 0) return -1;
    if (!present) return drv_error(err, 0, "%s.size: required", f);
    (*out)[i].size = (uint32_t)v;
  }
  return 0;
}

static int parse_namespaces(drv_rt_spec *s, json_t *a, drv_err *err)
{
  if (!a || json_is_null(a)) return 0;
  if (!json_is_array(a)) return drv_error(err, 0, "linux.namespaces: must be an array");
  s->nns = json_array_size(a);
  s->ns = drv_calloc(s->nns + 1, sizeof *s->ns);
  int seen = 0;
  for (size_t i = 0; i < s->nns; i++) {
    json_t *n = json_array_get(a, i);
    char f[64];
    _cleanup_free_ char *type = NULL;
    snprintf(f, sizeof f, "linux.namespaces[%zu]", i);
    if (!json_is_object(n)) return drv_error(err, 0, "%s: must be an object", f);
    if (get_str(n, "type", f, true, &type, err) < 0) return -1;
    int t = drv_rt_ns_type(type);
    if (!t) return drv_error(err, 0, "%s.type: unknown namespace type `%s`", f, type);
    if (seen & t) return drv_error(err, 0, "%s.type: namespace `%s` listed twice", f, type);
    seen |= t;
    s->ns[i].type = t;
    if (get_str(n, "path", f, false, &s->ns[i].path, err) < 0) return -1;
    if (s->ns[i].path && !s->ns[i].path[0]) {
      free(s->ns[i].path);
      s->ns[i].path = NULL;
    }
    if (s->ns[i].path) {
      if (s->ns[i].path[0] != '/')
        return drv_error(err, 0, "%s.path: `%s` must be an absolute path", f, s->ns[i].path);
      s->joins = true;
    } else {
      s->new_ns_flags |= t;
    }
  }
  return 0;
}

static int parse_devices(drv_rt_spec *s, json_t *a, drv_err *err)
{
  if (!a || json_is_null(a)) return 0;
  if (!json_is_array(a)) return drv_error(err, 0, "linux.devices: must be an array");
  s->ndevices = json_array_size(a);
  s->devices = drv_calloc(s->ndevices + 1, sizeof *s->devices);
  for (size_t i = 0; i < s->ndevices; i++) {
    json_t *d = json_array_get(a, i);
    drv_rt_device *dv = &s->devices[i];
    char f[64];
    long long v;
    bool present;
    _cleanup_free_ char *type = NULL;
    snprintf(f, sizeof f, "linux.devices[%zu]", i);
    if (!json_is_object(d)) return drv_error(err, 0, "%s: must be an object", f);
    if (get_str(d, "path", f, true, &dv->path, err) < 0) return -1;
    if (dv->path[0] != '/')
      return drv_error(err, 0, "%s.path: `%s` must be an absolute path", f, dv->path);
    if (get_str(d, "type", f, true, &type, err) < 0) return -1;
    if (!strcmp(type, "c") || !strcmp(type, "u"))
      dv->type = S_IFCHR;
    else if (!strcmp(type, "b"))
      dv->type = S_IFBLK;
    else if (!strcmp(type, "p"))
      dv->type = S_IFIFO;
    else
      return drv_error(err, 0, "%s.type: unknown device type `%s`", f, type);
    if (get_int(d, "major", f, 0, UINT32_MAX, &v, &present, err) < 0) return -1;
    if (!present && dv->type != S_IFIFO) return drv_error(err, 0, "%s.major: required", f);
    dv->major = present ? (unsigned)v : 0;
    if (get_int(d, "minor", f, 0, UINT32_MAX, &v, &present, err) < 0) return -1;
    if (!present && dv->type != S_IFIFO) return drv_error(err, 0, "%s.minor: required", f);
    dv->minor = present ? (unsigned)v : 0;
    if (get_int(d, "fileMode", f, 0, 07777, &v, &present, err) < 0) return -1;
    dv->mode = present ? (mode_t)v : 0666;
    if (get_int(d, "uid", f, 0, UINT32_MAX - 1, &v, &present, err) < 0) return -1;
    dv->uid = present ? (uid_t)v : 0;
    if (get_int(d, "gid", f, 0, UINT32_MAX - 1, &v, &present, err) < 0) return -1;
    dv->gid = present ? (gid_t)v : 0;
  }
  return 0;
}

static int parse_linux(drv_rt_spec *s, json_t *l, drv_err *err)
{
  if (!l || json_is_null(l)) return 0;
  if (!json_is_object(l)) return drv_error(err, 0, "linux: must be an object");
  if (parse_namespaces(s, json_object_get(l, "namespaces"), err) < 0) return -1;
  if (parse_idmaps(json_object_get(l, "uidMappings"), "uidMappings", &s->uid_maps, &s->nuid_maps,
                   err) < 0)
    return -1;
  if (parse_idmaps(json_object_get(l, "gidMappings"), "gidMappings", &s->gid_maps, &s->ngid_maps,
                   err) < 0)
    return -1;
  if ((s->nuid_maps || s->ngid_maps) && !(s->new_ns_flags & CLONE_NEWUSER))
    return drv_error(err, 0, "linux.uidMappings: given without a new user namespace");
  if ((s->new_ns_flags & CLONE_NEWUSER) && (!s->nuid_maps || !s->ngid_maps))
    return drv_error(err, 0, "linux.uidMappings: a new user namespace needs uid and gid mappings");
  json_t *sc = json_object_get(l, "sysctl");
  if (sc && !json_is_null(sc)) {
    if (!json_is_object(sc)) return drv_error(err, 0, "linux.sysctl: must be an object");
    s->sysctl_keys = drv_calloc(json_object_size(sc) + 1, sizeof(char *));
    s->sysctl_values = drv_calloc(json_object_size(sc) + 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(sc, k, v)
    {
      if (!json_is_string(v)) return drv_error(err, 0, "linux.sysctl.%s: must be a string", k);
      if (!k[0] || strstr(k, "..") || k[0] == '/' || k[0] == '.')
        return drv_error(err, 0, "linux.sysctl.%s: invalid key", k);
      s->sysctl_keys[s->nsysctl] = drv_strdup(k);
      s->sysctl_values[s->nsysctl++] = drv_strdup(json_string_value(v));
    }
  }
  json_t *res = json_object_get(l, "resources");
  if (check_obj(res, "linux.resources", err) < 0) return -1;
  if (json_is_object(res)) s->resources = res;
  if (get_str(l, "cgroupsPath", "linux", false, &s->cgroups_path, err) < 0) return -1;
  if (parse_devices(s, json_object_get(l, "devices"), err) < 0) return -1;
  if (get_strv(l, "maskedPaths", "linux", &s->masked_paths, err) < 0) return -1;
  if (get_strv(l, "readonlyPaths", "linux", &s->readonly_paths, err) < 0) return -1;
  for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
    if (s->masked_paths[i][0] != '/')
      return drv_error(err, 0, "linux.maskedPaths[%zu]: must be an absolute path", i);
  for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
    if (s->readonly_paths[i][0] != '/')
      return drv_error(err, 0, "linux.readonlyPaths[%zu]: must be an absolute path", i);
  _cleanup_free_ char *prop = NULL;
  if (get_str(l, "rootfsPropagation", "linux", false, &prop, err) < 0) return -1;
  if (prop && prop[0]) {
    for (size_t k = 0; k < DRV_ARRAY_LEN(prop_opts); k++)
      if (!strcmp(prop_opts[k].name, prop)) s->rootfs_propagation = prop_opts[k].flag;
    if (!s->rootfs_propagation)
      return drv_error(err, 0, "linux.rootfsPropagation: unknown propagation `%s`", prop);
  }
  json_t *sec = json_object_get(l, "seccomp");
  if (check_obj(sec, "linux.seccomp", err) < 0) return -1;
  if (json_is_object(sec)) s->seccomp = sec;
  json_t *pers = json_object_get(l, "personality");
  if (check_obj(pers, "linux.personality", err) < 0) return -1;
  if (json_is_object(pers)) {
    _cleanup_free_ char *dom = NULL;
    if (get_str(pers, "domain", "linux.personality", true, &dom, err) < 0) return -1;
    if (!strcmp(dom, "LINUX"))
      s->personality = PER_LINUX;
    else if (!strcmp(dom, "LINUX32"))
      s->personality = PER_LINUX32;
    else
      return drv_error(err, 0, "linux.personality.domain: unknown domain `%s`", dom);
    s->has_personality = true;
  }
  return 0;
}

/* ---- top level --------------------------------------------------------------------------- */

int drv_rt_spec_parse(json_t *doc, drv_rt_spec **out, drv_err *err)
{
  *out = NULL;
  if (!json_is_object(doc)) return drv_error(err, 0, "config: must be a JSON object");
  drv_rt_spec *s = drv_calloc(1, sizeof *s);
  s->doc = json_incref(doc);
  int r = -1;
  json_t *v = json_object_get(doc, "ociVersion");
  if (!json_is_string(v)) {
    drv_error(err, 0, "ociVersion: required string");
    goto out;
  }
  if (strncmp(json_string_value(v), "1.", 2) != 0) {
    drv_error(err, 0, "ociVersion: unsupported version `%s` (want 1.x)", json_string_value(v));
    goto out;
  }
  json_t *root = json_object_get(doc, "root");
  if (!json_is_object(root)) {
    drv_error(err, 0, "root: required object");
    goto out;
  }
  if (get_str(root, "path", "root", true, &s->root_path, err) < 0) goto out;
  if (!s->root_path[0]) {
    drv_error(err, 0, "root.path: must not be empty");
    goto out;
  }
  if (get_bool(root, "readonly", "root", &s->root_readonly, err) < 0) goto out;
  json_t *p = json_object_get(doc, "process");
  if (p && !json_is_null(p)) {
    if (drv_rt_process_parse(p, "process", true, &s->process, err) < 0) goto out;
    s->has_process = true;
  }
  if (get_str(doc, "hostname", "config", false, &s->hostname, err) < 0) goto out;
  if (get_str(doc, "domainname", "config", false, &s->domainname, err) < 0) goto out;
  if (parse_mounts(s, json_object_get(doc, "mounts"), err) < 0) goto out;
  if (parse_hooks(s, json_object_get(doc, "hooks"), err) < 0) goto out;
  if (parse_linux(s, json_object_get(doc, "linux"), err) < 0) goto out;
  json_t *ann = json_object_get(doc, "annotations");
  if (check_obj(ann, "annotations", err) < 0) goto out;
  if (json_is_object(ann)) {
    const char *k;
    json_t *av;
    json_object_foreach(ann, k, av) if (!json_is_string(av))
    {
      drv_error(err, 0, "annotations.%s: must be a string", k);
      goto out;
    }
    s->annotations = ann;
  }
  if ((s->hostname || s->domainname) && !(s->new_ns_flags & CLONE_NEWUTS)) {
    bool joined = false;
    for (size_t i = 0; i < s->nns; i++)
      joined |= s->ns[i].type == CLONE_NEWUTS;
    if (!joined) {
      drv_error(err, 0, "hostname: setting it needs a new uts namespace (linux.namespaces)");
      goto out;
    }
  }
  r = 0;
out:
  if (r < 0)
    drv_rt_spec_free(s);
  else
    *out = s;
  return r;
}

int drv_rt_spec_load(const char *bundle, drv_rt_spec **out, drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("%s/config.json", bundle);
  json_error_t jerr;
  json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc) {
    if (jerr.line < 0 || strstr(jerr.text, "unable to open"))
      return drv_error(err, errno, "read `%s`", path);
    return drv_error(err, 0, "config.json: line %d column %d: %s", jerr.line, jerr.column,
                     jerr.text);
  }
  int r = drv_rt_spec_parse(doc, out, err);
  json_decref(doc);
  if (r < 0) drv_err_prefix(err, "config.json");
  return r;
}

bool drv_rt_spec_terminal(const drv_rt_spec *s)
{
  return s->has_process && s->process.terminal;
}

void drv_rt_spec_free(drv_rt_spec *s)
{
  if (!s) return;
  json_decref(s->doc);
  free(s->root_path);
  free(s->hostname);
  free(s->domainname);
  drv_rt_process_clear(&s->process);
  for (size_t i = 0; i < s->nmounts; i++) {
    free(s->mounts[i].destination);
    free(s->mounts[i].type);
    free(s->mounts[i].source);
    free(s->mounts[i].data);
  }
  free(s->mounts);
  for (int k = 0; k < DRV_HOOK_NKINDS; k++) {
    for (size_t i = 0; i < s->nhooks[k]; i++) {
      free(s->hooks[k][i].path);
      drv_strv_free(s->hooks[k][i].args);
      drv_strv_free(s->hooks[k][i].env);
    }
    free(s->hooks[k]);
  }
  for (size_t i = 0; i < s->nns; i++)
    free(s->ns[i].path);
  free(s->ns);
  free(s->uid_maps);
  free(s->gid_maps);
  drv_strv_free(s->sysctl_keys);
  drv_strv_free(s->sysctl_values);
  free(s->cgroups_path);
  for (size_t i = 0; i < s->ndevices; i++)
    free(s->devices[i].path);
  free(s->devices);
  drv_strv_free(s->masked_paths);
  drv_strv_free(s->readonly_paths);
  free(s);
}
