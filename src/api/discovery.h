/* Discovery documents, as JSON strings (caller frees): legacy (/api, /apis, /api/v1,
 * /apis/G/V) and aggregated (apidiscovery.k8s.io/v2 APIGroupDiscoveryList). */
#ifndef DRV_API_DISCOVERY_H
#define DRV_API_DISCOVERY_H

/* /api: APIVersions {versions:["v1"], serverAddressByClientCIDRs:[{0.0.0.0/0, server_addr}]}. */
char *drv_api_discovery_core_versions(const char *server_addr);
/* /apis: APIGroupList of every served non-core group. */
char *drv_api_discovery_group_list(void);
/* /apis/G: APIGroup; NULL when not served. */
char *drv_api_discovery_group(const char *group);
/* /api/v1 (group "") or /apis/G/V: APIResourceList; NULL when not served. */
char *drv_api_discovery_resource_list(const char *group, const char *version);
/* Aggregated discovery: core true → the document for /api, false → for /apis. */
char *drv_api_discovery_aggregated(int core);

/* The Content-Type to answer aggregated discovery with. */
#define DRV_API_DISCOVERY_AGGREGATED_CT \
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

#endif
