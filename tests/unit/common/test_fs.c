#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/util.h"

static void atomic_write_then_read(void **state)
{
  (void)state;
  char dir[] = "/tmp/drv-test-fs-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *deep = drv_asprintf("%s/a/b/c", dir);
  drv_err err;
  assert_int_equal(drv_mkdir_p(deep, 0755, &err), 0);
  _cleanup_free_ char *file = drv_asprintf("%s/f", deep);
  assert_int_equal(drv_write_file_atomic(file, "hello", 5, 0644, &err), 0);
  char *data = NULL;
  size_t len = 0;
  assert_int_equal(drv_read_file(file, 0, &data, &len, &err), 0);
  assert_int_equal(len, 5);
  assert_string_equal(data, "hello");
  free(data);
  assert_int_equal(drv_read_file(file, 3, &data, &len, &err), -1);
  assert_non_null(strstr(err.msg, "larger than 3 bytes"));
  assert_int_equal(drv_rm_rf(dir, &err), 0);
  assert_false(drv_path_exists(dir));
}

static void read_missing_names_path(void **state)
{
  (void)state;
  drv_err err;
  char *data = NULL;
  assert_int_equal(drv_read_file("/nonexistent/drv", 0, &data, NULL, &err), -1);
  assert_non_null(strstr(err.msg, "/nonexistent/drv"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(atomic_write_then_read),
      cmocka_unit_test(read_missing_names_path),
  };
  return cmocka_run_group_tests_name("common_fs", tests, NULL, NULL);
}
