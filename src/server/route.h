/* Request routing: a URL path into what it names (discovery documents, health endpoints, a
 * collection, an object, a subresource). Pure parsing: no resource lookups here, so it is
 * cheap to unit-test and fuzz. */
#ifndef DRV_SERVER_ROUTE_H
#define DRV_SERVER_ROUTE_H

#include <stdbool.h>

typedef enum {
  DRV_ROUTE_NONE = 0,      /* not a path the server knows: 404 */
  DRV_ROUTE_VERSION,       /* /version */
  DRV_ROUTE_HEALTH,        /* /healthz, /livez, /readyz (and their /x sub-checks) */
  DRV_ROUTE_CORE_VERSIONS, /* /api */
  DRV_ROUTE_GROUPS,        /* /apis */
  DRV_ROUTE_GROUP,         /* /apis/G */
  DRV_ROUTE_RESOURCES,     /* /api/v1, /apis/G/V */
  DRV_ROUTE_OPENAPI_V3,    /* /openapi/v3 (index); with doc set: one group-version document */
  DRV_ROUTE_OPENAPI_V2,    /* /openapi/v2 */
  DRV_ROUTE_METRICS,       /* /metrics (Prometheus text) */
  DRV_ROUTE_OBJECTS,       /* a collection (name "") or an object, maybe a subresource */
} drv_route_kind;

typedef struct drv_route {
  drv_route_kind kind;
  char group[64];
  char version[32];
  char ns[64];            /* "" = cluster-scoped or every namespace */
  char resource[64];      /* plural */
  char name[254];         /* "" = collection */
  char sub[32];           /* subresource, "" = none */
  char doc[128];          /* openapi v3 document path ("api/v1", "apis/apps/v1") */
  bool watch_path;        /* legacy /api/v1/watch/... form */
} drv_route;

/* Parses a path (already percent-decoded, no query string). Returns 0, or -1 when the path is
 * malformed or unknown (r->kind = DRV_ROUTE_NONE). */
int drv_route_parse(const char *path, drv_route *r);

#endif
