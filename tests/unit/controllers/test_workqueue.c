/* Work queue: a key queued many times is processed once; re-added while held, it comes back
 * after done(); delays; shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "controllers/workqueue.h"

static void test_dedup(void **st)
{
  drv_workqueue *q = drv_workqueue_new();
  drv_workqueue_add(q, "a");
  drv_workqueue_add(q, "a");
  drv_workqueue_add(q, "b");
  assert_int_equal(drv_workqueue_len(q), 2);
  char *k = drv_workqueue_get(q, 100);
  assert_string_equal(k, "a");
  /* re-added while held: not handed to another worker now, but after done() */
  drv_workqueue_add(q, "a");
  char *k2 = drv_workqueue_get(q, 100);
  assert_string_equal(k2, "b");
  assert_null(drv_workqueue_get(q, 50));
  drv_workqueue_done(q, k);
  char *k3 = drv_workqueue_get(q, 100);
  assert_string_equal(k3, "a");
  drv_workqueue_done(q, k2);
  drv_workqueue_done(q, k3);
  assert_null(drv_workqueue_get(q, 20));
  free(k);
  free(k2);
  free(k3);
  drv_workqueue_free(q);
}

static void test_delay_and_shutdown(void **st)
{
  drv_workqueue *q = drv_workqueue_new();
  long long t0 = drv_now_ms();
  drv_workqueue_add_after(q, "later", 150);
  assert_null(drv_workqueue_get(q, 50));
  char *k = drv_workqueue_get(q, 1000);
  assert_string_equal(k, "later");
  assert_true(drv_now_ms() - t0 >= 140);
  drv_workqueue_done(q, k);
  free(k);
  drv_workqueue_add_rate_limited(q, "r"); /* 5 ms */
  k = drv_workqueue_get(q, 1000);
  assert_string_equal(k, "r");
  drv_workqueue_done(q, k);
  free(k);
  drv_workqueue_shutdown(q);
  drv_workqueue_add(q, "x");
  assert_null(drv_workqueue_get(q, 1000));
  drv_workqueue_free(q);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dedup),
      cmocka_unit_test(test_delay_and_shutdown),
  };
  return cmocka_run_group_tests_name("controllers_workqueue", tests, NULL, NULL);
}
