#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/util.h"

static long long ns_of(struct timespec ts)
{
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The deadline is now + ms on the clock asked for, with tv_nsec kept below a second across
 * carries (999 ms, whole seconds, more than one second). */
static void deadline_is_now_plus_ms(void **state)
{
  (void)state;
  static const long long ms[] = {0, 1, 250, 999, 1000, 1500, 3999, 86400000};
  static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
  for (size_t c = 0; c < 2; c++)
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
      struct timespec before, after;
      clock_gettime(clocks[c], &before);
      struct timespec d = drv_deadline_ms(clocks[c], ms[i]);
      clock_gettime(clocks[c], &after);
      assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
      assert_true(ns_of(d) >= ns_of(before) + ms[i] * 1000000LL);
      assert_true(ns_of(d) <= ns_of(after) + ms[i] * 1000000LL);
    }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deadline_is_now_plus_ms),
  };
  return cmocka_run_group_tests_name("common_deadline", tests, NULL, NULL);
}
