/* Validation entry points and per-kind rules (see validate.h). */
#include "api/validate.h"

#include <ctype.h>
#include <string.h>

#include "api/pathbuf.h"
#include "api/quantity.h"
#include "api/schema.h"
#include "api/selector.h"
#include "api/status.h"
#include "api/validate_util.h"
#include "common/json.h"
#include "common/util.h"

/* ---- JSON types against the schema (what a typed decoder would refuse) ---- */

static const char *kind_name(drv_schema_kind k)
{
  switch (k) {
  case DRV_S_STRING: return "string";
  case DRV_S_INT: return "integer";
  case DRV_S_NUMBER: return "number";
  case DRV_S_BOOL: return "boolean";
  case DRV_S_OBJECT:
  case DRV_S_MAP: return "object";
  case DRV_S_ARRAY: return "array";
  case DRV_S_INT_OR_STRING: return "integer or string";
  case DRV_S_QUANTITY: return "quantity";
  case DRV_S_TIME: return "RFC 3339 time string";
  default: return "value";
  }
}

static bool type_ok(drv_schema_kind k, const json_t *v)
{
  if (json_is_null(v)) return true;
  switch (k) {
  case DRV_S_STRING: return json_is_string(v);
  case DRV_S_INT: return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
  case DRV_S_NUMBER: return json_is_number(v);
  case DRV_S_BOOL: return json_is_boolean(v);
  case DRV_S_OBJECT:
  case DRV_S_MAP: return json_is_object(v);
  case DRV_S_ARRAY: return json_is_array(v);
  case DRV_S_INT_OR_STRING: return json_is_integer(v) || json_is_string(v);
  case DRV_S_QUANTITY: return json_is_string(v) || json_is_number(v);
  case DRV_S_TIME: return json_is_string(v);
  default: return true;
  }
}

static void check_types(vctx *v, const drv_schema_type *t, const json_t *obj, drv_pathbuf *path);

static void check_value(vctx *v, drv_schema_kind k, drv_schema_kind elem,
                        const drv_schema_type *t, const json_t *val, drv_pathbuf *path)
{
  if (!type_ok(k, val)) {
    char *d = drv_asprintf("must be of type %s", kind_name(k));
    v_invalid(v, path->buf, val, d);
    free(d);
    return;
  }
  if (json_is_null(val)) return;
  if (k == DRV_S_OBJECT && t) check_types(v, t, val, path);
  if (k == DRV_S_QUANTITY && json_is_string(val)) {
    drv_quantity q;
    drv_err err;
    if (drv_quantity_parse(json_string_value(val), &q, &err) < 0) v_invalid(v, path->buf, val, err.msg);
  }
  if (k == DRV_S_ARRAY) {
    size_t i;
    json_t *e;
    json_array_foreach(val, i, e)
    {
      size_t old = drv_pathbuf_index(path, i);
      check_value(v, elem, 0, t, e, path);
      drv_pathbuf_pop(path, old);
    }
  } else if (k == DRV_S_MAP) {
    const char *key;
    json_t *e;
    json_object_foreach((json_t *)val, key, e)
    {
      size_t old = drv_pathbuf_mapkey(path, key);
      check_value(v, elem, 0, t, e, path);
      drv_pathbuf_pop(path, old);
    }
  }
}

static void check_types(vctx *v, const drv_schema_type *t, const json_t *obj, drv_pathbuf *path)
{
  const char *k;
  json_t *val;
  json_object_foreach((json_t *)obj, k, val)
  {
    const drv_schema_field *f = drv_schema_field_find(t, k);
    if (!f) continue; /* unknown fields are fieldvalidation's concern */
    size_t old = drv_pathbuf_key(path, k);
    check_value(v, f->kind, f->elem, f->type, val, path);
    drv_pathbuf_pop(path, old);
  }
}

/* ---- per kind ---- */

static const char *const svc_types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort", NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const affinities[] = {"ClientIP", "None", NULL};
static const char *const traffic[] = {"Cluster", "Local", NULL};

static void nonneg(vctx *v, const json_t *obj, const char *path)
{
  json_t *n = drv_json_get(obj, path);
  if (json_is_integer(n) && json_integer_value(n) < 0)
    v_invalid(v, path, n, "must be greater than or equal to 0");
}

/* An int-or-percent: "25%" or an integer >= 0; returns the value (percent marked). */
static void int_or_percent(vctx *v, const char *path, const json_t *val, long long *num, bool *pct)
{
  *num = 0;
  *pct = false;
  if (!val) return;
  if (json_is_integer(val)) {
    *num = json_integer_value(val);
    if (*num < 0) v_invalid(v, path, val, "must be greater than or equal to 0");
    return;
  }
  const char *s = json_string_value(val);
  char *end = NULL;
  long long n = s ? strtoll(s, &end, 10) : -1;
  if (!s || end == s || strcmp(end, "%") != 0) {
    v_invalid(v, path, val, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
    return;
  }
  *num = n;
  *pct = true;
  if (n > 100) v_invalid(v, path, val, "must not be greater than 100%");
}

static void selector_and_template(vctx *v, const json_t *obj, const char *kind, bool template_required)
{
  json_t *sel = drv_json_get(obj, "spec.selector");
  drv_err err;
  drv_label_selector *ls = NULL;
  if (!json_is_object(sel)) {
    v_required(v, "spec.selector", NULL);
  } else if (json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
             json_array_size(json_object_get(sel, "matchExpressions")) == 0) {
    char *d = drv_asprintf("empty selector is invalid for %s", kind);
    v_invalid(v, "spec.selector", sel, d);
    free(d);
  } else {
    v_labels(v, "spec.selector.matchLabels", json_object_get(sel, "matchLabels"));
    ls = drv_label_selector_from_json(sel, &err);
    if (!ls) v_invalid(v, "spec.selector", sel, err.msg);
  }
  json_t *tmpl = drv_json_get(obj, "spec.template");
  if (!json_is_object(tmpl)) {
    if (template_required) v_required(v, "spec.template", NULL);
  } else {
    json_t *labels = drv_json_get(tmpl, "metadata.labels");
    v_labels(v, "spec.template.metadata.labels", labels);
    if (ls && !drv_label_selector_matches(ls, labels))
      v_invalid(v, "spec.template.metadata.labels", labels, "`selector` does not match template `labels`");
    v_pod_spec(v, "spec.template.spec", json_object_get(tmpl, "spec"));
    const char *rp = drv_json_get_str(tmpl, "spec.restartPolicy");
    static const char *const always[] = {"Always", NULL};
    if (rp && strcmp(rp, "Always")) v_unsupported(v, "spec.template.spec.restartPolicy", rp, always);
    json_t *ads = drv_json_get(tmpl, "spec.activeDeadlineSeconds");
    if (ads && !json_is_null(ads)) v_forbidden(v, "spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicaSet is not Supported");
  }
  drv_label_selector_free(ls);
  nonneg(v, obj, "spec.replicas");
  nonneg(v, obj, "spec.minReadySeconds");
}

static void deployment(vctx *v, const json_t *obj)
{
  selector_and_template(v, obj, "deployment", true);
  nonneg(v, obj, "spec.revisionHistoryLimit");
  json_t *st = drv_json_get(obj, "spec.strategy");
  const char *type = json_string_value(json_object_get(st, "type"));
  static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
  if (type) v_one_of(v, "spec.strategy.type", type, types);
  json_t *ru = json_object_get(st, "rollingUpdate");
  if (type && !strcmp(type, "Recreate") && ru && !json_is_null(ru))
    v_forbidden(v, "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
  if (json_is_object(ru)) {
    long long surge, unavail;
    bool sp, up;
    int_or_percent(v, "spec.strategy.rollingUpdate.maxSurge", json_object_get(ru, "maxSurge"), &surge, &sp);
    int_or_percent(v, "spec.strategy.rollingUpdate.maxUnavailable", json_object_get(ru, "maxUnavailable"), &unavail, &up);
    if (surge == 0 && unavail == 0 && json_object_get(ru, "maxSurge") && json_object_get(ru, "maxUnavailable"))
      v_invalid(v, "spec.strategy.rollingUpdate.maxUnavailable", json_object_get(ru, "maxUnavailable"),
                "may not be 0 when `maxSurge` is 0");
  }
  json_t *pds = drv_json_get(obj, "spec.progressDeadlineSeconds");
  if (json_is_integer(pds)) {
    if (json_integer_value(pds) <= 0) v_invalid(v, "spec.progressDeadlineSeconds", pds, "must be greater than 0");
    else if (json_integer_value(pds) <= drv_json_get_int(obj, "spec.minReadySeconds", 0))
      v_invalid(v, "spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds");
  }
}

static void service(vctx *v, const json_t *obj)
{
  json_t *spec = json_object_get(obj, "spec");
  const char *type = json_string_value(json_object_get(spec, "type"));
  if (type) v_one_of(v, "spec.type", type, svc_types);
  bool ext = type && !strcmp(type, "ExternalName");
  const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
  bool headless = cip && !strcmp(cip, "None");
  json_t *ports = json_object_get(spec, "ports");
  if (json_array_size(ports) == 0 && !ext && !headless) v_required(v, "spec.ports", NULL);
  if (ext) {
    const char *en = json_string_value(json_object_get(spec, "externalName"));
    if (!en || !*en) v_required(v, "spec.externalName", NULL);
  }
  json_t *names = json_object();
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p)
  {
    char *pp = v_index("spec.ports", i);
    char *f;
    const char *n = json_string_value(json_object_get(p, "name"));
    f = v_path(pp, "name");
    if (json_array_size(ports) > 1 && (!n || !*n)) v_required(v, f, NULL);
    else if (n && *n) {
      const char *why = drv_api_check_dns1123_label(n);
      if (why) v_invalid_str(v, f, n, why);
      else if (json_object_get(names, n)) v_duplicate(v, f, json_object_get(p, "name"));
      json_object_set_new(names, n, json_true());
    }
    free(f);
    f = v_path(pp, "port");
    if (!json_object_get(p, "port")) v_required(v, f, NULL);
    else v_port(v, f, json_object_get(p, "port"), false);
    free(f);
    const char *proto = json_string_value(json_object_get(p, "protocol"));
    if (proto) {
      f = v_path(pp, "protocol");
      v_one_of(v, f, proto, protocols);
      free(f);
    }
    json_t *tp = json_object_get(p, "targetPort");
    f = v_path(pp, "targetPort");
    if (json_is_integer(tp)) v_port(v, f, tp, false);
    else if (json_is_string(tp)) {
      const char *why = v_check_port_name(json_string_value(tp));
      if (why) v_invalid(v, f, tp, why);
    }
    free(f);
    f = v_path(pp, "nodePort");
    v_port(v, f, json_object_get(p, "nodePort"), true);
    /* only NodePort and LoadBalancer services open node ports */
    json_t *np = json_object_get(p, "nodePort");
    if (type && !strcmp(type, "ClusterIP") && json_is_integer(np) && json_integer_value(np) != 0)
      v_forbidden(v, f, "may not be used when `type` is 'ClusterIP'");
    free(f);
    free(pp);
  }
  json_decref(names);
  const char *aff = json_string_value(json_object_get(spec, "sessionAffinity"));
  if (aff) v_one_of(v, "spec.sessionAffinity", aff, affinities);
  const char *itp = json_string_value(json_object_get(spec, "internalTrafficPolicy"));
  if (itp) v_one_of(v, "spec.internalTrafficPolicy", itp, traffic);
  json_t *sel = json_object_get(spec, "selector");
  if (sel) v_labels(v, "spec.selector", sel);
}

static bool base64_ok(const char *s, size_t n)
{
  if (n % 4) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool pad = c == '=' && i >= n - 2;
    if (!(isalnum((unsigned char)c) || c == '+' || c == '/' || pad)) return false;
    if (pad && i == n - 2 && s[n - 1] != '=') return false;
  }
  return true;
}

/* ConfigMaps and Secrets hold at most 1 MiB: keys plus values (base64 ones decoded). */
#define MAX_CONFIG_BYTES 1048576

/* Returns the bytes of keys and values of obj.field. */
static size_t config_data(vctx *v, const json_t *obj, const char *field, bool b64)
{
  const char *k;
  json_t *val;
  size_t total = 0;
  json_object_foreach(json_object_get(obj, field), k, val)
  {
    char *p = drv_asprintf("%s[%s]", field, k);
    const char *why = v_check_config_key(k);
    if (why) v_invalid_str(v, p, k, why);
    size_t n = json_string_length(val);
    if (b64 && json_is_string(val) && !base64_ok(json_string_value(val), n))
      v_invalid_str(v, p, "<secret contents redacted>", "illegal base64 data");
    else if (b64 && n >= 2) {
      const char *s = json_string_value(val);
      n = n / 4 * 3 - (s[n - 1] == '=') - (s[n - 2] == '=');
    }
    total += strlen(k) + n;
    free(p);
  }
  return total;
}

static void hpa(vctx *v, const json_t *obj)
{
  json_t *ref = drv_json_get(obj, "spec.scaleTargetRef");
  if (!json_is_object(ref)) v_required(v, "spec.scaleTargetRef", NULL);
  else {
    if (!json_string_length(json_object_get(ref, "kind"))) v_required(v, "spec.scaleTargetRef.kind", NULL);
    if (!json_string_length(json_object_get(ref, "name"))) v_required(v, "spec.scaleTargetRef.name", NULL);
  }
  json_t *min = drv_json_get(obj, "spec.minReplicas");
  json_t *max = drv_json_get(obj, "spec.maxReplicas");
  if (json_is_integer(min) && json_integer_value(min) < 1)
    v_invalid(v, "spec.minReplicas", min, "must be greater than or equal to 1");
  if (!json_is_integer(max)) v_required(v, "spec.maxReplicas", NULL);
  else if (json_integer_value(max) < 1) v_invalid(v, "spec.maxReplicas", max, "must be greater than 0");
  else if (json_is_integer(min) && json_integer_value(max) < json_integer_value(min))
    v_invalid(v, "spec.maxReplicas", max, "must be greater than or equal to `minReplicas`");
  json_t *cpu = drv_json_get(obj, "spec.targetCPUUtilizationPercentage");
  if (json_is_integer(cpu) && json_integer_value(cpu) < 1)
    v_invalid(v, "spec.targetCPUUtilizationPercentage", cpu, "must be greater than 0");
  size_t i;
  json_t *m;
  static const char *const mtypes[] = {"ContainerResource", "External", "Object", "Pods", "Resource", NULL};
  json_array_foreach(drv_json_get(obj, "spec.metrics"), i, m)
  {
    char *p = drv_asprintf("spec.metrics[%zu].type", i);
    const char *t = json_string_value(json_object_get(m, "type"));
    if (!t) v_required(v, p, "must specify a metric source type");
    else if (v_one_of(v, p, t, mtypes) && !strcmp(t, "Resource") && !json_is_object(json_object_get(m, "resource"))) {
      char *rp = drv_asprintf("spec.metrics[%zu].resource", i);
      v_required(v, rp, "must populate information for the given metric source");
      free(rp);
    }
    free(p);
  }
}

static void node(vctx *v, const json_t *obj)
{
  size_t i;
  json_t *t;
  static const char *const effects[] = {"NoExecute", "NoSchedule", "PreferNoSchedule", NULL};
  json_array_foreach(drv_json_get(obj, "spec.taints"), i, t)
  {
    char *p = drv_asprintf("spec.taints[%zu]", i);
    char *f = v_path(p, "key");
    const char *k = json_string_value(json_object_get(t, "key"));
    if (!k || !*k) v_required(v, f, NULL);
    else if (drv_api_check_label_key(k)) v_invalid_str(v, f, k, drv_api_check_label_key(k));
    free(f);
    f = v_path(p, "effect");
    const char *e = json_string_value(json_object_get(t, "effect"));
    if (!e || !*e) v_required(v, f, NULL);
    else v_one_of(v, f, e, effects);
    free(f);
    free(p);
  }
}

static void by_kind(vctx *v, const drv_api_resource *res, const json_t *obj)
{
  const char *k = res->kind;
  if (!strcmp(k, "Pod")) v_pod_spec(v, "spec", json_object_get(obj, "spec"));
  else if (!strcmp(k, "Deployment")) deployment(v, obj);
  else if (!strcmp(k, "ReplicaSet")) selector_and_template(v, obj, "replicaset", false);
  else if (!strcmp(k, "Service")) service(v, obj);
  else if (!strcmp(k, "ConfigMap")) {
    size_t total = config_data(v, obj, "data", false) + config_data(v, obj, "binaryData", true);
    /* Kubernetes names no field here: "[]: Too long: ..." */
    if (total > MAX_CONFIG_BYTES) v_too_long(v, "[]", MAX_CONFIG_BYTES);
  } else if (!strcmp(k, "Secret")) {
    if (config_data(v, obj, "data", true) > MAX_CONFIG_BYTES) v_too_long(v, "data", MAX_CONFIG_BYTES);
    const char *t = json_string_value(json_object_get(obj, "type"));
    if (t && !strcmp(t, "kubernetes.io/tls")) {
      json_t *d = json_object_get(obj, "data");
      if (!json_object_get(d, "tls.crt")) v_required(v, "data[tls.crt]", NULL);
      if (!json_object_get(d, "tls.key")) v_required(v, "data[tls.key]", NULL);
    } else if (t && !strcmp(t, "kubernetes.io/service-account-token")) { /* the token controller's */
      json_t *ann = drv_json_get((json_t *)obj, "metadata.annotations");
      const char *n = json_string_value(json_object_get(ann, "kubernetes.io/service-account.name"));
      if (!n || !*n) v_required(v, "metadata.annotations[kubernetes.io/service-account.name]", NULL);
    }
  } else if (!strcmp(k, "HorizontalPodAutoscaler")) hpa(v, obj);
  else if (!strcmp(k, "Node")) node(v, obj);
  else if (!strcmp(k, "Lease")) {
    json_t *d = drv_json_get(obj, "spec.leaseDurationSeconds");
    if (json_is_integer(d) && json_integer_value(d) <= 0)
      v_invalid(v, "spec.leaseDurationSeconds", d, "must be greater than 0");
  } else if (!strcmp(k, "EndpointSlice")) {
    static const char *const at[] = {"FQDN", "IPv4", "IPv6", NULL};
    const char *t = json_string_value(json_object_get(obj, "addressType"));
    if (!t) v_required(v, "addressType", NULL);
    else v_one_of(v, "addressType", t, at);
  } else if (!strcmp(k, "Endpoints")) {
    size_t i, j;
    json_t *s, *p;
    json_array_foreach(json_object_get(obj, "subsets"), i, s)
        json_array_foreach(json_object_get(s, "ports"), j, p)
    {
      char *f = drv_asprintf("subsets[%zu].ports[%zu].port", i, j);
      v_port(v, f, json_object_get(p, "port"), false);
      free(f);
    }
  }
}

/* ---- updates ---- */

static void immutable(vctx *v, const json_t *obj, const json_t *old, const char *path)
{
  json_t *a = drv_json_get(obj, path), *b = drv_json_get(old, path);
  if ((a || b) && !(a && b && json_equal(a, b))) v_invalid(v, path, a, "field is immutable");
}

static void pod_update(vctx *v, const json_t *obj, const json_t *old)
{
  json_t *ns = json_deep_copy(json_object_get(obj, "spec"));
  json_t *os = json_object_get(old, "spec");
  if (!json_is_object(ns) || !json_is_object(os)) {
    json_decref(ns);
    return;
  }
  /* Copy the mutable parts from old, then anything left different is forbidden. */
  const char *lists[] = {"containers", "initContainers"};
  for (int l = 0; l < 2; l++) {
    json_t *nl = json_object_get(ns, lists[l]), *ol = json_object_get(os, lists[l]);
    if (json_array_size(nl) == json_array_size(ol)) {
      size_t i;
      json_t *c;
      json_array_foreach(nl, i, c)
      {
        json_t *oi = json_object_get(json_array_get(ol, i), "image");
        if (oi && json_is_object(c)) json_object_set(c, "image", oi);
      }
    }
  }
  json_t *oads = json_object_get(os, "activeDeadlineSeconds");
  if (oads) json_object_set(ns, "activeDeadlineSeconds", oads);
  else json_object_del(ns, "activeDeadlineSeconds");
  /* tolerations: additions only */
  json_t *nt = json_object_get(ns, "tolerations"), *ot = json_object_get(os, "tolerations");
  bool superset = true;
  size_t i;
  json_t *t;
  json_array_foreach(ot, i, t)
  {
    bool have = false;
    size_t j;
    json_t *u;
    json_array_foreach(nt, j, u) if (json_equal(t, u)) have = true;
    if (!have) superset = false;
  }
  if (superset) {
    if (ot) json_object_set(ns, "tolerations", ot);
    else json_object_del(ns, "tolerations");
  }
  /* binding sets nodeName once */
  const char *onode = json_string_value(json_object_get(os, "nodeName"));
  if (!onode || !*onode) {
    if (json_object_get(os, "nodeName")) json_object_set(ns, "nodeName", json_object_get(os, "nodeName"));
    else json_object_del(ns, "nodeName");
  }
  json_t *otgp = json_object_get(os, "terminationGracePeriodSeconds");
  if (json_is_integer(otgp) && json_integer_value(otgp) < 0) {
    if (otgp) json_object_set(ns, "terminationGracePeriodSeconds", otgp);
  }
  if (!json_equal(ns, os))
    v_forbidden(v, "spec",
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                "(allow it to be set to 1 if it was previously negative)");
  json_decref(ns);
}

static void update_rules(vctx *v, const drv_api_resource *res, const json_t *obj, const json_t *old)
{
  const char *k = res->kind;
  const char *on = drv_json_get_str(old, "metadata.name"), *nn = drv_json_get_str(obj, "metadata.name");
  if (on && nn && strcmp(on, nn)) v_invalid_str(v, "metadata.name", nn, "field is immutable");
  const char *ons = drv_json_get_str(old, "metadata.namespace"), *nns = drv_json_get_str(obj, "metadata.namespace");
  if (ons && nns && strcmp(ons, nns)) v_invalid_str(v, "metadata.namespace", nns, "field is immutable");
  if (!strcmp(k, "Pod")) pod_update(v, obj, old);
  else if (!strcmp(k, "Deployment") || !strcmp(k, "ReplicaSet")) immutable(v, obj, old, "spec.selector");
  else if (!strcmp(k, "Service")) {
    const char *oc = drv_json_get_str(old, "spec.clusterIP"), *nc = drv_json_get_str(obj, "spec.clusterIP");
    if (oc && *oc && nc && *nc && strcmp(oc, nc))
      v_invalid_str(v, "spec.clusterIPs[0]", nc, "may not change once set");
  } else if (!strcmp(k, "EndpointSlice")) immutable(v, obj, old, "addressType");
  else if (!strcmp(k, "ConfigMap") || !strcmp(k, "Secret")) {
    if (json_is_true(json_object_get(old, "immutable"))) {
      if (!json_equal(json_object_get(obj, "data"), json_object_get(old, "data")))
        v_forbidden(v, "data", "field is immutable when `immutable` is set");
      if (!json_equal(json_object_get(obj, "binaryData"), json_object_get(old, "binaryData")) && !strcmp(k, "ConfigMap"))
        v_forbidden(v, "binaryData", "field is immutable when `immutable` is set");
      if (!json_is_true(json_object_get(obj, "immutable")))
        v_forbidden(v, "immutable", "field is immutable when `immutable` is set");
    }
    if (!strcmp(k, "Secret")) immutable(v, obj, old, "type");
  }
}

static json_t *finish(vctx *v, const drv_api_resource *res, const json_t *obj)
{
  if (json_array_size(v->causes) == 0) {
    json_decref(v->causes);
    return NULL;
  }
  return drv_status_invalid(res, drv_json_get_str(obj, "metadata.name"), v->causes);
}

json_t *drv_api_validate(const drv_api_resource *res, const json_t *obj, const json_t *old)
{
  vctx v = {json_array()};
  const drv_schema_type *t = drv_schema_for(res);
  drv_pathbuf path = {.len = 0};
  path.buf[0] = '\0';
  if (t) check_types(&v, t, obj, &path);
  /* Type errors first: the rules below assume the shapes are right. */
  if (json_array_size(v.causes) == 0) {
    v_object_meta(&v, res, obj);
    by_kind(&v, res, obj);
    v_rbac(&v, res, obj, old);
    if (old) update_rules(&v, res, obj, old);
  }
  return finish(&v, res, obj);
}

json_t *drv_api_validate_status(const drv_api_resource *res, const json_t *obj, const json_t *old)
{
  vctx v = {json_array()};
  const drv_schema_type *t = drv_schema_for(res);
  json_t *st = json_object_get(obj, "status");
  if (t && st) {
    const drv_schema_field *f = drv_schema_field_find(t, "status");
    drv_pathbuf path = {.len = 0};
    drv_pathbuf_key(&path, "status");
    if (f) check_value(&v, f->kind, f->elem, f->type, st, &path);
  }
  if (old && json_array_size(v.causes) == 0) {
    const char *on = drv_json_get_str(old, "metadata.name"), *nn = drv_json_get_str(obj, "metadata.name");
    if (on && nn && strcmp(on, nn)) v_invalid_str(&v, "metadata.name", nn, "field is immutable");
  }
  if (json_array_size(v.causes) == 0 && !strcmp(res->kind, "Deployment")) {
    const char *cnt[] = {"status.replicas", "status.updatedReplicas", "status.readyReplicas",
                         "status.availableReplicas", "status.unavailableReplicas"};
    for (size_t i = 0; i < DRV_ARRAY_LEN(cnt); i++) nonneg(&v, obj, cnt[i]);
  }
  return finish(&v, res, obj);
}
