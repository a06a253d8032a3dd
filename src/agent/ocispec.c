/* The OCI config of one container of a pod: the runtime's default spec, with the process from
 * the image and the pod spec, the pod sandbox's network/IPC/UTS namespaces joined, a cgroup under
 * the pod's, resources from requests/limits and the pod's volumes mounted. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/internal.h"
#include "api/quantity.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/runtime.h"

/* Docker's (and so Kubernetes') default capability set. */
static const char *const default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
    "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"};

char *drv_pod_cgroup_parent(drv_pod *p)
{
  return drv_asprintf("/drover/pods/pod%s", p->uid);
}

char *drv_ctr_cgroup_path(drv_pod *p, const char *rt_id)
{
  return drv_asprintf("/drover/pods/pod%s/%s", p->uid, rt_id);
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

static int volume_mounts(drv_agent *a, drv_pod *p, json_t *mounts, const json_t *ctr,
                         const char *cname, drv_err *err)
{
  json_t *vols = drv_json_get(p->obj, "spec.volumes");
  size_t i;
  json_t *vm;
  json_array_foreach(json_object_get(ctr, "volumeMounts"), i, vm)
  {
    const char *vname = json_string_value(json_object_get(vm, "name"));
    const char *dest = json_string_value(json_object_get(vm, "mountPath"));
    if (!vname || !dest || dest[0] != '/')
      return drv_error(err, EINVAL, "container `%s`: volumeMounts[%zu]: needs name and an absolute mountPath", cname, i);
    json_t *vol = NULL;
    size_t j;
    json_t *v;
    json_array_foreach(vols, j, v)
    {
      const char *n = json_string_value(json_object_get(v, "name"));
      if (n && !strcmp(n, vname)) vol = v;
    }
    if (!vol) return drv_error(err, EINVAL, "container `%s`: volume `%s` is not in spec.volumes", cname, vname);
    _cleanup_free_ char *src = NULL;
    if (json_object_get(vol, "emptyDir")) {
      src = drv_asprintf("%s/volumes/%s", p->dir, vname);
      if (drv_mkdir_p(src, 0777, err) < 0) return -1;
    } else if (json_object_get(vol, "hostPath")) {
      const char *hp = drv_json_get_str(vol, "hostPath.path");
      const char *type = drv_json_get_str(vol, "hostPath.type");
      if (!hp || hp[0] != '/')
        return drv_error(err, EINVAL, "volume `%s`: hostPath.path must be absolute", vname);
      if (type && !strcmp(type, "DirectoryOrCreate") && drv_mkdir_p(hp, 0755, err) < 0) return -1;
      if (!drv_path_exists(hp))
        return drv_error(err, ENOENT, "volume `%s`: hostPath `%s` does not exist", vname, hp);
      src = drv_strdup(hp);
    } else {
      return drv_error(err, EINVAL, "volume `%s`: only emptyDir and hostPath are supported", vname);
    }
    const char *sub = json_string_value(json_object_get(vm, "subPath"));
    if (sub && *sub) {
      if (strstr(sub, "..") || sub[0] == '/')
        return drv_error(err, EINVAL, "container `%s`: subPath `%s` must be relative without ..", cname, sub);
      char *s2 = drv_asprintf("%s/%s", src, sub);
      free(src);
      src = s2;
      if (!drv_path_exists(src) && drv_mkdir_p(src, 0777, err) < 0) return -1;
    }
    bool ro = json_is_true(json_object_get(vm, "readOnly"));
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", dest,
                                            "type", "bind", "source", src, "options", "rbind",
                                            "rprivate", ro ? "ro" : "rw"));
  }
  (void)a;
  return 0;
}

json_t *drv_ctr_oci_spec(drv_agent *a, drv_pod *p, drv_ctr *c, const char *rootfs, char **args,
                         char **env, const char *cwd, drv_err *err)
{
  json_t *s = drv_rt_spec_default(false);
  json_t *proc = json_object_get(s, "process");
  json_object_set_new(proc, "terminal", json_false());
  json_object_set_new(proc, "args", strv_json(args));
  json_object_set_new(proc, "env", strv_json(env));
  json_object_set_new(proc, "cwd", json_string(cwd && *cwd ? cwd : "/"));
  json_object_set_new(proc, "noNewPrivileges", json_false());
  json_t *caps = json_array();
  for (size_t i = 0; i < DRV_ARRAY_LEN(default_caps); i++)
    json_array_append_new(caps, json_string(default_caps[i]));
  json_object_set_new(proc, "capabilities",
                      json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps,
                                "permitted", caps));
  json_decref(caps);
  /* No rlimits: containers inherit the agent's (the runtime's default caps NOFILE at 1024). */
  json_object_del(proc, "rlimits");
  bool privileged = drv_json_get_bool(c->spec, "securityContext.privileged", false);
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
  if (privileged) {
    json_object_del(lx, "maskedPaths");
    json_object_del(lx, "readonlyPaths");
  }
  json_t *mounts = json_object_get(s, "mounts");
  /* Kubernetes mounts cgroupfs read-only too; the runtime's default list already has it. */
  if (volume_mounts(a, p, mounts, c->spec, c->name, err) < 0) {
    json_decref(s);
    return NULL;
  }
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
