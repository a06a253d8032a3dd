/* Services: ClusterIP repair (the server allocates spec.clusterIP on create; a Service stored
 * without one, by an older server or another API server, gets one from the configured range
 * here), then Endpoints and an EndpointSlice from the pods the selector matches: ready pods
 * as addresses, the others as notReadyAddresses (ready=false in the slice); ports resolved
 * through targetPort (a number, or a container port's name). Written only when they change. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/rangealloc.h"
#include "api/selector.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controllers/cidrset.h"
#include "controllers/internal.h"

static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;

static int parse_cidr(const char *cidr, uint32_t *base, uint32_t *size)
{
  int bits;
  drv_err err;
  if (drv_cidr_parse(cidr, 8, 30, base, &bits, &err) < 0) return -1;
  *size = 1u << (32 - bits);
  return 0;
}

/* Picks a free address (network+1 upwards; the first one is the API server's in Kubernetes,
 * so allocation starts at +10) and writes it into the Service. */
static int allocate_ip(drv_ctl *ctl, json_t *svc)
{
  uint32_t base, size;
  if (parse_cidr(ctl->o.service_cidr, &base, &size) < 0) {
    drv_log_error("service controller: bad service CIDR `%s`", ctl->o.service_cidr);
    return 0;
  }
  pthread_mutex_lock(&ip_lock);
  json_t *all = drv_informer_list(ctl->svc, NULL, NULL, NULL);
  drv_range_alloc used;
  drv_range_alloc_init(&used, base, size);
  size_t i;
  json_t *s;
  json_array_foreach(all, i, s)
  {
    const char *ip = drv_json_get_str(s, "spec.clusterIP");
    struct in_addr a;
    if (ip && inet_pton(AF_INET, ip, &a) == 1) drv_range_alloc_use(&used, ntohl(a.s_addr));
  }
  json_decref(all);
  /* start from a hash of the name so concurrent allocators rarely collide */
  uint32_t h = 2166136261u;
  for (const char *p = drv_obj_name(svc); *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  uint32_t addr = 0;
  bool found = drv_range_alloc_pick(&used, 10, size - 2, h, &addr) == 0;
  drv_range_alloc_release(&used);
  int ret = 0;
  if (found) {
    struct in_addr a = {htonl(addr)};
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, ip, sizeof ip);
    json_t *upd = json_deep_copy(svc);
    json_object_set_new(drv_json_obj(upd, "spec"), "clusterIP", json_string(ip));
    json_object_set_new(drv_json_obj(upd, "spec"), "clusterIPs", json_pack("[s]", ip));
    drv_api_ref ref = DRV_REF_SVC;
    ref.ns = drv_obj_namespace(svc);
    ref.name = drv_obj_name(svc);
    drv_err err;
    json_t *out = NULL;
    int rc = drv_api_update(ctl->c, &ref, upd, &out, &err);
    if (rc == 0)
      drv_informer_store_hint(ctl->svc, out);
    else if (rc != DRV_API_ENOTFOUND) {
      drv_log_warn("service %s/%s: allocate cluster IP: %s", ref.ns, ref.name, err.msg);
      ret = -1;
    }
    json_decref(out);
    json_decref(upd);
  } else
    drv_recorder_event(ctl->service.rec, svc, "v1", "Service", "Warning", "ClusterIPNotAllocated",
                       "range %s is full", ctl->o.service_cidr);
  pthread_mutex_unlock(&ip_lock);
  return ret;
}

int drv_ctl_service_sync(drv_ctl *ctl, const char *key)
{
  _cleanup_free_ char *ns = NULL, *name = NULL;
  drv_api_key_split(key, &ns, &name);
  json_t *svc = drv_informer_get(ctl->svc, ns, name);
  if (!svc) return 0;
  const char *type = drv_json_get_str(svc, "spec.type");
  const char *ip = drv_json_get_str(svc, "spec.clusterIP");
  int ret = 0;
  if ((!type || strcmp(type, "ExternalName")) && (!ip || !*ip) && !drv_obj_deletion_timestamp(svc))
    ret = allocate_ip(ctl, svc);
  json_decref(svc);
  return ret;
}

/* ---- endpoints ---- */

static long long resolve_port(const json_t *pod, const json_t *sp)
{
  json_t *tp = json_object_get(sp, "targetPort");
  if (json_is_integer(tp)) return json_integer_value(tp);
  const char *pname = json_string_value(tp);
  if (!pname) return drv_json_get_int(sp, "port", 0);
  size_t i, j;
  json_t *c, *p;
  json_array_foreach(drv_json_get(pod, "spec.containers"), i, c)
  {
    json_array_foreach(json_object_get(c, "ports"), j, p)
    {
      const char *n = drv_json_get_str(p, "name");
      if (n && !strcmp(n, pname)) return drv_json_get_int(p, "containerPort", 0);
    }
  }
  char *end;
  long long v = strtoll(pname, &end, 10);
  return *end ? 0 : v;
}

static int put(drv_ctl *ctl, drv_api_ref ref, json_t *obj, bool *created)
{
  drv_err err;
  json_t *cur = NULL;
  int rc = drv_api_get(ctl->c, &ref, &cur, &err);
  if (rc == DRV_API_ENOTFOUND) {
    drv_api_ref cref = ref;
    cref.name = NULL;
    rc = drv_api_create(ctl->c, &cref, obj, NULL, &err);
    if (created) *created = rc == 0;
    return rc < 0 ? -1 : 0;
  }
  if (rc < 0) return -1;
  /* unchanged? compare what we manage */
  const char *fields[] = {"subsets", "endpoints", "ports", "addressType", NULL};
  bool same = true;
  for (int i = 0; fields[i]; i++) {
    json_t *a = json_object_get(cur, fields[i]), *b = json_object_get(obj, fields[i]);
    bool ea = !a || (json_is_array(a) && !json_array_size(a)), eb = !b || (json_is_array(b) && !json_array_size(b));
    if (ea && eb) continue;
    if (!a || !b || !json_equal(a, b)) same = false;
  }
  json_t *la = drv_obj_labels(cur), *lb = drv_obj_labels(obj);
  if (lb && (!la || !json_equal(la, lb))) same = false;
  if (same) {
    json_decref(cur);
    return 0;
  }
  drv_obj_set_resource_version(obj, drv_obj_resource_version(cur));
  json_decref(cur);
  rc = drv_api_update(ctl->c, &ref, obj, NULL, &err);
  if (rc < 0) drv_log_debug("endpoints %s/%s: %s", ref.ns, ref.name, err.msg);
  return rc < 0 ? -1 : 0;
}

int drv_ctl_endpoints_sync(drv_ctl *ctl, const char *key)
{
  _cleanup_free_ char *ns = NULL, *name = NULL;
  drv_api_key_split(key, &ns, &name);
  json_t *svc = drv_informer_get(ctl->svc, ns, name);
  drv_api_ref eref = DRV_REF_EP, sref = DRV_REF_EPS;
  eref.ns = sref.ns = ns;
  eref.name = sref.name = name;
  drv_err err;
  if (!svc) {
    drv_api_delete(ctl->c, &eref, NULL, NULL, &err);
    drv_api_delete(ctl->c, &sref, NULL, NULL, &err);
    return 0;
  }
  json_t *selmap = drv_json_get(svc, "spec.selector");
  if (!json_object_size(selmap) || drv_obj_deletion_timestamp(svc)) {
    json_decref(svc);
    return 0; /* no selector: endpoints are the user's */
  }
  drv_label_selector *sel = drv_label_selector_from_map(selmap, true);
  json_t *pods = drv_informer_list(ctl->pods, ns, NULL, NULL);
  json_t *ready = json_array(), *notready = json_array(), *eps = json_array();
  json_t *ports = json_array(), *sports = json_array();
  json_t *sps = drv_json_get(svc, "spec.ports");
  json_t *first_pod = NULL;
  size_t i;
  json_t *p;
  json_array_foreach(pods, i, p)
  {
    const char *ip = drv_json_get_str(p, "status.podIP");
    if (!ip || !*ip || !drv_label_selector_matches(sel, drv_obj_labels(p))) continue;
    const char *ph = drv_json_get_str(p, "status.phase");
    if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))) continue;
    bool terminating = drv_obj_deletion_timestamp(p) != NULL;
    bool rdy = ctl_pod_ready(p) && !terminating;
    json_t *target = json_pack("{s:s, s:s, s:s, s:s}", "kind", "Pod", "namespace", ns, "name",
                               drv_obj_name(p), "uid", drv_obj_uid(p) ? drv_obj_uid(p) : "");
    json_t *addr = json_pack("{s:s, s:O}", "ip", ip, "targetRef", target);
    const char *node = drv_json_get_str(p, "spec.nodeName");
    if (node) json_object_set_new(addr, "nodeName", json_string(node));
    if (!terminating) json_array_append_new(rdy ? ready : notready, addr);
    else json_decref(addr);
    json_t *ep = json_pack("{s:[s], s:{s:b, s:b, s:b}, s:o}", "addresses", ip, "conditions", "ready", rdy,
                           "serving", ctl_pod_ready(p), "terminating", terminating, "targetRef", target);
    if (node) json_object_set_new(ep, "nodeName", json_string(node));
    json_array_append_new(eps, ep);
    if (!first_pod) first_pod = p;
  }
  json_t *sp;
  json_array_foreach(sps, i, sp)
  {
    long long port = first_pod ? resolve_port(first_pod, sp) : drv_json_get_int(sp, "port", 0);
    const char *pn = drv_json_get_str(sp, "name"), *proto = drv_json_get_str(sp, "protocol");
    json_t *e = json_pack("{s:I, s:s}", "port", (json_int_t)port, "protocol", proto ? proto : "TCP");
    if (pn && *pn) json_object_set_new(e, "name", json_string(pn));
    json_array_append(sports, e);
    json_array_append_new(ports, e);
  }
  json_t *subsets = json_array();
  if (json_array_size(ready) || json_array_size(notready)) {
    json_t *ss = json_pack("{s:O}", "ports", ports);
    if (json_array_size(ready)) json_object_set(ss, "addresses", ready);
    if (json_array_size(notready)) json_object_set(ss, "notReadyAddresses", notready);
    json_array_append_new(subsets, ss);
  }
  json_t *epobj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:o}", "apiVersion", "v1", "kind", "Endpoints",
                            "metadata", "name", name, "namespace", ns, "labels", "kubernetes.io/service-name", name,
                            "subsets", subsets);
  int ret = put(ctl, eref, epobj, NULL);
  json_t *refs = json_array();
  json_array_append_new(refs, ctl_owner_ref("v1", "Service", svc, true));
  json_t *slice = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:o}, s:s, s:O, s:O}", "apiVersion",
                            "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name", name,
                            "namespace", ns, "labels", "kubernetes.io/service-name", name,
                            "endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io",
                            "ownerReferences", refs, "addressType", "IPv4", "endpoints", eps, "ports", sports);
  if (put(ctl, sref, slice, NULL) < 0) ret = -1;
  json_decref(slice);
  json_decref(epobj);
  json_decref(ready);
  json_decref(notready);
  json_decref(eps);
  json_decref(ports);
  json_decref(sports);
  json_decref(pods);
  drv_label_selector_free(sel);
  json_decref(svc);
  return ret;
}

/* ---- handlers ---- */

static void svc_add(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  ctl_enqueue(&ctl->service, o);
  ctl_enqueue(&ctl->endpoints, o);
}
static void svc_upd(void *ud, json_t *old, json_t *o)
{
  svc_add(ud, o);
}
static void svc_del(void *ud, json_t *o)
{
  drv_ctl *ctl = ud;
  ctl_enqueue(&ctl->endpoints, o);
}

static void pod_changed(drv_ctl *ctl, json_t *old, json_t *o)
{
  json_t *all = drv_informer_list(ctl->svc, drv_obj_namespace(o), NULL, NULL);
  size_t i;
  json_t *s;
  json_array_foreach(all, i, s)
  {
    json_t *m = drv_json_get(s, "spec.selector");
    if (!json_object_size(m)) continue;
    drv_label_selector *sel = drv_label_selector_from_map(m, true);
    if (drv_label_selector_matches(sel, drv_obj_labels(o)) ||
        (old && drv_label_selector_matches(sel, drv_obj_labels(old))))
      ctl_enqueue(&ctl->endpoints, s);
    drv_label_selector_free(sel);
  }
  json_decref(all);
}
static void pod_add(void *ud, json_t *o)
{
  pod_changed(ud, NULL, o);
}
static void pod_upd(void *ud, json_t *old, json_t *o)
{
  /* only what endpoints show: IP, readiness, labels, deletion */
  if (old != o) {
    bool same = json_equal(drv_obj_labels(old) ? drv_obj_labels(old) : json_null(), drv_obj_labels(o) ? drv_obj_labels(o) : json_null()) &&
                ctl_pod_ready(old) == ctl_pod_ready(o) &&
                !!drv_obj_deletion_timestamp(old) == !!drv_obj_deletion_timestamp(o);
    const char *a = drv_json_get_str(old, "status.podIP"), *b = drv_json_get_str(o, "status.podIP");
    same = same && ((!a && !b) || (a && b && !strcmp(a, b)));
    if (same) return;
  }
  pod_changed(ud, old, o);
}
static void pod_del(void *ud, json_t *o)
{
  pod_changed(ud, NULL, o);
}

void drv_ctl_endpoints_register(drv_ctl *ctl)
{
  drv_informer_add_handlers(ctl->svc, &(drv_informer_handlers){svc_add, svc_upd, svc_del, ctl});
  drv_informer_add_handlers(ctl->pods, &(drv_informer_handlers){pod_add, pod_upd, pod_del, ctl});
}
