/* Range allocation (node ports, ClusterIPs) and the range/CIDR flag parsers. */
#include "helpers.h"

#include "api/rangealloc.h"

static void picks_free_values_and_fills_up(void **state)
{
  (void)state;
  drv_range_alloc a;
  drv_range_alloc_init(&a, 30000, 5);
  drv_range_alloc_use(&a, 30002);
  drv_range_alloc_use(&a, 29999); /* outside: ignored */
  drv_range_alloc_use(&a, 30005);
  assert_true(drv_range_alloc_is_used(&a, 30002));
  assert_false(drv_range_alloc_is_used(&a, 30005));
  assert_false(drv_range_alloc_contains(&a, 30005));
  assert_true(drv_range_alloc_contains(&a, 30000));
  uint32_t v, seen = 0;
  /* from offset 2 (in use) the search moves up and wraps */
  assert_int_equal(drv_range_alloc_pick(&a, 0, 5, 2, &v), 0);
  assert_int_equal(v, 30003);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(drv_range_alloc_pick(&a, 0, 5, 7, &v), 0);
    assert_true(v >= 30000 && v < 30005 && v != 30002 && v != 30003);
    seen |= 1u << (v - 30000);
  }
  assert_int_equal(seen, (1u << 0) | (1u << 1) | (1u << 4));
  assert_int_equal(drv_range_alloc_pick(&a, 0, 5, 0, &v), -1);
  drv_range_alloc_release(&a);
}

static void sub_range_and_big_start(void **state)
{
  (void)state;
  drv_range_alloc a;
  drv_range_alloc_init(&a, 0x0a600000u, 1u << 20);
  uint32_t v;
  /* ClusterIPs: offsets 10 .. size-3, whatever the start */
  assert_int_equal(drv_range_alloc_pick(&a, 10, (1u << 20) - 2, 0xffffffffu, &v), 0);
  assert_true(v - 0x0a600000u >= 10 && v - 0x0a600000u < (1u << 20) - 2);
  assert_int_equal(drv_range_alloc_pick(&a, 4, 4, 0, &v), -1); /* empty span */
  drv_range_alloc_release(&a);
}

static void parsers(void **state)
{
  (void)state;
  uint32_t first, size, base;
  drv_err err = {0};
  assert_int_equal(drv_port_range_parse("30000-32767", &first, &size, &err), 0);
  assert_int_equal(first, 30000);
  assert_int_equal(size, 2768);
  assert_int_equal(drv_port_range_parse("80-80", &first, &size, &err), 0);
  assert_int_equal(size, 1);
  static const char *const bad[] = {"", "30000", "3-1", "0-10", "1-70000", "a-b", "1-2x", "-1-5", NULL};
  for (const char *const *b = bad; *b; b++) {
    assert_int_equal(drv_port_range_parse(*b, &first, &size, &err), -1);
    assert_non_null(strstr(err.msg, *b));
  }
  assert_int_equal(drv_ipv4_cidr_range("10.96.0.0/12", &base, &size, &err), 0);
  assert_int_equal(base, 0x0a600000u);
  assert_int_equal(size, 1u << 20);
  assert_int_equal(drv_ipv4_cidr_range("10.96.3.4/24", &base, &size, &err), 0);
  assert_int_equal(base, 0x0a600300u);
  static const char *const badc[] = {"10.96.0.0", "10.96.0.0/", "10.96.0.0/33", "10.96.0.0/4",
                                     "x/12", "10.96.0.0/12z", "::1/64", NULL};
  for (const char *const *b = badc; *b; b++) {
    assert_int_equal(drv_ipv4_cidr_range(*b, &base, &size, &err), -1);
    assert_non_null(strstr(err.msg, *b));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(picks_free_values_and_fills_up),
      cmocka_unit_test(sub_range_and_big_start),
      cmocka_unit_test(parsers),
  };
  return cmocka_run_group_tests_name("api_rangealloc", tests, NULL, NULL);
}
