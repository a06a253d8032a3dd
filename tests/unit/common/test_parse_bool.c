#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/parse_bool.h"

static void spellings_of_go_parse_bool(void **state)
{
  (void)state;
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(drv_parse_bool(yes[i]), 1);
    assert_true(drv_parse_bool_true(yes[i]));
    assert_int_equal(drv_parse_bool(no[i]), 0);
    assert_false(drv_parse_bool_true(no[i]));
  }
}

static void anything_else_is_invalid(void **state)
{
  (void)state;
  static const char *const bad[] = {"", "tRuE", "yes", "2", "true ", "on", "FaLsE"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(drv_parse_bool(bad[i]), -1);
    assert_false(drv_parse_bool_true(bad[i]));
  }
  assert_int_equal(drv_parse_bool(NULL), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spellings_of_go_parse_bool),
      cmocka_unit_test(anything_else_is_invalid),
  };
  return cmocka_run_group_tests_name("common_parse_bool", tests, NULL, NULL);
}
