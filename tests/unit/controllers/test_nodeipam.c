/* Node IPAM's subnet bookkeeping: allocation order, reuse after release, rebuild from existing
 * Nodes, exhaustion, and option errors that name the flag. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/cidrset.h"
#include "controllers/controllers.h"
#include "controllers/internal.h"

static void alloc_expect(drv_cidrset *s, const char *want)
{
  char got[DRV_CIDR_STRLEN];
  drv_err err;
  assert_int_equal(drv_cidrset_allocate(s, got, &err), 0);
  assert_string_equal(got, want);
}

static void test_allocation_order(void **st)
{
  drv_cidrset *s;
  drv_err err;
  assert_int_equal(drv_cidrset_new("10.244.0.0/16", 24, &s, &err), 0);
  assert_int_equal(drv_cidrset_capacity(s), 256);
  alloc_expect(s, "10.244.0.0/24");
  alloc_expect(s, "10.244.1.0/24");
  alloc_expect(s, "10.244.2.0/24");
  assert_int_equal(drv_cidrset_used(s), 3);
  drv_cidrset_free(s);
  /* host bits in the cluster CIDR are ignored; other mask sizes */
  assert_int_equal(drv_cidrset_new("10.9.7.5/20", 26, &s, &err), 0);
  alloc_expect(s, "10.9.0.0/26");
  alloc_expect(s, "10.9.0.64/26");
  drv_cidrset_free(s);
}

static void test_reuse_after_release(void **st)
{
  drv_cidrset *s;
  drv_err err;
  assert_int_equal(drv_cidrset_new("10.244.0.0/16", 24, &s, &err), 0);
  alloc_expect(s, "10.244.0.0/24");
  alloc_expect(s, "10.244.1.0/24");
  alloc_expect(s, "10.244.2.0/24");
  assert_int_equal(drv_cidrset_release(s, "10.244.1.0/24"), 1);
  assert_int_equal(drv_cidrset_used(s), 2);
  alloc_expect(s, "10.244.1.0/24");
  alloc_expect(s, "10.244.3.0/24");
  /* releasing what is free, or outside the range, changes nothing */
  assert_int_equal(drv_cidrset_release(s, "10.244.9.0/24"), 1);
  assert_int_equal(drv_cidrset_release(s, "192.168.0.0/24"), 0);
  assert_int_equal(drv_cidrset_release(s, "garbage"), -1);
  assert_int_equal(drv_cidrset_used(s), 4);
  drv_cidrset_free(s);
}

static json_t *node(const char *name, const char *cidr)
{
  json_t *n = json_pack("{s:{s:s}, s:{}}", "metadata", "name", name, "spec");
  if (cidr) json_object_set_new(json_object_get(n, "spec"), "podCIDR", json_string(cidr));
  return n;
}

static void test_rebuild_from_nodes(void **st)
{
  drv_cidrset *s;
  drv_err err;
  assert_int_equal(drv_cidrset_new("10.244.0.0/16", 24, &s, &err), 0);
  json_t *nodes = json_array();
  json_array_append_new(nodes, node("a", "10.244.0.0/24"));
  json_array_append_new(nodes, node("b", "10.244.2.0/24"));
  json_array_append_new(nodes, node("c", NULL));
  json_array_append_new(nodes, node("d", "10.123.11.0/24")); /* set by hand, outside: ignored */
  json_array_append_new(nodes, node("e", "10.244.4.0/23"));  /* wider: both /24s it covers */
  ctl_nodeipam_rebuild(s, nodes);
  ctl_nodeipam_rebuild(s, nodes); /* a second time (restart, resync) counts nothing twice */
  assert_int_equal(drv_cidrset_used(s), 4);
  /* never one a Node holds */
  alloc_expect(s, "10.244.1.0/24");
  alloc_expect(s, "10.244.3.0/24");
  alloc_expect(s, "10.244.6.0/24");
  json_decref(nodes);
  drv_cidrset_free(s);
}

static void test_exhaustion(void **st)
{
  drv_cidrset *s;
  drv_err err;
  char got[DRV_CIDR_STRLEN];
  assert_int_equal(drv_cidrset_new("10.1.0.0/24", 26, &s, &err), 0);
  for (int i = 0; i < 4; i++) assert_int_equal(drv_cidrset_allocate(s, got, &err), 0);
  assert_string_equal(got, "10.1.0.192/26");
  assert_int_equal(drv_cidrset_allocate(s, got, &err), -1);
  assert_int_equal(err.errnum, ENOSPC);
  assert_non_null(strstr(err.msg, "10.1.0.0/24"));
  drv_cidrset_release(s, "10.1.0.64/26");
  alloc_expect(s, "10.1.0.64/26");
  drv_cidrset_free(s);
  /* a node mask as wide as the cluster CIDR: one subnet */
  assert_int_equal(drv_cidrset_new("10.2.0.0/24", 24, &s, &err), 0);
  alloc_expect(s, "10.2.0.0/24");
  assert_int_equal(drv_cidrset_allocate(s, got, &err), -1);
  drv_cidrset_free(s);
}

static void expect_bad(drv_controllers_opts o, const char *flag, const char *value)
{
  drv_err err = {0};
  int r = drv_controllers_opts_check(&o, &err);
  if (r != -1) fail_msg("%s %s: accepted", flag, value ? value : "");
  assert_non_null(strstr(err.msg, flag));
  if (value) assert_non_null(strstr(err.msg, value));
}

static void test_bad_options_name_the_flag(void **st)
{
  drv_err err;
  drv_controllers_opts ok = {0};
  assert_int_equal(drv_controllers_opts_check(&ok, &err), 0);
  ok.cluster_cidr = "10.7.0.0/16";
  ok.node_cidr_mask_size = 20;
  assert_int_equal(drv_controllers_opts_check(&ok, &err), 0);
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.244.0.0"}, "--cluster-cidr", "10.244.0.0");
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.244.0.300/16"}, "--cluster-cidr", "10.244.0.300/16");
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.244.0.0/16x"}, "--cluster-cidr", NULL);
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.244.0.0/31"}, "--cluster-cidr", "/31");
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.244.0.0/25"}, "--node-cidr-mask-size", "/25");
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.244.0.0/24", .node_cidr_mask_size = 20},
             "--node-cidr-mask-size", "20");
  expect_bad((drv_controllers_opts){.cluster_cidr = "10.0.0.0/8", .node_cidr_mask_size = 26},
             "--node-cidr-mask-size", "2^16");
  expect_bad((drv_controllers_opts){.node_cidr_mask_size = 31}, "--node-cidr-mask-size", "31");
  expect_bad((drv_controllers_opts){.service_cidr = "10.96.0.0/33"}, "--service-cidr", "10.96.0.0/33");
  /* off: its flags are not looked at */
  drv_controllers_opts off = {.cluster_cidr = "nonsense", .no_allocate_node_cidrs = true};
  assert_int_equal(drv_controllers_opts_check(&off, &err), 0);
}

static void test_parse_and_format(void **st)
{
  uint32_t base;
  int prefix;
  drv_err err;
  char out[DRV_CIDR_STRLEN];
  assert_int_equal(drv_cidr_parse("255.255.255.255/32", 0, 32, &base, &prefix, &err), 0);
  drv_cidr_format(base, prefix, out);
  assert_string_equal(out, "255.255.255.255/32");
  assert_int_equal(drv_cidr_parse("10.96.3.4/12", 8, 30, &base, &prefix, &err), 0);
  drv_cidr_format(base, prefix, out);
  assert_string_equal(out, "10.96.0.0/12");
  const char *bad[] = {"", "/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/ 8", "10.0.0.0/99999999999999999999",
                       "1234567890123456789/8", "::1/64"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(drv_cidr_parse(bad[i], 0, 32, &base, &prefix, &err), -1);
  assert_int_equal(drv_cidr_parse(NULL, 0, 32, &base, &prefix, &err), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allocation_order),   cmocka_unit_test(test_reuse_after_release),
      cmocka_unit_test(test_rebuild_from_nodes), cmocka_unit_test(test_exhaustion),
      cmocka_unit_test(test_bad_options_name_the_flag), cmocka_unit_test(test_parse_and_format),
  };
  return cmocka_run_group_tests_name("controllers_nodeipam", tests, NULL, NULL);
}
