/* kubelet's atomic writer for configMap/secret/downwardAPI/projected volumes (volumes.c):
 * exposed for the unit tests and anything else that publishes a set of files atomically. */
#ifndef DRV_AGENT_VOLWRITE_H
#define DRV_AGENT_VOLWRITE_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

typedef struct drv_vol_file {
  const char *path; /* relative, no `..` element, not starting with `..` */
  const void *data;
  size_t len;
  int mode;         /* 0..0777 */
} drv_vol_file;

/* Writes files into dir (which exists) as a new `..<timestamp>` set, swaps `..data` to it and
 * keeps one top-level symlink per name; the set replaced stays until the next write.
 * fsgid >= 0: group fsgid, group-readable files, setgid directories. */
int drv_vol_write(const char *dir, const drv_vol_file *files, size_t n, int fsgid, drv_err *err);
/* kubelet's text of metadata.labels/annotations: key="value" lines, sorted, Go-quoted. */
char *drv_vol_format_map(const json_t *m);

#endif
