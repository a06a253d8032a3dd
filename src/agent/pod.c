/* The pod worker: one reconciling step per call, from the pod's spec and what the runtime says
 * to running containers and a status for the server. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/console.h"
#include "agent/internal.h"
#include "agent/podcgroup.h"
#include "agent/sandbox.h"
#include "api/object.h"
#include "api/recorder.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "image/image.h"
#include "net/ipam.h"
#include "net/netlink.h"
#include "net/podnet.h"
#include "runtime/cgroup.h"
#include "runtime/runtime.h"

static void set_str(char **dst, const char *v)
{
  free(*dst);
  *dst = v ? drv_strdup(v) : NULL;
}

drv_pod *drv_pod_new(drv_agent *a, const char *uid, const char *ns, const char *name)
{
  drv_pod *p = drv_calloc(1, sizeof *p);
  p->uid = drv_strdup(uid);
  p->ns = drv_strdup(ns);
  p->name = drv_strdup(name);
  p->dir = drv_asprintf("%s/%s", a->pods_dir, uid);
  p->start_ms = drv_wall_ms();
  drv_podnet_ifname(uid, p->ifname);
  return p;
}

static void pull_job_abandon(drv_ctr *c);

static void ctr_clear(drv_ctr *c)
{
  pull_job_abandon(c);
  free(c->name);
  json_decref(c->spec);
  free(c->rt_id);
  free(c->image_id);
  free(c->reason);
  free(c->message);
  free(c->term_reason);
  free(c->term_message);
  free(c->last_reason);
  json_decref(c->mounts);
}

void drv_pod_free(drv_pod *p)
{
  if (!p) return;
  for (size_t i = 0; i < p->n_init; i++) ctr_clear(&p->init[i]);
  for (size_t i = 0; i < p->n_ctrs; i++) ctr_clear(&p->ctrs[i]);
  free(p->init);
  free(p->ctrs);
  json_decref(p->obj);
  free(p->uid);
  free(p->ns);
  free(p->name);
  free(p->dir);
  free(p->cgroup);
  drv_pod_volumes_free(p);
  free(p->last_status);
  free(p->last_sig);
  free(p->reason);
  free(p->message);
  free(p);
}

static drv_ctr *find_ctr(drv_ctr *v, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (v[i].name && !strcmp(v[i].name, name)) return &v[i];
  return NULL;
}

static void fill_table(drv_ctr **v, size_t *n, json_t *arr, bool init)
{
  size_t i;
  json_t *c;
  if (*n == 0) {
    *n = json_array_size(arr);
    *v = drv_calloc(*n ? *n : 1, sizeof **v);
    json_array_foreach(arr, i, c)
    {
      drv_ctr *x = &(*v)[i];
      x->name = drv_strdup(json_string_value(json_object_get(c, "name")) ?: "");
      x->init = init;
      x->kind = DRV_CS_WAITING;
      x->reason = drv_strdup(init ? "PodInitializing" : "ContainerCreating");
      drv_probe_reset(&x->liveness);
      drv_probe_reset(&x->readiness);
      drv_probe_reset(&x->startup);
    }
    if (init && *n) free((*v)[0].reason), (*v)[0].reason = drv_strdup("ContainerCreating");
  }
  /* The spec of each container (restored checkpoints have names only). */
  json_array_foreach(arr, i, c)
  {
    drv_ctr *x = find_ctr(*v, *n, json_string_value(json_object_get(c, "name")) ?: "");
    if (!x) continue;
    json_decref(x->spec);
    x->spec = json_incref(c);
  }
}

void drv_pod_set_object(drv_pod *p, json_t *obj)
{
  json_t *old = p->obj;
  p->obj = obj ? json_incref(obj) : NULL;
  json_decref(old);
  if (!obj) return;
  fill_table(&p->init, &p->n_init, drv_json_get(obj, "spec.initContainers"), true);
  fill_table(&p->ctrs, &p->n_ctrs, drv_json_get(obj, "spec.containers"), false);
  if (p->n_init == 0) p->init_done = true;
}

/* ---- sandbox and network ---- */

/* The pod's cgroup under its QoS class with the pod's limits. The sandbox moves into its leaf
 * later (drv_pod_sandbox_cgroup): a move between groups can wait for an RCU grace period
 * (several ms, tens under load), which stays off the path to the pod's first containers. */
static int pod_cgroup(drv_agent *a, drv_pod *p, drv_err *err)
{
  drv_cgroup_system *sys;
  if (drv_cgroup_system_get(&sys, err) < 0) return drv_err_prefix(err, "pod cgroup");
  _cleanup_free_ char *path = NULL;
  if (drv_pod_cgroup_setup(sys, json_object_get(p->obj, "spec"), p->uid, a->o.pod_max_pids, &path, err) < 0)
    return -1;
  free(p->cgroup);
  p->cgroup = drv_steal_ptr(path);
  p->sandbox_cg_pending = true;
  return 0;
}

void drv_pod_sandbox_cgroup(drv_pod *p)
{
  if (!p->sandbox_cg_pending) return;
  p->sandbox_cg_pending = false;
  drv_cgroup_system *sys;
  drv_err err;
  if (!p->cgroup || !drv_proc_alive(p->sandbox_pid, p->sandbox_start) || drv_cgroup_system_get(&sys, &err) < 0)
    return;
  if (drv_pod_cgroup_enter_sandbox(sys, p->cgroup, p->sandbox_pid, &err) < 0)
    drv_log_warn("pod %s/%s: %s", p->ns, p->name, err.msg);
}

static int ensure_sandbox(drv_agent *a, drv_pod *p, drv_err *err)
{
  if (drv_proc_alive(p->sandbox_pid, p->sandbox_start)) return 0;
  if (drv_mkdir_p(p->dir, 0700, err) < 0) return -1;
  pid_t pid;
  bool host_net = drv_json_get_bool(p->obj, "spec.hostNetwork", false);
  char host[256] = "";
  if (host_net) gethostname(host, sizeof host - 1);
  if (drv_sandbox_spawn(p->dir, host_net ? host : p->name, host_net, &pid, err) < 0) return -1;
  p->sandbox_pid = pid;
  p->sandbox_start = drv_proc_start_time(pid);
  if (pod_cgroup(a, p, err) < 0) goto fail;
  /* /etc/hosts for the pod: its own name on its IP, like kubelet writes it. */
  if (host_net) {
    /* The node's own network: the pod's IP is the node's. */
    snprintf(p->ip, sizeof p->ip, "%s", a->node_ip);
  } else if (a->network) {
    struct in_addr ip;
    if (drv_ipam_alloc(a->ipam, p->uid, &ip, err) < 0) goto fail;
    inet_ntop(AF_INET, &ip, p->ip, sizeof p->ip);
    char nspath[64];
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", pid);
    _cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      drv_error(err, errno, "open `%s`", nspath);
      goto fail;
    }
    if (drv_podnet_attach(a->bridge, p->ifname, nsfd, ip, drv_ipam_prefix(a->ipam),
                          drv_ipam_gateway(a->ipam), err) < 0)
      goto fail;
  } else {
    /* No pod network: the pod has loopback only; it is reached through the node. */
    snprintf(p->ip, sizeof p->ip, "%s", a->node_ip);
    char nspath[64];
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", pid);
    _cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
    _cleanup_nl_ drv_nl *nl = NULL;
    if (nsfd < 0 || drv_nl_open_netns(nsfd, &nl, err) < 0 || drv_nl_link_up(nl, "lo", err) < 0) {
      if (nsfd < 0) drv_error(err, errno, "open `%s`", nspath);
      drv_err_prefix(err, "pod loopback");
      goto fail;
    }
  }
  {
    _cleanup_free_ char *hosts = drv_asprintf("%s/etc-hosts", p->dir);
    _cleanup_free_ char *text = drv_asprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n",
                                             a->network ? p->ip : "127.0.1.1", p->name);
    drv_write_file_atomic(hosts, text, strlen(text), 0644, err);
  if (a->network && !host_net && a->dns_fd >= 0) {
    /* The node-local cluster DNS, with Kubernetes' search path. */
    char gw[INET_ADDRSTRLEN];
    struct in_addr g = drv_ipam_gateway(a->ipam);
    inet_ntop(AF_INET, &g, gw, sizeof gw);
    _cleanup_free_ char *rpath = drv_asprintf("%s/etc-resolv.conf", p->dir);
    _cleanup_free_ char *rtext = drv_asprintf("nameserver %s\nsearch %s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
                                              gw, p->ns);
    drv_write_file_atomic(rpath, rtext, strlen(rtext), 0644, err);
  }
  }
  drv_pod_checkpoint(a, p);
  return 0;
fail:
  kill(pid, SIGKILL);
  p->sandbox_pid = 0;
  return -1;
}

/* ---- containers ---- */

static const char *restart_policy(drv_pod *p)
{
  const char *rp = drv_json_get_str(p->obj, "spec.restartPolicy");
  return rp && *rp ? rp : "Always";
}

static void set_waiting(drv_ctr *c, const char *reason, const char *message)
{
  c->kind = DRV_CS_WAITING;
  set_str(&c->reason, reason);
  set_str(&c->message, message);
}

/* A key's value in a ConfigMap's or Secret's data (base64 in a Secret), as kubelet reads
 * them: NULL when absent. Caller frees. */
static char *ref_value(const json_t *obj, bool secret, const char *key)
{
  const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), key));
  if (!secret || !v) return v ? drv_strdup(v) : NULL;
  size_t n = strlen(v);
  unsigned char *out = drv_malloc(n / 4 * 3 + 4);
  int len = EVP_DecodeBlock(out, (const unsigned char *)v, (int)n);
  if (len < 0) len = 0;
  while (n > 0 && v[n - 1] == '=' && len > 0) n--, len--; /* DecodeBlock counts padding */
  out[len] = 0;
  return (char *)out;
}

/* The ConfigMap or Secret ns/name from the server: 0, 1 when it does not exist, -1 on error. */
static int get_ref(drv_agent *a, drv_pod *p, bool secret, const char *name, json_t **out, drv_err *err)
{
  drv_api_ref ref = {.version = "v1", .resource = secret ? "secrets" : "configmaps", .ns = p->ns,
                     .name = name};
  *out = NULL;
  int r = drv_api_get(a->api, &ref, out, err);
  if (r == DRV_API_ENOTFOUND) return 1;
  return r < 0 ? -1 : 0;
}

static void env_set(char ***env, size_t *n, const char *name, const char *val)
{
  size_t nl = strlen(name);
  for (size_t i = 0; i < *n; i++)
    if (!strncmp((*env)[i], name, nl) && (*env)[i][nl] == '=') {
      free((*env)[i]);
      (*env)[i] = drv_asprintf("%s=%s", name, val);
      return;
    }
  *env = drv_realloc(*env, (*n + 2) * sizeof **env);
  (*env)[(*n)++] = drv_asprintf("%s=%s", name, val);
  (*env)[*n] = NULL;
}

/* A downward API field kubelet fills itself; NULL when unknown. */
static const char *field_value(drv_agent *a, drv_pod *p, const char *field, char *buf, size_t len)
{
  if (!strcmp(field, "metadata.name")) return p->name;
  if (!strcmp(field, "metadata.namespace")) return p->ns;
  if (!strcmp(field, "metadata.uid")) return p->uid;
  if (!strcmp(field, "status.podIP") || !strcmp(field, "status.podIPs")) return p->ip;
  if (!strcmp(field, "status.hostIP") || !strcmp(field, "status.hostIPs")) return a->node_ip;
  if (!strcmp(field, "spec.nodeName")) return drv_json_get_str(p->obj, "spec.nodeName");
  if (!strcmp(field, "spec.serviceAccountName")) return drv_json_get_str(p->obj, "spec.serviceAccountName");
  const char *pre[] = {"metadata.labels['", "metadata.annotations['"};
  for (int i = 0; i < 2; i++) {
    size_t pl = strlen(pre[i]), fl = strlen(field);
    if (!strncmp(field, pre[i], pl) && fl > pl + 2 && !strcmp(field + fl - 2, "']")) {
      snprintf(buf, len, "%.*s", (int)(fl - pl - 2), field + pl);
      return json_string_value(json_object_get(drv_json_get(p->obj, i ? "metadata.annotations" : "metadata.labels"), buf));
    }
  }
  return NULL;
}

/* Kubernetes' $(VAR) expansion against env ("NAME=value" entries): $(NAME) of a defined
 * variable is replaced, of an undefined one kept as written; $$ is a literal $. */
static char *expand_vars(const char *in, char *const *env)
{
  _cleanup_buf_ drv_buf b = DRV_BUF_INIT;
  for (const char *q = in; *q;) {
    if (q[0] == '$' && q[1] == '$') {
      drv_buf_append(&b, "$", 1);
      q += 2;
      continue;
    }
    const char *close = q[0] == '$' && q[1] == '(' ? strchr(q + 2, ')') : NULL;
    if (close) {
      size_t nl = (size_t)(close - q - 2);
      const char *val = NULL;
      for (size_t i = 0; env && env[i] && !val; i++)
        if (!strncmp(env[i], q + 2, nl) && env[i][nl] == '=') val = env[i] + nl + 1;
      if (val) drv_buf_append(&b, val, strlen(val));
      else drv_buf_append(&b, q, nl + 3);
      q = close + 1;
      continue;
    }
    drv_buf_append(&b, q, 1);
    q++;
  }
  char *r = drv_buf_steal(&b);
  return r ? r : drv_strdup("");
}

/* What kubelet gives every container about the API server (the `kubernetes` Service in
 * default, whatever enableServiceLinks says): KUBERNETES_SERVICE_HOST/PORT and the Docker-link
 * style KUBERNETES_PORT* variables. The pod's own env wins. */
static void master_service_env(drv_agent *a, char ***env, size_t *n)
{
  json_t *svc = NULL;
  if (a->svc_inf) {
    svc = drv_informer_get(a->svc_inf, "default", "kubernetes");
  } else { /* no Services watched without pod networking: ask once per container start */
    drv_api_ref ref = {.version = "v1", .resource = "services", .ns = "default", .name = "kubernetes"};
    drv_err err;
    if (drv_api_get(a->api, &ref, &svc, &err) < 0) svc = NULL;
  }
  const char *ip = drv_json_get_str(svc, "spec.clusterIP");
  json_t *port = json_array_get(drv_json_get(svc, "spec.ports"), 0);
  long long pn = drv_json_get_int(port, "port", 0);
  if (ip && *ip && strcmp(ip, "None") && pn > 0) {
    const char *pname = drv_json_get_str(port, "name");
    char v[64], k[96], u[128];
    snprintf(v, sizeof v, "%lld", pn);
    env_set(env, n, "KUBERNETES_SERVICE_HOST", ip);
    env_set(env, n, "KUBERNETES_SERVICE_PORT", v);
    if (pname && *pname) {
      _cleanup_free_ char *up = drv_strdup(pname);
      for (char *c = up; *c; c++) *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
      snprintf(k, sizeof k, "KUBERNETES_SERVICE_PORT_%s", up);
      env_set(env, n, k, v);
    }
    snprintf(u, sizeof u, "tcp://%s:%lld", ip, pn);
    env_set(env, n, "KUBERNETES_PORT", u);
    snprintf(k, sizeof k, "KUBERNETES_PORT_%lld_TCP", pn);
    env_set(env, n, k, u);
    snprintf(k, sizeof k, "KUBERNETES_PORT_%lld_TCP_PROTO", pn);
    env_set(env, n, k, "tcp");
    snprintf(k, sizeof k, "KUBERNETES_PORT_%lld_TCP_PORT", pn);
    env_set(env, n, k, v);
    snprintf(k, sizeof k, "KUBERNETES_PORT_%lld_TCP_ADDR", pn);
    env_set(env, n, k, ip);
  }
  json_decref(svc);
}

/* The container's env: envFrom first, then env (which wins), with configMapKeyRef,
 * secretKeyRef and fieldRef resolved as kubelet does. A missing object or key that is not
 * optional fails with kubelet's message (CreateContainerConfigError, retried). */
static int env_of(drv_agent *a, drv_pod *p, const json_t *spec, char ***out, drv_err *err)
{
  size_t n = 0, i;
  char **env = drv_calloc(1, sizeof *env);
  json_t *e;
  master_service_env(a, &env, &n);
  json_array_foreach(json_object_get(spec, "envFrom"), i, e)
  {
    json_t *src = json_object_get(e, "configMapRef");
    bool secret = !src;
    if (secret) src = json_object_get(e, "secretRef");
    const char *name = json_string_value(json_object_get(src, "name"));
    if (!name) continue;
    const char *prefix = json_string_value(json_object_get(e, "prefix"));
    json_t *obj = NULL;
    int r = get_ref(a, p, secret, name, &obj, err);
    if (r == 1 && json_is_true(json_object_get(src, "optional"))) continue;
    if (r != 0) {
      if (r == 1) drv_error(err, 0, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
      drv_strv_free(env);
      return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(obj, "data"), key, v)
    {
      _cleanup_free_ char *val = ref_value(obj, secret, key);
      _cleanup_free_ char *full = drv_asprintf("%s%s", prefix ? prefix : "", key);
      if (val) env_set(&env, &n, full, val);
    }
    json_decref(obj);
  }
  json_array_foreach(json_object_get(spec, "env"), i, e)
  {
    const char *name = json_string_value(json_object_get(e, "name"));
    if (!name) continue;
    const char *val = json_string_value(json_object_get(e, "value"));
    json_t *from = json_object_get(e, "valueFrom");
    _cleanup_free_ char *owned = NULL;
    char buf[256];
    if (!val && from) {
      const char *field = drv_json_get_str(from, "fieldRef.fieldPath");
      json_t *kr = json_object_get(from, "configMapKeyRef");
      bool secret = !kr;
      if (secret) kr = json_object_get(from, "secretKeyRef");
      json_t *rf = json_object_get(from, "resourceFieldRef");
      if (field) {
        val = field_value(a, p, field, buf, sizeof buf);
      } else if (rf) {
        if (drv_resource_field_value(a, p, spec, rf, &owned, err) < 0) {
          drv_strv_free(env);
          return -1;
        }
        val = owned;
      } else if (kr) {
        const char *rn = json_string_value(json_object_get(kr, "name"));
        const char *key = json_string_value(json_object_get(kr, "key"));
        bool optional = json_is_true(json_object_get(kr, "optional"));
        json_t *obj = NULL;
        int r = rn && key ? get_ref(a, p, secret, rn, &obj, err) : 1;
        if (r == 0) owned = ref_value(obj, secret, key);
        json_decref(obj);
        if (r == 1 && optional) continue;
        if (r < 0) {
          drv_strv_free(env);
          return -1;
        }
        if (r == 1) {
          drv_strv_free(env);
          return drv_error(err, 0, "%s \"%s\" not found", secret ? "secret" : "configmap", rn ? rn : "");
        }
        if (!owned && optional) continue;
        if (!owned) {
          drv_strv_free(env);
          return drv_error(err, 0, "couldn't find key %s in %s %s/%s", key,
                           secret ? "Secret" : "ConfigMap", p->ns, rn);
        }
        val = owned;
      }
    }
    _cleanup_free_ char *x = val && !from ? expand_vars(val, env) : NULL;
    env_set(&env, &n, name, x ? x : val ? val : "");
  }
  *out = env;
  return 0;
}

static char **strv_from(const json_t *arr)
{
  if (!json_is_array(arr)) return NULL;
  size_t n = json_array_size(arr);
  char **v = drv_calloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = drv_strdup(json_string_value(json_array_get(arr, i)) ?: "");
  return v;
}

static drv_image_pull_policy pull_policy(const json_t *spec, const char *image)
{
  const char *pp = json_string_value(json_object_get(spec, "imagePullPolicy"));
  if (pp && !strcmp(pp, "Never")) return DRV_IMAGE_PULL_NEVER;
  if (pp && !strcmp(pp, "Always")) return DRV_IMAGE_PULL_ALWAYS;
  if (pp && !strcmp(pp, "IfNotPresent")) return DRV_IMAGE_PULL_IF_NOT_PRESENT;
  /* Kubernetes' default: Always for :latest or no tag, else IfNotPresent. */
  const char *slash = strrchr(image, '/');
  const char *last = slash ? slash + 1 : image;
  if (strchr(last, '@')) return DRV_IMAGE_PULL_IF_NOT_PRESENT;
  const char *colon = strchr(last, ':');
  if (!colon || !strcmp(colon, ":latest")) return DRV_IMAGE_PULL_ALWAYS;
  return DRV_IMAGE_PULL_IF_NOT_PRESENT;
}

/* Image pulls that have to ask a registry run in a thread of their own, so a slow or silent
 * registry never holds up the other pods; the worker picks the result up on a later sync. */
struct drv_pull_job {
  struct drv_image_store *images;
  char *image;
  drv_image_pull_policy policy;
  bool done, abandoned; /* under pull_mu */
  int rc;
  drv_err err;
  drv_image *img;
};

/* Jobs outlive neither the image store nor the agent: drv_pod_pulls_wait() at stop. */
static pthread_mutex_t pull_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pull_cv = PTHREAD_COND_INITIALIZER;
static int pulls_inflight;

static void pull_job_free(struct drv_pull_job *j)
{
  if (j->img) drv_image_free(j->img);
  free(j->image);
  free(j);
}

static void *pull_thread(void *arg)
{
  struct drv_pull_job *j = arg;
  drv_image_pull_opts po = {.policy = j->policy};
  drv_image *img = NULL;
  drv_err err;
  drv_err_clear(&err);
  int rc = drv_image_pull(j->images, j->image, &po, &img, &err);
  pthread_mutex_lock(&pull_mu);
  j->rc = rc, j->err = err, j->img = img;
  j->done = true;
  bool abandoned = j->abandoned;
  pulls_inflight--;
  pthread_cond_broadcast(&pull_cv);
  pthread_mutex_unlock(&pull_mu);
  if (abandoned) pull_job_free(j);
  return NULL;
}

static bool pull_job_done(struct drv_pull_job *j)
{
  pthread_mutex_lock(&pull_mu);
  bool d = j->done;
  pthread_mutex_unlock(&pull_mu);
  return d;
}

static void pull_job_abandon(drv_ctr *c)
{
  if (!c->pull) return;
  pthread_mutex_lock(&pull_mu);
  bool done = c->pull->done;
  if (!done) c->pull->abandoned = true;
  pthread_mutex_unlock(&pull_mu);
  if (done) pull_job_free(c->pull);
  c->pull = NULL;
}

void drv_pod_pulls_wait(void)
{
  pthread_mutex_lock(&pull_mu);
  while (pulls_inflight > 0) pthread_cond_wait(&pull_cv, &pull_mu);
  pthread_mutex_unlock(&pull_mu);
}

/* An Event on the pod about container c, as kubelet records them. */
static void ctr_event(drv_agent *a, drv_pod *p, drv_ctr *c, const char *type, const char *reason,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void ctr_event(drv_agent *a, drv_pod *p, drv_ctr *c, const char *type, const char *reason,
                      const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name", p->name, "namespace", p->ns,
                          "uid", p->uid);
  _cleanup_free_ char *fp = drv_asprintf("spec.%s{%s}", c->init ? "initContainers" : "containers", c->name);
  drv_recorder_event_field(a->rec, obj, "v1", "Pod", fp, type, reason, "%s", msg);
  json_decref(obj);
}

static void fail_retry(drv_ctr *c, const char *reason, const char *message)
{
  c->failures++;
  c->retry_at_ms = drv_now_ms() + drv_backoff_ms(c->failures);
  set_waiting(c, reason, message);
}

static void start_ctr(drv_agent *a, drv_pod *p, drv_ctr *c)
{
  drv_err err;
  const char *image = json_string_value(json_object_get(c->spec, "image"));
  if (!image || !*image) {
    fail_retry(c, "InvalidImageName", "container has no image");
    return;
  }
  drv_image_pull_opts po = {.policy = pull_policy(c->spec, image)};
  drv_image *img = NULL;
  int prc;
  bool pulled = c->pull != NULL;
  if (c->pull) {
    if (!pull_job_done(c->pull)) return; /* still pulling */
    prc = c->pull->rc;
    err = c->pull->err;
    img = c->pull->img;
    c->pull->img = NULL;
    pull_job_free(c->pull);
    c->pull = NULL;
  } else if (po.policy != DRV_IMAGE_PULL_ALWAYS &&
             drv_image_lookup(a->images, image, &img, &err) == 0) {
    prc = 0; /* present: IfNotPresent and Never need no registry */
  } else if (po.policy == DRV_IMAGE_PULL_NEVER) {
    prc = -1;
  } else {
    struct drv_pull_job *j = drv_calloc(1, sizeof *j);
    j->images = a->images;
    j->image = drv_strdup(image);
    j->policy = po.policy;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&pull_mu);
    pulls_inflight++;
    pthread_mutex_unlock(&pull_mu);
    if (pthread_create(&t, &at, pull_thread, j) != 0) {
      pthread_attr_destroy(&at);
      pthread_mutex_lock(&pull_mu);
      pulls_inflight--;
      pthread_mutex_unlock(&pull_mu);
      pull_job_free(j);
      fail_retry(c, "ErrImagePull", "pull: cannot start a thread");
      return;
    }
    pthread_attr_destroy(&at);
    c->pull = j;
    set_waiting(c, "ContainerCreating", NULL);
    ctr_event(a, p, c, "Normal", "Pulling", "Pulling image \"%s\"", image);
    return;
  }
  if (prc < 0) {
    if (img) drv_image_free(img);
    bool again = c->reason && (!strcmp(c->reason, "ErrImagePull") || !strcmp(c->reason, "ImagePullBackOff"));
    if (po.policy == DRV_IMAGE_PULL_NEVER) {
      ctr_event(a, p, c, "Warning", "ErrImageNeverPull",
                "Container image \"%s\" is not present with pull policy of Never", image);
      fail_retry(c, "ErrImageNeverPull", err.msg);
    } else {
      ctr_event(a, p, c, "Warning", "Failed", "Failed to pull image \"%s\": %s", image, err.msg);
      fail_retry(c, again ? "ImagePullBackOff" : "ErrImagePull", err.msg);
      ctr_event(a, p, c, "Normal", "BackOff", "Back-off pulling image \"%s\"", image);
    }
    return;
  }
  set_str(&c->image_id, img->id);
  if (!pulled)
    ctr_event(a, p, c, "Normal", "Pulled", "Container image \"%s\" already present on machine", image);
  else
    ctr_event(a, p, c, "Normal", "Pulled", "Successfully pulled image \"%s\"", image);
  _cleanup_strv_ char **cmd = strv_from(json_object_get(c->spec, "command"));
  _cleanup_strv_ char **args = strv_from(json_object_get(c->spec, "args"));
  _cleanup_strv_ char **env = NULL;
  if (env_of(a, p, c->spec, &env, &err) < 0) {
    drv_image_free(img);
    fail_retry(c, "CreateContainerConfigError", err.msg);
    ctr_event(a, p, c, "Warning", "Failed", "Error: %s", err.msg);
    return;
  }
  /* $(VAR) in command and args refers to the container's env, as in Kubernetes. */
  for (char **v = cmd; v && *v; v++) {
    char *x = expand_vars(*v, env);
    free(*v);
    *v = x;
  }
  for (char **v = args; v && *v; v++) {
    char *x = expand_vars(*v, env);
    free(*v);
    *v = x;
  }
  drv_image_overrides ov = {.command = cmd, .args = args, .env = env,
                            .working_dir = json_string_value(json_object_get(c->spec, "workingDir"))};
  drv_image_process proc = {0};
  if (drv_image_process_from_config(&img->config, &ov, &proc, &err) < 0) {
    drv_image_free(img);
    fail_retry(c, "CreateContainerError", err.msg);
    return;
  }
  if (drv_ctr_check_nonroot(p, c, proc.user, &err) < 0) {
    drv_image_free(img);
    drv_image_process_free(&proc);
    fail_retry(c, "CreateContainerConfigError", err.msg);
    ctr_event(a, p, c, "Warning", "Failed", "Error: %s", err.msg);
    return;
  }
  /* Volume mounts with their subPaths resolved inside the volume (kubelet's makeMounts). */
  json_t *vmounts = NULL;
  if (drv_ctr_volume_mounts(a, p, c, env, &vmounts, &err) < 0) {
    drv_image_free(img);
    drv_image_process_free(&proc);
    fail_retry(c, "CreateContainerConfigError", err.msg);
    ctr_event(a, p, c, "Warning", "Failed", "Error: %s", err.msg);
    return;
  }
  json_decref(c->mounts);
  c->mounts = vmounts;
  free(c->rt_id);
  c->rt_id = drv_asprintf("%s-%s-%d", p->uid, c->name, c->attempt);
  _cleanup_free_ char *cdir = drv_asprintf("%s/ctr/%s-%d", p->dir, c->name, c->attempt);
  _cleanup_free_ char *ldir = drv_asprintf("%s/logs/%s", p->dir, c->name);
  _cleanup_free_ char *lpath = drv_ctr_log_path(p, c->name, c->attempt);
  _cleanup_free_ char *cdir_config = drv_asprintf("%s/config.json", cdir);
  char *rootfs = NULL;
  json_t *spec = NULL;
  int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, devnull = -1, lsock = -1, master = -1;
  _cleanup_free_ char *console = NULL, *io_key = drv_strdup(c->rt_id);
  /* stdin: true keeps the container's stdin open for `kubectl attach -i`; tty: true gives it a
   * terminal. Both are held by the pod's sandbox (see sandbox.h), so they outlive the agent. */
  bool want_stdin = drv_json_get_bool(c->spec, "stdin", false);
  bool tty = drv_json_get_bool(c->spec, "tty", false);
  /* A leftover of an earlier try of the same attempt goes first. */
  drv_rt_delete(a->rt_root, c->rt_id, true, &err);
  drv_image_rootfs_remove(cdir, &err);
  if (drv_mkdir_p(cdir, 0700, &err) < 0 || drv_mkdir_p(ldir, 0755, &err) < 0 ||
      drv_image_rootfs_prepare(a->images, img, cdir, &rootfs, &err) < 0) {
    drv_image_free(img);
    drv_image_process_free(&proc);
    fail_retry(c, "CreateContainerError", err.msg);
    return;
  }
  drv_image_free(img);
  spec = drv_ctr_oci_spec(a, p, c, rootfs, proc.args, proc.env, proc.cwd, proc.user, &err);
  drv_image_process_free(&proc);
  free(rootfs);
  json_decref(c->mounts);
  c->mounts = NULL;
  if (!spec) goto create_error;
  if (tty) {
    json_t *sp = json_object_get(spec, "process");
    json_object_set_new(sp, "terminal", json_true());
    json_t *envs = json_object_get(sp, "env");
    bool has_term = false;
    size_t k;
    json_t *v;
    json_array_foreach(envs, k, v)
    {
      if (!strncmp(json_string_value(v) ?: "", "TERM=", 5)) has_term = true;
    }
    if (!has_term) json_array_append_new(envs, json_string("TERM=xterm"));
  }
  /* The bundle's config.json: `kubectl exec` takes the container's env and cwd from it. */
  if (json_dump_file(spec, cdir_config, JSON_COMPACT) < 0) {
    drv_error(&err, errno, "write `%s`", cdir_config);
    goto create_error;
  }
  if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
    drv_error(&err, errno, "open /dev/null");
    goto create_error;
  }
  if (tty) {
    /* the terminal is the container's stdio: its master reaches us once the init made it */
    if ((lsock = drv_console_listen(a->rt_root, &console, &err)) < 0) goto create_error;
  } else {
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || (want_stdin && pipe2(inp, O_CLOEXEC) < 0)) {
      drv_error(&err, errno, "log pipes");
      goto create_error;
    }
    int io[3] = {outp[0], errp[0], inp[1]};
    if ((want_stdin ? drv_sandbox_attach_io(p->dir, c->rt_id, false, lpath, DRV_LOG_MAX_SIZE,
                                            DRV_LOG_MAX_FILES, io, &err)
                    : drv_sandbox_attach_log(p->dir, lpath, DRV_LOG_MAX_SIZE, DRV_LOG_MAX_FILES,
                                             outp[0], errp[0], &err)) < 0)
      goto create_error;
    close(outp[0]), close(errp[0]);
    outp[0] = errp[0] = -1;
    if (inp[1] >= 0) close(inp[1]);
    inp[1] = -1;
  }
  drv_rt_create_opts o;
  drv_rt_create_opts_init(&o);
  o.root = a->rt_root;
  o.id = c->rt_id;
  o.bundle = cdir;
  o.spec = spec;
  o.stdio[0] = inp[0] >= 0 ? inp[0] : devnull;
  o.stdio[1] = tty ? devnull : outp[1];
  o.stdio[2] = tty ? devnull : errp[1];
  o.console_socket = console;
  o.monitor = true;
  o.detach = true;
  pid_t pid = 0;
  if (drv_rt_create(&o, &pid, &err) < 0) goto start_error;
  if (tty) {
    int io[1];
    if (drv_console_recv(lsock, 10000, &master, &err) < 0 ||
        (io[0] = master, drv_sandbox_attach_io(p->dir, c->rt_id, true, lpath, DRV_LOG_MAX_SIZE,
                                               DRV_LOG_MAX_FILES, io, &err)) < 0) {
      drv_err e2;
      drv_rt_delete(a->rt_root, c->rt_id, true, &e2);
      goto start_error;
    }
    close(master), close(lsock);
    master = lsock = -1;
    unlink(console);
  }
  ctr_event(a, p, c, "Normal", "Created", "Created container %s", c->name);
  for (int i = 0; i < 2; i++) {
    if (outp[1 - i] >= 0) close(outp[1 - i]);
    if (errp[1 - i] >= 0) close(errp[1 - i]);
    if (inp[i] >= 0) close(inp[i]);
    outp[1 - i] = errp[1 - i] = inp[i] = -1;
  }
  close(devnull);
  devnull = -1;
  json_decref(spec);
  spec = NULL;
  if (drv_rt_start(a->rt_root, c->rt_id, &err) < 0) {
    drv_err e2;
    drv_rt_delete(a->rt_root, c->rt_id, true, &e2);
    goto start_error;
  }
  ctr_event(a, p, c, "Normal", "Started", "Started container %s", c->name);
  c->pid = pid;
  c->pid_start = drv_proc_start_time(pid);
  snprintf(c->cid, sizeof c->cid, "drover://%s", c->rt_id);
  c->kind = DRV_CS_RUNNING;
  c->started_ms = drv_wall_ms();
  set_str(&c->reason, NULL);
  set_str(&c->message, NULL);
  drv_probe_reset(&c->liveness);
  drv_probe_reset(&c->readiness);
  drv_probe_reset(&c->startup);
  c->started = !json_object_get(c->spec, "startupProbe");
  c->ready = false;
  drv_log_debug("pod %s/%s: container %s started (pid %d)", p->ns, p->name, c->name, pid);
  drv_pod_checkpoint(a, p);
  return;
start_error:
  /* The process could not start (e.g. a missing command): a terminated attempt, as
   * Kubernetes shows StartError, then back-off. */
  c->has_last = true;
  c->last = (drv_cs_term){.exit_code = 128, .started_ms = drv_wall_ms(), .finished_ms = drv_wall_ms()};
  set_str(&c->last_reason, "StartError");
  set_str(&c->term_message, err.msg);
  c->last.reason = c->last_reason;
  c->last.message = c->term_message;
  free(c->rt_id);
  c->rt_id = NULL;
  c->attempt++;
  fail_retry(c, "CrashLoopBackOff", err.msg);
  ctr_event(a, p, c, "Warning", "Failed", "Error: %s", err.msg);
  goto cleanup;
create_error:
  free(c->rt_id);
  c->rt_id = NULL;
  fail_retry(c, "CreateContainerError", err.msg);
  ctr_event(a, p, c, "Warning", "Failed", "Error: %s", err.msg);
cleanup:
  for (int i = 0; i < 2; i++) {
    if (outp[i] >= 0) close(outp[i]);
    if (errp[i] >= 0) close(errp[i]);
    if (inp[i] >= 0) close(inp[i]);
  }
  if (devnull >= 0) close(devnull);
  if (master >= 0) close(master);
  if (lsock >= 0) close(lsock);
  if (console) unlink(console);
  drv_err e3;
  if (want_stdin || tty) drv_sandbox_close_stdin(p->dir, io_key, &e3);
  json_decref(spec);
  drv_image_rootfs_remove(cdir, &e3);
}

/* Whether the container was OOM-killed: its memory cgroup counted an OOM kill. */
static bool oom_killed(drv_pod *p, drv_ctr *c)
{
  drv_cgroup_system *sys;
  drv_err err;
  if (drv_cgroup_system_get(&sys, &err) < 0) return false;
  _cleanup_free_ char *path = drv_ctr_cgroup_path(p, c->rt_id);
  drv_cgroup *cg;
  if (drv_cgroup_open(sys, path, &cg, &err) < 0) return false;
  drv_cgroup_stats st = {0};
  bool oom = drv_cgroup_stats_read(cg, &st, &err) == 0 && st.memory.oom_kills > 0;
  drv_cgroup_free(cg);
  return oom;
}

/* The container's process ended with code: record it, remove the container, plan a restart. */
static void ctr_exited(drv_agent *a, drv_pod *p, drv_ctr *c, int code, const char *why)
{
  drv_err err;
  bool oom = code == 137 && oom_killed(p, c);
  c->term = (drv_cs_term){.exit_code = code, .started_ms = c->started_ms,
                          .finished_ms = drv_wall_ms()};
  set_str(&c->term_reason, oom ? "OOMKilled" : code == 0 ? "Completed" : "Error");
  set_str(&c->term_message, why);
  c->term.reason = c->term_reason;
  c->term.message = c->term_message;
  drv_rt_delete(a->rt_root, c->rt_id, true, &err);
  if (drv_json_get_bool(c->spec, "stdin", false) || drv_json_get_bool(c->spec, "tty", false))
    drv_sandbox_close_stdin(p->dir, c->rt_id, &err); /* the sandbox lets go of its stdin */
  _cleanup_free_ char *cdir = drv_asprintf("%s/ctr/%s-%d", p->dir, c->name, c->attempt);
  drv_image_rootfs_remove(cdir, &err);
  drv_rm_rf(cdir, &err);
  free(c->rt_id);
  c->rt_id = NULL;
  c->pid = 0;
  c->ready = false;
  c->kind = DRV_CS_TERMINATED;
  const char *rp = restart_policy(p);
  bool restart = !strcmp(rp, "Always") ? !c->init || code != 0
               : !strcmp(rp, "OnFailure") ? code != 0
                                          : false;
  if (p->terminating) restart = false;
  if (!restart) {
    c->done = true;
    drv_pod_checkpoint(a, p);
    return;
  }
  /* A container that ran 10 minutes without trouble starts its back-off over. */
  if (c->term.finished_ms - c->term.started_ms > 600000) c->failures = 0;
  c->has_last = true;
  c->last = c->term;
  set_str(&c->last_reason, c->term_reason);
  c->last.reason = c->last_reason;
  c->last.message = NULL;
  c->attempt++;
  c->failures++;
  c->retry_at_ms = drv_now_ms() + drv_backoff_ms(c->failures);
  _cleanup_free_ char *msg = drv_asprintf("back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                                          drv_backoff_ms(c->failures) / 1000, c->name, p->name, p->ns, p->uid);
  set_waiting(c, "CrashLoopBackOff", msg);
  ctr_event(a, p, c, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)",
            c->name, p->name, p->ns, p->uid);
  drv_pod_checkpoint(a, p);
}

static void step_ctr(drv_agent *a, drv_pod *p, drv_ctr *c)
{
  if (!c->spec) return;
  if (c->rt_id) {
    /* Still the same process: nothing to ask the runtime (the common, idle case). */
    if (c->kind == DRV_CS_RUNNING && c->pid > 0 && c->pid_start && drv_proc_alive(c->pid, c->pid_start))
      return;
    drv_rt_state st = {0};
    drv_err err;
    if (drv_rt_state_get(a->rt_root, c->rt_id, &st, &err) < 0) {
      ctr_exited(a, p, c, 255, "the container's state is gone");
      return;
    }
    drv_rt_status s = st.status;
    int code = st.exit_code;
    drv_rt_state_clear(&st);
    if (s == DRV_RT_STOPPED) ctr_exited(a, p, c, code < 0 ? 255 : code, NULL);
    else if (s == DRV_RT_CREATED) {
      /* Created but never started (the agent died in between): start it now. */
      if (drv_rt_start(a->rt_root, c->rt_id, &err) < 0) ctr_exited(a, p, c, 128, err.msg);
    } else
      c->kind = DRV_CS_RUNNING;
    return;
  }
  if (c->done || p->terminating) return;
  if (drv_now_ms() < c->retry_at_ms) return;
  start_ctr(a, p, c);
}

/* ---- probes ---- */

static bool exec_probe(drv_agent *a, drv_ctr *c, const drv_probe_spec *sp)
{
  drv_err err;
  /* As an exec: the container's user, env and working directory (kubelet runs exec probes so). */
  json_t *proc = json_pack("{s:O, s:s}", "args", sp->command, "cwd", "/");
  drv_ctr_exec_env_cwd(a, c->rt_id, false, proc);
  drv_rt_exec_opts o;
  drv_rt_exec_opts_init(&o);
  o.root = a->rt_root;
  o.id = c->rt_id;
  o.process = proc;
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  o.stdio[0] = o.stdio[1] = o.stdio[2] = devnull;
  pid_t pid;
  int r = drv_rt_exec(&o, &pid, &err);
  json_decref(proc);
  if (devnull >= 0) close(devnull);
  if (r < 0) return false;
  long long deadline = drv_now_ms() + sp->timeout_ms;
  for (;;) {
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) return WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (w < 0 && errno != EINTR) return false;
    if (drv_now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return false;
    }
    usleep(2000);
  }
}

static bool run_probe(drv_agent *a, drv_pod *p, drv_ctr *c, const drv_probe_spec *sp)
{
  if (sp->kind == DRV_PROBE_EXEC) return exec_probe(a, c, sp);
  /* From inside the pod's namespace: the pod IP when it has one, else its loopback. */
  const char *host = sp->host ? sp->host : a->network ? p->ip : "127.0.0.1";
  char nspath[64];
  snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", p->sandbox_pid);
  _cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return false;
  if (sp->kind == DRV_PROBE_HTTP) return drv_probe_http(nsfd, host, sp->port, sp->path, sp->timeout_ms);
  return drv_probe_tcp(nsfd, host, sp->port, sp->timeout_ms);
}

static void probe_ctr(drv_agent *a, drv_pod *p, drv_ctr *c)
{
  if (c->kind != DRV_CS_RUNNING || !c->rt_id || !c->spec) return;
  drv_err err;
  drv_probe_spec su, lv, rd;
  if (drv_probe_parse(json_object_get(c->spec, "startupProbe"), c->spec, &su, &err) < 0 ||
      drv_probe_parse(json_object_get(c->spec, "livenessProbe"), c->spec, &lv, &err) < 0 ||
      drv_probe_parse(json_object_get(c->spec, "readinessProbe"), c->spec, &rd, &err) < 0) {
    set_str(&c->message, err.msg);
    return;
  }
  long long now = drv_now_ms();
  long long since = now - (drv_wall_ms() - c->started_ms);
  if (!c->started) {
    if (su.kind == DRV_PROBE_NONE) c->started = true;
    else if (drv_probe_due(&c->startup, &su, since, now)) {
      bool ok = run_probe(a, p, c, &su);
      if (!ok) ctr_event(a, p, c, "Warning", "Unhealthy", "Startup probe failed");
      int v = drv_probe_record(&c->startup, &su, ok, now);
      if (v == 1) c->started = true;
      else if (v == 0) {
        ctr_event(a, p, c, "Normal", "Killing", "Container %s failed startup probe, will be restarted", c->name);
        drv_rt_kill(a->rt_root, c->rt_id, SIGKILL, true, &err);
        return;
      }
    }
  }
  if (!c->started) return;
  if (lv.kind != DRV_PROBE_NONE && drv_probe_due(&c->liveness, &lv, since, now)) {
    bool ok = run_probe(a, p, c, &lv);
    if (!ok) ctr_event(a, p, c, "Warning", "Unhealthy", "Liveness probe failed");
    if (drv_probe_record(&c->liveness, &lv, ok, now) == 0) {
      ctr_event(a, p, c, "Normal", "Killing", "Container %s failed liveness probe, will be restarted", c->name);
      drv_log_info("pod %s/%s: container %s failed its liveness probe, restarting", p->ns, p->name, c->name);
      drv_rt_kill(a->rt_root, c->rt_id, SIGKILL, true, &err);
      return;
    }
  }
  if (rd.kind == DRV_PROBE_NONE) c->ready = true;
  else if (drv_probe_due(&c->readiness, &rd, since, now)) {
    bool ok = run_probe(a, p, c, &rd);
    if (!ok) ctr_event(a, p, c, "Warning", "Unhealthy", "Readiness probe failed");
    c->ready = drv_probe_record(&c->readiness, &rd, ok, now) == 1;
  }
}

/* ---- termination ---- */

static int stop_signal(drv_ctr *c)
{
  (void)c;
  return SIGTERM;
}

static bool any_running(drv_agent *a, drv_pod *p)
{
  bool any = false;
  drv_ctr *tables[2] = {p->init, p->ctrs};
  size_t counts[2] = {p->n_init, p->n_ctrs};
  for (int t = 0; t < 2; t++)
    for (size_t i = 0; i < counts[t]; i++) {
      drv_ctr *c = &tables[t][i];
      if (!c->rt_id) continue;
      drv_rt_state st = {0};
      drv_err err;
      if (drv_rt_state_get(a->rt_root, c->rt_id, &st, &err) == 0) {
        if (st.status == DRV_RT_STOPPED) ctr_exited(a, p, c, st.exit_code < 0 ? 137 : st.exit_code, NULL);
        else any = true;
        drv_rt_state_clear(&st);
      } else {
        free(c->rt_id);
        c->rt_id = NULL;
      }
    }
  return any;
}

void drv_pod_cleanup(drv_agent *a, drv_pod *p)
{
  drv_err err;
  drv_ctr *tables[2] = {p->init, p->ctrs};
  size_t counts[2] = {p->n_init, p->n_ctrs};
  for (int t = 0; t < 2; t++)
    for (size_t i = 0; i < counts[t]; i++) {
      drv_ctr *c = &tables[t][i];
      if (!c->rt_id) continue;
      drv_rt_delete(a->rt_root, c->rt_id, true, &err);
      free(c->rt_id);
      c->rt_id = NULL;
    }
  if (drv_proc_alive(p->sandbox_pid, p->sandbox_start)) kill(p->sandbox_pid, SIGKILL);
  if (a->network) {
    drv_podnet_detach(p->ifname, &err);
    drv_ipam_release(a->ipam, p->uid, &err);
  }
  /* Container root filesystems may still be mounted under the pod dir. */
  _cleanup_free_ char *ctrs = drv_asprintf("%s/ctr", p->dir);
  _cleanup_dir_ DIR *d = opendir(ctrs);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    _cleanup_free_ char *cd = drv_asprintf("%s/%s", ctrs, de->d_name);
    drv_image_rootfs_remove(cd, &err);
  }
  drv_cgroup_system *sys;
  if (drv_cgroup_system_get(&sys, &err) == 0) {
    /* The pod's group wherever it is: its QoS class is unknown once the object is gone. */
    const char *classes[] = {"Guaranteed", "Burstable", "BestEffort"};
    for (size_t i = 0; i <= DRV_ARRAY_LEN(classes); i++) {
      _cleanup_free_ char *parent = i < DRV_ARRAY_LEN(classes) ? drv_pod_cgroup_path_for(classes[i], p->uid)
                                                               : drv_asprintf("/drover/pods/pod%s", p->uid);
      drv_cgroup *cg;
      if (drv_cgroup_open(sys, parent, &cg, &err) == 0) {
        drv_cgroup_killall(cg, SIGKILL, &err); /* the sandbox and anything it left */
        drv_cgroup_destroy(cg, &err);
        drv_cgroup_free(cg);
      }
    }
  }
  /* Volume tmpfs and subPath binds go first: removing through a mount would reach into it. */
  if (drv_pod_volumes_cleanup(p, &err) < 0) drv_log_warn("pod %s/%s: %s", p->ns, p->name, err.msg);
  else if (drv_rm_rf(p->dir, &err) < 0) drv_log_warn("pod %s/%s: %s", p->ns, p->name, err.msg);
  p->gone = true;
}

static void terminate(drv_agent *a, drv_pod *p)
{
  drv_err err;
  long long now = drv_now_ms();
  if (!p->terminating) {
    p->terminating = true;
    long long grace = 30;
    json_t *g = drv_json_get(p->obj, "metadata.deletionGracePeriodSeconds");
    if (!g) g = drv_json_get(p->obj, "spec.terminationGracePeriodSeconds");
    if (json_is_integer(g)) grace = json_integer_value(g);
    if (!p->obj) grace = 0; /* gone from the server already: nothing waits for it */
    p->kill_at_ms = now + grace * 1000;
    drv_ctr *tables[2] = {p->init, p->ctrs};
    size_t counts[2] = {p->n_init, p->n_ctrs};
    for (int t = 0; t < 2; t++)
      for (size_t i = 0; i < counts[t]; i++)
        if (tables[t][i].rt_id) {
          ctr_event(a, p, &tables[t][i], "Normal", "Killing", "Stopping container %s", tables[t][i].name);
          drv_rt_kill(a->rt_root, tables[t][i].rt_id, stop_signal(&tables[t][i]), true, &err);
        }
    drv_log_info("pod %s/%s: terminating (grace %llds)", p->ns, p->name, grace);
  }
  bool running = any_running(a, p);
  if (running && now < p->kill_at_ms) return;
  drv_pod_cleanup(a, p);
  if (p->obj) {
    /* The final delete, as kubelet does once the containers are gone. */
    drv_api_ref ref = {.version = "v1", .resource = "pods", .ns = p->ns, .name = p->name};
    drv_api_delete_opts o = {.grace_period_seconds = 0, .precondition_uid = p->uid};
    int r = drv_api_delete(a->api, &ref, &o, NULL, &err);
    if (r < 0 && r != DRV_API_ENOTFOUND && r != DRV_API_ECONFLICT)
      drv_log_warn("pod %s/%s: final delete: %s", p->ns, p->name, err.msg);
  }
  drv_log_info("pod %s/%s: removed", p->ns, p->name);
}

/* ---- status ---- */

static void view_of(drv_ctr *v, size_t n, drv_ctr_status *out)
{
  for (size_t i = 0; i < n; i++) {
    drv_ctr *c = &v[i];
    out[i] = (drv_ctr_status){
        .name = c->name,
        .image = c->spec ? json_string_value(json_object_get(c->spec, "image")) : NULL,
        .image_id = c->image_id,
        .kind = c->kind,
        .reason = c->reason,
        .message = c->message,
        .started_ms = c->started_ms,
        .term = c->term,
        .has_last = c->has_last,
        .last = c->last,
        .restart_count = c->attempt,
        .ready = c->ready,
        .started = c->started,
        .container_id = c->cid[0] ? c->cid : NULL,
    };
  }
}

static const char *qos_class(drv_pod *p)
{
  return drv_pod_qos_class(json_object_get(p->obj, "spec"));
}

/* What the status is built from, as a short string: when it is unchanged, so is the status. */
static char *state_sig(drv_pod *p)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_printf(&b, "%d|%s|%s|%s|%d|", p->init_done, p->ip, p->reason ? p->reason : "", p->message ? p->message : "",
                 p->sandbox_pid > 0);
  drv_ctr *tables[2] = {p->init, p->ctrs};
  size_t counts[2] = {p->n_init, p->n_ctrs};
  for (int t = 0; t < 2; t++)
    for (size_t i = 0; i < counts[t]; i++) {
      drv_ctr *c = &tables[t][i];
      drv_buf_printf(&b, "%d,%s,%s,%lld,%d,%d,%d,%d,%d,%s,%d;", c->kind, c->reason ? c->reason : "",
                     c->message ? c->message : "", c->started_ms, c->attempt, c->ready, c->started,
                     c->term.exit_code, c->has_last, c->term_reason ? c->term_reason : "", c->done);
    }
  return drv_buf_steal(&b);
}

static void report_status(drv_agent *a, drv_pod *p)
{
  if (!p->obj) return;
  char *sig = state_sig(p);
  if (p->last_sig && !strcmp(sig, p->last_sig)) {
    free(sig);
    return;
  }
  drv_ctr_status *iv = drv_calloc(p->n_init + 1, sizeof *iv);
  drv_ctr_status *cv = drv_calloc(p->n_ctrs + 1, sizeof *cv);
  view_of(p->init, p->n_init, iv);
  view_of(p->ctrs, p->n_ctrs, cv);
  for (size_t i = 0; i < p->n_init; i++) iv[i].ready = iv[i].kind == DRV_CS_TERMINATED && iv[i].term.exit_code == 0;
  drv_pod_view v = {.restart_policy = restart_policy(p), .init = iv, .n_init = p->n_init,
                    .ctrs = cv, .n_ctrs = p->n_ctrs, .init_done = p->init_done,
                    .pod_ip = p->sandbox_pid ? p->ip : NULL, .host_ip = a->node_ip,
                    .start_ms = p->start_ms, .reason = p->reason, .message = p->message,
                    .qos_class = qos_class(p), .rejected = p->evicted};
  json_t *st = drv_pod_status_json(&v, drv_json_get(p->obj, "status"), drv_wall_ms());
  free(iv);
  free(cv);
  char *text = drv_json_dump_canonical(st);
  if (p->last_status && !strcmp(text, p->last_status)) {
    free(text);
    json_decref(st);
    free(p->last_sig);
    p->last_sig = sig;
    return;
  }
  drv_api_ref ref = {.version = "v1", .resource = "pods", .ns = p->ns, .name = p->name,
                     .subresource = "status"};
  json_t *patch = json_pack("{s:{s:s}, s:o}", "metadata", "uid", p->uid, "status", st);
  drv_err err;
  int r = drv_api_patch(a->api, &ref, DRV_API_PATCH_MERGE, patch, NULL, &err);
  json_decref(patch);
  if (r < 0) {
    if (r != DRV_API_ENOTFOUND) drv_log_warn("pod %s/%s: report status: %s", p->ns, p->name, err.msg);
    free(text);
    free(sig);
    return;
  }
  free(p->last_status);
  p->last_status = text;
  free(p->last_sig);
  p->last_sig = sig;
}

void drv_pod_sync(drv_agent *a, drv_pod *p)
{
  if (p->gone) return;
  if (!p->obj || drv_obj_deletion_timestamp(p->obj) || p->terminating) {
    terminate(a, p);
    return;
  }
  if (drv_pod_admission_rejects(a, p)) {
    report_status(a, p); /* Failed, reason Evicted, until the server's object goes */
    return;
  }
  drv_err err;
  if (ensure_sandbox(a, p, &err) < 0) {
    set_str(&p->message, err.msg);
    for (size_t i = 0; i < p->n_ctrs; i++)
      if (!p->ctrs[i].rt_id) set_waiting(&p->ctrs[i], "ContainerCreating", err.msg);
    report_status(a, p);
    return;
  }
  set_str(&p->message, NULL);
  /* Volumes before any container, as kubelet waits for them; their content is refreshed on
   * every sync, so ConfigMap, Secret and label changes reach running containers. */
  if (drv_pod_volumes_sync(a, p, &err) < 0) {
    for (size_t i = 0; i < p->n_init && !p->init_done; i++)
      if (!p->init[i].done) {
        if (!p->init[i].rt_id) set_waiting(&p->init[i], "ContainerCreating", err.msg);
        break;
      }
    for (size_t i = 0; i < p->n_ctrs && p->init_done; i++)
      if (!p->ctrs[i].rt_id && !p->ctrs[i].done) set_waiting(&p->ctrs[i], "ContainerCreating", err.msg);
    report_status(a, p);
    return;
  }
  if (!p->init_done) {
    bool all = true;
    for (size_t i = 0; i < p->n_init; i++) {
      drv_ctr *c = &p->init[i];
      if (c->done && c->term.exit_code == 0) continue;
      step_ctr(a, p, c);
      if (c->done && c->term.exit_code == 0) continue;
      all = false;
      break;
    }
    if (all) {
      p->init_done = true;
      drv_pod_checkpoint(a, p);
    } else {
      for (size_t i = 0; i < p->n_ctrs; i++)
        if (!p->ctrs[i].rt_id && !p->ctrs[i].has_last) set_waiting(&p->ctrs[i], "PodInitializing", NULL);
    }
  }
  if (p->init_done)
    for (size_t i = 0; i < p->n_ctrs; i++) step_ctr(a, p, &p->ctrs[i]);
  for (size_t i = 0; i < p->n_ctrs; i++) probe_ctr(a, p, &p->ctrs[i]);
  report_status(a, p);
}
