/* Table responses with the columns Kubernetes' printers define (pkg/printers/internalversion)
 * and the same cell computations: pod STATUS and READY, service PORT(S), node ROLES... */
#include "api/table.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/convert.h"
#include "api/object.h"
#include "api/selector.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

int drv_table_include_parse(const char *s, drv_table_include *out)
{
  if (!s || !*s || !strcmp(s, "Metadata")) *out = DRV_TABLE_OBJECT_METADATA;
  else if (!strcmp(s, "None")) *out = DRV_TABLE_OBJECT_NONE;
  else if (!strcmp(s, "Object")) *out = DRV_TABLE_OBJECT_FULL;
  else return -1;
  return 0;
}

void drv_api_human_duration(long long s, char *buf, size_t size)
{
  if (s < -1) {
    snprintf(buf, size, "<invalid>");
    return;
  }
  if (s < 0) s = 0;
  long long m = s / 60, h = s / 3600;
  if (s < 120) snprintf(buf, size, "%llds", s);
  else if (m < 10) {
    if (s % 60 == 0) snprintf(buf, size, "%lldm", m);
    else snprintf(buf, size, "%lldm%llds", m, s % 60);
  } else if (m < 180) snprintf(buf, size, "%lldm", m);
  else if (h < 8) {
    if (m % 60 == 0) snprintf(buf, size, "%lldh", h);
    else snprintf(buf, size, "%lldh%lldm", h, m % 60);
  } else if (h < 48) snprintf(buf, size, "%lldh", h);
  else if (h < 24 * 8) {
    if (h % 24 == 0) snprintf(buf, size, "%lldd", h / 24);
    else snprintf(buf, size, "%lldd%lldh", h / 24, h % 24);
  } else if (h < 24 * 365 * 2) snprintf(buf, size, "%lldd", h / 24);
  else if (h < 24 * 365 * 8) {
    long long dy = (h / 24) % 365;
    if (dy == 0) snprintf(buf, size, "%lldy", h / 24 / 365);
    else snprintf(buf, size, "%lldy%lldd", h / 24 / 365, dy);
  } else snprintf(buf, size, "%lldy", h / 24 / 365);
}

/* "5m" since the timestamp at path, or "<unknown>". */
static json_t *since(const char *ts, time_t now)
{
  time_t t;
  if (!ts || drv_api_time_parse(ts, &t) < 0) return json_string("<unknown>");
  char buf[32];
  drv_api_human_duration((long long)(now - t), buf, sizeof(buf));
  return json_string(buf);
}

static json_t *age(const json_t *obj, time_t now)
{
  return since(drv_json_get_str(obj, "metadata.creationTimestamp"), now);
}

static json_t *str_or(const char *s, const char *dflt)
{
  return json_string(s && *s ? s : dflt);
}

static json_t *int_of(const json_t *obj, const char *path)
{
  return json_integer(drv_json_get_int(obj, path, 0));
}

typedef struct col {
  const char *name, *type, *format, *desc;
  int priority;
} col;

#define NAME_COL {"Name", "string", "name", "Name must be unique within a namespace.", 0}
#define AGE_COL {"Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0}

typedef json_t *(*row_fn)(const json_t *obj, time_t now);

/* ---- pods ---- */

static const col pod_cols[] = {
    NAME_COL,
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0},
    AGE_COL,
    {"IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster.", 1},
    {"Node", "string", "", "NodeName is a request to schedule this pod onto a specific node.", 1},
    {"Nominated Node", "string", "", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1},
    {"Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated for pod readiness.", 1},
    {NULL, NULL, NULL, NULL, 0}};

static bool condition_true(const json_t *conds, const char *type)
{
  size_t i;
  json_t *c;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_string_value(json_object_get(c, "type"));
    const char *s = json_string_value(json_object_get(c, "status"));
    if (t && !strcmp(t, type)) return s && !strcmp(s, "True");
  }
  return false;
}

static const char *cond_reason(const json_t *conds, const char *type, const char *status)
{
  size_t i;
  json_t *c;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_string_value(json_object_get(c, "type"));
    const char *s = json_string_value(json_object_get(c, "status"));
    if (t && !strcmp(t, type) && s && !strcmp(s, status)) return json_string_value(json_object_get(c, "reason"));
  }
  return NULL;
}

static json_t *pod_row(const json_t *pod, time_t now)
{
  json_t *st = json_object_get(pod, "status");
  json_t *spec = json_object_get(pod, "spec");
  json_t *conds = json_object_get(st, "conditions");
  char reason[128];
  snprintf(reason, sizeof(reason), "%s", drv_json_get_str(pod, "status.phase") ? drv_json_get_str(pod, "status.phase") : "");
  const char *sr = json_string_value(json_object_get(st, "reason"));
  if (sr && *sr) snprintf(reason, sizeof(reason), "%s", sr);
  const char *gated = cond_reason(conds, "PodScheduled", "False");
  if (gated && !strcmp(gated, "SchedulingGated")) snprintf(reason, sizeof(reason), "SchedulingGated");
  long long restarts = 0, total = (long long)json_array_size(json_object_get(spec, "containers")), ready = 0;
  time_t last_restart = 0;
  bool initializing = false;
  json_t *inits = json_object_get(st, "initContainerStatuses");
  size_t ninit_spec = json_array_size(json_object_get(spec, "initContainers"));
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(spec, "initContainers"), i, c)
  {
    const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
    if (rp && !strcmp(rp, "Always")) total++;
  }
  json_array_foreach(inits, i, c)
  {
    restarts += drv_json_get_int(c, "restartCount", 0);
    time_t t;
    if (drv_api_time_parse(drv_json_get_str(c, "lastState.terminated.finishedAt"), &t) == 0 && t > last_restart) last_restart = t;
    json_t *term = drv_json_get(c, "state.terminated");
    json_t *wait = drv_json_get(c, "state.waiting");
    /* a started sidecar (restartable init container) counts as an app container */
    const char *name = json_string_value(json_object_get(c, "name"));
    bool sidecar = false;
    size_t j;
    json_t *sc;
    json_array_foreach(json_object_get(spec, "initContainers"), j, sc)
    {
      const char *rp = json_string_value(json_object_get(sc, "restartPolicy"));
      if (name && !strcmp(json_string_value(json_object_get(sc, "name")) ?: "", name) && rp && !strcmp(rp, "Always")) sidecar = true;
    }
    if (sidecar && json_is_true(json_object_get(c, "started"))) {
      if (json_is_true(json_object_get(c, "ready"))) ready++;
      continue;
    }
    if (term && drv_json_get_int(term, "exitCode", 1) == 0) continue;
    const char *tr = json_string_value(json_object_get(term, "reason"));
    const char *wr = json_string_value(json_object_get(wait, "reason"));
    if (term) {
      if (!tr || !*tr) {
        long long sig = drv_json_get_int(term, "signal", 0);
        if (sig) snprintf(reason, sizeof(reason), "Init:Signal:%lld", sig);
        else snprintf(reason, sizeof(reason), "Init:ExitCode:%lld", drv_json_get_int(term, "exitCode", 0));
      } else snprintf(reason, sizeof(reason), "Init:%s", tr);
    } else if (wr && *wr && strcmp(wr, "PodInitializing")) {
      snprintf(reason, sizeof(reason), "Init:%s", wr);
    } else {
      snprintf(reason, sizeof(reason), "Init:%zu/%zu", i, ninit_spec);
    }
    initializing = true;
    break;
  }
  if (!initializing || condition_true(conds, "Initialized")) {
    restarts = 0;
    bool running = false;
    json_t *cs = json_object_get(st, "containerStatuses");
    for (size_t k = json_array_size(cs); k-- > 0;) {
      c = json_array_get(cs, k);
      restarts += drv_json_get_int(c, "restartCount", 0);
      time_t t;
      if (drv_api_time_parse(drv_json_get_str(c, "lastState.terminated.finishedAt"), &t) == 0 && t > last_restart) last_restart = t;
      json_t *term = drv_json_get(c, "state.terminated");
      const char *wr = drv_json_get_str(c, "state.waiting.reason");
      const char *tr = json_string_value(json_object_get(term, "reason"));
      if (wr && *wr) snprintf(reason, sizeof(reason), "%s", wr);
      else if (term && tr && *tr) snprintf(reason, sizeof(reason), "%s", tr);
      else if (term) {
        long long sig = drv_json_get_int(term, "signal", 0);
        if (sig) snprintf(reason, sizeof(reason), "Signal:%lld", sig);
        else snprintf(reason, sizeof(reason), "ExitCode:%lld", drv_json_get_int(term, "exitCode", 0));
      } else if (json_is_true(json_object_get(c, "ready")) && drv_json_get(c, "state.running")) {
        running = true;
        ready++;
      }
    }
    if (!strcmp(reason, "Completed") && running)
      snprintf(reason, sizeof(reason), "%s", condition_true(conds, "Ready") ? "Running" : "NotReady");
  }
  const char *phase = json_string_value(json_object_get(st, "phase"));
  if (drv_obj_deletion_timestamp(pod)) {
    if (sr && !strcmp(sr, "NodeLost")) snprintf(reason, sizeof(reason), "Unknown");
    else if (!phase || (strcmp(phase, "Succeeded") && strcmp(phase, "Failed")))
      snprintf(reason, sizeof(reason), "Terminating");
  }
  char readys[64], rs[96];
  snprintf(readys, sizeof(readys), "%lld/%lld", ready, total);
  if (last_restart && restarts) {
    char ago[32];
    drv_api_human_duration((long long)(now - last_restart), ago, sizeof(ago));
    snprintf(rs, sizeof(rs), "%lld (%s ago)", restarts, ago);
  } else snprintf(rs, sizeof(rs), "%lld", restarts);
  json_t *gates = json_object_get(spec, "readinessGates");
  char gs[64] = "<none>";
  if (json_array_size(gates)) {
    size_t tg = 0;
    json_array_foreach(gates, i, c) if (condition_true(conds, json_string_value(json_object_get(c, "conditionType")) ?: "")) tg++;
    snprintf(gs, sizeof(gs), "%zu/%zu", tg, json_array_size(gates));
  }
  return json_pack("[s, s, s, s, o, o, o, o, s]", drv_obj_name(pod) ?: "", readys, reason, rs, age(pod, now),
                   str_or(drv_json_get_str(pod, "status.podIP"), "<none>"),
                   str_or(drv_json_get_str(pod, "spec.nodeName"), "<none>"),
                   str_or(drv_json_get_str(pod, "status.nominatedNodeName"), "<none>"), gs);
}

/* ---- workloads ---- */

static void containers_images(const json_t *obj, char **names, char **images)
{
  drv_buf n = DRV_BUF_INIT, im = DRV_BUF_INIT;
  drv_buf_puts(&n, "");
  drv_buf_puts(&im, "");
  size_t i;
  json_t *c;
  json_array_foreach(drv_json_get(obj, "spec.template.spec.containers"), i, c)
  {
    drv_buf_printf(&n, "%s%s", i ? "," : "", json_string_value(json_object_get(c, "name")) ?: "");
    drv_buf_printf(&im, "%s%s", i ? "," : "", json_string_value(json_object_get(c, "image")) ?: "");
  }
  *names = drv_buf_steal(&n);
  *images = drv_buf_steal(&im);
}

static json_t *selector_cell(const json_t *sel)
{
  char *s = drv_label_selector_json_to_string(sel);
  json_t *v = str_or(s, "<none>");
  free(s);
  return v;
}

static const col deploy_cols[] = {
    NAME_COL,
    {"Ready", "string", "", "Number of the pod with ready state", 0},
    {"Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0},
    {"Available", "string", "", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "", "Images referenced by each container in the template.", 1},
    {"Selector", "string", "", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1},
    {NULL, NULL, NULL, NULL, 0}};

static json_t *deploy_row(const json_t *d, time_t now)
{
  char ready[64], *names, *images;
  snprintf(ready, sizeof(ready), "%lld/%lld", drv_json_get_int(d, "status.readyReplicas", 0),
           drv_json_get_int(d, "spec.replicas", 0));
  containers_images(d, &names, &images);
  json_t *row = json_pack("[s, s, o, o, o, s, s, o]", drv_obj_name(d) ?: "", ready,
                          int_of(d, "status.updatedReplicas"), int_of(d, "status.availableReplicas"),
                          age(d, now), names, images, selector_cell(drv_json_get(d, "spec.selector")));
  free(names);
  free(images);
  return row;
}

static const col rs_cols[] = {
    NAME_COL,
    {"Desired", "integer", "", "Replicas is the number of desired replicas.", 0},
    {"Current", "integer", "", "Replicas is the most recently observed number of replicas.", 0},
    {"Ready", "integer", "", "The number of ready replicas for this replica set.", 0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "", "Images referenced by each container in the template.", 1},
    {"Selector", "string", "", "Selector is a label query over pods that should match the replica count.", 1},
    {NULL, NULL, NULL, NULL, 0}};

static json_t *rs_row(const json_t *r, time_t now)
{
  char *names, *images;
  containers_images(r, &names, &images);
  json_t *row = json_pack("[s, o, o, o, o, s, s, o]", drv_obj_name(r) ?: "", int_of(r, "spec.replicas"),
                          int_of(r, "status.replicas"), int_of(r, "status.readyReplicas"), age(r, now),
                          names, images, selector_cell(drv_json_get(r, "spec.selector")));
  free(names);
  free(images);
  return row;
}

/* ---- services and endpoints ---- */

static const col svc_cols[] = {
    NAME_COL,
    {"Type", "string", "", "type determines how the Service is exposed.", 0},
    {"Cluster-IP", "string", "", "clusterIP is the IP address of the service and is usually assigned randomly.", 0},
    {"External-IP", "string", "", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.", 0},
    {"Port(s)", "string", "", "The list of ports that are exposed by this service.", 0},
    AGE_COL,
    {"Selector", "string", "", "Route service traffic to pods with label keys and values matching this selector.", 1},
    {NULL, NULL, NULL, NULL, 0}};

static char *join_strings(const json_t *arr, const char *sep)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "");
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) drv_buf_printf(&b, "%s%s", i ? sep : "", json_string_value(v) ?: "");
  return drv_buf_steal(&b);
}

static json_t *svc_row(const json_t *s, time_t now)
{
  json_t *spec = json_object_get(s, "spec");
  const char *type = json_string_value(json_object_get(spec, "type")) ?: "ClusterIP";
  char *ext = NULL;
  json_t *eips = json_object_get(spec, "externalIPs");
  if (!strcmp(type, "ClusterIP")) ext = json_array_size(eips) ? join_strings(eips, ",") : drv_strdup("<none>");
  else if (!strcmp(type, "NodePort")) ext = json_array_size(eips) ? join_strings(eips, ",") : drv_strdup("<none>");
  else if (!strcmp(type, "ExternalName")) ext = drv_strdup(json_string_value(json_object_get(spec, "externalName")) ?: "");
  else {
    json_t *ips = json_array();
    size_t i;
    json_t *ing;
    json_array_foreach(drv_json_get(s, "status.loadBalancer.ingress"), i, ing)
    {
      const char *ip = json_string_value(json_object_get(ing, "ip"));
      const char *hn = json_string_value(json_object_get(ing, "hostname"));
      if (ip && *ip) json_array_append_new(ips, json_string(ip));
      else if (hn && *hn) json_array_append_new(ips, json_string(hn));
    }
    json_array_extend(ips, eips ? eips : json_array());
    ext = json_array_size(ips) ? join_strings(ips, ",") : drv_strdup("<pending>");
    json_decref(ips);
  }
  drv_buf ports = DRV_BUF_INIT;
  drv_buf_puts(&ports, "");
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(spec, "ports"), i, p)
  {
    long long np = drv_json_get_int(p, "nodePort", 0);
    const char *proto = json_string_value(json_object_get(p, "protocol")) ?: "TCP";
    if (np) drv_buf_printf(&ports, "%s%lld:%lld/%s", i ? "," : "", drv_json_get_int(p, "port", 0), np, proto);
    else drv_buf_printf(&ports, "%s%lld/%s", i ? "," : "", drv_json_get_int(p, "port", 0), proto);
  }
  if (!ports.len) drv_buf_puts(&ports, "<none>");
  /* labels.FormatLabels: sorted "k=v" pairs */
  json_t *sel = json_object_get(spec, "selector");
  char *selstr = NULL;
  if (json_object_size(sel)) {
    drv_label_selector *ls = drv_label_selector_from_map(sel, false);
    selstr = drv_label_selector_string(ls);
    drv_label_selector_free(ls);
  }
  json_t *row = json_pack("[s, s, o, s, s, o, o]", drv_obj_name(s) ?: "", type,
                          str_or(json_string_value(json_object_get(spec, "clusterIP")), "<none>"), ext,
                          ports.data, age(s, now), str_or(selstr, "<none>"));
  free(selstr);
  free(ext);
  drv_buf_free(&ports);
  return row;
}

static const col ep_cols[] = {
    NAME_COL,
    {"Endpoints", "string", "", "Endpoints is the list of endpoints in the service.", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *ep_row(const json_t *e, time_t now)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "");
  int shown = 0, count = 0;
  size_t i, j, k;
  json_t *s, *a, *p;
  json_array_foreach(json_object_get(e, "subsets"), i, s)
  {
    json_t *ports = json_object_get(s, "ports");
    json_array_foreach(json_object_get(s, "addresses"), j, a)
    {
      const char *ip = json_string_value(json_object_get(a, "ip")) ?: "";
      if (json_array_size(ports) == 0) {
        count++;
        if (shown < 3) drv_buf_printf(&b, "%s%s", shown++ ? "," : "", ip);
      }
      json_array_foreach(ports, k, p)
      {
        count++;
        if (shown < 3) drv_buf_printf(&b, "%s%s:%lld", shown++ ? "," : "", ip, drv_json_get_int(p, "port", 0));
      }
    }
  }
  if (count > shown) drv_buf_printf(&b, " + %d more...", count - shown);
  if (!b.len) drv_buf_puts(&b, "<none>");
  json_t *row = json_pack("[s, s, o]", drv_obj_name(e) ?: "", b.data, age(e, now));
  drv_buf_free(&b);
  return row;
}

static const col eps_cols[] = {
    NAME_COL,
    {"AddressType", "string", "", "The IP protocol for this slice.", 0},
    {"Ports", "string", "", "The ports contained in this slice.", 0},
    {"Endpoints", "string", "", "The endpoints contained in this slice.", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *eps_row(const json_t *e, time_t now)
{
  drv_buf ports = DRV_BUF_INIT, eps = DRV_BUF_INIT;
  drv_buf_puts(&ports, "");
  drv_buf_puts(&eps, "");
  size_t i, j;
  json_t *p, *ep, *a;
  json_array_foreach(json_object_get(e, "ports"), i, p) drv_buf_printf(&ports, "%s%lld", i ? "," : "", drv_json_get_int(p, "port", 0));
  int shown = 0, count = 0;
  json_array_foreach(json_object_get(e, "endpoints"), i, ep) json_array_foreach(json_object_get(ep, "addresses"), j, a)
  {
    count++;
    if (shown < 3) drv_buf_printf(&eps, "%s%s", shown++ ? "," : "", json_string_value(a) ?: "");
  }
  if (count > shown) drv_buf_printf(&eps, " + %d more...", count - shown);
  json_t *row = json_pack("[s, s, s, s, o]", drv_obj_name(e) ?: "", drv_json_get_str(e, "addressType") ?: "",
                          ports.len ? ports.data : "<unset>", eps.len ? eps.data : "<unset>", age(e, now));
  drv_buf_free(&ports);
  drv_buf_free(&eps);
  return row;
}

/* ---- cluster objects ---- */

static const col node_cols[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    AGE_COL,
    {"Version", "string", "", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1},
    {"External-IP", "string", "", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1},
    {"OS-Image", "string", "", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1},
    {"Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1},
    {"Container-Runtime", "string", "", "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1},
    {NULL, NULL, NULL, NULL, 0}};

static int cmp_json_str(const void *a, const void *b)
{
  return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static json_t *node_row(const json_t *n, time_t now)
{
  drv_buf st = DRV_BUF_INIT;
  drv_buf_puts(&st, "");
  size_t i;
  json_t *c;
  const char *ready = NULL;
  json_array_foreach(drv_json_get(n, "status.conditions"), i, c)
  {
    const char *t = json_string_value(json_object_get(c, "type"));
    if (t && !strcmp(t, "Ready")) ready = json_string_value(json_object_get(c, "status"));
  }
  /* As kubectl prints it: any Ready condition other than True reads NotReady; none, Unknown. */
  drv_buf_puts(&st, !ready ? "Unknown" : !strcmp(ready, "True") ? "Ready" : "NotReady");
  if (json_is_true(drv_json_get(n, "spec.unschedulable"))) drv_buf_puts(&st, ",SchedulingDisabled");
  /* roles from node-role.kubernetes.io/<role> and kubernetes.io/role labels, sorted */
  json_t *roles = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(drv_obj_labels(n), k, v)
  {
    if (!strncmp(k, "node-role.kubernetes.io/", 24) && k[24]) json_array_append_new(roles, json_string(k + 24));
    else if (!strcmp(k, "kubernetes.io/role") && json_string_length(v)) json_array_append(roles, v);
  }
  size_t nr = json_array_size(roles);
  json_t **items = drv_calloc(nr ? nr : 1, sizeof(json_t *));
  for (i = 0; i < nr; i++) items[i] = json_array_get(roles, i);
  qsort(items, nr, sizeof(json_t *), cmp_json_str);
  json_t *sorted = json_array();
  for (i = 0; i < nr; i++) json_array_append(sorted, items[i]);
  free(items);
  char *rs = nr ? join_strings(sorted, ",") : drv_strdup("<none>");
  json_decref(sorted);
  json_decref(roles);
  const char *iip = NULL, *eip = NULL;
  json_t *a;
  json_array_foreach(drv_json_get(n, "status.addresses"), i, a)
  {
    const char *t = json_string_value(json_object_get(a, "type"));
    if (t && !strcmp(t, "InternalIP") && !iip) iip = json_string_value(json_object_get(a, "address"));
    if (t && !strcmp(t, "ExternalIP") && !eip) eip = json_string_value(json_object_get(a, "address"));
  }
  json_t *row = json_pack("[s, s, s, o, o, o, o, o, o, o]", drv_obj_name(n) ?: "", st.data, rs, age(n, now),
                          str_or(drv_json_get_str(n, "status.nodeInfo.kubeletVersion"), ""),
                          str_or(iip, "<none>"), str_or(eip, "<none>"),
                          str_or(drv_json_get_str(n, "status.nodeInfo.osImage"), "<unknown>"),
                          str_or(drv_json_get_str(n, "status.nodeInfo.kernelVersion"), "<unknown>"),
                          str_or(drv_json_get_str(n, "status.nodeInfo.containerRuntimeVersion"), "<unknown>"));
  free(rs);
  drv_buf_free(&st);
  return row;
}

static const col ns_cols[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the namespace", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *ns_row(const json_t *n, time_t now)
{
  return json_pack("[s, o, o]", drv_obj_name(n) ?: "", str_or(drv_json_get_str(n, "status.phase"), ""), age(n, now));
}

static const col event_cols[] = {
    {"Last Seen", "string", "", "The time the event was last seen", 0},
    {"Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future.", 0},
    {"Reason", "string", "", "The reason for this event.", 0},
    {"Object", "string", "", "The object this Event is about.", 0},
    {"Subobject", "string", "", "The subobject this Event is about.", 1},
    {"Source", "string", "", "The component reporting this event.", 1},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", "", "The first time the event was seen.", 1},
    {"Count", "string", "", "The number of times this event has occurred.", 1},
    {"Name", "string", "name", "Name must be unique within a namespace.", 1},
    {NULL, NULL, NULL, NULL, 0}};

static json_t *event_row(const json_t *e, time_t now)
{
  const char *first = drv_json_get_str(e, "firstTimestamp");
  const char *last = drv_json_get_str(e, "lastTimestamp");
  const char *et = drv_json_get_str(e, "eventTime");
  const char *series_last = drv_json_get_str(e, "series.lastObservedTime");
  json_t *first_s = since(first && *first ? first : et, now);
  json_t *last_s = since(series_last ? series_last : last && *last ? last : et, now);
  long long count = drv_json_get_int(e, "count", 0);
  if (drv_json_get(e, "series")) count = drv_json_get_int(e, "series.count", count);
  char lastbuf[128];
  if (count > 1)
    snprintf(lastbuf, sizeof(lastbuf), "%s (x%lld over %s)", json_string_value(last_s), count, json_string_value(first_s));
  else snprintf(lastbuf, sizeof(lastbuf), "%s", json_string_value(last_s));
  char object[320];
  char kind[64];
  snprintf(kind, sizeof(kind), "%s", drv_json_get_str(e, "involvedObject.kind") ?: "");
  for (char *p = kind; *p; p++) *p = (char)tolower((unsigned char)*p);
  snprintf(object, sizeof(object), "%s/%s", kind, drv_json_get_str(e, "involvedObject.name") ?: "");
  char source[256];
  const char *comp = drv_json_get_str(e, "source.component");
  const char *host = drv_json_get_str(e, "source.host");
  if (!comp || !*comp) comp = drv_json_get_str(e, "reportingComponent");
  if (host && *host) snprintf(source, sizeof(source), "%s, %s", comp ?: "", host);
  else snprintf(source, sizeof(source), "%s", comp ?: "");
  char cnt[32];
  snprintf(cnt, sizeof(cnt), "%lld", count);
  json_t *row = json_pack("[s, o, o, s, o, s, o, O, s, s]", lastbuf, str_or(drv_json_get_str(e, "type"), ""),
                          str_or(drv_json_get_str(e, "reason"), ""), object,
                          str_or(drv_json_get_str(e, "involvedObject.fieldPath"), ""), source,
                          str_or(drv_json_get_str(e, "message"), ""), first_s, cnt, drv_obj_name(e) ?: "");
  json_decref(first_s);
  json_decref(last_s);
  return row;
}

static const col cm_cols[] = {
    NAME_COL,
    {"Data", "integer", "", "Data contains the configuration data.", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *cm_row(const json_t *c, time_t now)
{
  return json_pack("[s, I, o]", drv_obj_name(c) ?: "",
                   (json_int_t)(json_object_size(json_object_get(c, "data")) + json_object_size(json_object_get(c, "binaryData"))),
                   age(c, now));
}

static const col secret_cols[] = {
    NAME_COL,
    {"Type", "string", "", "The type of the secret", 0},
    {"Data", "integer", "", "The number of entries in the secret", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *secret_row(const json_t *s, time_t now)
{
  return json_pack("[s, o, I, o]", drv_obj_name(s) ?: "", str_or(drv_json_get_str(s, "type"), ""),
                   (json_int_t)json_object_size(json_object_get(s, "data")), age(s, now));
}

static const col sa_cols[] = {
    NAME_COL,
    {"Secrets", "string", "", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *sa_row(const json_t *s, time_t now)
{
  return json_pack("[s, I, o]", drv_obj_name(s) ?: "", (json_int_t)json_array_size(json_object_get(s, "secrets")), age(s, now));
}

static const col lease_cols[] = {
    NAME_COL,
    {"Holder", "string", "", "holderIdentity contains the identity of the holder of a current lease.", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

static json_t *lease_row(const json_t *l, time_t now)
{
  return json_pack("[s, o, o]", drv_obj_name(l) ?: "", str_or(drv_json_get_str(l, "spec.holderIdentity"), "<unknown>"), age(l, now));
}

static const col binding_cols[] = {
    NAME_COL,
    {"Role", "string", "", "Role the binding grants.", 0},
    AGE_COL,
    {"Users", "string", "", "Users the role is granted to.", 1},
    {"Groups", "string", "", "Groups the role is granted to.", 1},
    {"ServiceAccounts", "string", "", "Service accounts the role is granted to.", 1},
    {NULL, NULL, NULL, NULL, 0}};

/* The subjects of one kind, comma-separated (service accounts as NS:NAME). */
static json_t *subjects_of(const json_t *b, const char *kind)
{
  drv_buf t = DRV_BUF_INIT;
  drv_buf_puts(&t, "");
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(b, "subjects"), i, s)
  {
    if (strcmp(json_string_value(json_object_get(s, "kind")) ?: "", kind)) continue;
    const char *ns = json_string_value(json_object_get(s, "namespace"));
    drv_buf_printf(&t, "%s%s%s%s", t.len ? ", " : "", !strcmp(kind, "ServiceAccount") ? ns ?: "" : "",
                   !strcmp(kind, "ServiceAccount") ? "/" : "", json_string_value(json_object_get(s, "name")) ?: "");
  }
  json_t *out = json_string(t.data);
  drv_buf_free(&t);
  return out;
}

static json_t *binding_row(const json_t *b, time_t now)
{
  char role[320];
  snprintf(role, sizeof(role), "%s/%s", drv_json_get_str(b, "roleRef.kind") ?: "",
           drv_json_get_str(b, "roleRef.name") ?: "");
  return json_pack("[s, s, o, o, o, o]", drv_obj_name(b) ?: "", role, age(b, now), subjects_of(b, "User"),
                   subjects_of(b, "Group"), subjects_of(b, "ServiceAccount"));
}

static const col hpa_cols[] = {
    NAME_COL,
    {"Reference", "string", "", "reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.", 0},
    {"Targets", "string", "", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).", 0},
    {"MinPods", "string", "", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.", 0},
    {"MaxPods", "integer", "", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.", 0},
    {"Replicas", "integer", "", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.", 0},
    AGE_COL,
    {NULL, NULL, NULL, NULL, 0}};

/* The current value matching a metric spec from status.currentMetrics, as text. */
static const char *current_util(const json_t *hpa, const char *name, char *buf, size_t size, bool value)
{
  size_t i;
  json_t *m;
  json_array_foreach(drv_json_get(hpa, "status.currentMetrics"), i, m)
  {
    const char *n = drv_json_get_str(m, "resource.name");
    if (!n || strcmp(n, name)) continue;
    if (value) {
      const char *av = drv_json_get_str(m, "resource.current.averageValue");
      if (av) {
        snprintf(buf, size, "%s", av);
        return buf;
      }
    } else {
      json_t *u = drv_json_get(m, "resource.current.averageUtilization");
      if (json_is_integer(u)) {
        snprintf(buf, size, "%lld%%", (long long)json_integer_value(u));
        return buf;
      }
    }
  }
  return "<unknown>";
}

static json_t *hpa_row(const json_t *h, time_t now)
{
  char ref[256];
  snprintf(ref, sizeof(ref), "%s/%s", drv_json_get_str(h, "spec.scaleTargetRef.kind") ?: "",
           drv_json_get_str(h, "spec.scaleTargetRef.name") ?: "");
  drv_buf t = DRV_BUF_INIT;
  drv_buf_puts(&t, "");
  size_t i, shown = 0, total = 0;
  json_t *m;
  json_t *metrics = drv_json_get(h, "spec.metrics");
  json_t *v1cpu = drv_json_get(h, "spec.targetCPUUtilizationPercentage");
  json_array_foreach(metrics, i, m)
  {
    total++;
    if (shown >= 3) continue;
    const char *type = json_string_value(json_object_get(m, "type")) ?: "";
    char cur[64];
    if (!strcmp(type, "Resource")) {
      const char *name = drv_json_get_str(m, "resource.name") ?: "";
      const char *av = drv_json_get_str(m, "resource.target.averageValue");
      if (av) drv_buf_printf(&t, "%s%s: %s/%s", shown ? ", " : "", name, current_util(h, name, cur, sizeof(cur), true), av);
      else drv_buf_printf(&t, "%s%s: %s/%lld%%", shown ? ", " : "", name, current_util(h, name, cur, sizeof(cur), false),
                          drv_json_get_int(m, "resource.target.averageUtilization", 0));
    } else {
      drv_buf_printf(&t, "%s<unknown>/%s", shown ? ", " : "", type);
    }
    shown++;
  }
  if (json_is_integer(v1cpu)) {
    json_t *cc = drv_json_get(h, "status.currentCPUUtilizationPercentage");
    char cur[32] = "<unknown>";
    if (json_is_integer(cc)) snprintf(cur, sizeof(cur), "%lld%%", (long long)json_integer_value(cc));
    drv_buf_printf(&t, "cpu: %s/%lld%%", cur, (long long)json_integer_value(v1cpu));
  }
  if (total > shown) drv_buf_printf(&t, " + %zu more...", total - shown);
  if (!t.len) drv_buf_puts(&t, "<none>");
  json_t *min = drv_json_get(h, "spec.minReplicas");
  char mins[32] = "<unset>";
  if (json_is_integer(min)) snprintf(mins, sizeof(mins), "%lld", (long long)json_integer_value(min));
  json_t *row = json_pack("[s, s, s, s, o, o, o]", drv_obj_name(h) ?: "", ref, t.data, mins,
                          int_of(h, "spec.maxReplicas"), int_of(h, "status.currentReplicas"), age(h, now));
  drv_buf_free(&t);
  return row;
}

static const col default_cols[] = {
    NAME_COL,
    {"Created At", "date", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0},
    {NULL, NULL, NULL, NULL, 0}};

static json_t *default_row(const json_t *o, time_t now)
{
  (void)now;
  return json_pack("[s, o]", drv_obj_name(o) ?: "", str_or(drv_obj_creation_timestamp(o), ""));
}

static const struct {
  const char *group, *kind;
  const col *cols;
  row_fn row;
} printers[] = {
    {"", "Pod", pod_cols, pod_row},
    {"apps", "Deployment", deploy_cols, deploy_row},
    {"apps", "ReplicaSet", rs_cols, rs_row},
    {"", "Service", svc_cols, svc_row},
    {"", "Endpoints", ep_cols, ep_row},
    {"discovery.k8s.io", "EndpointSlice", eps_cols, eps_row},
    {"", "Node", node_cols, node_row},
    {"", "Namespace", ns_cols, ns_row},
    {"", "Event", event_cols, event_row},
    {"events.k8s.io", "Event", event_cols, event_row},
    {"", "ConfigMap", cm_cols, cm_row},
    {"", "Secret", secret_cols, secret_row},
    {"", "ServiceAccount", sa_cols, sa_row},
    {"coordination.k8s.io", "Lease", lease_cols, lease_row},
    {"autoscaling", "HorizontalPodAutoscaler", hpa_cols, hpa_row},
    {"rbac.authorization.k8s.io", "RoleBinding", binding_cols, binding_row},
    {"rbac.authorization.k8s.io", "ClusterRoleBinding", binding_cols, binding_row},
};

static json_t *partial_metadata(const json_t *obj)
{
  json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
  if (!meta) meta = json_object();
  json_object_del(meta, "managedFields");
  return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1",
                   "metadata", meta);
}

json_t *drv_api_table(const drv_api_resource *res, const json_t *list_or_obj,
                      drv_table_include include, time_t now)
{
  const col *cols = default_cols;
  row_fn row = default_row;
  for (size_t i = 0; i < DRV_ARRAY_LEN(printers); i++)
    if (!strcmp(printers[i].group, res->group) && !strcmp(printers[i].kind, res->kind)) {
      cols = printers[i].cols;
      row = printers[i].row;
    }
  json_t *defs = json_array();
  for (const col *c = cols; c->name; c++)
    json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type", c->type,
                                          "format", c->format, "description", c->desc, "priority", c->priority));
  json_t *items = json_object_get(list_or_obj, "items");
  json_t *meta = json_object();
  if (json_is_array(items)) {
    const char *keys[] = {"resourceVersion", "continue", "remainingItemCount"};
    json_t *lm = json_object_get(list_or_obj, "metadata");
    for (size_t i = 0; i < DRV_ARRAY_LEN(keys); i++) {
      json_t *v = json_object_get(lm, keys[i]);
      if (v) json_object_set(meta, keys[i], v);
    }
  } else {
    const char *rv = drv_obj_resource_version(list_or_obj);
    if (rv) json_object_set_new(meta, "resourceVersion", json_string(rv));
  }
  json_t *rows = json_array();
  size_t n = json_is_array(items) ? json_array_size(items) : 1;
  const drv_api_resource *core_event = drv_api_resource_find("", "v1", "events");
  for (size_t i = 0; i < n; i++) {
    const json_t *obj = json_is_array(items) ? json_array_get(items, i) : list_or_obj;
    json_t *view = NULL;
    if (!strcmp(res->group, "events.k8s.io") && core_event) {
      drv_err err;
      view = drv_api_convert(obj, res, core_event, &err);
    }
    json_t *r = json_pack("{s:o}", "cells", row(view ? view : obj, now));
    json_decref(view);
    if (include == DRV_TABLE_OBJECT_METADATA) json_object_set_new(r, "object", partial_metadata(obj));
    else if (include == DRV_TABLE_OBJECT_FULL) json_object_set_new(r, "object", json_deep_copy(obj));
    json_array_append_new(rows, r);
  }
  return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                   "metadata", meta, "columnDefinitions", defs, "rows", rows);
}
