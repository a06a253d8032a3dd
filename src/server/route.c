/* Kubernetes REST paths:
 *   /api/v1/RES[/NAME[/SUB]]                 cluster-scoped, or every namespace
 *   /api/v1/namespaces/NS/RES[/NAME[/SUB]]   namespaced
 *   /api/v1/namespaces/NAME[/status|/finalize] the Namespace object itself
 *   /apis/G/V/...                            same shapes for named groups
 *   /api/v1/watch/...                        legacy watch form */
#include "server/route.h"

#include <stdio.h>
#include <string.h>

#define MAX_SEGS 10

/* Splits path into segments; empty segments (a//b, trailing /) are skipped. Segments must fit
 * their destination fields, so anything over 253 characters is refused. */
static int split(const char *path, char segs[MAX_SEGS][254], int *n)
{
  *n = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (*n == MAX_SEGS || len >= 254) return -1;
    memcpy(segs[*n], p, len);
    segs[*n][len] = 0;
    (*n)++;
    p += len;
  }
  return 0;
}

static int copy(char *dst, size_t size, const char *src)
{
  size_t len = strlen(src);
  if (len >= size) return -1;
  memcpy(dst, src, len + 1);
  return 0;
}

static bool is_ns_sub(const char *s)
{
  return strcmp(s, "status") == 0 || strcmp(s, "finalize") == 0;
}

static bool valid_seg(const char *s)
{
  /* "." and ".." never name anything; control characters neither */
  if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return false;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++)
    if (*c < 0x20 || *c == 0x7f) return false;
  return true;
}

/* segs[i..n) after the group/version: resource paths. */
static int parse_objects(char segs[MAX_SEGS][254], int i, int n, drv_route *r)
{
  if (i < n && strcmp(segs[i], "watch") == 0) {
    r->watch_path = true;
    i++;
  }
  if (i >= n) return -1;
  for (int k = i; k < n; k++)
    if (!valid_seg(segs[k])) return -1;
  int left = n - i;
  if (strcmp(segs[i], "namespaces") == 0 && left >= 2) {
    /* /namespaces/NS → the namespace; /namespaces/NS/status|finalize → its subresource */
    if (left == 2 || (left == 3 && is_ns_sub(segs[i + 2]))) {
      if (copy(r->resource, sizeof r->resource, "namespaces") < 0 ||
          copy(r->name, sizeof r->name, segs[i + 1]) < 0)
        return -1;
      if (left == 3 && copy(r->sub, sizeof r->sub, segs[i + 2]) < 0) return -1;
      r->kind = DRV_ROUTE_OBJECTS;
      return 0;
    }
    if (copy(r->ns, sizeof r->ns, segs[i + 1]) < 0) return -1;
    i += 2;
    left -= 2;
  }
  if (left < 1 || left > 3) return -1;
  if (copy(r->resource, sizeof r->resource, segs[i]) < 0) return -1;
  if (left >= 2 && copy(r->name, sizeof r->name, segs[i + 1]) < 0) return -1;
  if (left == 3 && copy(r->sub, sizeof r->sub, segs[i + 2]) < 0) return -1;
  r->kind = DRV_ROUTE_OBJECTS;
  return 0;
}

int drv_route_parse(const char *path, drv_route *r)
{
  memset(r, 0, sizeof *r);
  char segs[MAX_SEGS][254];
  int n;
  if (!path || path[0] != '/' || split(path, segs, &n) < 0 || n == 0) goto none;
  const char *s0 = segs[0];
  if (strcmp(s0, "version") == 0 && n == 1) {
    r->kind = DRV_ROUTE_VERSION;
    return 0;
  }
  if (strcmp(s0, "metrics") == 0 && n == 1) {
    r->kind = DRV_ROUTE_METRICS;
    return 0;
  }
  if (strcmp(s0, "healthz") == 0 || strcmp(s0, "livez") == 0 || strcmp(s0, "readyz") == 0) {
    if (n > 2) goto none;
    r->kind = DRV_ROUTE_HEALTH;
    return 0;
  }
  if (strcmp(s0, "openapi") == 0) {
    if (n >= 2 && strcmp(segs[1], "v2") == 0 && n == 2) {
      r->kind = DRV_ROUTE_OPENAPI_V2;
      return 0;
    }
    if (n >= 2 && strcmp(segs[1], "v3") == 0) {
      r->kind = DRV_ROUTE_OPENAPI_V3;
      size_t off = 0;
      for (int k = 2; k < n; k++) {
        int w = snprintf(r->doc + off, sizeof r->doc - off, "%s%s", k > 2 ? "/" : "", segs[k]);
        if (w < 0 || (size_t)w >= sizeof r->doc - off) goto none;
        off += (size_t)w;
      }
      return 0;
    }
    goto none;
  }
  if (strcmp(s0, "api") == 0) {
    if (n == 1) {
      r->kind = DRV_ROUTE_CORE_VERSIONS;
      return 0;
    }
    if (copy(r->version, sizeof r->version, segs[1]) < 0) goto none;
    if (n == 2) {
      r->kind = DRV_ROUTE_RESOURCES;
      return 0;
    }
    if (parse_objects(segs, 2, n, r) < 0) goto none;
    return 0;
  }
  if (strcmp(s0, "apis") == 0) {
    if (n == 1) {
      r->kind = DRV_ROUTE_GROUPS;
      return 0;
    }
    if (copy(r->group, sizeof r->group, segs[1]) < 0) goto none;
    if (n == 2) {
      r->kind = DRV_ROUTE_GROUP;
      return 0;
    }
    if (copy(r->version, sizeof r->version, segs[2]) < 0) goto none;
    if (n == 3) {
      r->kind = DRV_ROUTE_RESOURCES;
      return 0;
    }
    if (parse_objects(segs, 3, n, r) < 0) goto none;
    return 0;
  }
none:
  memset(r, 0, sizeof *r);
  return -1;
}
