/* metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics served from what node agents push.
 *
 * Push (agents): PUT /apis/metrics.k8s.io/v1beta1/nodes/NODE with a NodeMetrics object that
 * carries an extra "pods" array of PodMetrics for the pods on that node (each with
 * metadata.name/namespace, optional metadata.labels, timestamp, window, containers[].usage).
 * Each push replaces what the node pushed before. Kept in memory only: metrics are fresh
 * samples, not state; entries older than 5 minutes are not served. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "api/selector.h"
#include "api/status.h"
#include "common/json.h"
#include "common/util.h"
#include "server/internal.h"

#define STALE_MS (5 * 60 * 1000LL)

struct drv_metrics {
  pthread_mutex_t mu;
  json_t *nodes;  /* name → {"node": NodeMetrics, "pods": [PodMetrics], "at": ms} */
};

int drv_metrics_new(drv_metrics **out)
{
  drv_metrics *m = drv_calloc(1, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
  m->nodes = json_object();
  *out = m;
  return 0;
}

void drv_metrics_free(drv_metrics *m)
{
  if (!m) return;
  json_decref(m->nodes);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static const char *const GV = "metrics.k8s.io/v1beta1";

static enum MHD_Result push(drv_req *r, const char *node)
{
  json_t *body = r->body.len ? drv_json_parse(r->body.data, r->body.len, NULL) : NULL;
  if (!json_is_object(body)) {
    json_decref(body);
    return drv_respond_status(r, drv_status_bad_request("the body is not a NodeMetrics object"));
  }
  json_t *pods = json_incref(json_object_get(body, "pods"));
  if (pods && !json_is_array(pods)) {
    json_decref(pods);
    json_decref(body);
    return drv_respond_status(r, drv_status_bad_request("pods: must be an array of PodMetrics"));
  }
  if (!pods) pods = json_array();
  json_object_del(body, "pods");
  json_object_set_new(body, "kind", json_string("NodeMetrics"));
  json_object_set_new(body, "apiVersion", json_string(GV));
  drv_obj_set_name(body, node);
  size_t i;
  json_t *p;
  json_array_foreach(pods, i, p)
  {
    if (!json_is_object(p)) continue;
    json_object_set_new(p, "kind", json_string("PodMetrics"));
    json_object_set_new(p, "apiVersion", json_string(GV));
  }
  drv_metrics *m = r->srv->metrics;
  pthread_mutex_lock(&m->mu);
  json_object_set_new(m->nodes, node,
                      json_pack("{s:o, s:o, s:I}", "node", body, "pods", pods, "at",
                                (json_int_t)drv_now_ms()));
  pthread_mutex_unlock(&m->mu);
  return drv_respond_json(r, 200, json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status",
                                            "apiVersion", "v1", "metadata", "status", "Success",
                                            "code", 200));
}

static json_t *list_of(const char *kind, json_t *items)
{
  return json_pack("{s:s, s:s, s:{}, s:o}", "kind", kind, "apiVersion", GV, "metadata", "items",
                   items);
}

enum MHD_Result drv_serve_metrics(drv_req *r, bool *handled)
{
  drv_route *rt = &r->route;
  *handled = false;
  if (strcmp(rt->group, "metrics.k8s.io") != 0) return MHD_NO;
  *handled = true;
  if (strcmp(rt->version, "v1beta1") != 0 || rt->sub[0] ||
      (strcmp(rt->resource, "nodes") && strcmp(rt->resource, "pods")))
    return drv_respond_status(r, drv_status_failure(404, "NotFound", "the server could not find the requested resource"));
  bool nodes = strcmp(rt->resource, "nodes") == 0;
  if (nodes && rt->ns[0])
    return drv_respond_status(r, drv_status_failure(404, "NotFound", "the server could not find the requested resource"));
  if (!strcmp(r->method, "PUT") && nodes && rt->name[0]) return push(r, rt->name);
  if (strcmp(r->method, "GET") != 0)
    return drv_respond_status(r, drv_status_failure(405, "MethodNotAllowed", "metrics are read-only (agents push with PUT nodes/NAME)"));
  drv_err err = {0};
  const char *lsel = drv_req_arg(r, "labelSelector");
  _cleanup_label_selector_ drv_label_selector *ls = NULL;
  if (lsel && *lsel && !(ls = drv_label_selector_parse(lsel, &err)))
    return drv_respond_status(r, drv_status_bad_request(err.msg));
  drv_metrics *m = r->srv->metrics;
  json_t *items = json_array();
  long long now = drv_now_ms();
  pthread_mutex_lock(&m->mu);
  const char *name;
  json_t *ent;
  json_object_foreach(m->nodes, name, ent)
  {
    if (now - json_integer_value(json_object_get(ent, "at")) > STALE_MS) continue;
    if (nodes) {
      json_t *n = json_object_get(ent, "node");
      if (rt->name[0] && strcmp(name, rt->name)) continue;
      if (ls && !drv_label_selector_matches(ls, drv_json_get(n, "metadata.labels"))) continue;
      json_array_append_new(items, json_deep_copy(n));
      continue;
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(ent, "pods"), i, p)
    {
      const char *pns = drv_json_get_str(p, "metadata.namespace"), *pn = drv_json_get_str(p, "metadata.name");
      if (rt->ns[0] && strcmp(pns ? pns : "", rt->ns)) continue;
      if (rt->name[0] && strcmp(pn ? pn : "", rt->name)) continue;
      if (ls && !drv_label_selector_matches(ls, drv_json_get(p, "metadata.labels"))) continue;
      json_array_append_new(items, json_deep_copy(p));
    }
  }
  pthread_mutex_unlock(&m->mu);
  if (rt->name[0]) {
    json_t *one = json_incref(json_array_get(items, 0));
    json_decref(items);
    if (!one) {
      _cleanup_free_ char *msg = drv_asprintf("%s.metrics.k8s.io \"%s\" not found",
                                              nodes ? "nodemetrics" : "podmetrics", rt->name);
      json_t *st = drv_status_failure(404, "NotFound", msg);
      json_object_set_new(st, "details", json_pack("{s:s, s:s, s:s}", "name", rt->name, "group",
                                                   "metrics.k8s.io", "kind", nodes ? "nodes" : "pods"));
      return drv_respond_status(r, st);
    }
    return drv_respond_json(r, 200, one);
  }
  return drv_respond_json(r, 200, list_of(nodes ? "NodeMetricsList" : "PodMetricsList", items));
}
