#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"
#include "image/fail.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct unpack {
  struct archive *raw; /* decompressor: the layer blob as one raw stream */
  drv_sha256 h;        /* over the uncompressed bytes: the diffID */
  char buf[1 << 17];
  const char *dest;
  char *checked;       /* last parent directory known to be free of symlinks */
};

static la_ssize_t raw_read(struct archive *a, void *ud, const void **out)
{
  struct unpack *u = ud;
  la_ssize_t n = archive_read_data(u->raw, u->buf, sizeof u->buf);
  if (n < 0) {
    archive_set_error(a, EIO, "decompress: %s", archive_error_string(u->raw));
    return -1;
  }
  drv_sha256_update(&u->h, u->buf, (size_t)n);
  *out = u->buf;
  return n;
}

const char *drv_image_tar_name_problem(const char *name)
{
  if (!name || !*name) return "empty name";
  if (name[0] == '/') return "absolute name";
  const char *p = name;
  while (*p) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') return "`..` component";
    p += n;
    while (*p == '/') p++;
  }
  return NULL;
}

/* "./a//b/" → "a/b"; "./" → "". */
static char *clean_name(const char *name)
{
  drv_buf b = DRV_BUF_INIT;
  const char *p = name;
  while (*p) {
    while (*p == '/') p++;
    size_t n = strcspn(p, "/");
    if (n == 0) break;
    if (!(n == 1 && p[0] == '.')) {
      if (b.len) drv_buf_putc(&b, '/');
      drv_buf_append(&b, p, n);
    }
    p += n;
  }
  return drv_buf_steal(&b);
}

/* Every existing parent of rel must be a real directory, not a symlink (which could point
 * anywhere on the host). */
static int check_parents(struct unpack *u, const char *rel, drv_err *err)
{
  const char *slash = strrchr(rel, '/');
  if (!slash) return 0;
  size_t plen = (size_t)(slash - rel);
  if (u->checked && strlen(u->checked) == plen && !strncmp(u->checked, rel, plen)) return 0;
  _cleanup_free_ char *path = drv_asprintf("%s/%.*s", u->dest, (int)plen, rel);
  size_t base = strlen(u->dest) + 1;
  for (char *s = path + base;; s++) {
    if (*s != '/' && *s) continue;
    char c = *s;
    *s = '\0';
    struct stat st;
    if (lstat(path, &st) == 0) {
      if (S_ISLNK(st.st_mode))
        return drv_fail(err, EPERM, "layer entry `%s`: path goes through symlink `%s`", rel,
                         path + base);
      if (!S_ISDIR(st.st_mode))
        return drv_fail(err, ENOTDIR, "layer entry `%s`: parent `%s` is not a directory", rel,
                         path + base);
    } else if (errno != ENOENT) {
      return drv_error(err, errno, "layer entry `%s`: lstat `%s`", rel, path + base);
    } else {
      *s = c;
      break; /* the rest does not exist yet: libarchive creates real directories */
    }
    *s = c;
    if (!c) break;
  }
  free(u->checked);
  u->checked = drv_strndup(rel, plen);
  return 0;
}

static int ensure_parent_dirs(struct unpack *u, const char *rel, drv_err *err)
{
  const char *slash = strrchr(rel, '/');
  if (!slash) return 0;
  _cleanup_free_ char *p = drv_asprintf("%s/%.*s", u->dest, (int)(slash - rel), rel);
  return drv_mkdir_p(p, 0755, err);
}

static int whiteout(struct unpack *u, const char *rel, drv_err *err)
{
  const char *slash = strrchr(rel, '/');
  const char *base = slash ? slash + 1 : rel;
  if (check_parents(u, rel, err) < 0 || ensure_parent_dirs(u, rel, err) < 0) return -1;
  _cleanup_free_ char *dir = slash ? drv_asprintf("%s/%.*s", u->dest, (int)(slash - rel), rel)
                                   : drv_strdup(u->dest);
  if (!strcmp(base, WH_OPAQUE)) {
    if (setxattr(dir, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return drv_error(err, errno, "layer: mark `%s` opaque", rel);
    return 0;
  }
  const char *name = base + strlen(WH_PREFIX);
  if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
    return drv_fail(err, EINVAL, "layer: invalid whiteout `%s`", rel);
  _cleanup_free_ char *target = drv_asprintf("%s/%s", dir, name);
  struct stat st;
  if (lstat(target, &st) == 0 && drv_rm_rf(target, err) < 0) return -1;
  if (mknod(target, S_IFCHR | 0, makedev(0, 0)) < 0)
    return drv_error(err, errno, "layer: whiteout `%s`", rel);
  return 0;
}

/* Drops xattrs that would steer overlayfs (redirects, metacopy, opaque) from layer content. */
static void filter_xattrs(struct archive_entry *e)
{
  if (archive_entry_xattr_reset(e) == 0) return;
  struct {
    char *name;
    void *val;
    size_t size;
  } kept[64];
  size_t n = 0;
  bool dropped = false;
  const char *name;
  const void *val;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
    if (!strncmp(name, "trusted.overlay.", 16) || n == DRV_ARRAY_LEN(kept)) {
      dropped = true;
      continue;
    }
    kept[n].name = drv_strdup(name);
    kept[n].val = drv_malloc(size ? size : 1);
    memcpy(kept[n].val, val, size);
    kept[n].size = size;
    n++;
  }
  if (dropped) {
    archive_entry_xattr_clear(e);
    for (size_t i = 0; i < n; i++) archive_entry_xattr_add_entry(e, kept[i].name, kept[i].val, kept[i].size);
  }
  for (size_t i = 0; i < n; i++) {
    free(kept[i].name);
    free(kept[i].val);
  }
}

static int copy_data(struct archive *in, struct archive *out, const char *rel, drv_err *err)
{
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(in, &buf, &size, &off);
    if (r == ARCHIVE_EOF) return 0;
    if (r < ARCHIVE_OK)
      return drv_fail(err, EIO, "layer entry `%s`: %s", rel, archive_error_string(in));
    if (archive_write_data_block(out, buf, size, off) < ARCHIVE_OK)
      return drv_fail(err, EIO, "layer entry `%s`: write: %s", rel,
                       archive_error_string(out));
  }
}

static int extract_entries(struct unpack *u, struct archive *tar, struct archive *disk, drv_err *err)
{
  struct archive_entry *e;
  for (;;) {
    int r = archive_read_next_header(tar, &e);
    if (r == ARCHIVE_EOF) return 0;
    if (r < ARCHIVE_WARN) return drv_fail(err, EIO, "layer: read tar: %s", archive_error_string(tar));
    const char *raw = archive_entry_pathname(e);
    const char *why = drv_image_tar_name_problem(raw);
    if (why) return drv_fail(err, EPERM, "layer entry `%s`: refused: %s", raw ? raw : "", why);
    _cleanup_free_ char *rel = clean_name(raw);
    if (!*rel) continue; /* the layer root itself */
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) {
      if (whiteout(u, rel, err) < 0) return -1;
      continue;
    }
    if (check_parents(u, rel, err) < 0) return -1;
    _cleanup_free_ char *full = drv_asprintf("%s/%s", u->dest, rel);
    archive_entry_set_pathname(e, full);
    const char *link = archive_entry_hardlink(e);
    _cleanup_free_ char *lfull = NULL;
    if (link) {
      const char *lwhy = drv_image_tar_name_problem(link);
      if (lwhy) return drv_fail(err, EPERM, "layer entry `%s`: hardlink target `%s` refused: %s", rel, link, lwhy);
      _cleanup_free_ char *lrel = clean_name(link);
      if (!*lrel) return drv_fail(err, EPERM, "layer entry `%s`: hardlink to the layer root", rel);
      if (check_parents(u, lrel, err) < 0) return -1;
      lfull = drv_asprintf("%s/%s", u->dest, lrel);
      struct stat st;
      if (lstat(lfull, &st) < 0)
        return drv_error(err, errno, "layer entry `%s`: hardlink target `%s`", rel, lrel);
      if (S_ISDIR(st.st_mode))
        return drv_fail(err, EPERM, "layer entry `%s`: hardlink to directory `%s`", rel, lrel);
      archive_entry_set_hardlink(e, lfull);
    }
    /* A symlink may replace a directory checked before: check again from scratch. */
    if (archive_entry_filetype(e) == AE_IFLNK || archive_entry_filetype(e) == AE_IFDIR) {
      free(u->checked);
      u->checked = NULL;
    }
    filter_xattrs(e);
    r = archive_write_header(disk, e);
    if (r < ARCHIVE_WARN)
      return drv_fail(err, EIO, "layer entry `%s`: %s", rel, archive_error_string(disk));
    if (archive_entry_size(e) > 0 && !link && copy_data(tar, disk, rel, err) < 0) return -1;
    r = archive_write_finish_entry(disk);
    if (r < ARCHIVE_WARN)
      return drv_fail(err, EIO, "layer entry `%s`: %s", rel, archive_error_string(disk));
  }
}

int drv_image_unpack_layer(const char *blob_path, const char *dest,
                           char diff_id_out[DRV_DIGEST_LEN + 1], drv_err *err)
{
  struct unpack *u = drv_calloc(1, sizeof *u);
  u->dest = dest;
  drv_sha256_init(&u->h);
  struct archive *tar = NULL, *disk = NULL;
  int rc = -1;
  u->raw = archive_read_new();
  archive_read_support_filter_gzip(u->raw);
  archive_read_support_filter_zstd(u->raw);
  archive_read_support_format_raw(u->raw);
  archive_read_support_format_empty(u->raw);
  if (archive_read_open_filename(u->raw, blob_path, 1 << 17) != ARCHIVE_OK) {
    drv_fail(err, EIO, "layer: open `%s`: %s", blob_path, archive_error_string(u->raw));
    goto out;
  }
  struct archive_entry *re;
  int r = archive_read_next_header(u->raw, &re);
  if (r == ARCHIVE_EOF) {
    drv_fail(err, EINVAL, "layer `%s`: empty", blob_path);
    goto out;
  }
  if (r < ARCHIVE_WARN) {
    drv_fail(err, EIO, "layer `%s`: %s", blob_path, archive_error_string(u->raw));
    goto out;
  }
  tar = archive_read_new();
  archive_read_support_format_tar(tar);
  archive_read_support_format_gnutar(tar);
  if (archive_read_open(tar, u, NULL, raw_read, NULL) != ARCHIVE_OK) {
    drv_fail(err, EIO, "layer `%s`: not a tar archive: %s", blob_path, archive_error_string(tar));
    goto out;
  }
  disk = archive_write_disk_new();
  /* Symlinked parents are refused by check_parents(), which caches the last directory it
   * verified: libarchive's own SECURE_SYMLINKS walk re-opens every component of every
   * (absolute) path, nine opens per file on a typical layer.
   * No ARCHIVE_EXTRACT_UNLINK either: files are created with O_EXCL (an existing symlink is
   * never followed) and replaced on EEXIST, so unlinking first is a wasted call per entry. */
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
              ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk, flags);
  if (extract_entries(u, tar, disk, err) < 0) goto out;
  if (archive_write_close(disk) != ARCHIVE_OK) {
    drv_fail(err, EIO, "layer: finish: %s", archive_error_string(disk));
    goto out;
  }
  /* Hash what follows the tar end marker too: the diffID covers the whole stream. */
  for (;;) {
    la_ssize_t n = archive_read_data(u->raw, u->buf, sizeof u->buf);
    if (n < 0) {
      drv_fail(err, EIO, "layer `%s`: decompress: %s", blob_path, archive_error_string(u->raw));
      goto out;
    }
    if (n == 0) break;
    drv_sha256_update(&u->h, u->buf, (size_t)n);
  }
  drv_sha256_final(&u->h, diff_id_out);
  rc = 0;
out:
  drv_sha256_discard(&u->h);
  if (tar) archive_read_free(tar);
  if (disk) archive_write_free(disk);
  archive_read_free(u->raw);
  free(u->checked);
  free(u);
  return rc;
}
