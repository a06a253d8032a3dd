/* Which cgroup layout this process sees: v1, hybrid or unified v2, from /proc/self/mountinfo
 * (what is mounted where) and /proc/self/cgroup (where this process is). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"
#include "runtime/cgroup_internal.h"

static const struct {
  unsigned bit;
  const char *v1, *v2;
} controller_names[] = {
    {DRV_CG_CPU, "cpu", "cpu"},
    {DRV_CG_CPUACCT, "cpuacct", NULL},
    {DRV_CG_CPUSET, "cpuset", "cpuset"},
    {DRV_CG_MEMORY, "memory", "memory"},
    {DRV_CG_DEVICES, "devices", NULL},
    {DRV_CG_FREEZER, "freezer", NULL},
    {DRV_CG_BLKIO, "blkio", "io"},
    {DRV_CG_PIDS, "pids", "pids"},
    {DRV_CG_HUGETLB, "hugetlb", "hugetlb"},
    {DRV_CG_NET_CLS, "net_cls", NULL},
    {DRV_CG_NET_PRIO, "net_prio", NULL},
    {DRV_CG_PERF_EVENT, "perf_event", "perf_event"},
    {DRV_CG_RDMA, "rdma", "rdma"},
    {DRV_CG_MISC, "misc", "misc"},
};

const char *drv_cg_controller_name(unsigned bit, bool v2)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(controller_names); i++)
    if (controller_names[i].bit == bit) return v2 ? controller_names[i].v2 : controller_names[i].v1;
  return NULL;
}

unsigned drv_cg_controller_bit(const char *name, bool v2)
{
  for (size_t i = 0; i < DRV_ARRAY_LEN(controller_names); i++) {
    const char *n = v2 ? controller_names[i].v2 : controller_names[i].v1;
    if (n && strcmp(n, name) == 0) return controller_names[i].bit;
  }
  return 0;
}

unsigned drv_cg_controller_bits(const char *list, bool v2)
{
  unsigned bits = 0;
  _cleanup_free_ char *copy = drv_strdup(list);
  char *save = NULL;
  for (char *t = strtok_r(copy, v2 ? " \n" : ",", &save); t;
       t = strtok_r(NULL, v2 ? " \n" : ",", &save))
    bits |= drv_cg_controller_bit(t, v2);
  return bits;
}

const char *drv_cgroup_mode_name(drv_cgroup_mode mode)
{
  switch (mode) {
  case DRV_CGROUP_MODE_V1:
    return "v1";
  case DRV_CGROUP_MODE_HYBRID:
    return "hybrid";
  case DRV_CGROUP_MODE_V2:
    return "v2";
  }
  return "unknown";
}

void drv_cgroup_system_free(drv_cgroup_system *sys)
{
  if (!sys) return;
  for (size_t i = 0; i < sys->n_v1; i++) {
    free(sys->v1[i].mount);
    free(sys->v1[i].own);
  }
  free(sys->unified);
  free(sys->unified_own);
  for (size_t i = 0; i < sys->n_host; i++) {
    free(sys->host[i].point);
    free(sys->host[i].type);
    free(sys->host[i].opts);
  }
  free(sys);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s)
{
  char *out = drv_malloc(strlen(s) + 1), *o = out;
  while (*s) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
        s[3] <= '7') {
      *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 4;
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  return out;
}

static void read_v2_controllers(drv_cgroup_system *sys)
{
  _cleanup_free_ char *text = NULL;
  sys->v2_controllers = 0;
  if (sys->unified && drv_cg_read(sys->unified, "cgroup.controllers", &text, NULL) == 0)
    sys->v2_controllers = drv_cg_controller_bits(text, true);
}

static void set_mode(drv_cgroup_system *sys)
{
  bool v1 = false;
  for (size_t i = 0; i < sys->n_v1; i++)
    if (sys->v1[i].controllers) v1 = true;
  if (v1)
    sys->mode = sys->unified ? DRV_CGROUP_MODE_HYBRID : DRV_CGROUP_MODE_V1;
  else
    sys->mode = DRV_CGROUP_MODE_V2;
}

static void parse_own(drv_cgroup_system *sys, const char *proc_cgroup)
{
  if (!proc_cgroup) return;
  _cleanup_free_ char *copy = drv_strdup(proc_cgroup);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':');
    if (!c1) continue;
    char *c2 = strchr(c1 + 1, ':');
    if (!c2) continue;
    *c2 = '\0';
    const char *list = c1 + 1, *path = c2 + 1;
    if (*list == '\0') {
      if (sys->unified && !sys->unified_own) sys->unified_own = drv_strdup(path);
      continue;
    }
    unsigned bits = drv_cg_controller_bits(list, false);
    if (!bits) continue;
    for (size_t i = 0; i < sys->n_v1; i++)
      if (sys->v1[i].controllers == bits && !sys->v1[i].own) sys->v1[i].own = drv_strdup(path);
  }
}

/* Remembers a cgroup mount at /sys/fs/cgroup or below, for the container's cgroup mount. */
static void add_host_mount(drv_cgroup_system *sys, const char *point_esc, const char *type,
                           const char *superopts)
{
  if (sys->n_host == DRV_ARRAY_LEN(sys->host)) return;
  _cleanup_free_ char *point = unescape(point_esc);
  if (strncmp(point, "/sys/fs/cgroup/", 15) && strcmp(point, "/sys/fs/cgroup")) return;
  drv_cgroup_host_mount *m = &sys->host[sys->n_host++];
  m->point = drv_steal_ptr(point);
  m->type = drv_strdup(type);
  m->opts = drv_calloc(1, strlen(superopts) + 1);
  _cleanup_free_ char *copy = drv_strdup(superopts);
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (!strcmp(tok, "rw") || !strcmp(tok, "ro")) continue;
    if (m->opts[0]) strcat(m->opts, ",");
    strcat(m->opts, tok);
  }
}

int drv_cgroup_system_detect(const char *mountinfo, const char *proc_cgroup,
                             drv_cgroup_system **out, drv_err *err)
{
  drv_cgroup_system *sys = drv_calloc(1, sizeof *sys);
  _cleanup_free_ char *copy = drv_strdup(mountinfo ? mountinfo : "");
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
    char *f[6] = {0};
    char *s2 = NULL, *p = line;
    size_t nf = 0;
    char *t = strtok_r(p, " ", &s2);
    while (t && nf < 6) {
      f[nf++] = t;
      t = strtok_r(NULL, " ", &s2);
    }
    if (nf < 6) continue;
    char *fstype = NULL, *superopts = NULL;
    while (t && strcmp(t, "-") != 0)
      t = strtok_r(NULL, " ", &s2);
    if (!t) continue;
    fstype = strtok_r(NULL, " ", &s2);
    if (!fstype || !strtok_r(NULL, " ", &s2)) continue;
    superopts = strtok_r(NULL, " ", &s2);
    if (!superopts) continue;
    if (!strcmp(fstype, "cgroup") || !strcmp(fstype, "cgroup2"))
      add_host_mount(sys, f[4], fstype, superopts);
    if (strcmp(fstype, "cgroup2") == 0) {
      if (!sys->unified) sys->unified = unescape(f[4]);
    } else if (strcmp(fstype, "cgroup") == 0) {
      unsigned bits = drv_cg_controller_bits(superopts, false);
      if (!bits) continue; /* named hierarchy (name=systemd): not ours to manage */
      bool dup = false;
      for (size_t i = 0; i < sys->n_v1; i++)
        if (sys->v1[i].controllers & bits) dup = true; /* a second mount of the same hierarchy */
      if (dup || sys->n_v1 == DRV_CG_MAX_HIER) continue;
      sys->v1[sys->n_v1].controllers = bits;
      sys->v1[sys->n_v1].mount = unescape(f[4]);
      sys->n_v1++;
    }
  }
  if (sys->n_v1 == 0 && !sys->unified) {
    drv_cgroup_system_free(sys);
    return drv_cg_fail(err, ENOENT, "detect cgroups: no cgroup or cgroup2 file system is mounted");
  }
  set_mode(sys);
  read_v2_controllers(sys);
  parse_own(sys, proc_cgroup);
  *out = sys;
  return 0;
}

int drv_cgroup_system_from_root(drv_cgroup_mode mode, const char *root, drv_cgroup_system **out,
                                drv_err *err)
{
  drv_cgroup_system *sys = drv_calloc(1, sizeof *sys);
  if (mode == DRV_CGROUP_MODE_V2) {
    sys->unified = drv_strdup(root);
  } else {
    _cleanup_dir_ DIR *d = opendir(root);
    if (!d) {
      drv_cgroup_system_free(sys);
      return drv_error(err, errno, "open cgroup root `%s`", root);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      _cleanup_free_ char *p = drv_asprintf("%s/%s", root, de->d_name);
      struct stat st;
      if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode)) continue; /* "cpu" → "cpu,cpuacct" links */
      unsigned bits = drv_cg_controller_bits(de->d_name, false);
      if (!bits || sys->n_v1 == DRV_CG_MAX_HIER) continue;
      sys->v1[sys->n_v1].controllers = bits;
      sys->v1[sys->n_v1].mount = drv_steal_ptr(p);
      sys->n_v1++;
    }
    if (mode == DRV_CGROUP_MODE_HYBRID) sys->unified = drv_asprintf("%s/unified", root);
  }
  sys->mode = mode;
  read_v2_controllers(sys);
  *out = sys;
  return 0;
}

/* ---- fast detection: listmount/statmount (Linux 6.8) ------------------------------------- */

/* mountinfo costs ~1 ms per 100 mounts of the host (the overlay roots of running containers
 * carry long option strings), and every container operation starts with this detection. The
 * usual layouts sit at /sys/fs/cgroup: ask the kernel for that mount and its children only,
 * and write them as mountinfo lines for the parser above. The layout is accepted only when it
 * is unified at /sys/fs/cgroup, or when its v1 hierarchies are exactly the ones
 * /proc/self/cgroup lists and a cgroup2 mount is there too; otherwise mountinfo decides. */

#ifndef SYS_statmount
#define SYS_statmount 457
#define SYS_listmount 458
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif

struct lm_req {
  uint32_t size, spare;
  uint64_t mnt_id, param;
};
struct sm_info { /* struct statmount up to the fields used here (uapi, Linux 6.8 + 6.11) */
  uint32_t size, mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major, sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags, fs_type;
  uint64_t mnt_id, mnt_parent_id;
  uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point;
  uint64_t spare[50];
  char str[];
};
#define SM_MNT_POINT 0x10U
#define SM_FS_TYPE 0x20U
#define SM_MNT_OPTS 0x80U

/* One mountinfo line for mount id; false when the kernel cannot say. */
static bool sm_line(uint64_t id, drv_buf *out)
{
  union {
    struct sm_info sm;
    char raw[8192];
  } u;
  struct lm_req r = {
      .size = sizeof r, .mnt_id = id, .param = SM_MNT_POINT | SM_FS_TYPE | SM_MNT_OPTS};
  if (syscall(SYS_statmount, &r, &u, sizeof u, 0) < 0) return false;
  if ((u.sm.mask & (SM_MNT_POINT | SM_FS_TYPE)) != (SM_MNT_POINT | SM_FS_TYPE)) return false;
  const char *type = u.sm.str + u.sm.fs_type, *point = u.sm.str + u.sm.mnt_point;
  const char *opts = (u.sm.mask & SM_MNT_OPTS) ? u.sm.str + u.sm.mnt_opts : "";
  if (strcmp(type, "cgroup") && strcmp(type, "cgroup2")) return true;
  drv_buf_puts(out, "0 0 0:0 / ");
  for (const char *c = point; *c; c++) /* mountinfo's escapes, undone by unescape() */
    if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\\')
      drv_buf_printf(out, "\\%03o", (unsigned char)*c);
    else
      drv_buf_printf(out, "%c", *c);
  drv_buf_printf(out, " rw - %s cgroup rw%s%s\n", type, *opts ? "," : "", opts);
  return true;
}

/* The cgroup mounts at /sys/fs/cgroup as mountinfo text; NULL when not available. */
static char *cgroup_mounts_fast(void)
{
  struct statx sx;
  if (statx(AT_FDCWD, "/sys/fs/cgroup", 0, STATX_MNT_ID_UNIQUE, &sx) < 0 ||
      !(sx.stx_mask & STATX_MNT_ID_UNIQUE))
    return NULL;
  _cleanup_buf_ drv_buf text = DRV_BUF_INIT;
  if (!sm_line(sx.stx_mnt_id, &text)) return NULL;
  uint64_t ids[DRV_CG_MAX_HIER * 2];
  struct lm_req r = {.size = sizeof r, .mnt_id = sx.stx_mnt_id};
  long n = syscall(SYS_listmount, &r, ids, DRV_ARRAY_LEN(ids), 0);
  if (n < 0 || n == (long)DRV_ARRAY_LEN(ids)) return NULL;
  for (long i = 0; i < n; i++)
    if (!sm_line(ids[i], &text)) return NULL;
  return drv_buf_steal(&text);
}

/* The fast result agrees with /proc/self/cgroup (see above). */
static bool fast_layout_ok(const drv_cgroup_system *sys, const char *proc_cgroup)
{
  if (!proc_cgroup || !sys->unified) return false;
  size_t listed = 0;
  _cleanup_free_ char *copy = drv_strdup(proc_cgroup);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) return false;
    *c2 = '\0';
    unsigned bits = drv_cg_controller_bits(c1 + 1, false);
    if (!bits) continue;
    bool found = false;
    for (size_t i = 0; i < sys->n_v1; i++)
      found |= sys->v1[i].controllers == bits;
    if (!found) return false;
    listed++;
  }
  if (sys->mode == DRV_CGROUP_MODE_V2)
    return listed == 0 && !strcmp(sys->unified, "/sys/fs/cgroup");
  return sys->mode == DRV_CGROUP_MODE_HYBRID && listed == sys->n_v1;
}

static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static drv_cgroup_system *sys_cached;

int drv_cgroup_system_get(drv_cgroup_system **out, drv_err *err)
{
  pthread_mutex_lock(&sys_lock);
  if (!sys_cached) {
    _cleanup_free_ char *pc = NULL;
    (void)drv_read_file("/proc/self/cgroup", 0, &pc, NULL, NULL);
    _cleanup_free_ char *fast = cgroup_mounts_fast();
    if (fast && drv_cgroup_system_detect(fast, pc, &sys_cached, NULL) == 0 &&
        !fast_layout_ok(sys_cached, pc)) {
      drv_cgroup_system_free(sys_cached);
      sys_cached = NULL;
    }
  }
  if (!sys_cached) {
    _cleanup_free_ char *mi = NULL, *pc = NULL;
    if (drv_read_file("/proc/self/mountinfo", 0, &mi, NULL, err) < 0) {
      pthread_mutex_unlock(&sys_lock);
      return drv_err_prefix(err, "detect cgroups");
    }
    (void)drv_read_file("/proc/self/cgroup", 0, &pc, NULL, NULL);
    if (drv_cgroup_system_detect(mi, pc, &sys_cached, err) < 0) {
      pthread_mutex_unlock(&sys_lock);
      return -1;
    }
  }
  *out = sys_cached;
  pthread_mutex_unlock(&sys_lock);
  return 0;
}

drv_cgroup_mode drv_cgroup_system_mode(const drv_cgroup_system *sys)
{
  return sys->mode;
}

unsigned drv_cgroup_system_controllers(const drv_cgroup_system *sys)
{
  if (sys->mode == DRV_CGROUP_MODE_V2) return sys->v2_controllers;
  unsigned bits = 0;
  for (size_t i = 0; i < sys->n_v1; i++)
    bits |= sys->v1[i].controllers;
  return bits;
}

const char *drv_cgroup_system_unified_mount(const drv_cgroup_system *sys)
{
  return sys->unified;
}

const char *drv_cgroup_system_v1_mount(const drv_cgroup_system *sys, unsigned controller)
{
  for (size_t i = 0; i < sys->n_v1; i++)
    if (sys->v1[i].controllers & controller) return sys->v1[i].mount;
  return NULL;
}

size_t drv_cgroup_system_host_mounts(const drv_cgroup_system *sys,
                                     const drv_cgroup_host_mount **out)
{
  *out = sys->host;
  return sys->n_host;
}

const char *drv_cgroup_system_own_path(const drv_cgroup_system *sys, unsigned controller)
{
  if (controller == 0) return sys->unified_own;
  for (size_t i = 0; i < sys->n_v1; i++)
    if (sys->v1[i].controllers & controller) return sys->v1[i].own;
  return NULL;
}
