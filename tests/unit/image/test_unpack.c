#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "image/image.h"
#include "image/unpack.h"

struct ent {
  const char *name;
  int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, 0 = hardlink */
  const char *data_or_target;
};

/* Writes a gzip tar with the given entries to path. */
static void make_tar(const char *path, const struct ent *e, size_t n)
{
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, e[i].name);
    archive_entry_set_mtime(ae, 1600000000, 0);
    if (e[i].type == AE_IFDIR) {
      archive_entry_set_filetype(ae, AE_IFDIR);
      archive_entry_set_perm(ae, 0755);
    } else if (e[i].type == AE_IFLNK) {
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_perm(ae, 0777);
      archive_entry_set_symlink(ae, e[i].data_or_target);
    } else if (e[i].type == 0) {
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_perm(ae, 0644);
      archive_entry_set_hardlink(ae, e[i].data_or_target);
    } else {
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_perm(ae, 0644);
      const char *d = e[i].data_or_target ? e[i].data_or_target : "";
      archive_entry_set_size(ae, (la_int64_t)strlen(d));
    }
    assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
    if (e[i].type == AE_IFREG && e[i].data_or_target)
      archive_write_data(a, e[i].data_or_target, strlen(e[i].data_or_target));
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
}

struct fx {
  char root[64];
  char tar[128], dest[128];
};

static int setup(void **state)
{
  struct fx *f = drv_calloc(1, sizeof *f);
  strcpy(f->root, "/tmp/drv-unpack-XXXXXX");
  if (!mkdtemp(f->root)) return -1;
  snprintf(f->tar, sizeof f->tar, "%s/layer.tgz", f->root);
  snprintf(f->dest, sizeof f->dest, "%s/dest", f->root);
  mkdir(f->dest, 0755);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  drv_rm_rf(f->root, NULL);
  free(f);
  return 0;
}

static void whiteouts_and_hardlinks(void **state)
{
  struct fx *f = *state;
  const struct ent e[] = {
      {"./", AE_IFDIR, NULL},
      {"./etc/", AE_IFDIR, NULL},
      {"./etc/.wh.gone", AE_IFREG, NULL},
      {"./dir/", AE_IFDIR, NULL},
      {"./dir/.wh..wh..opq", AE_IFREG, NULL},
      {"./dir/new", AE_IFREG, "n"},
      {"./dir/hard", 0, "./dir/new"},
      {"./lnk", AE_IFLNK, "/etc/passwd"},
  };
  make_tar(f->tar, e, DRV_ARRAY_LEN(e));
  char diff[DRV_DIGEST_LEN + 1];
  drv_err err;
  if (drv_image_unpack_layer(f->tar, f->dest, diff, &err) < 0) fail_msg("%s", err.msg);
  char p[256];
  struct stat st;
  snprintf(p, sizeof p, "%s/etc/gone", f->dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  snprintf(p, sizeof p, "%s/etc/.wh.gone", f->dest);
  assert_int_equal(lstat(p, &st), -1);
  snprintf(p, sizeof p, "%s/dir", f->dest);
  char v[4] = {0};
  assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof v), 1);
  assert_int_equal(v[0], 'y');
  struct stat a, b;
  snprintf(p, sizeof p, "%s/dir/new", f->dest);
  assert_int_equal(stat(p, &a), 0);
  snprintf(p, sizeof p, "%s/dir/hard", f->dest);
  assert_int_equal(stat(p, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino);
  assert_true(drv_digest_valid(diff));
}

static void expect_refused(struct fx *f, const struct ent *e, size_t n, const char *why)
{
  make_tar(f->tar, e, n);
  char diff[DRV_DIGEST_LEN + 1];
  drv_err err;
  assert_int_equal(drv_image_unpack_layer(f->tar, f->dest, diff, &err), -1);
  if (!strstr(err.msg, why)) fail_msg("want `%s` in `%s`", why, err.msg);
  char p[256];
  snprintf(p, sizeof p, "%s/escape", f->root);
  assert_false(drv_path_exists(p));
}

static void traversal_refused(void **state)
{
  struct fx *f = *state;
  const struct ent dotdot[] = {{"../escape", AE_IFREG, "x"}};
  expect_refused(f, dotdot, 1, "`..` component");
  const struct ent inner[] = {{"a/", AE_IFDIR, NULL}, {"a/../../escape", AE_IFREG, "x"}};
  expect_refused(f, inner, 2, "`..` component");
  const struct ent viasym[] = {{"s", AE_IFLNK, ".."}, {"s/escape", AE_IFREG, "x"}};
  expect_refused(f, viasym, 2, "symlink");
  const struct ent hl[] = {{"h", 0, "../escape"}};
  expect_refused(f, hl, 1, "`..` component");
  const struct ent whsym[] = {{"w", AE_IFLNK, ".."}, {"w/.wh.escape", AE_IFREG, NULL}};
  expect_refused(f, whsym, 2, "symlink");
  assert_non_null(drv_image_tar_name_problem("/etc/passwd"));
  assert_null(drv_image_tar_name_problem("./a/..b/c.."));
}

/* A later entry with the name of an earlier symlink replaces the symlink, never writes
 * through it; same for hardlinks. */
static void symlink_replaced_not_followed(void **state)
{
  struct fx *f = *state;
  char target[160];
  snprintf(target, sizeof target, "%s/escape", f->root);
  const struct ent e[] = {
      {"s", AE_IFLNK, target},
      {"s", AE_IFREG, "inside"},
      {"t", AE_IFLNK, target},
      {"u", AE_IFREG, "u"},
      {"t", 0, "u"},
  };
  make_tar(f->tar, e, DRV_ARRAY_LEN(e));
  char diff[DRV_DIGEST_LEN + 1];
  drv_err err;
  if (drv_image_unpack_layer(f->tar, f->dest, diff, &err) < 0) fail_msg("%s", err.msg);
  assert_false(drv_path_exists(target));
  char p[256];
  struct stat st;
  snprintf(p, sizeof p, "%s/s", f->dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  snprintf(p, sizeof p, "%s/t", f->dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void garbage_refused(void **state)
{
  struct fx *f = *state;
  FILE *fp = fopen(f->tar, "w");
  fputs("\x1f\x8b\x08\x00 this is not really gzip", fp);
  fclose(fp);
  char diff[DRV_DIGEST_LEN + 1];
  drv_err err;
  assert_int_equal(drv_image_unpack_layer(f->tar, f->dest, diff, &err), -1);
  assert_true(strlen(err.msg) > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(whiteouts_and_hardlinks, setup, teardown),
      cmocka_unit_test_setup_teardown(traversal_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(symlink_replaced_not_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(garbage_refused, setup, teardown),
  };
  return cmocka_run_group_tests_name("image_unpack", tests, NULL, NULL);
}
