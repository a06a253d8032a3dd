/* Defaults as Kubernetes' SetDefaults_* functions (and the admission plugins every cluster
 * runs: ServiceAccount, Priority) fill them (see defaults.h). */
#include "api/defaults.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "api/schema.h"
#include "common/json.h"
#include "common/util.h"

#define SETDEF(obj, key, val) drv_json_set_default_key((obj), (key), (val))

/* Sets key of obj to val (stolen) when missing. */
static void drv_json_set_default_key(json_t *obj, const char *key, json_t *val)
{
  if (json_is_object(obj) && !json_object_get(obj, key)) json_object_set_new(obj, key, val);
  else json_decref(val);
}

const char *drv_api_default_pull_policy(const char *image)
{
  if (!image) return "IfNotPresent";
  /* The tag is after the last ':' that follows the last '/' (a registry port is no tag). */
  const char *at = strchr(image, '@');
  if (at) return "IfNotPresent";
  const char *slash = strrchr(image, '/');
  const char *colon = strrchr(slash ? slash : image, ':');
  if (!colon || strcmp(colon + 1, "latest") == 0) return "Always";
  return "IfNotPresent";
}

static void default_probe(json_t *p)
{
  if (!json_is_object(p)) return;
  SETDEF(p, "timeoutSeconds", json_integer(1));
  SETDEF(p, "periodSeconds", json_integer(10));
  SETDEF(p, "successThreshold", json_integer(1));
  SETDEF(p, "failureThreshold", json_integer(3));
  json_t *h = json_object_get(p, "httpGet");
  if (json_is_object(h)) {
    SETDEF(h, "scheme", json_string("HTTP"));
    SETDEF(h, "path", json_string("/"));
  }
  json_t *g = json_object_get(p, "grpc");
  if (json_is_object(g)) SETDEF(g, "service", json_string(""));
}

static void default_resources(json_t *c)
{
  json_t *r = json_object_get(c, "resources");
  if (!r) {
    json_object_set_new(c, "resources", json_object());
    return;
  }
  /* Requests default to limits where only limits are given. */
  json_t *lim = json_object_get(r, "limits");
  if (!json_is_object(lim) || json_object_size(lim) == 0) return;
  json_t *req = json_object_get(r, "requests");
  if (!json_is_object(req)) {
    req = json_object();
    json_object_set_new(r, "requests", req);
  }
  const char *k;
  json_t *v;
  json_object_foreach(lim, k, v) SETDEF(req, k, json_incref(v));
}

static void default_container(json_t *c, bool init)
{
  if (!json_is_object(c)) return;
  SETDEF(c, "terminationMessagePath", json_string("/dev/termination-log"));
  SETDEF(c, "terminationMessagePolicy", json_string("File"));
  SETDEF(c, "imagePullPolicy",
         json_string(drv_api_default_pull_policy(json_string_value(json_object_get(c, "image")))));
  default_resources(c);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(c, "ports"), i, p) SETDEF(p, "protocol", json_string("TCP"));
  json_array_foreach(json_object_get(c, "env"), i, p)
  {
    json_t *fr = drv_json_get(p, "valueFrom.fieldRef");
    if (json_is_object(fr)) SETDEF(fr, "apiVersion", json_string("v1"));
  }
  if (!init || json_object_get(c, "restartPolicy")) {
    default_probe(json_object_get(c, "livenessProbe"));
    default_probe(json_object_get(c, "readinessProbe"));
    default_probe(json_object_get(c, "startupProbe"));
  }
}

static void default_volume(json_t *v)
{
  json_t *s;
  if ((s = json_object_get(v, "configMap")) && json_is_object(s)) SETDEF(s, "defaultMode", json_integer(420));
  if ((s = json_object_get(v, "secret")) && json_is_object(s)) SETDEF(s, "defaultMode", json_integer(420));
  if ((s = json_object_get(v, "projected")) && json_is_object(s)) SETDEF(s, "defaultMode", json_integer(420));
  if ((s = json_object_get(v, "downwardAPI")) && json_is_object(s)) SETDEF(s, "defaultMode", json_integer(420));
  if ((s = json_object_get(v, "hostPath")) && json_is_object(s)) SETDEF(s, "type", json_string(""));
}

void drv_api_default_pod_spec(json_t *spec)
{
  if (!json_is_object(spec)) return;
  SETDEF(spec, "restartPolicy", json_string("Always"));
  SETDEF(spec, "terminationGracePeriodSeconds", json_integer(30));
  SETDEF(spec, "dnsPolicy", json_string("ClusterFirst"));
  SETDEF(spec, "securityContext", json_object());
  SETDEF(spec, "schedulerName", json_string("default-scheduler"));
  SETDEF(spec, "enableServiceLinks", json_true());
  if (json_is_true(json_object_get(spec, "hostNetwork"))) {
    /* host-network pods use the host's ports as container ports */
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
      size_t j;
      json_t *p;
      json_array_foreach(json_object_get(c, "ports"), j, p)
          SETDEF(p, "hostPort", json_incref(json_object_get(p, "containerPort")));
    }
  }
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(spec, "containers"), i, c) default_container(c, false);
  json_array_foreach(json_object_get(spec, "initContainers"), i, c) default_container(c, true);
  json_array_foreach(json_object_get(spec, "ephemeralContainers"), i, c)
  {
    SETDEF(c, "terminationMessagePath", json_string("/dev/termination-log"));
    SETDEF(c, "terminationMessagePolicy", json_string("File"));
    SETDEF(c, "imagePullPolicy", json_string(drv_api_default_pull_policy(json_string_value(json_object_get(c, "image")))));
  }
  json_array_foreach(json_object_get(spec, "volumes"), i, c) default_volume(c);
  json_array_foreach(json_object_get(spec, "tolerations"), i, c)
  {
    const char *op = json_string_value(json_object_get(c, "operator"));
    if (!op) json_object_set_new(c, "operator", json_string("Equal"));
  }
}

/* What the ServiceAccount and Priority admission plugins add to pods (not to templates). */
static void admit_pod_spec(json_t *spec)
{
  if (!json_is_object(spec)) return;
  json_t *sa = json_object_get(spec, "serviceAccountName");
  json_t *dep = json_object_get(spec, "serviceAccount");
  if (!json_is_string(sa) || !json_string_length(sa)) {
    const char *name = json_is_string(dep) && json_string_length(dep) ? json_string_value(dep) : "default";
    json_object_set_new(spec, "serviceAccountName", json_string(name));
  }
  SETDEF(spec, "serviceAccount", json_incref(json_object_get(spec, "serviceAccountName")));
  SETDEF(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
  SETDEF(spec, "priority", json_integer(0));
}

static void default_template(json_t *obj)
{
  json_t *t = drv_json_get(obj, "spec.template");
  if (!json_is_object(t)) return;
  drv_json_set_default(t, "metadata.creationTimestamp", json_null());
  drv_api_default_pod_spec(json_object_get(t, "spec"));
}

static void default_deployment(json_t *obj)
{
  json_t *spec = json_object_get(obj, "spec");
  if (!json_is_object(spec)) return;
  SETDEF(spec, "replicas", json_integer(1));
  SETDEF(spec, "revisionHistoryLimit", json_integer(10));
  SETDEF(spec, "progressDeadlineSeconds", json_integer(600));
  json_t *st = json_object_get(spec, "strategy");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(spec, "strategy", st);
  }
  SETDEF(st, "type", json_string("RollingUpdate"));
  if (json_is_string(json_object_get(st, "type")) &&
      strcmp(json_string_value(json_object_get(st, "type")), "RollingUpdate") == 0) {
    json_t *ru = json_object_get(st, "rollingUpdate");
    if (!json_is_object(ru)) {
      ru = json_object();
      json_object_set_new(st, "rollingUpdate", ru);
    }
    SETDEF(ru, "maxUnavailable", json_string("25%"));
    SETDEF(ru, "maxSurge", json_string("25%"));
  }
  default_template(obj);
}

static void default_service(json_t *obj)
{
  json_t *spec = json_object_get(obj, "spec");
  if (!json_is_object(spec)) return;
  SETDEF(spec, "type", json_string("ClusterIP"));
  const char *type = json_string_value(json_object_get(spec, "type"));
  bool external_name = type && !strcmp(type, "ExternalName");
  SETDEF(spec, "sessionAffinity", json_string("None"));
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(spec, "ports"), i, p)
  {
    SETDEF(p, "protocol", json_string("TCP"));
    json_t *tp = json_object_get(p, "targetPort");
    if (!tp || (json_is_integer(tp) && json_integer_value(tp) == 0) ||
        (json_is_string(tp) && !json_string_length(tp)))
      json_object_set(p, "targetPort", json_object_get(p, "port"));
  }
  if (!external_name) {
    SETDEF(spec, "internalTrafficPolicy", json_string("Cluster"));
    SETDEF(spec, "ipFamilies", json_pack("[s]", "IPv4"));
    SETDEF(spec, "ipFamilyPolicy", json_string("SingleStack"));
  }
  if (type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")))
    SETDEF(spec, "externalTrafficPolicy", json_string("Cluster"));
  if (type && !strcmp(type, "LoadBalancer"))
    SETDEF(spec, "allocateLoadBalancerNodePorts", json_true());
  if (!json_object_get(obj, "status")) json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
}

static char *base64(const char *s, size_t n)
{
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
  return out;
}

static void default_secret(json_t *obj)
{
  SETDEF(obj, "type", json_string("Opaque"));
  /* stringData is write-only: merged into data (base64) and dropped. */
  json_t *sd = json_object_get(obj, "stringData");
  if (json_is_object(sd)) {
    json_t *data = drv_json_obj(obj, "data");
    const char *k;
    json_t *v;
    json_object_foreach(sd, k, v)
    {
      if (!json_is_string(v)) continue;
      char *b = base64(json_string_value(v), json_string_length(v));
      json_object_set_new(data, k, json_string(b));
      free(b);
    }
    json_object_del(obj, "stringData");
  }
}

static json_t *scaling_policy(const char *type, int value, int period)
{
  return json_pack("{s:s, s:i, s:i}", "type", type, "value", value, "periodSeconds", period);
}

static void default_hpa_v2(json_t *obj)
{
  json_t *spec = json_object_get(obj, "spec");
  if (!json_is_object(spec)) return;
  SETDEF(spec, "minReplicas", json_integer(1));
  if (!json_object_get(spec, "metrics"))
    json_object_set_new(spec, "metrics",
                        json_pack("[{s:s, s:{s:s, s:{s:s, s:i}}}]", "type", "Resource", "resource",
                                  "name", "cpu", "target", "type", "Utilization",
                                  "averageUtilization", 80));
  json_t *b = json_object_get(spec, "behavior");
  if (!json_is_object(b)) return;
  json_t *up = drv_json_obj(b, "scaleUp");
  SETDEF(up, "stabilizationWindowSeconds", json_integer(0));
  SETDEF(up, "selectPolicy", json_string("Max"));
  if (!json_object_get(up, "policies")) {
    json_t *pol = json_array();
    json_array_append_new(pol, scaling_policy("Pods", 4, 15));
    json_array_append_new(pol, scaling_policy("Percent", 100, 15));
    json_object_set_new(up, "policies", pol);
  }
  json_t *down = drv_json_obj(b, "scaleDown");
  SETDEF(down, "stabilizationWindowSeconds", json_integer(300));
  SETDEF(down, "selectPolicy", json_string("Max"));
  if (!json_object_get(down, "policies")) {
    json_t *pol = json_array();
    json_array_append_new(pol, scaling_policy("Percent", 100, 15));
    json_object_set_new(down, "policies", pol);
  }
}

/* A quantity in canonical string form ("1000m" → "1", 2 → "2", "0.5" → "500m"), as
 * Kubernetes serializes resource.Quantity; malformed values are left for validation. */
static json_t *canonical_quantity(const json_t *v)
{
  char text[64];
  const char *s = json_string_value(v);
  if (json_is_integer(v)) {
    snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
    s = text;
  } else if (json_is_real(v)) {
    snprintf(text, sizeof(text), "%.9g", json_real_value(v));
    s = text;
  }
  drv_quantity q;
  drv_err err;
  if (!s || drv_quantity_parse(s, &q, &err) < 0) return NULL;
  char buf[64];
  return json_string(drv_quantity_format(&q, buf, sizeof(buf)));
}

static void normalize(const drv_schema_type *t, json_t *obj);

static void normalize_value(drv_schema_kind k, drv_schema_kind elem, const drv_schema_type *t,
                            json_t *parent, const char *key, size_t idx, json_t *v)
{
  if (k == DRV_S_INT && json_is_real(v)) {
    /* 2.0 decodes into an integer field as 2 (a fraction is left for validation) */
    double d = json_real_value(v);
    if (d == (double)(long long)d) {
      if (key) json_object_set_new(parent, key, json_integer((json_int_t)d));
      else json_array_set_new(parent, idx, json_integer((json_int_t)d));
    }
  } else if (k == DRV_S_QUANTITY) {
    json_t *c = canonical_quantity(v);
    if (!c) return;
    if (key) json_object_set_new(parent, key, c);
    else json_array_set_new(parent, idx, c);
  } else if (k == DRV_S_OBJECT && json_is_object(v)) {
    normalize(t, v);
  } else if (k == DRV_S_ARRAY && json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) normalize_value(elem, 0, t, v, NULL, i, e);
  } else if (k == DRV_S_MAP && json_is_object(v)) {
    const char *mk;
    json_t *e;
    void *tmp;
    json_object_foreach_safe(v, tmp, mk, e) normalize_value(elem, 0, t, v, mk, 0, e);
  }
}

static void normalize(const drv_schema_type *t, json_t *obj)
{
  if (!t) return;
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe(obj, tmp, k, v)
  {
    const drv_schema_field *f = drv_schema_field_find(t, k);
    if (f) normalize_value(f->kind, f->elem, f->type, obj, k, 0, v);
  }
}

void drv_api_default_node_status(json_t *node)
{
  /* Kubernetes always serializes every NodeSystemInfo string (none is omitempty); clients
   * that check required fields (the Python client) reject a node without them. */
  static const char *const info[] = {"machineID", "systemUUID", "bootID", "kernelVersion",
                                     "osImage", "containerRuntimeVersion", "kubeletVersion",
                                     "kubeProxyVersion", "operatingSystem", "architecture"};
  json_t *ni = drv_json_get(node, "status.nodeInfo");
  if (json_is_object(ni))
    for (size_t i = 0; i < DRV_ARRAY_LEN(info); i++) SETDEF(ni, info[i], json_string(""));
}

void drv_api_default(const drv_api_resource *res, json_t *obj)
{
  if (!res || !json_is_object(obj)) return;
  normalize(drv_schema_for(res), obj);
  const char *k = res->kind;
  if (!strcmp(k, "Pod")) {
    drv_api_default_pod_spec(json_object_get(obj, "spec"));
    admit_pod_spec(json_object_get(obj, "spec"));
  } else if (!strcmp(k, "Deployment")) {
    default_deployment(obj);
  } else if (!strcmp(k, "ReplicaSet")) {
    json_t *spec = json_object_get(obj, "spec");
    if (json_is_object(spec)) SETDEF(spec, "replicas", json_integer(1));
    default_template(obj);
  } else if (!strcmp(k, "Service")) {
    default_service(obj);
  } else if (!strcmp(k, "Namespace")) {
    json_t *spec = drv_json_obj(obj, "spec");
    SETDEF(spec, "finalizers", json_pack("[s]", "kubernetes"));
    json_t *st = drv_json_obj(obj, "status");
    SETDEF(st, "phase", json_string("Active"));
  } else if (!strcmp(k, "Secret")) {
    default_secret(obj);
  } else if (!strcmp(k, "HorizontalPodAutoscaler")) {
    if (!strcmp(res->version, "v2")) default_hpa_v2(obj);
    else {
      json_t *spec = json_object_get(obj, "spec");
      if (json_is_object(spec)) SETDEF(spec, "minReplicas", json_integer(1));
    }
  } else if (!strcmp(k, "EndpointSlice")) {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(obj, "ports"), i, p) SETDEF(p, "protocol", json_string("TCP"));
  } else if (!strcmp(k, "Endpoints")) {
    size_t i, j;
    json_t *s, *p;
    json_array_foreach(json_object_get(obj, "subsets"), i, s)
        json_array_foreach(json_object_get(s, "ports"), j, p) SETDEF(p, "protocol", json_string("TCP"));
  } else if (!strcmp(k, "Node")) {
    json_t *spec = json_object_get(obj, "spec");
    if (!spec) json_object_set_new(obj, "spec", json_object());
    drv_api_default_node_status(obj);
  } else if (!strcmp(k, "RoleBinding") || !strcmp(k, "ClusterRoleBinding")) {
    drv_api_default_rbac(obj);
  }
}
