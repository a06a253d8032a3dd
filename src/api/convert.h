/* Conversion between the served versions of a stored kind: autoscaling/v1 ⇄ v2
 * HorizontalPodAutoscaler (stored as v2), events.k8s.io/v1 ⇄ core v1 Event (stored as v1). */
#ifndef DRV_API_CONVERT_H
#define DRV_API_CONVERT_H

#include <jansson.h>

#include "api/resource.h"
#include "common/err.h"

/* Returns a new object of obj (of resource `from`) in the form of `to` (same kind family);
 * a copy when from and to are the same group/version. NULL + err for unrelated kinds. */
json_t *drv_api_convert(const json_t *obj, const drv_api_resource *from,
                        const drv_api_resource *to, drv_err *err);

#endif
