/* The static registry of the resources drover serves: what discovery, OpenAPI, routing,
 * validation and tables all key on. Entries are constant and live for the whole process. */
#ifndef DRV_API_RESOURCE_H
#define DRV_API_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>

/* Verbs, as discovery lists them. */
enum {
  DRV_VERB_CREATE = 1u << 0,
  DRV_VERB_DELETE = 1u << 1,
  DRV_VERB_DELETECOLLECTION = 1u << 2,
  DRV_VERB_GET = 1u << 3,
  DRV_VERB_LIST = 1u << 4,
  DRV_VERB_PATCH = 1u << 5,
  DRV_VERB_UPDATE = 1u << 6,
  DRV_VERB_WATCH = 1u << 7,
};
#define DRV_VERBS_ALL 0xffu
#define DRV_VERBS_READ (DRV_VERB_GET | DRV_VERB_LIST)

/* Subresources. */
enum {
  DRV_SUB_STATUS = 1u << 0,
  DRV_SUB_SCALE = 1u << 1,
  DRV_SUB_BINDING = 1u << 2,
  DRV_SUB_EVICTION = 1u << 3,
  DRV_SUB_LOG = 1u << 4,
  DRV_SUB_EXEC = 1u << 5,
  DRV_SUB_ATTACH = 1u << 6,
  DRV_SUB_FINALIZE = 1u << 7, /* namespaces/finalize */
  DRV_SUB_PORTFORWARD = 1u << 8,
  DRV_SUB_TOKEN = 1u << 9,    /* serviceaccounts/token (TokenRequest) */
};

typedef struct drv_api_resource {
  const char *group;      /* "" for the core group */
  const char *version;    /* "v1" */
  const char *kind;       /* "Deployment" */
  const char *list_kind;  /* "DeploymentList" */
  const char *plural;     /* "deployments" */
  const char *singular;   /* "deployment" */
  const char *const *short_names; /* NULL-terminated, may be empty */
  const char *const *categories;  /* NULL-terminated ("all"), may be empty */
  bool namespaced;
  unsigned verbs;         /* DRV_VERB_* */
  unsigned subresources;  /* DRV_SUB_* */
  /* Where objects of this resource are stored: the group/version whose form the store keeps.
   * Equal to group/version for most; autoscaling/v1 HPAs are stored as autoscaling/v2 and
   * events.k8s.io/v1 Events as core v1 Events (see convert.h). */
  const char *storage_group;
  const char *storage_version;
  bool stored;            /* false for metrics.k8s.io (computed, never written) */
  /* Group versions the API prefers for discovery order (the preferred version of a group is
   * the first entry of that group in the registry). */
} drv_api_resource;

/* All served resources, in discovery order (grouped by group, preferred version first). */
const drv_api_resource *drv_api_resources(size_t *n);

/* By group ("" = core), version and plural; NULL when not served. */
const drv_api_resource *drv_api_resource_find(const char *group, const char *version,
                                              const char *plural);
/* By group, version and kind; NULL when not served. */
const drv_api_resource *drv_api_resource_by_gvk(const char *group, const char *version,
                                                const char *kind);
/* By an object's apiVersion ("apps/v1", "v1") and kind. */
const drv_api_resource *drv_api_resource_by_kind(const char *api_version, const char *kind);
/* By any name kubectl accepts: plural, singular, short name or kind (case-insensitive),
 * optionally qualified "deployments.apps"; preferred version wins. */
const drv_api_resource *drv_api_resource_lookup(const char *name);
/* The resource the store keeps res's objects under (itself for most). */
const drv_api_resource *drv_api_resource_storage(const drv_api_resource *res);

/* "apps/v1" or "v1" into buf (size >= 128); returns buf. */
const char *drv_api_resource_api_version(const drv_api_resource *res, char *buf, size_t size);
/* "deployments.apps" or "pods" (group-qualified resource, as Kubernetes messages name it). */
const char *drv_api_resource_qualified(const drv_api_resource *res, char *buf, size_t size);

/* Splits an apiVersion "apps/v1" into group "apps" and version "v1" ("v1" → "", "v1").
 * Returns -1 when malformed. Outputs point into the caller's buffers (size >= 128). */
int drv_api_split_api_version(const char *api_version, char *group, char *version, size_t size);

/* Group versions served, in order, each once ("v1", "apps/v1", ...). NULL-terminated static. */
const char *const *drv_api_group_versions(void);
/* Preferred version of a group ("" → "v1"); NULL when the group is not served. */
const char *drv_api_group_preferred_version(const char *group);

/* Subresource names: DRV_SUB_STATUS → "status"; returns NULL for an unknown bit. */
const char *drv_api_subresource_name(unsigned bit);
/* "status" → DRV_SUB_STATUS; 0 when unknown. */
unsigned drv_api_subresource_bit(const char *name);
/* "get" → DRV_VERB_GET; 0 when unknown. */
unsigned drv_api_verb_bit(const char *name);
const char *drv_api_verb_name(unsigned bit);

#endif
