/* Layer unpacking: a (gzip|zstd|plain) tar layer into an empty directory, hashing the
 * uncompressed stream (the diffID) as it goes. Whiteouts become overlayfs whiteouts in the
 * directory (".wh.x" → character device 0/0 "x"; ".wh..wh..opq" → trusted.overlay.opaque=y on
 * the parent), so the directory can serve as an overlay lower layer as it is. Absolute names,
 * ".." components, hardlinks leaving the layer and paths through symlinks are refused: nothing
 * is ever written outside dest. */
#ifndef DRV_IMAGE_UNPACK_H
#define DRV_IMAGE_UNPACK_H

#include "common/err.h"
#include "image/digest.h"

/* dest must be an absolute path without symlinks to an existing, empty directory. */
int drv_image_unpack_layer(const char *blob_path, const char *dest,
                           char diff_id_out[DRV_DIGEST_LEN + 1], drv_err *err);

/* Checks a tar entry name: NULL when fine, else why not. Leading "./" and "/" are part of the
 * check: names must be relative and free of "..". */
const char *drv_image_tar_name_problem(const char *name);

#endif
