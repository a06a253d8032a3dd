/* Services in the server's write path, as kube-apiserver does them: a ClusterIP allocated from
 * --service-cluster-ip-range on create (a requested one checked), node ports allocated from
 * --service-node-port-range when a NodePort/LoadBalancer Service is written, and the
 * `kubernetes` Service (with its Endpoints and EndpointSlice) that points at the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "api/object.h"
#include "api/rangealloc.h"
#include "api/status.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/ops.h"

static const char *proto_of(const json_t *port)
{
  const char *p = json_string_value(json_object_get(port, "protocol"));
  return p && *p ? p : "TCP";
}

static bool wants_node_ports(const json_t *svc, bool *allocate)
{
  const char *t = drv_json_get_str(svc, "spec.type");
  *allocate = true;
  if (t && !strcmp(t, "NodePort")) return true;
  if (t && !strcmp(t, "LoadBalancer")) {
    json_t *a = drv_json_get((json_t *)svc, "spec.allocateLoadBalancerNodePorts");
    *allocate = !json_is_false(a);
    return true;
  }
  return false;
}

/* Calls mark(used, o) for every stored Service o but svc itself on an update (skip_self): on
 * create a Service stored under the same name is another (a generated name that collided is
 * written under a new one, with what was chosen here). */
static void each_other_service(drv_server *s, const json_t *svc, bool skip_self, drv_range_alloc *used,
                               void (*mark)(drv_range_alloc *used, const json_t *o))
{
  const drv_api_resource *res = drv_api_resource_find("", "v1", "services");
  _cleanup_free_ char *prefix = drv_server_prefix(res, "");
  _cleanup_free_ char *self = skip_self ? drv_server_key(res, drv_obj_namespace(svc), drv_obj_name(svc)) : NULL;
  drv_store_list l;
  drv_store_list_prefix(s->store, prefix, NULL, 0, NULL, NULL, &l);
  for (size_t i = 0; i < l.n; i++) {
    if (self && !strcmp(l.items[i]->key, self)) continue;
    json_t *o = json_loadb(l.items[i]->data, l.items[i]->len, 0, NULL);
    if (o) mark(used, o);
    json_decref(o);
  }
  drv_store_list_free(&l);
}

static void mark_node_ports(drv_range_alloc *used, const json_t *o)
{
  size_t j;
  json_t *p;
  json_array_foreach(drv_json_get(o, "spec.ports"), j, p)
  {
    long long np = drv_json_get_int(p, "nodePort", 0);
    if (np > 0) drv_range_alloc_use(used, (uint32_t)np);
  }
  long long hc = drv_json_get_int(o, "spec.healthCheckNodePort", 0);
  if (hc > 0) drv_range_alloc_use(used, (uint32_t)hc);
}

/* Node ports of every stored Service are in use, but svc's own on an update. */
static void ports_in_use(drv_server *s, const json_t *svc, bool skip_self, drv_range_alloc *used)
{
  each_other_service(s, svc, skip_self, used, mark_node_ports);
}

static void add_cause(json_t **causes, const char *reason, size_t i, const char *msg)
{
  if (!*causes) *causes = json_array();
  _cleanup_free_ char *f = drv_asprintf("spec.ports[%zu].nodePort", i);
  json_array_append_new(*causes, drv_status_cause(reason, msg, f));
}

/* spec.healthCheckNodePort of a LoadBalancer with externalTrafficPolicy Local: kept, checked
 * or allocated like the ports (Kubernetes allocates it from the same range). */
static json_t *health_check_port(drv_server *s, const drv_api_resource *res, json_t *svc,
                                 const json_t *old, drv_range_alloc *used, uint32_t h)
{
  const char *t = drv_json_get_str(svc, "spec.type");
  const char *etp = drv_json_get_str(svc, "spec.externalTrafficPolicy");
  json_t *spec = drv_json_get(svc, "spec");
  if (!t || strcmp(t, "LoadBalancer") || !etp || strcmp(etp, "Local")) {
    json_object_del(spec, "healthCheckNodePort"); /* only that kind of Service has one */
    return NULL;
  }
  long long hc = drv_json_get_int(svc, "spec.healthCheckNodePort", 0);
  long long ohc = old ? drv_json_get_int(old, "spec.healthCheckNodePort", 0) : 0;
  if (hc <= 0 && ohc > 0) hc = ohc; /* an update keeps it */
  const char *why = NULL;
  if (hc > 0 && (hc < s->np_first || hc >= (long long)s->np_first + s->np_size))
    why = "provided port is not in the valid range";
  else if (hc > 0 && drv_range_alloc_is_used(used, (uint32_t)hc))
    why = "provided port is already allocated";
  if (why) {
    _cleanup_free_ char *m = drv_asprintf("Invalid value: %lld: %s", hc, why);
    json_t *causes = json_array();
    json_array_append_new(causes, drv_status_cause("FieldValueInvalid", m, "spec.healthCheckNodePort"));
    return drv_status_invalid(res, drv_obj_name(svc), causes);
  }
  uint32_t v = (uint32_t)hc;
  if (hc <= 0 && drv_range_alloc_pick(used, 0, s->np_size, h + 101, &v) < 0)
    return drv_status_internal("failed to allocate a healthCheckNodePort: range is full");
  drv_range_alloc_use(used, v);
  json_object_set_new(spec, "healthCheckNodePort", json_integer(v));
  return NULL;
}

json_t *drv_server_node_ports(drv_server *s, const drv_api_resource *res, json_t *svc,
                              const json_t *old)
{
  bool allocate;
  if (!wants_node_ports(svc, &allocate)) return NULL;
  json_t *ports = drv_json_get(svc, "spec.ports");
  if (!json_array_size(ports)) return NULL;
  uint32_t first = s->np_first, size = s->np_size;
  drv_range_alloc used;
  drv_range_alloc_init(&used, first, size);
  ports_in_use(s, svc, old != NULL, &used);
  json_t *oports = old ? drv_json_get((json_t *)old, "spec.ports") : NULL;
  json_t *causes = NULL;
  size_t i, j;
  json_t *p, *q;
  /* explicit ports first: they must be in range, free, and not twice for one protocol */
  json_array_foreach(ports, i, p)
  {
    long long np = drv_json_get_int(p, "nodePort", 0);
    if (np <= 0) continue;
    if (np < first || np >= (long long)first + size) {
      _cleanup_free_ char *m = drv_asprintf(
          "Invalid value: %lld: provided port is not in the valid range. The range of valid ports "
          "is %u-%u", np, first, first + size - 1);
      add_cause(&causes, "FieldValueInvalid", i, m);
      continue;
    }
    if (drv_range_alloc_is_used(&used, (uint32_t)np)) {
      _cleanup_free_ char *m =
          drv_asprintf("Invalid value: %lld: provided port is already allocated", np);
      add_cause(&causes, "FieldValueInvalid", i, m);
      continue;
    }
    for (j = 0; j < i; j++) {
      q = json_array_get(ports, j);
      if (drv_json_get_int(q, "nodePort", 0) == np && !strcmp(proto_of(p), proto_of(q))) {
        _cleanup_free_ char *m = drv_asprintf("Duplicate value: %lld", np);
        add_cause(&causes, "FieldValueDuplicate", i, m);
        break;
      }
    }
  }
  json_t *status = NULL;
  if (causes) {
    status = drv_status_invalid(res, drv_obj_name(svc), causes);
    goto out;
  }
  json_array_foreach(ports, i, p)
  {
    long long np = drv_json_get_int(p, "nodePort", 0);
    if (np > 0) drv_range_alloc_use(&used, (uint32_t)np); /* none of the below may take them */
  }
  uint32_t h = 2166136261u;
  for (const char *c = drv_obj_name(svc) ?: ""; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
  if ((status = health_check_port(s, res, svc, old, &used, h))) goto out;
  if (!allocate) goto out;
  /* then the missing ones: an update keeps the port the same port/protocol had */
  json_array_foreach(ports, i, p)
  {
    if (drv_json_get_int(p, "nodePort", 0) > 0) continue;
    long long keep = 0;
    json_array_foreach(oports, j, q)
    {
      long long onp = drv_json_get_int(q, "nodePort", 0);
      if (onp > 0 && drv_json_get_int(q, "port", -1) == drv_json_get_int(p, "port", -2) &&
          !strcmp(proto_of(p), proto_of(q)) && !drv_range_alloc_is_used(&used, (uint32_t)onp)) {
        keep = onp;
        break;
      }
    }
    uint32_t np = (uint32_t)keep;
    if (!keep && drv_range_alloc_pick(&used, 0, size, h + (uint32_t)i, &np) < 0) {
      status = drv_status_internal("failed to allocate a nodePort: range is full");
      goto out;
    }
    drv_range_alloc_use(&used, np);
    json_object_set_new(p, "nodePort", json_integer(np));
  }
out:
  drv_range_alloc_release(&used);
  return status;
}

/* ---- ClusterIPs ---- */

static const char *ip_text(uint32_t v, char *buf)
{
  struct in_addr a = {htonl(v)};
  return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void mark_cluster_ip(drv_range_alloc *used, const json_t *o)
{
  const char *ip = drv_json_get_str(o, "spec.clusterIP");
  struct in_addr a;
  if (ip && inet_pton(AF_INET, ip, &a) == 1) drv_range_alloc_use(used, ntohl(a.s_addr));
}

/* ClusterIPs of every stored Service are in use, but svc's own on an update. */
static void ips_in_use(drv_server *s, const json_t *svc, bool skip_self, drv_range_alloc *used)
{
  each_other_service(s, svc, skip_self, used, mark_cluster_ip);
}

static json_t *ip_invalid(const drv_api_resource *res, const json_t *svc, const char *field, const char *ip,
                          const char *why)
{
  _cleanup_free_ char *m = !strcmp(field, "spec.clusterIPs")
                               ? drv_asprintf("Invalid value: []string{\"%s\"}: %s", ip, why)
                               : drv_asprintf("Invalid value: \"%s\": %s", ip, why);
  json_t *causes = json_array();
  json_array_append_new(causes, drv_status_cause("FieldValueInvalid", m, field));
  return drv_status_invalid(res, drv_obj_name(svc), causes);
}

json_t *drv_server_cluster_ip(drv_server *s, const drv_api_resource *res, json_t *svc, const json_t *old)
{
  json_t *spec = drv_json_get(svc, "spec");
  if (!json_is_object(spec)) return NULL;
  const char *type = drv_json_get_str(svc, "spec.type");
  if (type && !strcmp(type, "ExternalName")) { /* no address: a DNS name */
    json_object_del(spec, "clusterIP");
    json_object_del(spec, "clusterIPs");
    return NULL;
  }
  const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
  if (!ip || !*ip) ip = json_string_value(json_array_get(json_object_get(spec, "clusterIPs"), 0));
  const char *oip = old ? drv_json_get_str(old, "spec.clusterIP") : NULL;
  if ((!ip || !*ip) && oip && *oip) ip = oip; /* an update keeps its address */
  char buf[INET_ADDRSTRLEN];
  if (ip && !strcmp(ip, "None")) { /* headless */
  } else if (ip && *ip) {
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
      return ip_invalid(res, svc, "spec.clusterIPs[0]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    uint32_t v = ntohl(a.s_addr);
    if (!oip || strcmp(oip, ip)) { /* a new address: in the range, and nobody else's */
      char net[INET_ADDRSTRLEN];
      ip_text(s->svc_base, net);
      int bits = 32;
      for (uint32_t n = s->svc_size; n > 1; n >>= 1) bits--;
      if (v <= s->svc_base || v >= s->svc_base + s->svc_size - 1) {
        _cleanup_free_ char *why = drv_asprintf(
            "failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s/%d",
            ip, ip, net, bits);
        return ip_invalid(res, svc, "spec.clusterIPs", ip, why);
      }
      drv_range_alloc used;
      drv_range_alloc_init(&used, s->svc_base, s->svc_size);
      ips_in_use(s, svc, old != NULL, &used);
      bool taken = drv_range_alloc_is_used(&used, v);
      drv_range_alloc_release(&used);
      if (taken) {
        _cleanup_free_ char *why = drv_asprintf("failed to allocate IP %s: provided IP is already allocated", ip);
        return ip_invalid(res, svc, "spec.clusterIPs", ip, why);
      }
    }
    ip = ip_text(v, buf);
  } else {
    /* a free address from offset 10 (the first ones are for the API server and requests),
     * searched from a hash of the name so parallel servers rarely meet */
    drv_range_alloc used;
    drv_range_alloc_init(&used, s->svc_base, s->svc_size);
    ips_in_use(s, svc, old != NULL, &used);
    drv_range_alloc_use(&used, s->svc_first_ip);
    uint32_t h = 2166136261u, v = 0;
    for (const char *c = drv_obj_name(svc) ?: ""; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    int rc = drv_range_alloc_pick(&used, s->svc_size > 64 ? 10 : 2, s->svc_size - 1, h, &v);
    drv_range_alloc_release(&used);
    if (rc < 0) return drv_status_internal("failed to allocate a serviceIP: range is full");
    ip = ip_text(v, buf);
  }
  _cleanup_free_ char *keep = drv_strdup(ip); /* ip may point into spec */
  json_object_set_new(spec, "clusterIP", json_string(keep));
  json_object_set_new(spec, "clusterIPs", json_pack("[s]", keep));
  return NULL;
}

/* ---- the `kubernetes` Service ---- */

/* Creates obj, or updates the stored one where the fields this server manages differ. */
static int ensure(drv_server *s, const char *group, const char *version, const char *plural,
                  json_t *obj, drv_err *err)
{
  const drv_api_resource *res = drv_api_resource_find(group, version, plural);
  if (!res) return 0; /* not served */
  drv_op op = {.res = res, .sres = res, .ns = "default", .fv = DRV_FV_IGNORE};
  _cleanup_free_ char *key = drv_server_key(res, "default", drv_obj_name(obj));
  drv_store_obj *cur = NULL, *out = NULL;
  json_t *st = NULL;
  int rc;
  if (drv_store_get(s->store, key, &cur) < 0) {
    rc = drv_op_create(s, &op, obj, &out, &st);
  } else {
    json_t *c = json_loadb(cur->data, cur->len, 0, NULL);
    drv_store_obj_unref(cur);
    /* what this server manages: the Service's ports, the Endpoints' subsets, the
     * EndpointSlice's endpoints and ports (the address or port may differ from the last start) */
    bool same = true;
    static const char *const fields[] = {"spec.ports", "subsets", "endpoints", "ports", NULL};
    for (const char *const *f = fields; *f; f++) {
      json_t *want = drv_json_get(obj, *f);
      if (want && !json_equal(want, drv_json_get(c, *f))) {
        drv_json_set(c, *f, json_incref(want));
        same = false;
      }
    }
    op.name = drv_obj_name(obj);
    rc = same ? 0 : drv_op_update(s, &op, c, &out, &st);
    json_decref(c);
  }
  drv_store_obj_unref(out);
  if (rc < 0) {
    const char *m = json_string_value(json_object_get(st, "message"));
    drv_error(err, EIO, "write %s default/%s: %s", res->kind, drv_obj_name(obj), m ? m : "failed");
    json_decref(st);
    return -1;
  }
  return 0;
}

int drv_server_ensure_kubernetes_service(drv_server *s, drv_err *err)
{
  char ip[INET_ADDRSTRLEN];
  struct in_addr a = {htonl(s->svc_first_ip)};
  inet_ntop(AF_INET, &a, ip, sizeof ip);
  /* where clients reach this server: the advertised address (an IP) and port */
  char host[200];
  snprintf(host, sizeof host, "%s", s->server_addr);
  char *colon = strrchr(host, ':');
  int port = colon ? atoi(colon + 1) : 6443;
  if (colon) *colon = 0;
  char *h = host;
  if (*h == '[') {
    h++;
    h[strlen(h) - 1] = 0;
  }
  bool v6 = strchr(h, ':') != NULL;
  json_t *labels = json_pack("{s:s, s:s}", "component", "apiserver", "provider", "kubernetes");
  json_t *svc = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:O}, s:{s:s, s:s, s:[s], s:[{s:s, s:s, s:i, s:i}], s:s}}",
      "apiVersion", "v1", "kind", "Service", "metadata", "name", "kubernetes", "namespace",
      "default", "labels", labels, "spec", "type", "ClusterIP", "clusterIP", ip, "clusterIPs", ip,
      "ports", "name", "https", "protocol", "TCP", "port", 443, "targetPort", port,
      "sessionAffinity", "None");
  int rc = ensure(s, "", "v1", "services", svc, err);
  json_decref(svc);
  json_t *ep = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:O}, s:[{s:[{s:s}], s:[{s:s, s:i, s:s}]}]}", "apiVersion", "v1",
      "kind", "Endpoints", "metadata", "name", "kubernetes", "namespace", "default", "labels",
      labels, "subsets", "addresses", "ip", h, "ports", "name", "https", "port", port, "protocol",
      "TCP");
  if (rc == 0) rc = ensure(s, "", "v1", "endpoints", ep, err);
  json_decref(ep);
  json_t *slabels = json_pack("{s:s, s:s}", "kubernetes.io/service-name", "kubernetes",
                              "endpointslice.kubernetes.io/managed-by", "drover-apiserver");
  json_t *slice = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:o}, s:s, s:[{s:[s], s:{s:b}}], s:[{s:s, s:i, s:s}]}",
      "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name",
      "kubernetes", "namespace", "default", "labels", slabels, "addressType", v6 ? "IPv6" : "IPv4",
      "endpoints", "addresses", h, "conditions", "ready", 1, "ports", "name", "https", "port", port,
      "protocol", "TCP");
  if (rc == 0) rc = ensure(s, "discovery.k8s.io", "v1", "endpointslices", slice, err);
  json_decref(slice);
  json_decref(labels);
  return rc;
}
