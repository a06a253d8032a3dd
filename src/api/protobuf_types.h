/* Internal: the protobuf message table (protobuf_types.c) the decoder reads. */
#ifndef DRV_API_PROTOBUF_TYPES_H
#define DRV_API_PROTOBUF_TYPES_H

typedef struct drv_pb_msg {
  const char *name;   /* "core.Service", "apps.Deployment", "meta.ObjectMeta" */
  const char *fields; /* "1 metadata m meta.ObjectMeta|2 spec m core.ServiceSpec|..." */
} drv_pb_msg;

extern const drv_pb_msg drv_pb_msgs[]; /* terminated by {NULL, NULL} */

#endif
