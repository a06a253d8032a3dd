#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static void append_grows_and_terminates(void **state)
{
  (void)state;
  _cleanup_buf_ drv_buf b = DRV_BUF_INIT;
  for (int i = 0; i < 1000; i++) drv_buf_printf(&b, "%d,", i);
  assert_int_equal(b.data[b.len], '\0');
  assert_true(strncmp(b.data, "0,1,2,", 6) == 0);
  assert_non_null(strstr(b.data, ",999,"));
}

static void steal_empties(void **state)
{
  (void)state;
  drv_buf b = DRV_BUF_INIT;
  char *s = drv_buf_steal(&b);
  assert_string_equal(s, "");
  free(s);
  drv_buf_puts(&b, "abc");
  s = drv_buf_steal(&b);
  assert_string_equal(s, "abc");
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(append_grows_and_terminates),
      cmocka_unit_test(steal_empties),
  };
  return cmocka_run_group_tests_name("common_buf", tests, NULL, NULL);
}
