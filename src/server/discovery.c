/* /version, health checks, discovery (legacy and aggregated) and OpenAPI v3 documents. The
 * documents themselves are built by the api layer; this file picks them by path and Accept. */
#include <string.h>
#include <sys/utsname.h>

#include "api/discovery.h"
#include "api/openapi.h"
#include "api/status.h"
#include "common/util.h"
#include "server/internal.h"

static enum MHD_Result not_found(drv_req *r)
{
  return drv_respond_status(
      r, drv_status_failure(404, "NotFound", "the server could not find the requested resource"));
}

static enum MHD_Result json_or_404(drv_req *r, char *doc, const char *ctype)
{
  if (!doc) return not_found(r);
  return drv_respond_bytes(r, 200, ctype, doc, strlen(doc));
}

static bool wants_aggregated(drv_req *r)
{
  const char *acc = drv_req_header(r, "Accept");
  return acc && strstr(acc, "as=APIGroupDiscoveryList") && strstr(acc, "v=v2");
}

static enum MHD_Result version(drv_req *r)
{
  char build[64];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(build, sizeof build, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor",
                        "32", "gitVersion", "v1.32.0-drover." DROVER_VERSION, "gitCommit", "drover",
                        "gitTreeState", "clean", "buildDate", build, "goVersion", "none (C17)",
                        "compiler", "gcc", "platform", "linux/amd64");
  return drv_respond_json(r, 200, v);
}

static enum MHD_Result health(drv_req *r)
{
  if (r->srv->stopping) return drv_respond_static(r, 500, "text/plain", "shutting down\n");
  if (drv_req_arg(r, "verbose")) {
    const char *p = r->url + 1;
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    char *txt = drv_asprintf("[+]ping ok\n[+]etcd ok\n[+]poststarthook/drover-store ok\n%.*s check passed\n",
                             (int)n, p);
    return drv_respond_bytes(r, 200, "text/plain; charset=utf-8", txt, strlen(txt));
  }
  return drv_respond_static(r, 200, "text/plain; charset=utf-8", "ok");
}

/* Prometheus text: store and request counters. */
static enum MHD_Result prom(drv_req *r)
{
  drv_server *s = r->srv;
  drv_store_stats st;
  drv_store_get_stats(s->store, &st);
  char *txt = drv_asprintf(
      "# HELP drover_store_revision The newest committed revision.\n"
      "# TYPE drover_store_revision gauge\ndrover_store_revision %llu\n"
      "# HELP drover_store_objects Objects stored.\n"
      "# TYPE drover_store_objects gauge\ndrover_store_objects %zu\n"
      "# HELP drover_store_commits_total Backend transactions (one fsync each).\n"
      "# TYPE drover_store_commits_total counter\ndrover_store_commits_total %llu\n"
      "# HELP drover_store_writes_total Writes committed.\n"
      "# TYPE drover_store_writes_total counter\ndrover_store_writes_total %llu\n"
      "# HELP drover_apiserver_inflight_requests Requests being served (watches excluded).\n"
      "# TYPE drover_apiserver_inflight_requests gauge\ndrover_apiserver_inflight_requests %d\n",
      (unsigned long long)drv_store_revision(s->store), drv_store_count(s->store),
      (unsigned long long)st.commits, (unsigned long long)st.writes,
      __atomic_load_n(&s->inflight, __ATOMIC_RELAXED));
  return drv_respond_bytes(r, 200, "text/plain; version=0.0.4", txt, strlen(txt));
}

enum MHD_Result drv_serve_meta(drv_req *r)
{
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
    return drv_respond_status(r, drv_status_failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
  drv_route *rt = &r->route;
  switch (rt->kind) {
  case DRV_ROUTE_VERSION:
    return version(r);
  case DRV_ROUTE_HEALTH:
    return health(r);
  case DRV_ROUTE_METRICS:
    return prom(r);
  case DRV_ROUTE_CORE_VERSIONS:
    if (wants_aggregated(r))
      return json_or_404(r, drv_api_discovery_aggregated(1), DRV_API_DISCOVERY_AGGREGATED_CT);
    return json_or_404(r, drv_api_discovery_core_versions(r->srv->server_addr), "application/json");
  case DRV_ROUTE_GROUPS:
    if (wants_aggregated(r))
      return json_or_404(r, drv_api_discovery_aggregated(0), DRV_API_DISCOVERY_AGGREGATED_CT);
    return json_or_404(r, drv_api_discovery_group_list(), "application/json");
  case DRV_ROUTE_GROUP:
    return json_or_404(r, drv_api_discovery_group(rt->group), "application/json");
  case DRV_ROUTE_RESOURCES:
    return json_or_404(r, drv_api_discovery_resource_list(rt->group, rt->version), "application/json");
  case DRV_ROUTE_OPENAPI_V3:
    if (!rt->doc[0]) return drv_respond_static(r, 200, "application/json", drv_api_openapi_index());
    {
      const char *doc = drv_api_openapi_doc(rt->doc, NULL);
      if (!doc) return not_found(r);
      return drv_respond_static(r, 200, "application/json", doc);
    }
  case DRV_ROUTE_OPENAPI_V2: {
    size_t n;
    const char *pb = drv_api_openapi_v2(&n);
    char *copy = drv_malloc(n);
    memcpy(copy, pb, n);
    return drv_respond_bytes(r, 200, DRV_API_OPENAPI_V2_CT, copy, n);
  }
  default:
    return not_found(r);
  }
}
