/* Which cgroup layout this process sees: v1, hybrid or unified v2, from /proc/self/mountinfo
 * (what is mounted where) and /proc/self/cgroup (where this process is). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static drv_cgroup_system *sys_cached;

int drv_cgroup_system_get(drv_cgroup_system **out, drv_err *err)
{
  pthread_mutex_lock(&sys_lock);
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

const char *drv_cgroup_system_own_path(const drv_cgroup_system *sys, unsigned controller)
{
  if (controller == 0) return sys->unified_own;
  for (size_t i = 0; i < sys->n_v1; i++)
    if (sys->v1[i].controllers & controller) return sys->v1[i].own;
  return NULL;
}
