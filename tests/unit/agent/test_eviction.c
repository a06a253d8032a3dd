/* Eviction thresholds in kubelet's --eviction-hard syntax, crossing, the eviction order and the
 * quantities printed in messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agent/eviction.h"

static void parses_kubelet_syntax(void **state)
{
  (void)state;
  drv_ev_config c;
  drv_err err;
  assert_int_equal(drv_ev_parse(NULL, &c, &err), 0); /* kubelet's defaults */
  assert_true(c.t[DRV_EV_MEMORY_AVAILABLE].set);
  assert_int_equal(c.t[DRV_EV_MEMORY_AVAILABLE].quantity, 100ll << 20);
  assert_true(c.t[DRV_EV_NODEFS_AVAILABLE].percent);
  assert_true(c.t[DRV_EV_NODEFS_AVAILABLE].pct == 10.0);
  assert_true(c.t[DRV_EV_NODEFS_INODES_FREE].pct == 5.0);
  assert_true(c.t[DRV_EV_IMAGEFS_AVAILABLE].pct == 15.0);
  assert_false(c.t[DRV_EV_PID_AVAILABLE].set);

  /* a list replaces all the defaults */
  assert_int_equal(drv_ev_parse("memory.available<100Ti", &c, &err), 0);
  assert_int_equal(c.t[DRV_EV_MEMORY_AVAILABLE].quantity, 100ll << 40);
  assert_false(c.t[DRV_EV_NODEFS_AVAILABLE].set);
  assert_int_equal(drv_ev_parse(" nodefs.available < 2.5% , pid.available<1000 ", &c, &err), 0);
  assert_true(c.t[DRV_EV_NODEFS_AVAILABLE].pct == 2.5);
  assert_int_equal(c.t[DRV_EV_PID_AVAILABLE].quantity, 1000);
  assert_int_equal(drv_ev_parse("", &c, &err), 0); /* off */
  for (int s = 0; s < DRV_EV_NSIGNALS; s++) assert_false(c.t[s].set);

  const char *bad[][2] = {
      {"memory.available>1Gi", "only < is supported"},
      {"memory.free<1Gi", "unknown signal `memory.free`"},
      {"memory.available<lots", "`lots` is not a quantity"},
      {"nodefs.available<120%", "between 0% and 100%"},
      {"memory.available<1Gi,memory.available<2Gi", "given twice"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(drv_ev_parse(bad[i][0], &c, &err), -1);
    if (!strstr(err.msg, bad[i][1])) fail_msg("%s: %s", bad[i][0], err.msg);
  }
}

static void crossing(void **state)
{
  (void)state;
  drv_ev_threshold q = {.set = true, .quantity = 100};
  assert_true(drv_ev_crossed(&q, 99, 1000));
  assert_false(drv_ev_crossed(&q, 100, 1000));
  drv_ev_threshold p = {.set = true, .percent = true, .pct = 10};
  assert_int_equal(drv_ev_threshold_value(&p, 1000), 100);
  assert_true(drv_ev_crossed(&p, 50, 1000));
  assert_false(drv_ev_crossed(&p, 500, 1000));
  drv_ev_threshold off = {0};
  assert_false(drv_ev_crossed(&off, 0, 1000));
}

static void kubelet_order(void **state)
{
  (void)state;
  drv_ev_candidate c[] = {
      {.usage = 500, .request = 1000, .priority = 0, .index = 0},  /* Burstable within requests */
      {.usage = 10, .request = 0, .priority = 0, .index = 1},      /* BestEffort, small */
      {.usage = 900, .request = 100, .priority = 0, .index = 2},   /* Burstable over requests */
      {.usage = 50, .request = 0, .priority = 0, .index = 3},      /* BestEffort, larger */
      {.usage = 5000, .request = 5000, .priority = 0, .index = 4}, /* Guaranteed */
      {.usage = 2000, .request = 0, .priority = 1000, .index = 5}, /* over requests, high priority */
      {.usage = 100, .request = 2000, .priority = -5, .index = 6}, /* within requests, low priority */
  };
  drv_ev_rank(c, sizeof c / sizeof *c);
  size_t want[] = {2, 3, 1, 5, 6, 4, 0};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_int_equal(c[i].index, want[i]);
}

static void quantities(void **state)
{
  (void)state;
  const struct {
    int64_t v;
    const char *s;
  } cases[] = {{100ll << 40, "100Ti"}, {100ll << 20, "100Mi"}, {1536 * 1024, "1536Ki"}, {1000, "1000"}, {0, "0"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *s = drv_ev_format_bytes(cases[i].v);
    assert_string_equal(s, cases[i].s);
    free(s);
  }
}

static void durations(void **state)
{
  (void)state;
  const struct {
    const char *s;
    long long ms;
  } ok[] = {{"5m0s", 300000}, {"30s", 30000}, {"1h", 3600000}, {"250ms", 250}, {"1m30s", 90000}, {"0", 0},
            {"0s", 0}, {"1.5s", 1500}};
  drv_err err;
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    long long ms = -1;
    assert_int_equal(drv_ev_parse_duration(ok[i].s, &ms, &err), 0);
    assert_int_equal(ms, ok[i].ms);
  }
  const char *bad[] = {"", "5", "5x", "m", "-1s", "1s2"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    long long ms;
    assert_int_equal(drv_ev_parse_duration(bad[i], &ms, &err), -1);
    assert_non_null(strstr(err.msg, "duration"));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_kubelet_syntax),
      cmocka_unit_test(crossing),
      cmocka_unit_test(kubelet_order),
      cmocka_unit_test(quantities),
      cmocka_unit_test(durations),
  };
  return cmocka_run_group_tests_name("agent_eviction", tests, NULL, NULL);
}
