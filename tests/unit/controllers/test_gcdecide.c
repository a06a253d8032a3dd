/* Garbage-collector decisions: background, foreground, partial owners, uncertainty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controllers/gcdecide.h"

static void test_no_owner_left_deletes(void **st)
{
  drv_gc_owner_state s[1] = {DRV_GC_OWNER_GONE};
  bool b[1] = {true}, k[1];
  assert_int_equal(drv_gc_decide(1, s, b, false, k), DRV_GC_DELETE_BACKGROUND);
  assert_false(k[0]);
  /* already being deleted: nothing more to do */
  assert_int_equal(drv_gc_decide(1, s, b, true, k), DRV_GC_KEEP);
}

static void test_owner_alive_keeps(void **st)
{
  drv_gc_owner_state s[1] = {DRV_GC_OWNER_EXISTS};
  bool b[1] = {true}, k[1];
  assert_int_equal(drv_gc_decide(1, s, b, false, k), DRV_GC_KEEP);
  assert_true(k[0]);
  assert_int_equal(drv_gc_decide(0, NULL, NULL, false, k), DRV_GC_KEEP);
}

static void test_uncertain_owner_never_deletes(void **st)
{
  drv_gc_owner_state s[2] = {DRV_GC_OWNER_GONE, DRV_GC_OWNER_UNKNOWN};
  bool b[2] = {true, true}, k[2];
  assert_int_equal(drv_gc_decide(2, s, b, false, k), DRV_GC_DROP_REFS);
  assert_false(k[0]);
  assert_true(k[1]);
  drv_gc_owner_state u[1] = {DRV_GC_OWNER_UNKNOWN};
  assert_int_equal(drv_gc_decide(1, u, b, false, k), DRV_GC_KEEP);
}

static void test_partial_owners_drop_refs(void **st)
{
  drv_gc_owner_state s[3] = {DRV_GC_OWNER_EXISTS, DRV_GC_OWNER_GONE, DRV_GC_OWNER_EXISTS};
  bool b[3] = {false, false, false}, k[3];
  assert_int_equal(drv_gc_decide(3, s, b, false, k), DRV_GC_DROP_REFS);
  assert_true(k[0]);
  assert_false(k[1]);
  assert_true(k[2]);
}

static void test_foreground_owner(void **st)
{
  drv_gc_owner_state s[1] = {DRV_GC_OWNER_FOREGROUND};
  bool b[1] = {true}, k[1];
  assert_int_equal(drv_gc_decide(1, s, b, false, k), DRV_GC_DELETE_FOREGROUND);
  assert_int_equal(drv_gc_decide(1, s, b, true, k), DRV_GC_KEEP);
  /* without blockOwnerDeletion the owner does not wait for it: it stays an owned object */
  bool nb[1] = {false};
  assert_int_equal(drv_gc_decide(1, s, nb, false, k), DRV_GC_KEEP);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_owner_left_deletes),
      cmocka_unit_test(test_owner_alive_keeps),
      cmocka_unit_test(test_uncertain_owner_never_deletes),
      cmocka_unit_test(test_partial_owners_drop_refs),
      cmocka_unit_test(test_foreground_owner),
  };
  return cmocka_run_group_tests_name("controllers_gcdecide", tests, NULL, NULL);
}
