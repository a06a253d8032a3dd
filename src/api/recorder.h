/* Events for what control loops do (core v1 Events with involvedObject, so `kubectl describe`
 * lists them). Repeats of the same reason and message on the same object within a short
 * window update one Event's count and lastTimestamp instead of creating another. */
#ifndef DRV_API_RECORDER_H
#define DRV_API_RECORDER_H

#include <jansson.h>

#include "api/client.h"

typedef struct drv_recorder drv_recorder;

/* component: source.component and reportingComponent ("default-scheduler",
 * "deployment-controller"…). */
drv_recorder *drv_recorder_new(drv_api_client *c, const char *component);
void drv_recorder_free(drv_recorder *r);

/* obj: the object concerned (apiVersion and kind may be missing: pass them). type "Normal" or
 * "Warning". Failures are logged, never returned: an Event is best effort. */
void drv_recorder_event(drv_recorder *r, const json_t *obj, const char *api_version,
                        const char *kind, const char *type, const char *reason,
                        const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* host: source.host and reportingInstance of every Event from now on (kubelet: the node). */
void drv_recorder_set_host(drv_recorder *r, const char *host);
/* Same as drv_recorder_event, with involvedObject.fieldPath (kubelet: "spec.containers{c}");
 * field_path NULL = none. */
void drv_recorder_event_field(drv_recorder *r, const json_t *obj, const char *api_version,
                              const char *kind, const char *field_path, const char *type,
                              const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
