/* Deployment arithmetic as Kubernetes computes it: percentages and their rounding, fenceposts,
 * rolling steps, and the pod-template hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controllers/deployutil.h"

static long long scaled(const char *s, long long total, bool up)
{
  json_t *v = json_string(s);
  long long out = -1;
  drv_err err;
  assert_int_equal(drv_deploy_scaled_value(v, total, up, 0, &out, &err), 0);
  json_decref(v);
  return out;
}

static void test_percentages_round(void **st)
{
  /* maxSurge rounds up, maxUnavailable down (Kubernetes' GetScaledValueFromIntOrPercent) */
  assert_int_equal(scaled("25%", 10, true), 3);
  assert_int_equal(scaled("25%", 10, false), 2);
  assert_int_equal(scaled("25%", 1, true), 1);
  assert_int_equal(scaled("25%", 1, false), 0);
  assert_int_equal(scaled("50%", 3, true), 2);
  assert_int_equal(scaled("50%", 3, false), 1);
  assert_int_equal(scaled("100%", 7, false), 7);
  assert_int_equal(scaled("0%", 7, true), 0);
  assert_int_equal(scaled("33%", 100, true), 33);
  assert_int_equal(scaled("5", 100, true), 5); /* a number in a string */
  json_t *i = json_integer(4);
  long long out;
  drv_err err;
  assert_int_equal(drv_deploy_scaled_value(i, 10, true, 0, &out, &err), 0);
  assert_int_equal(out, 4);
  json_decref(i);
  json_t *bad = json_string("ten%");
  assert_int_equal(drv_deploy_scaled_value(bad, 10, true, 0, &out, &err), -1);
  assert_non_null(strstr(err.msg, "invalid value"));
  json_decref(bad);
  assert_int_equal(drv_deploy_scaled_value(NULL, 10, true, 7, &out, &err), 0);
  assert_int_equal(out, 7);
}

static void test_fenceposts(void **st)
{
  long long s, u;
  drv_err err;
  assert_int_equal(drv_deploy_fenceposts(NULL, NULL, 10, &s, &u, &err), 0); /* 25%/25% */
  assert_int_equal(s, 3);
  assert_int_equal(u, 2);
  assert_int_equal(drv_deploy_fenceposts(NULL, NULL, 1, &s, &u, &err), 0);
  assert_int_equal(s, 1);
  assert_int_equal(u, 0);
  json_t *zero = json_integer(0);
  assert_int_equal(drv_deploy_fenceposts(zero, zero, 5, &s, &u, &err), 0);
  assert_int_equal(s, 0);
  assert_int_equal(u, 1); /* both zero: one may be unavailable, or nothing could move */
  json_decref(zero);
}

static void test_rolling_steps(void **st)
{
  /* 10 replicas, surge 3: a new RS starts at 3, grows as old ones shrink */
  assert_int_equal(drv_deploy_new_rs_replicas(10, 3, 10, 0), 3);
  assert_int_equal(drv_deploy_new_rs_replicas(10, 3, 13, 3), 3);  /* at max total */
  assert_int_equal(drv_deploy_new_rs_replicas(10, 3, 11, 3), 5);  /* old shrank by 2 */
  assert_int_equal(drv_deploy_new_rs_replicas(10, 3, 5, 9), 10);  /* capped at replicas */
  /* old pods that may go: 10 replicas, maxUnavailable 2, 13 in all, new 3 of which 0 available */
  assert_int_equal(drv_deploy_max_scaled_down(10, 2, 13, 3, 0), 2); /* 13 - 8 - 3 */
  assert_int_equal(drv_deploy_max_scaled_down(10, 2, 13, 3, 3), 5);
  assert_int_equal(drv_deploy_max_scaled_down(6, 1, 7, 1, 1), 2);
}

static void test_proportions(void **st)
{
  /* 10 replicas + surge 3 mid-rollout: A=8, B=5 (both scaled under max 13). Scaled to 20
   * (surge 5): 12 to add, split by size */
  long long sizes[2] = {8, 5}, ann[2] = {13, 13}, out[2];
  drv_deploy_proportions(2, sizes, ann, 20, 5, 13, out);
  assert_int_equal(out[0], 15);
  assert_int_equal(out[1], 10);
  /* down to 5 (surge 2): 6 to remove from 13 */
  drv_deploy_proportions(2, sizes, ann, 5, 2, 13, out);
  assert_int_equal(out[0] + out[1], 7);
  assert_int_equal(out[0], 4);
  assert_int_equal(out[1], 3);
  /* to zero: everything goes */
  drv_deploy_proportions(2, sizes, ann, 0, 0, 13, out);
  assert_int_equal(out[0], 0);
  assert_int_equal(out[1], 0);
}

static void test_template_hash(void **st)
{
  json_t *a = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.25\"}]}}", 0, NULL);
  json_t *b = json_loads("{\"spec\":{\"containers\":[{\"image\":\"nginx:1.25\",\"name\":\"c\"}]},\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 0, NULL);
  char *ha = drv_deploy_template_hash(a, 0), *hb = drv_deploy_template_hash(b, 0);
  assert_string_equal(ha, hb); /* key order does not matter */
  for (const char *p = ha; *p; p++) assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
  /* the hash label itself is ignored, so an RS template hashes like its deployment's */
  json_t *c = json_deep_copy(a);
  json_object_set_new(json_object_get(json_object_get(c, "metadata"), "labels"), "pod-template-hash", json_string(ha));
  char *hc = drv_deploy_template_hash(c, 0);
  assert_string_equal(ha, hc);
  assert_true(drv_deploy_templates_equal(a, c));
  /* a change or a collision count gives another */
  char *h1 = drv_deploy_template_hash(a, 1);
  assert_string_not_equal(ha, h1);
  json_object_set_new(json_array_get(json_object_get(json_object_get(b, "spec"), "containers"), 0), "image", json_string("nginx:1.26"));
  char *hb2 = drv_deploy_template_hash(b, 0);
  assert_string_not_equal(ha, hb2);
  assert_false(drv_deploy_templates_equal(a, b));
  free(ha);
  free(hb);
  free(hc);
  free(h1);
  free(hb2);
  json_decref(a);
  json_decref(b);
  json_decref(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percentages_round),
      cmocka_unit_test(test_fenceposts),
      cmocka_unit_test(test_rolling_steps),
      cmocka_unit_test(test_proportions),
      cmocka_unit_test(test_template_hash),
  };
  return cmocka_run_group_tests_name("controllers_deployutil", tests, NULL, NULL);
}
