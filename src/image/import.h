/* Loading images without a registry: `docker save` archives (manifest.json, also the newer
 * ones that carry an OCI layout), OCI image archives (a tar of a layout) and OCI layout
 * directories. Every blob is verified against its digest while copied into the store. */
#ifndef DRV_IMAGE_IMPORT_H
#define DRV_IMAGE_IMPORT_H

#include "common/err.h"
#include "image/image.h"

/* name (may be NULL) names the image when the archive holds one image; otherwise the names
 * in the archive are used (RepoTags, io.containerd.image.name, or
 * org.opencontainers.image.ref.name when it is a full reference). *refs_out gets the
 * normalized references recorded (NULL-terminated, caller frees with drv_strv_free). */
int drv_image_import(drv_image_store *s, const char *path, const char *name, char ***refs_out,
                     drv_err *err);

#endif
