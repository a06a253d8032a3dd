/* Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf) of request bodies:
 * kubectl's typed clients (create deployment|service|configmap|secret|namespace, autoscale...)
 * send it. Decoded to the same JSON object a JSON body would give. */
#ifndef DRV_API_PROTOBUF_H
#define DRV_API_PROTOBUF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define DRV_API_PROTOBUF_CT "application/vnd.kubernetes.protobuf"

/* True when content_type (parameters ignored) is the Kubernetes protobuf type. */
bool drv_api_is_protobuf(const char *content_type);
/* Decodes an envelope ("k8s\0" + runtime.Unknown{typeMeta, raw}) into a JSON object with
 * apiVersion and kind set. NULL + err (naming what is wrong) on malformed input or an
 * apiVersion/kind drover does not serve. */
json_t *drv_api_protobuf_decode(const void *buf, size_t len, drv_err *err);

#endif
