/* Pieces of a pull shared with import (internal to the image layer). */
#ifndef DRV_IMAGE_PULL_H
#define DRV_IMAGE_PULL_H

#include "common/err.h"
#include "common/http_client.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/registry.h"

/* Downloads a blob into the store unless present; one download per digest at a time. */
int drv_image_fetch_blob(drv_image_store *s, drv_registry *reg, drv_http_client *c,
                         const drv_image_descriptor *d, drv_registry_progress_fn progress,
                         void *ctx, drv_err *err);
/* Unpacks blob `blob_digest` (present in the store) into layers/<diff_id> unless there,
 * verifying its uncompressed digest; the directory appears complete or not at all. */
int drv_image_ensure_layer(drv_image_store *s, const char *blob_digest, const char *diff_id,
                           drv_err *err);

#endif
