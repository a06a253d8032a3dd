/* OpenAPI v3: the /openapi/v3 index and one document per served group-version, generated
 * from the schema tables (schema.h). Documents are built once and cached for the process. */
#ifndef DRV_API_OPENAPI_H
#define DRV_API_OPENAPI_H

#include <stddef.h>

/* /openapi/v3: {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=H"}, ...}}.
 * Static string, valid for the process lifetime. */
const char *drv_api_openapi_index(void);
/* The document for "api/v1", "apis/apps/v1", ... (leading '/' and "openapi/v3/" accepted);
 * NULL when unknown. *hash (optional) gets its hash (uppercase hex, as the index uses).
 * Static string, valid for the process lifetime. */
const char *drv_api_openapi_doc(const char *path, const char **hash);
/* /openapi/v2: the OpenAPIv2 Document (gnostic's protobuf, as kubectl asks for it) with the v3
 * documents' definitions; *len gets its size. Static, valid for the process lifetime. */
const char *drv_api_openapi_v2(size_t *len);
#define DRV_API_OPENAPI_V2_CT "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

#endif
