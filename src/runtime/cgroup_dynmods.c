/* The kernel's "favordynmods" cgroup mode: task migrations without an RCU grace period. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"
#include "runtime/cgroup_internal.h"

#define V1_DIR "/run/drover-cgroup-dynmods"

static bool has_opt(const char *list, const char *opt)
{
  size_t n = strlen(opt);
  for (const char *p = list; p && *p;) {
    if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0')) return true;
    p = strchr(p, ',');
    if (p) p++;
  }
  return false;
}

int drv_cg_dynmods_remount_args(const char *mountinfo, const char *mount_point,
                                unsigned long *flags, char **data)
{
  _cleanup_free_ char *copy = drv_strdup(mountinfo);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
    char *f[6], *s2 = NULL, *t = strtok_r(line, " ", &s2);
    size_t nf = 0;
    while (t && nf < 6) {
      f[nf++] = t;
      t = strtok_r(NULL, " ", &s2);
    }
    if (nf < 6 || strcmp(f[4], mount_point) != 0) continue;
    while (t && strcmp(t, "-") != 0)
      t = strtok_r(NULL, " ", &s2);
    char *fstype = t ? strtok_r(NULL, " ", &s2) : NULL;
    char *source = fstype ? strtok_r(NULL, " ", &s2) : NULL;
    char *super = source ? strtok_r(NULL, " ", &s2) : NULL;
    if (!super || strcmp(fstype, "cgroup2") != 0) continue;
    if (has_opt(super, "favordynmods")) return 1;
    /* A remount replaces the per-mount flags and the superblock options: keep both. */
    static const struct {
      const char *name;
      unsigned long flag;
    } mflags[] = {{"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},
                  {"nodev", MS_NODEV},       {"noexec", MS_NOEXEC},
                  {"noatime", MS_NOATIME},   {"nodiratime", MS_NODIRATIME},
                  {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME}};
    *flags = MS_REMOUNT;
    for (size_t i = 0; i < DRV_ARRAY_LEN(mflags); i++)
      if (has_opt(f[5], mflags[i].name)) *flags |= mflags[i].flag;
    drv_buf b = DRV_BUF_INIT;
    char *s3 = NULL;
    for (char *o = strtok_r(super, ",", &s3); o; o = strtok_r(NULL, ",", &s3)) {
      if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0) continue;
      drv_buf_printf(&b, "%s,", o);
    }
    drv_buf_puts(&b, "favordynmods");
    *data = drv_buf_steal(&b);
    return 0;
  }
  return -1;
}

int drv_cgroup_favor_dynmods(drv_cgroup_system *sys, drv_err *err)
{
  if (sys->unified) {
    _cleanup_free_ char *mi = NULL, *data = NULL;
    if (drv_read_file("/proc/self/mountinfo", 0, &mi, NULL, err) < 0) return -1;
    unsigned long flags = 0;
    int r = drv_cg_dynmods_remount_args(mi, sys->unified, &flags, &data);
    if (r == 1) return 1;
    if (r < 0)
      return drv_cg_fail(err, ENOENT, "cgroup favordynmods: `%s` is not a cgroup2 mount here",
                         sys->unified);
    if (mount(NULL, sys->unified, NULL, flags, data) < 0)
      return drv_error(err, errno, "cgroup favordynmods: remount `%s` with `%s`", sys->unified,
                       data);
    return 0;
  }
  /* v1 only: a named hierarchy carrying the option; left mounted so that it stays on. */
  _cleanup_free_ char *mi = NULL;
  if (drv_read_file("/proc/self/mountinfo", 0, &mi, NULL, err) < 0) return -1;
  if (strstr(mi, " " V1_DIR " ")) return 1;
  if (mkdir(V1_DIR, 0700) < 0 && errno != EEXIST)
    return drv_error(err, errno, "cgroup favordynmods: mkdir `%s`", V1_DIR);
  if (mount("cgroup", V1_DIR, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "none,name=drover-dynmods,favordynmods") < 0) {
    return drv_error(err, errno, "cgroup favordynmods: mount a named hierarchy at `%s`", V1_DIR);
  }
  return 0;
}
