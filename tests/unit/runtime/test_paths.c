/* Resolution of container paths inside the rootfs: symlinks and ".." never leave it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/internal.h"

static char root[128], outside[160];
static int rootfd = -1;

static int setup(void **state)
{
  (void)state;
  snprintf(root, sizeof root, "/tmp/drv-paths-XXXXXX");
  assert_non_null(mkdtemp(root));
  snprintf(outside, sizeof outside, "%s-outside", root);
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/etc", root);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/abs", root);
  assert_int_equal(symlink(outside, p), 0); /* absolute, would escape on the host */
  snprintf(p, sizeof p, "%s/rel", root);
  assert_int_equal(symlink("../../../../../../../tmp", p), 0);
  snprintf(p, sizeof p, "%s/etc/dangling", root);
  assert_int_equal(symlink("/run/target/file", p), 0);
  rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(rootfd >= 0);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  drv_err err;
  close(rootfd);
  drv_rm_rf(root, &err);
  drv_rm_rf(outside, &err);
  return 0;
}

/* The real path of an O_PATH fd. */
static void where(int fd, char *buf, size_t n)
{
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t r = readlink(link, buf, n - 1);
  assert_true(r > 0);
  buf[r] = '\0';
}

static void absolute_symlink_stays_inside(void **state)
{
  (void)state;
  drv_err err;
  int fd = drv_rt_open_in_root(rootfd, "/abs/sub", DRV_RT_CREATE_DIR, &err);
  if (fd < 0) fail_msg("%s", err.msg);
  char got[PATH_MAX];
  where(fd, got, sizeof got);
  close(fd);
  assert_int_equal(strncmp(got, root, strlen(root)), 0);
  assert_false(drv_path_exists(outside));
}

static void dotdot_symlink_is_clamped(void **state)
{
  (void)state;
  drv_err err;
  int fd = drv_rt_open_in_root(rootfd, "/rel/x/../y", DRV_RT_CREATE_DIR, &err);
  if (fd < 0) fail_msg("%s", err.msg);
  char got[PATH_MAX], want[PATH_MAX];
  where(fd, got, sizeof got);
  close(fd);
  snprintf(want, sizeof want, "%s/tmp/y", root);
  assert_string_equal(got, want);
}

static void dangling_symlink_target_is_created_inside(void **state)
{
  (void)state;
  drv_err err;
  int fd = drv_rt_open_in_root(rootfd, "/etc/dangling", DRV_RT_CREATE_FILE, &err);
  if (fd < 0) fail_msg("%s", err.msg);
  char got[PATH_MAX], want[PATH_MAX];
  where(fd, got, sizeof got);
  close(fd);
  snprintf(want, sizeof want, "%s/run/target/file", root);
  assert_string_equal(got, want);
  struct stat st;
  assert_int_equal(stat(want, &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void missing_without_create_fails(void **state)
{
  (void)state;
  drv_err err;
  assert_true(drv_rt_open_in_root(rootfd, "/nope/nope", DRV_RT_NOCREATE, &err) < 0);
  assert_non_null(strstr(err.msg, "/nope/nope"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(absolute_symlink_stays_inside),
      cmocka_unit_test(dotdot_symlink_is_clamped),
      cmocka_unit_test(dangling_symlink_target_is_created_inside),
      cmocka_unit_test(missing_without_create_fails),
  };
  return cmocka_run_group_tests_name("runtime_paths", tests, setup, teardown);
}
