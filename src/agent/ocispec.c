/* The OCI config of one container of a pod: the runtime's default spec, with the process from
 * the image and the pod spec, the pod sandbox's network/IPC/UTS namespaces joined, a cgroup under
 * the pod's, resources from requests/limits and the pod's volumes mounted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "agent/internal.h"
#include "agent/podcgroup.h"
#include "api/quantity.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/util.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"

/* Docker's (and so Kubernetes') default capability set. */
static const char *const default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
    "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"};

char *drv_pod_cgroup_parent(drv_pod *p)
{
  /* Under the pod's QoS class, as kubelet (podcgroup.h); the class never changes for a pod. */
  if (!p->cgroup && p->obj) p->cgroup = drv_pod_cgroup_path_for(drv_pod_qos_class(json_object_get(p->obj, "spec")), p->uid);
  return drv_strdup(p->cgroup ? p->cgroup : "/drover/pods/unknown");
}

char *drv_ctr_cgroup_path(drv_pod *p, const char *rt_id)
{
  _cleanup_free_ char *parent = drv_pod_cgroup_parent(p);
  return drv_asprintf("%s/%s", parent, rt_id);
}

static json_t *strv_json(char **v)
{
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

/* requests/limits → linux.resources (cpu shares from the request, quota from the limit, memory
 * limit), as kubelet converts them. */
static int resources(json_t *lx, const json_t *ctr, const char *cname, drv_err *err)
{
  json_t *res = json_object_get(lx, "resources");
  if (!res) json_object_set_new(lx, "resources", res = json_object());
  json_t *req = drv_json_get(ctr, "resources.requests");
  json_t *lim = drv_json_get(ctr, "resources.limits");
  const char *cpu_req = json_string_value(json_object_get(req, "cpu"));
  const char *cpu_lim = json_string_value(json_object_get(lim, "cpu"));
  const char *mem_lim = json_string_value(json_object_get(lim, "memory"));
  if (!cpu_req) cpu_req = cpu_lim; /* a limit alone implies the same request */
  json_t *cpu = json_object();
  if (cpu_req) {
    int64_t m = drv_quantity_parse_milli(cpu_req);
    if (m < 0) {
      json_decref(cpu);
      return drv_error(err, EINVAL, "container `%s`: resources.requests.cpu `%s` is not a quantity", cname, cpu_req);
    }
    int64_t shares = m * 1024 / 1000;
    json_object_set_new(cpu, "shares", json_integer(shares < 2 ? 2 : shares));
  } else {
    json_object_set_new(cpu, "shares", json_integer(2));
  }
  if (cpu_lim) {
    int64_t m = drv_quantity_parse_milli(cpu_lim);
    if (m <= 0) {
      json_decref(cpu);
      return drv_error(err, EINVAL, "container `%s`: resources.limits.cpu `%s` is not a positive quantity", cname, cpu_lim);
    }
    int64_t quota = m * 100000 / 1000;
    json_object_set_new(cpu, "quota", json_integer(quota < 1000 ? 1000 : quota));
    json_object_set_new(cpu, "period", json_integer(100000));
  }
  json_object_set_new(res, "cpu", cpu);
  if (mem_lim) {
    int64_t b = drv_quantity_parse_value(mem_lim);
    if (b <= 0)
      return drv_error(err, EINVAL, "container `%s`: resources.limits.memory `%s` is not a positive quantity", cname, mem_lim);
    json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)b));
  }
  /* Devices: runc's defaults come from the runtime (deny-all + standard nodes). */
  return 0;
}

/* ---- securityContext ---- */

/* Capability names by number (linux/capability.h), for "ALL", privileged and the seccomp mask. */
static const char *const cap_names[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"};

/* Capabilities the running kernel knows (0..cap_last_cap), at most our table. */
static int n_caps(void)
{
  static int n;
  if (!n) {
    _cleanup_free_ char *t = NULL;
    drv_err e;
    n = DRV_ARRAY_LEN(cap_names);
    if (drv_read_file("/proc/sys/kernel/cap_last_cap", 64, &t, NULL, &e) == 0) {
      int last = atoi(t);
      if (last >= 0 && last + 1 < n) n = last + 1;
    }
  }
  return n;
}

/* A Kubernetes capability name ("NET_ADMIN" or "CAP_NET_ADMIN", any case) → its number, -1. */
static int cap_number(const char *name)
{
  if (!strncasecmp(name, "CAP_", 4)) name += 4;
  for (size_t i = 0; i < DRV_ARRAY_LEN(cap_names); i++)
    if (!strcasecmp(name, cap_names[i])) return (int)i;
  return -1;
}

/* The effective value of a securityContext field: the container's, else the pod's. */
static json_t *sc_get(drv_pod *p, drv_ctr *c, const char *field)
{
  json_t *v = json_object_get(json_object_get(c->spec, "securityContext"), field);
  if (!v || json_is_null(v)) v = json_object_get(drv_json_get(p->obj, "spec.securityContext"), field);
  return json_is_null(v) ? NULL : v;
}

int drv_ctr_check_nonroot(drv_pod *p, drv_ctr *c, const char *image_user, drv_err *err)
{
  if (!json_is_true(sc_get(p, c, "runAsNonRoot"))) return 0;
  json_t *ru = sc_get(p, c, "runAsUser");
  if (json_is_integer(ru)) {
    if (json_integer_value(ru) == 0)
      return drv_error(err, 0, "container's runAsUser breaks non-root policy (pod: \"%s_%s(%s)\", container: %s)",
                       p->name, p->ns, p->uid, c->name);
    return 0;
  }
  char u[256];
  snprintf(u, sizeof u, "%s", image_user && *image_user ? image_user : "0");
  char *colon = strchr(u, ':');
  if (colon) *colon = 0;
  char *end;
  errno = 0;
  unsigned long uid = strtoul(u, &end, 10);
  if (!*u || *end || errno)
    return drv_error(err, 0, "container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: \"%s_%s(%s)\", container: %s)",
                     u, p->name, p->ns, p->uid, c->name);
  if (uid == 0)
    return drv_error(err, 0, "container has runAsNonRoot and image will run as root (pod: \"%s_%s(%s)\", container: %s)",
                     p->name, p->ns, p->uid, c->name);
  return 0;
}

/* Adds the node's device nodes directly under /dev (a privileged container sees them all). */
static void host_devices(json_t *lx)
{
  static const char *const skip[] = {"console", "ptmx", "tty", "null", "zero", "full",
                                     "random", "urandom", "fuse"};
  json_t *devs = json_array();
  _cleanup_dir_ DIR *d = opendir("/dev");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    bool sk = false;
    for (size_t i = 0; i < DRV_ARRAY_LEN(skip); i++) sk |= !strcmp(de->d_name, skip[i]);
    if (sk) continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    _cleanup_free_ char *path = drv_asprintf("/dev/%s", de->d_name);
    json_array_append_new(devs, json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "path", path,
                                          "type", S_ISCHR(st.st_mode) ? "c" : "b",
                                          "major", (json_int_t)major(st.st_rdev),
                                          "minor", (json_int_t)minor(st.st_rdev),
                                          "fileMode", (int)(st.st_mode & 07777),
                                          "uid", (int)st.st_uid, "gid", (int)st.st_gid));
  }
  json_object_set_new(lx, "devices", devs);
  json_t *res = json_object_get(lx, "resources");
  json_object_set_new(res, "devices", json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
}

/* user, capabilities, noNewPrivileges, seccomp, privileged from the pod's and the container's
 * securityContext, as kubelet (with containerd) maps them. */
static int security_context(drv_agent *a, drv_pod *p, drv_ctr *c, json_t *s, const char *rootfs,
                            const char *image_user, drv_err *err)
{
  json_t *proc = json_object_get(s, "process");
  json_t *lx = json_object_get(s, "linux");
  json_t *csc = json_object_get(c->spec, "securityContext");
  bool privileged = json_is_true(json_object_get(csc, "privileged"));
  /* user */
  uint32_t uid = 0, gid = 0;
  if (image_user && *image_user &&
      drv_image_resolve_user(rootfs, image_user, &uid, &gid, err) < 0)
  {
    drv_err_prefix(err, "container `%s`: image user", c->name);
    return -1;
  }
  json_t *v;
  if (json_is_integer(v = sc_get(p, c, "runAsUser"))) uid = (uint32_t)json_integer_value(v);
  if (json_is_integer(v = sc_get(p, c, "runAsGroup"))) gid = (uint32_t)json_integer_value(v);
  json_t *gids = json_array();
  size_t i;
  json_t *g;
  json_array_foreach(drv_json_get(p->obj, "spec.securityContext.supplementalGroups"), i, g)
    if (json_is_integer(g)) json_array_append(gids, g);
  if (json_is_integer(v = drv_json_get(p->obj, "spec.securityContext.fsGroup")))
    json_array_append(gids, v);
  json_t *user = json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
  if (json_array_size(gids)) json_object_set(user, "additionalGids", gids);
  json_decref(gids);
  json_object_set_new(proc, "user", user);
  /* capabilities */
  int ncap = n_caps();
  uint64_t set = 0;
  for (size_t k = 0; k < DRV_ARRAY_LEN(default_caps); k++) {
    int n = cap_number(default_caps[k]);
    if (n >= 0) set |= 1ull << n;
  }
  uint64_t all = ncap >= 64 ? ~0ull : (1ull << ncap) - 1;
  bool sys_admin_added = false;
  if (privileged) {
    set = all;
  } else {
    json_t *add = drv_json_get(csc, "capabilities.add"), *drop = drv_json_get(csc, "capabilities.drop");
    json_t *n;
    json_array_foreach(drop, i, n)
      if (json_is_string(n) && !strcasecmp(json_string_value(n), "ALL")) set = 0;
    json_array_foreach(add, i, n)
    {
      const char *nm = json_string_value(n);
      if (!nm) continue;
      if (!strcasecmp(nm, "ALL")) {
        set = all;
        continue;
      }
      int k = cap_number(nm);
      if (k < 0 || k >= ncap)
        return drv_error(err, EINVAL, "container `%s`: securityContext.capabilities.add[%zu]: unknown capability `%s`", c->name, i, nm);
      set |= 1ull << k;
      if (k == 21) sys_admin_added = true;
    }
    json_array_foreach(drop, i, n)
    {
      const char *nm = json_string_value(n);
      if (!nm || !strcasecmp(nm, "ALL")) continue;
      int k = cap_number(nm);
      if (k < 0 || k >= ncap)
        return drv_error(err, EINVAL, "container `%s`: securityContext.capabilities.drop[%zu]: unknown capability `%s`", c->name, i, nm);
      set &= ~(1ull << k);
    }
  }
  json_t *caps = json_array();
  for (int k = 0; k < ncap; k++)
    if (set & (1ull << k)) json_array_append_new(caps, json_sprintf("CAP_%s", cap_names[k]));
  json_object_set_new(proc, "capabilities",
                      json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps,
                                "permitted", caps));
  json_decref(caps);
  /* no_new_privs: only when allowPrivilegeEscalation is false and nothing needs escalation */
  bool ape_false = json_is_false(json_object_get(csc, "allowPrivilegeEscalation"));
  json_object_set_new(proc, "noNewPrivileges", json_boolean(ape_false && !privileged && !sys_admin_added));
  /* seccomp (a privileged container runs unconfined, as containerd does) */
  json_t *prof = sc_get(p, c, "seccompProfile");
  const char *type = json_string_value(json_object_get(prof, "type"));
  json_object_del(lx, "seccomp");
  if (!privileged && type && !strcmp(type, "RuntimeDefault")) {
    json_object_set_new(lx, "seccomp", drv_seccomp_default_profile(set));
  } else if (!privileged && type && !strcmp(type, "Localhost")) {
    const char *lp = json_string_value(json_object_get(prof, "localhostProfile"));
    if (!lp || !*lp || lp[0] == '/' || strstr(lp, ".."))
      return drv_error(err, EINVAL, "container `%s`: seccompProfile.localhostProfile must be a relative path without ..", c->name);
    _cleanup_free_ char *path = drv_asprintf("%s/seccomp/%s", a->data_dir, lp);
    json_error_t je;
    json_t *sp = json_load_file(path, 0, &je);
    if (!json_is_object(sp)) {
      json_decref(sp);
      return drv_error(err, EINVAL, "container `%s`: seccomp profile `%s`: %s", c->name, path, je.text);
    }
    json_object_set_new(lx, "seccomp", sp);
  } else if (type && strcmp(type, "Unconfined") && strcmp(type, "RuntimeDefault") && strcmp(type, "Localhost")) {
    return drv_error(err, EINVAL, "container `%s`: seccompProfile.type `%s` is not RuntimeDefault, Localhost or Unconfined", c->name, type);
  }
  if (privileged) {
    json_object_del(lx, "maskedPaths");
    json_object_del(lx, "readonlyPaths");
    host_devices(lx);
  }
  return 0;
}

json_t *drv_ctr_oci_spec(drv_agent *a, drv_pod *p, drv_ctr *c, const char *rootfs, char **args,
                         char **env, const char *cwd, const char *image_user, drv_err *err)
{
  json_t *s = drv_rt_spec_default(false);
  json_t *proc = json_object_get(s, "process");
  json_object_set_new(proc, "terminal", json_false());
  json_object_set_new(proc, "args", strv_json(args));
  json_object_set_new(proc, "env", strv_json(env));
  json_object_set_new(proc, "cwd", json_string(cwd && *cwd ? cwd : "/"));
  /* No rlimits: containers inherit the agent's (the runtime's default caps NOFILE at 1024). */
  json_object_del(proc, "rlimits");
  json_object_set_new(s, "root", json_pack("{s:s, s:b}", "path", rootfs, "readonly",
                                           drv_json_get_bool(c->spec, "securityContext.readOnlyRootFilesystem", false)));
  bool host_net = drv_json_get_bool(p->obj, "spec.hostNetwork", false);
  if (host_net) {
    /* The node's hostname and its /sys (a sysfs mount needs a network namespace of one's own). */
    json_object_del(s, "hostname");
    json_t *ms = json_object_get(s, "mounts");
    for (size_t i = 0; i < json_array_size(ms); i++) {
      json_t *m = json_array_get(ms, i);
      if (!strcmp(json_string_value(json_object_get(m, "destination")) ?: "", "/sys")) {
        json_object_set_new(m, "type", json_string("bind"));
        json_object_set_new(m, "source", json_string("/sys"));
        json_object_set_new(m, "options", json_pack("[s,s,s,s,s]", "rbind", "nosuid", "noexec", "nodev", "ro"));
      }
    }
  } else {
    json_object_set_new(s, "hostname", json_string(p->name));
  }
  json_t *lx = json_object_get(s, "linux");
  char ns_path[64];
  json_t *nss = json_array();
  json_array_append_new(nss, json_pack("{s:s}", "type", "pid"));
  json_array_append_new(nss, json_pack("{s:s}", "type", "mount"));
  const char *shared[] = {"network", "net", "ipc", "ipc", "uts", "uts"};
  for (int i = 0; i < 3; i++) {
    snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/%s", p->sandbox_pid, shared[2 * i + 1]);
    json_array_append_new(nss, json_pack("{s:s, s:s}", "type", shared[2 * i], "path", ns_path));
  }
  json_object_set_new(lx, "namespaces", nss);
  _cleanup_free_ char *cg = drv_ctr_cgroup_path(p, c->rt_id);
  json_object_set_new(lx, "cgroupsPath", json_string(cg));
  if (resources(lx, c->spec, c->name, err) < 0) {
    json_decref(s);
    return NULL;
  }
  if (security_context(a, p, c, s, rootfs, image_user, err) < 0) {
    json_decref(s);
    return NULL;
  }
  json_t *mounts = json_object_get(s, "mounts");
  /* Kubernetes mounts cgroupfs read-only too; the runtime's default list already has it. */
  /* The volumes, prepared by volumes.c (subPaths resolved) before the spec is made. */
  json_array_extend(mounts, c->mounts);
  _cleanup_free_ char *hosts = drv_asprintf("%s/etc-hosts", p->dir);
  if (drv_path_exists(hosts))
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination",
                                            "/etc/hosts", "type", "bind", "source", hosts,
                                            "options", "rbind", "rprivate"));
  _cleanup_free_ char *resolv = drv_asprintf("%s/etc-resolv.conf", p->dir);
  if (drv_path_exists(resolv))
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination",
                                            "/etc/resolv.conf", "type", "bind", "source", resolv,
                                            "options", "rbind", "rprivate"));
  json_object_set_new(s, "annotations",
                      json_pack("{s:s, s:s, s:s, s:s}", "io.kubernetes.pod.namespace", p->ns,
                                "io.kubernetes.pod.name", p->name, "io.kubernetes.pod.uid", p->uid,
                                "io.kubernetes.container.name", c->name));
  return s;
}
