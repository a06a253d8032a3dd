/* Discovery documents (see discovery.h), built from the resource registry. */
#include "api/discovery.h"

#include <jansson.h>
#include <string.h>

#include "api/resource.h"
#include "common/json.h"
#include "common/util.h"

static json_t *verbs_array(unsigned verbs)
{
  json_t *a = json_array();
  for (unsigned b = 1; b <= DRV_VERB_WATCH; b <<= 1)
    if (verbs & b) json_array_append_new(a, json_string(drv_api_verb_name(b)));
  return a;
}

static json_t *names_array(const char *const *names)
{
  json_t *a = json_array();
  for (; names && *names; names++) json_array_append_new(a, json_string(*names));
  return a;
}

/* A subresource's kind, group, version and verbs as Kubernetes serves them. */
typedef struct {
  unsigned bit;
  const char *group, *version, *kind; /* NULL kind: the parent's kind */
  unsigned verbs;
} subinfo;

static const subinfo subs[] = {
    {DRV_SUB_ATTACH, "", "v1", "PodAttachOptions", DRV_VERB_CREATE | DRV_VERB_GET},
    {DRV_SUB_BINDING, "", "v1", "Binding", DRV_VERB_CREATE},
    {DRV_SUB_EVICTION, "policy", "v1", "Eviction", DRV_VERB_CREATE},
    {DRV_SUB_EXEC, "", "v1", "PodExecOptions", DRV_VERB_CREATE | DRV_VERB_GET},
    {DRV_SUB_FINALIZE, NULL, NULL, NULL, DRV_VERB_UPDATE},
    {DRV_SUB_LOG, NULL, NULL, NULL, DRV_VERB_GET},
    {DRV_SUB_PORTFORWARD, "", "v1", "PodPortForwardOptions", DRV_VERB_CREATE | DRV_VERB_GET},
    {DRV_SUB_SCALE, "autoscaling", "v1", "Scale", DRV_VERB_GET | DRV_VERB_PATCH | DRV_VERB_UPDATE},
    {DRV_SUB_STATUS, NULL, NULL, NULL, DRV_VERB_GET | DRV_VERB_PATCH | DRV_VERB_UPDATE},
    {DRV_SUB_TOKEN, "authentication.k8s.io", "v1", "TokenRequest", DRV_VERB_CREATE},
};

char *drv_api_discovery_core_versions(const char *server_addr)
{
  json_t *d = json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
                        "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                        server_addr ? server_addr : "");
  char *s = drv_json_dump(d);
  json_decref(d);
  return s;
}

/* Versions of a group, preferred first. */
static json_t *group_json(const char *group)
{
  json_t *versions = json_array();
  for (const char *const *gv = drv_api_group_versions(); *gv; gv++) {
    const char *slash = strchr(*gv, '/');
    if (!slash || strncmp(*gv, group, (size_t)(slash - *gv)) || strlen(group) != (size_t)(slash - *gv))
      continue;
    json_array_append_new(versions, json_pack("{s:s, s:s}", "groupVersion", *gv, "version", slash + 1));
  }
  if (json_array_size(versions) == 0) {
    json_decref(versions);
    return NULL;
  }
  json_t *pref = json_incref(json_array_get(versions, 0));
  return json_pack("{s:s, s:o, s:o}", "name", group, "versions", versions, "preferredVersion", pref);
}

static json_t *group_names(void)
{
  json_t *names = json_array();
  for (const char *const *gv = drv_api_group_versions(); *gv; gv++) {
    const char *slash = strchr(*gv, '/');
    if (!slash) continue;
    char *g = drv_strndup(*gv, (size_t)(slash - *gv));
    bool seen = false;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) if (!strcmp(json_string_value(n), g)) seen = true;
    if (!seen) json_array_append_new(names, json_string(g));
    free(g);
  }
  return names;
}

char *drv_api_discovery_group_list(void)
{
  json_t *groups = json_array();
  json_t *names = group_names();
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) json_array_append_new(groups, group_json(json_string_value(n)));
  json_decref(names);
  json_t *d = json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
  char *s = drv_json_dump(d);
  json_decref(d);
  return s;
}

char *drv_api_discovery_group(const char *group)
{
  if (!group || !*group) return NULL;
  json_t *g = group_json(group);
  if (!g) return NULL;
  json_object_set_new(g, "kind", json_string("APIGroup"));
  json_object_set_new(g, "apiVersion", json_string("v1"));
  char *s = drv_json_dump(g);
  json_decref(g);
  return s;
}

char *drv_api_discovery_resource_list(const char *group, const char *version)
{
  if (!group) group = "";
  size_t n;
  const drv_api_resource *rs = drv_api_resources(&n);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    const drv_api_resource *r = &rs[i];
    if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
    json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->plural, "singularName", r->singular,
                          "namespaced", r->namespaced, "kind", r->kind, "verbs", verbs_array(r->verbs));
    if (r->short_names[0]) json_object_set_new(e, "shortNames", names_array(r->short_names));
    if (r->categories[0]) json_object_set_new(e, "categories", names_array(r->categories));
    json_array_append_new(list, e);
    for (size_t s = 0; s < DRV_ARRAY_LEN(subs); s++) {
      if (!(r->subresources & subs[s].bit)) continue;
      char *name = drv_asprintf("%s/%s", r->plural, drv_api_subresource_name(subs[s].bit));
      json_t *se = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "",
                             "namespaced", r->namespaced, "kind", subs[s].kind ? subs[s].kind : r->kind,
                             "verbs", verbs_array(subs[s].verbs));
      if (subs[s].kind && (strcmp(subs[s].group, r->group) || strcmp(subs[s].version, r->version))) {
        json_object_set_new(se, "group", json_string(subs[s].group));
        json_object_set_new(se, "version", json_string(subs[s].version));
      }
      free(name);
      json_array_append_new(list, se);
    }
  }
  if (json_array_size(list) == 0) {
    json_decref(list);
    return NULL;
  }
  char gv[256];
  snprintf(gv, sizeof(gv), "%s%s%s", group, *group ? "/" : "", version);
  json_t *d = json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                        "groupVersion", gv, "resources", list);
  char *s = drv_json_dump(d);
  json_decref(d);
  return s;
}

static json_t *aggregated_version(const char *group, const char *version)
{
  size_t n;
  const drv_api_resource *rs = drv_api_resources(&n);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    const drv_api_resource *r = &rs[i];
    if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
    json_t *e = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource", r->plural,
                          "responseKind", "group", r->group, "version", r->version, "kind", r->kind,
                          "scope", r->namespaced ? "Namespaced" : "Cluster", "singularResource",
                          r->singular, "verbs", verbs_array(r->verbs));
    if (r->short_names[0]) json_object_set_new(e, "shortNames", names_array(r->short_names));
    if (r->categories[0]) json_object_set_new(e, "categories", names_array(r->categories));
    json_t *sl = json_array();
    for (size_t s = 0; s < DRV_ARRAY_LEN(subs); s++) {
      if (!(r->subresources & subs[s].bit)) continue;
      json_array_append_new(
          sl, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource",
                        drv_api_subresource_name(subs[s].bit), "responseKind", "group",
                        subs[s].kind ? subs[s].group : r->group, "version",
                        subs[s].kind ? subs[s].version : r->version, "kind",
                        subs[s].kind ? subs[s].kind : r->kind, "verbs", verbs_array(subs[s].verbs)));
    }
    if (json_array_size(sl)) json_object_set_new(e, "subresources", sl);
    else json_decref(sl);
    json_array_append_new(list, e);
  }
  return json_pack("{s:s, s:o, s:s}", "version", version, "resources", list, "freshness", "Current");
}

char *drv_api_discovery_aggregated(int core)
{
  json_t *items = json_array();
  if (core) {
    json_t *it = json_pack("{s:{s:n}, s:[o]}", "metadata", "creationTimestamp", "versions",
                           aggregated_version("", "v1"));
    json_array_append_new(items, it);
  } else {
    json_t *names = group_names();
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm)
    {
      const char *g = json_string_value(nm);
      json_t *versions = json_array();
      for (const char *const *gv = drv_api_group_versions(); *gv; gv++) {
        const char *slash = strchr(*gv, '/');
        if (!slash || strlen(g) != (size_t)(slash - *gv) || strncmp(*gv, g, strlen(g))) continue;
        json_array_append_new(versions, aggregated_version(g, slash + 1));
      }
      json_array_append_new(items, json_pack("{s:{s:s, s:n}, s:o}", "metadata", "name", g,
                                             "creationTimestamp", "versions", versions));
    }
    json_decref(names);
  }
  json_t *d = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
                        "apidiscovery.k8s.io/v2", "metadata", "items", items);
  char *s = drv_json_dump(d);
  json_decref(d);
  return s;
}
