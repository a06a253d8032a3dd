/* `spec` (a starting config.json) and `features` (what this runtime understands). */
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/internal.h"

static const char default_spec[] =
    "{\"ociVersion\":\"1.0.2\","
    "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
    "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
    "bin\",\"TERM=xterm\"],"
    "\"cwd\":\"/\","
    "\"capabilities\":{\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"drover\","
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
    "\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]}"
    ","
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
    "{\"type\":\"uts\"},{\"type\":\"mount\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
    "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
    "\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
    "\"/proc/sysrq-trigger\"]}}";

json_t *drv_rt_spec_default(bool rootless)
{
  json_t *s = json_loads(default_spec, 0, NULL);
  if (!rootless) return s;
  json_t *lx = json_object_get(s, "linux");
  json_object_del(lx, "resources");
  json_array_append_new(json_object_get(lx, "namespaces"), json_pack("{s:s}", "type", "user"));
  json_object_set_new(
      lx, "uidMappings",
      json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)getuid(), "size", 1));
  json_object_set_new(
      lx, "gidMappings",
      json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)getgid(), "size", 1));
  /* Without privileges: no new network namespace, no cgroup mount, devpts without gid=5,
   * /sys bound from the host. */
  json_t *ns = json_object_get(lx, "namespaces");
  for (size_t i = 0; i < json_array_size(ns); i++)
    if (!strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")), "network")) {
      json_array_remove(ns, i);
      break;
    }
  json_t *mounts = json_object_get(s, "mounts");
  json_array_remove(mounts, json_array_size(mounts) - 1);
  json_t *sys = json_array_get(mounts, json_array_size(mounts) - 1);
  json_object_set_new(sys, "type", json_string("none"));
  json_object_set_new(sys, "source", json_string("/sys"));
  json_object_set_new(sys, "options",
                      json_pack("[s,s,s,s,s]", "rbind", "nosuid", "noexec", "nodev", "ro"));
  json_t *pts = json_object_get(json_array_get(mounts, 2), "options");
  json_array_remove(pts, json_array_size(pts) - 1);
  return s;
}

json_t *drv_rt_features(void)
{
  static const char *const mount_opts[] = {
      "async",        "atime",       "bind",        "defaults",   "dev",           "diratime",
      "dirsync",      "exec",        "loud",        "mand",       "noatime",       "nodev",
      "nodiratime",   "noexec",      "nomand",      "norelatime", "nostrictatime", "nosuid",
      "private",      "rbind",       "rdev",        "relatime",   "remount",       "rexec",
      "rnoatime",     "rnodev",      "rnodiratime", "rnoexec",    "rnosuid",       "ro",
      "rprivate",     "rrelatime",   "rro",         "rrw",        "rshared",       "rslave",
      "rstrictatime", "rsuid",       "runbindable", "rw",         "shared",        "silent",
      "slave",        "strictatime", "suid",        "sync",       "tmpcopyup",     "unbindable"};
  json_t *f = json_pack(
      "{s:s, s:s, s:[s,s,s,s,s,s], s:[], s:{s:[s,s,s,s,s,s,s,s], s:[], s:{s:b, s:b, s:b},"
      " s:{s:b, s:[], s:[], s:[], s:[]}, s:{s:b}, s:{s:b}, s:{s:b}}, s:{}}",
      "ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0", "hooks", "prestart", "createRuntime",
      "createContainer", "startContainer", "poststart", "poststop", "mountOptions", "linux",
      "namespaces", "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
      "capabilities", "cgroup", "v1", true, "v2", true, "systemd", false, "seccomp", "enabled",
      true, "actions", "operators", "archs", "knownFlags", "apparmor", "enabled", false, "selinux",
      "enabled", false, "intelRdt", "enabled", false, "annotations");
  json_t *mo = json_object_get(f, "mountOptions");
  for (size_t i = 0; i < DRV_ARRAY_LEN(mount_opts); i++)
    json_array_append_new(mo, json_string(mount_opts[i]));
  json_t *caps = json_object_get(json_object_get(f, "linux"), "capabilities");
  for (int c = 0; drv_rt_cap_name(c); c++) json_array_append_new(caps, json_string(drv_rt_cap_name(c)));
  json_t *sec = json_object_get(json_object_get(f, "linux"), "seccomp");
  static const char *const actions[] = {
      "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY",       "SCMP_ACT_TRACE",       "SCMP_ACT_TRAP"};
  static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                    "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                    "SCMP_CMP_NE"};
  static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                                      "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  static const char *const flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                      "SECCOMP_FILTER_FLAG_TSYNC"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(actions); i++)
    json_array_append_new(json_object_get(sec, "actions"), json_string(actions[i]));
  for (size_t i = 0; i < DRV_ARRAY_LEN(ops); i++)
    json_array_append_new(json_object_get(sec, "operators"), json_string(ops[i]));
  for (size_t i = 0; i < DRV_ARRAY_LEN(archs); i++)
    json_array_append_new(json_object_get(sec, "archs"), json_string(archs[i]));
  for (size_t i = 0; i < DRV_ARRAY_LEN(flags); i++)
    json_array_append_new(json_object_get(sec, "knownFlags"), json_string(flags[i]));
  return f;
}
