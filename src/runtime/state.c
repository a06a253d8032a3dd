/* Container state on disk: <root>/<id>/state.json (written once the init is set up) and
 * <root>/<id>/exec.fifo (present while "created"). Status is derived from the live process,
 * never trusted from the file: pid + start time decide whether the init still runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"

char *drv_rt_state_dir(const char *root, const char *id)
{
  return drv_asprintf("%s/%s", root ? root : DRV_RT_DEFAULT_ROOT, id);
}

char *drv_rt_now_rfc3339(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  /* The UTC date by hand (days to civil date, H. Hinnant's algorithm): glibc's gmtime_r and
   * strftime load the time zone file first, which UTC does not need. */
  long long secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
  long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  long long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  long long y = yoe + era * 400 + (m <= 2);
  return drv_asprintf("%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", y, m, d, rem / 3600,
                      rem / 60 % 60, rem % 60, ts.tv_nsec);
}

unsigned long long drv_rt_proc_start_time(pid_t pid, bool *zombie)
{
  char path[64], buf[1024];
  if (zombie) *zombie = false;
  if (pid <= 0) return 0;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p += 2; /* state */
  if (zombie) *zombie = (*p == 'Z' || *p == 'X');
  /* field 3 is state; start time is field 22 */
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  return p ? strtoull(p, NULL, 10) : 0;
}

bool drv_rt_saved_alive(const drv_rt_saved *s)
{
  bool zombie;
  unsigned long long st = drv_rt_proc_start_time(s->pid, &zombie);
  return st != 0 && st == s->start_time && !zombie;
}

int drv_rt_saved_write(const char *dir, const drv_rt_saved *s, drv_err *err)
{
  if (drv_rt_saved_write_aside(dir, s, err) < 0) return -1;
  return drv_rt_saved_publish(dir, err);
}

int drv_rt_saved_publish(const char *dir, drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("%s/state.json", dir);
  _cleanup_free_ char *tmp = drv_asprintf("%s/.state.json.tmp", dir);
  if (rename(tmp, path) < 0) return drv_error(err, errno, "rename `%s`", path);
  return 0;
}

int drv_rt_saved_write_aside(const char *dir, const drv_rt_saved *s, drv_err *err)
{
  json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:O, s:b, s:b}", "id", s->id, "bundle",
                        s->bundle, "pid", (json_int_t)s->pid, "start_time",
                        (json_int_t)s->start_time, "rootfs", s->rootfs, "created", s->created,
                        "cgroup_path", s->cgroup_path ? s->cgroup_path : "", "config", s->config,
                        "systemd", s->systemd, "monitor", s->monitor);
  if (!o) return drv_error(err, 0, "encode state");
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  _cleanup_free_ char *tmp = drv_asprintf("%s/.state.json.tmp", dir);
  /* /run is tmpfs: a rename is atomic and fsync buys nothing there. A file left by the
   * previous user of a spare state dir is overwritten and cut to size, not truncated first
   * (on a disk with `discard`, freeing its block waits for the device). */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    free(text);
    return drv_error(err, errno, "write `%s`", tmp);
  }
  size_t len = strlen(text);
  int r = drv_write_all(fd, text, len);
  if (r == 0 && ftruncate(fd, (off_t)len) < 0) r = -1;
  int e = errno;
  close(fd);
  free(text);
  if (r < 0) return drv_error(err, e, "write `%s`", tmp);
  return 0;
}

static char *dup_str(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return drv_strdup(json_is_string(v) ? json_string_value(v) : "");
}

int drv_rt_saved_read(const char *root, const char *id, drv_rt_saved *s, drv_err *err)
{
  memset(s, 0, sizeof *s);
  if (drv_rt_check_id(id, err) < 0) return -1;
  _cleanup_free_ char *dir = drv_rt_state_dir(root, id);
  _cleanup_free_ char *path = drv_asprintf("%s/state.json", dir);
  json_error_t jerr;
  json_t *o = json_load_file(path, 0, &jerr);
  if (!o) {
    struct stat st;
    if (stat(dir, &st) < 0) return drv_error(err, ENOENT, "container `%s` does not exist", id);
    return drv_error(err, errno ? errno : EIO, "container `%s`: read state", id);
  }
  s->id = dup_str(o, "id");
  s->bundle = dup_str(o, "bundle");
  s->rootfs = dup_str(o, "rootfs");
  s->created = dup_str(o, "created");
  s->cgroup_path = dup_str(o, "cgroup_path");
  s->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
  s->start_time = (unsigned long long)json_integer_value(json_object_get(o, "start_time"));
  s->systemd = json_is_true(json_object_get(o, "systemd"));
  s->monitor = json_is_true(json_object_get(o, "monitor"));
  s->config = json_incref(json_object_get(o, "config"));
  json_t *ann = json_object_get(s->config, "annotations");
  s->annotations = json_is_object(ann) ? json_incref(ann) : json_object();
  json_decref(o);
  return 0;
}

void drv_rt_saved_clear(drv_rt_saved *s)
{
  free(s->id);
  free(s->bundle);
  free(s->rootfs);
  free(s->created);
  free(s->cgroup_path);
  json_decref(s->config);
  json_decref(s->annotations);
  memset(s, 0, sizeof *s);
}

int drv_rt_open_cgroup(const drv_rt_saved *s, drv_cgroup **out, drv_err *err)
{
  *out = NULL;
  if (!s->cgroup_path || !s->cgroup_path[0])
    return drv_error(err, ENOENT, "container has no cgroup");
  drv_cgroup_system *sys;
  if (drv_cgroup_system_get(&sys, err) < 0) return -1;
  return drv_cgroup_open(sys, s->cgroup_path, out, err);
}

int drv_rt_saved_status(const char *root, const drv_rt_saved *s, drv_rt_status *out)
{
  if (!drv_rt_saved_alive(s)) {
    *out = DRV_RT_STOPPED;
    return 0;
  }
  _cleanup_free_ char *fifo = drv_asprintf("%s/%s/exec.fifo", root, s->id);
  if (access(fifo, F_OK) == 0) {
    *out = DRV_RT_CREATED;
    return 0;
  }
  *out = DRV_RT_RUNNING;
  drv_cgroup *cg = NULL;
  drv_err e;
  bool frozen = false;
  if (s->cgroup_path && s->cgroup_path[0] && drv_rt_open_cgroup(s, &cg, &e) == 0) {
    if (drv_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen) *out = DRV_RT_PAUSED;
    drv_cgroup_free(cg);
  }
  return 0;
}

char *drv_rt_state_text(const char *id, pid_t pid, const char *status, const char *bundle,
                        json_t *annotations)
{
  json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "ociVersion", "1.0.2", "id", id, "status",
                        status, "pid", (json_int_t)pid, "bundle", bundle);
  if (annotations && json_object_size(annotations)) json_object_set(o, "annotations", annotations);
  char *t = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return t;
}

const char *drv_rt_status_name(drv_rt_status s)
{
  static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};
  return (unsigned)s < DRV_ARRAY_LEN(names) ? names[s] : "unknown";
}

int drv_rt_check_id(const char *id, drv_err *err)
{
  if (!id || !id[0]) return drv_error(err, 0, "container id: must not be empty");
  size_t n = strlen(id);
  if (n > 1024) return drv_error(err, 0, "container id: longer than 1024 characters");
  if (!strcmp(id, ".") || !strcmp(id, ".."))
    return drv_error(err, 0, "container id `%s`: invalid", id);
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '+';
    if (!ok) return drv_error(err, 0, "container id `%s`: invalid character `%c`", id, c);
  }
  return 0;
}

void drv_rt_state_clear(drv_rt_state *st)
{
  free(st->id);
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->owner);
  json_decref(st->annotations);
  memset(st, 0, sizeof *st);
}

int drv_rt_state_get(const char *root, const char *id, drv_rt_state *st, drv_err *err)
{
  memset(st, 0, sizeof *st);
  if (!root) root = DRV_RT_DEFAULT_ROOT;
  drv_rt_saved s;
  if (drv_rt_saved_read(root, id, &s, err) < 0) return -1;
  drv_rt_saved_status(root, &s, &st->status);
  st->id = drv_steal_ptr(s.id);
  st->bundle = drv_steal_ptr(s.bundle);
  st->rootfs = drv_steal_ptr(s.rootfs);
  st->created = drv_steal_ptr(s.created);
  st->owner = drv_strdup("");
  st->annotations = json_incref(s.annotations);
  st->pid = st->status == DRV_RT_STOPPED ? 0 : s.pid;
  st->exit_code = -1;
  _cleanup_free_ char *exitp = drv_asprintf("%s/%s/exit", root, id);
  _cleanup_free_ char *text = NULL;
  drv_err e;
  if (st->status == DRV_RT_STOPPED) drv_rt_wait_exit_file(root, id, s.monitor, 200);
  if (drv_read_file(exitp, 64, &text, NULL, &e) == 0) st->exit_code = atoi(text);
  drv_rt_saved_clear(&s);
  return 0;
}

void drv_rt_wait_exit_file(const char *root, const char *id, bool monitor, int ms)
{
  if (!monitor) return;
  _cleanup_free_ char *exitp = drv_asprintf("%s/%s/exit", root, id);
  /* Both windows (reap, then write aside and rename) are short; a monitor that was itself
   * killed costs one bounded wait. */
  long long end = drv_now_ms() + ms;
  while (access(exitp, F_OK) < 0 && drv_now_ms() < end)
    usleep(1000);
}

json_t *drv_rt_state_json(const drv_rt_state *st)
{
  json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "ociVersion", "1.0.2", "id",
                        st->id, "pid", (json_int_t)st->pid, "status",
                        drv_rt_status_name(st->status), "bundle", st->bundle, "rootfs", st->rootfs,
                        "created", st->created, "owner", st->owner ? st->owner : "");
  if (st->annotations && json_object_size(st->annotations))
    json_object_set(o, "annotations", st->annotations);
  return o;
}
