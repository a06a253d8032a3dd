#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common/err.h"

static void error_carries_errno_text(void **state)
{
  (void)state;
  drv_err err;
  assert_int_equal(drv_error(&err, ENOENT, "open `%s`", "/x"), -1);
  assert_int_equal(err.errnum, ENOENT);
  assert_string_equal(err.msg, "open `/x`: No such file or directory");
}

static void prefix_adds_context(void **state)
{
  (void)state;
  drv_err err;
  drv_error(&err, 0, "bad field `process.args`");
  drv_err_prefix(&err, "create container `%s`", "c1");
  assert_string_equal(err.msg, "create container `c1`: bad field `process.args`");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_carries_errno_text),
      cmocka_unit_test(prefix_adds_context),
  };
  return cmocka_run_group_tests_name("common_err", tests, NULL, NULL);
}
