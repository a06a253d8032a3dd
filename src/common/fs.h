/* File-system helpers shared by every layer: durable writes, recursive create/remove. */
#ifndef DRV_COMMON_FS_H
#define DRV_COMMON_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* mkdir -p; existing directories are fine. */
int drv_mkdir_p(const char *path, mode_t mode, drv_err *err);
/* Reads a whole file (NUL-terminated; *len excludes the NUL). max 0 = no limit. */
int drv_read_file(const char *path, size_t max, char **out, size_t *len, drv_err *err);
/* Writes through a temporary file, fsyncs it, renames it over path and fsyncs the directory:
 * readers see the old or the new content, never a partial one, even across a crash. */
int drv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, drv_err *err);
/* rm -rf without following symlinks; a missing path is fine. */
int drv_rm_rf(const char *path, drv_err *err);
bool drv_path_exists(const char *path);
/* Writes all of buf, retrying short writes and EINTR. */
int drv_write_all(int fd, const void *buf, size_t len);
/* Reads until EOF or len bytes; returns bytes read or -1. */
ssize_t drv_read_all(int fd, void *buf, size_t len);

#endif
