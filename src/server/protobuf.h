/* Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf) decoded to JSON for
 * the kinds kubectl's typed commands send. */
#ifndef DRV_SERVER_PROTOBUF_H
#define DRV_SERVER_PROTOBUF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

bool drv_pb_is_protobuf(const char *content_type);
/* The object as JSON (apiVersion and kind set), or NULL + err naming what is not supported. */
json_t *drv_pb_decode(const char *body, size_t len, drv_err *err);

#endif
