/* API objects → core structs (quantities through api/quantity.h). */
#include "scheduler/podspec.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "common/json.h"
#include "common/util.h"

static int64_t qty_milli(const json_t *v)
{
  const char *s = json_string_value(v);
  if (s) {
    int64_t m = drv_quantity_parse_milli(s);
    return m < 0 ? 0 : m;
  }
  if (json_is_integer(v)) return json_integer_value(v) * 1000;
  if (json_is_real(v)) return (int64_t)(json_real_value(v) * 1000);
  return 0;
}

static int64_t qty_value(const json_t *v)
{
  int64_t m = qty_milli(v);
  return (m + 999) / 1000;
}

typedef struct res {
  int64_t cpu, mem, eph;
} res;

static res container_req(const json_t *c)
{
  const json_t *req = drv_json_get(c, "resources.requests"), *lim = drv_json_get(c, "resources.limits");
  res r = {0};
  const char *names[3] = {"cpu", "memory", "ephemeral-storage"};
  for (int i = 0; i < 3; i++) {
    const json_t *v = json_object_get(req, names[i]);
    if (!v) v = json_object_get(lim, names[i]);
    if (!v) continue;
    if (i == 0)
      r.cpu = qty_milli(v);
    else if (i == 1)
      r.mem = qty_value(v);
    else
      r.eph = qty_value(v);
  }
  return r;
}

static drv_sched_label *labels_from(drv_sched *s, const json_t *obj, uint16_t *n)
{
  *n = (uint16_t)json_object_size(obj);
  if (!*n) return NULL;
  drv_sched_label *l = drv_calloc(*n, sizeof *l);
  const char *k;
  json_t *v;
  uint16_t i = 0;
  json_object_foreach((json_t *)obj, k, v)
  {
    l[i].key = drv_sched_intern(s, k);
    l[i++].value = drv_sched_intern(s, json_string_value(v) ? json_string_value(v) : "");
  }
  return l;
}

static uint8_t op_of(const char *op)
{
  if (!op) return DRV_SCHED_OP_IN;
  if (!strcmp(op, "NotIn")) return DRV_SCHED_OP_NOTIN;
  if (!strcmp(op, "Exists")) return DRV_SCHED_OP_EXISTS;
  if (!strcmp(op, "DoesNotExist")) return DRV_SCHED_OP_DOES_NOT_EXIST;
  if (!strcmp(op, "Gt")) return DRV_SCHED_OP_GT;
  if (!strcmp(op, "Lt")) return DRV_SCHED_OP_LT;
  return DRV_SCHED_OP_IN;
}

static void expr_from(drv_sched *s, const json_t *e, drv_sched_expr *x, const char *key_override)
{
  const char *key = key_override ? key_override : drv_json_get_str(e, "key");
  x->key = drv_sched_intern(s, key ? key : "");
  x->op = op_of(drv_json_get_str(e, "operator"));
  const json_t *vals = json_object_get(e, "values");
  x->nvalues = (uint16_t)json_array_size(vals);
  x->values = x->nvalues ? drv_calloc(x->nvalues, sizeof *x->values) : NULL;
  for (uint16_t i = 0; i < x->nvalues; i++) {
    const char *v = json_string_value(json_array_get(vals, i));
    x->values[i] = drv_sched_intern(s, v ? v : "");
  }
  if ((x->op == DRV_SCHED_OP_GT || x->op == DRV_SCHED_OP_LT) && x->nvalues)
    x->num = strtoll(drv_sched_string(s, x->values[0]), NULL, 10);
}

/* NodeSelectorTerm: matchExpressions plus matchFields (metadata.name → the hostname label). */
static void node_term_from(drv_sched *s, const json_t *t, drv_sched_term *out)
{
  const json_t *me = json_object_get(t, "matchExpressions"), *mf = json_object_get(t, "matchFields");
  size_t n = json_array_size(me) + json_array_size(mf);
  out->nexprs = (uint16_t)n;
  out->exprs = n ? drv_calloc(n, sizeof *out->exprs) : NULL;
  size_t k = 0;
  for (size_t i = 0; i < json_array_size(me); i++) expr_from(s, json_array_get(me, i), &out->exprs[k++], NULL);
  for (size_t i = 0; i < json_array_size(mf); i++)
    expr_from(s, json_array_get(mf, i), &out->exprs[k++], "kubernetes.io/hostname");
}

/* LabelSelector: matchLabels as In expressions, then matchExpressions. */
static void label_sel_from(drv_sched *s, const json_t *sel, drv_sched_term *out)
{
  const json_t *ml = json_object_get(sel, "matchLabels"), *me = json_object_get(sel, "matchExpressions");
  size_t n = json_object_size(ml) + json_array_size(me);
  out->nexprs = (uint16_t)n;
  out->exprs = n ? drv_calloc(n, sizeof *out->exprs) : NULL;
  size_t k = 0;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)ml, key, v)
  {
    drv_sched_expr *x = &out->exprs[k++];
    x->key = drv_sched_intern(s, key);
    x->op = DRV_SCHED_OP_IN;
    x->nvalues = 1;
    x->values = drv_calloc(1, sizeof *x->values);
    x->values[0] = drv_sched_intern(s, json_string_value(v) ? json_string_value(v) : "");
  }
  for (size_t i = 0; i < json_array_size(me); i++) expr_from(s, json_array_get(me, i), &out->exprs[k++], NULL);
  if (!sel) {
    /* a nil selector matches nothing: an impossible expression */
    out->nexprs = 1;
    out->exprs = drv_calloc(1, sizeof *out->exprs);
    out->exprs[0].key = drv_sched_intern(s, "\x01nil-selector");
    out->exprs[0].op = DRV_SCHED_OP_EXISTS;
  }
}

static drv_sched_pod_term *pod_terms_from(drv_sched *s, const json_t *arr, uint16_t *n)
{
  *n = (uint16_t)json_array_size(arr);
  if (!*n) return NULL;
  drv_sched_pod_term *t = drv_calloc(*n, sizeof *t);
  for (uint16_t i = 0; i < *n; i++) {
    const json_t *e = json_array_get(arr, i);
    label_sel_from(s, json_object_get(e, "labelSelector"), &t[i].sel);
    const char *tk = drv_json_get_str(e, "topologyKey");
    t[i].topology_key = drv_sched_intern(s, tk ? tk : "");
    const json_t *nss = json_object_get(e, "namespaces");
    t[i].nns = (uint16_t)json_array_size(nss);
    t[i].namespaces = t[i].nns ? drv_calloc(t[i].nns, sizeof(drv_sched_str)) : NULL;
    for (uint16_t j = 0; j < t[i].nns; j++) {
      const char *ns = json_string_value(json_array_get(nss, j));
      t[i].namespaces[j] = drv_sched_intern(s, ns ? ns : "");
    }
  }
  return t;
}

/* [{weight, podAffinityTerm}] → terms with sel.weight set. */
static drv_sched_pod_term *weighted_terms_from(drv_sched *s, const json_t *arr, uint16_t *n)
{
  json_t *terms = json_array();
  size_t i;
  json_t *e;
  json_array_foreach((json_t *)arr, i, e) json_array_append(terms, json_object_get(e, "podAffinityTerm") ? json_object_get(e, "podAffinityTerm") : json_null());
  drv_sched_pod_term *t = pod_terms_from(s, terms, n);
  for (uint16_t k = 0; k < *n; k++) t[k].sel.weight = (int32_t)drv_json_get_int(json_array_get(arr, k), "weight", 1);
  json_decref(terms);
  return t;
}

static uint8_t effect_of(const char *e)
{
  if (!e || !*e) return 0;
  if (!strcmp(e, "NoSchedule")) return DRV_SCHED_NO_SCHEDULE;
  if (!strcmp(e, "PreferNoSchedule")) return DRV_SCHED_PREFER_NO_SCHEDULE;
  if (!strcmp(e, "NoExecute")) return DRV_SCHED_NO_EXECUTE;
  return 0;
}

void drv_sched_pod_from_json(drv_sched *s, const json_t *pod, drv_sched_pod *out)
{
  memset(out, 0, sizeof *out);
  const json_t *spec = json_object_get(pod, "spec");
  res sum = {0}, init = {0};
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(spec, "containers"), i, c)
  {
    res r = container_req(c);
    sum.cpu += r.cpu;
    sum.mem += r.mem;
    sum.eph += r.eph;
  }
  json_array_foreach(json_object_get(spec, "initContainers"), i, c)
  {
    res r = container_req(c);
    if (r.cpu > init.cpu) init.cpu = r.cpu;
    if (r.mem > init.mem) init.mem = r.mem;
    if (r.eph > init.eph) init.eph = r.eph;
  }
  const json_t *ov = json_object_get(spec, "overhead");
  out->cpu_m = (sum.cpu > init.cpu ? sum.cpu : init.cpu) + qty_milli(json_object_get(ov, "cpu"));
  out->mem = (sum.mem > init.mem ? sum.mem : init.mem) + qty_value(json_object_get(ov, "memory"));
  out->eph = sum.eph > init.eph ? sum.eph : init.eph;
  out->priority = (int32_t)drv_json_get_int(spec, "priority", 0);
  const char *ns = drv_json_get_str(pod, "metadata.namespace");
  out->ns = drv_sched_intern(s, ns ? ns : "default");
  out->labels = labels_from(s, drv_json_get(pod, "metadata.labels"), &out->nlabels);
  out->selector = labels_from(s, json_object_get(spec, "nodeSelector"), &out->nselector);

  const json_t *na = drv_json_get(spec, "affinity.nodeAffinity");
  const json_t *req = drv_json_get(na, "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
  out->nrequired = (uint16_t)json_array_size(req);
  out->required = out->nrequired ? drv_calloc(out->nrequired, sizeof *out->required) : NULL;
  for (uint16_t k = 0; k < out->nrequired; k++) node_term_from(s, json_array_get(req, k), &out->required[k]);
  const json_t *pref = json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
  out->npreferred = (uint16_t)json_array_size(pref);
  out->preferred = out->npreferred ? drv_calloc(out->npreferred, sizeof *out->preferred) : NULL;
  for (uint16_t k = 0; k < out->npreferred; k++) {
    const json_t *p = json_array_get(pref, k);
    node_term_from(s, json_object_get(p, "preference"), &out->preferred[k]);
    out->preferred[k].weight = (int32_t)drv_json_get_int(p, "weight", 1);
  }

  const json_t *tols = json_object_get(spec, "tolerations");
  out->ntols = (uint16_t)json_array_size(tols);
  out->tols = out->ntols ? drv_calloc(out->ntols, sizeof *out->tols) : NULL;
  for (uint16_t k = 0; k < out->ntols; k++) {
    const json_t *t = json_array_get(tols, k);
    const char *key = drv_json_get_str(t, "key"), *op = drv_json_get_str(t, "operator");
    const char *val = drv_json_get_str(t, "value");
    out->tols[k].key = key && *key ? drv_sched_intern(s, key) : 0;
    out->tols[k].exists = op && !strcmp(op, "Exists");
    out->tols[k].value = drv_sched_intern(s, val ? val : "");
    out->tols[k].effect = effect_of(drv_json_get_str(t, "effect"));
  }

  size_t nports = 0;
  json_array_foreach(json_object_get(spec, "containers"), i, c)
  {
    size_t j;
    json_t *p;
    json_array_foreach(json_object_get(c, "ports"), j, p) if (drv_json_get_int(p, "hostPort", 0) > 0) nports++;
  }
  if (nports) {
    out->ports = drv_calloc(nports, sizeof *out->ports);
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
      size_t j;
      json_t *p;
      json_array_foreach(json_object_get(c, "ports"), j, p)
      {
        long long hp = drv_json_get_int(p, "hostPort", 0);
        if (hp <= 0) continue;
        drv_sched_port *o = &out->ports[out->nports++];
        o->port = (uint16_t)hp;
        const char *proto = drv_json_get_str(p, "protocol");
        o->proto = proto && !strcmp(proto, "UDP") ? 1 : proto && !strcmp(proto, "SCTP") ? 2 : 0;
        const char *ip = drv_json_get_str(p, "hostIP");
        struct in_addr a;
        if (ip && inet_pton(AF_INET, ip, &a) == 1) o->ip = a.s_addr;
      }
    }
  }
  const json_t *tsc = json_object_get(spec, "topologySpreadConstraints");
  out->nspread = (uint16_t)json_array_size(tsc);
  out->spread = out->nspread ? drv_calloc(out->nspread, sizeof *out->spread) : NULL;
  for (uint16_t k = 0; k < out->nspread; k++) {
    const json_t *c = json_array_get(tsc, k);
    label_sel_from(s, json_object_get(c, "labelSelector"), &out->spread[k].sel);
    const char *tk = drv_json_get_str(c, "topologyKey");
    out->spread[k].topology_key = drv_sched_intern(s, tk ? tk : "");
    out->spread[k].max_skew = (int32_t)drv_json_get_int(c, "maxSkew", 1);
    const char *wu = drv_json_get_str(c, "whenUnsatisfiable");
    out->spread[k].hard = !wu || strcmp(wu, "ScheduleAnyway") != 0;
  }
  out->aff = pod_terms_from(s, drv_json_get(spec, "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution"), &out->naff);
  out->anti = pod_terms_from(s, drv_json_get(spec, "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"), &out->nanti);
  out->paff = weighted_terms_from(s, drv_json_get(spec, "affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution"), &out->npaff);
  out->panti = weighted_terms_from(s, drv_json_get(spec, "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"), &out->npanti);
}

void drv_sched_node_from_json(drv_sched *s, const json_t *node, drv_sched_node_spec *out,
                              drv_sched_label **labels, drv_sched_taint **taints)
{
  memset(out, 0, sizeof *out);
  out->name = drv_json_get_str(node, "metadata.name");
  const json_t *alloc = drv_json_get(node, "status.allocatable");
  if (!json_object_size(alloc)) alloc = drv_json_get(node, "status.capacity");
  out->cpu_m = qty_milli(json_object_get(alloc, "cpu"));
  out->mem = qty_value(json_object_get(alloc, "memory"));
  out->eph = qty_value(json_object_get(alloc, "ephemeral-storage"));
  const json_t *pods = json_object_get(alloc, "pods");
  out->pods = pods ? qty_value(pods) : 110;
  out->unschedulable = drv_json_get_bool(node, "spec.unschedulable", false);
  *labels = labels_from(s, drv_json_get(node, "metadata.labels"), &out->nlabels);
  out->labels = *labels;
  const json_t *ts = drv_json_get(node, "spec.taints");
  out->ntaints = (uint16_t)json_array_size(ts);
  *taints = out->ntaints ? drv_calloc(out->ntaints, sizeof **taints) : NULL;
  for (uint16_t k = 0; k < out->ntaints; k++) {
    const json_t *t = json_array_get(ts, k);
    const char *key = drv_json_get_str(t, "key"), *val = drv_json_get_str(t, "value");
    (*taints)[k].key = drv_sched_intern(s, key ? key : "");
    (*taints)[k].value = drv_sched_intern(s, val ? val : "");
    (*taints)[k].effect = effect_of(drv_json_get_str(t, "effect"));
  }
  out->taints = *taints;
}
