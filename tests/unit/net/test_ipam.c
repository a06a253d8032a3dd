#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/util.h"
#include "net/ipam.h"

static char *tmpdir(void)
{
  char t[] = "/tmp/drv-test-ipam-XXXXXX";
  assert_non_null(mkdtemp(t));
  return drv_strdup(t);
}

static const char *ip(struct in_addr a, char buf[16])
{
  return inet_ntop(AF_INET, &a, buf, 16);
}

static void alloc_is_stable_and_persisted(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  drv_err err;
  drv_ipam *ipam = NULL;
  assert_int_equal(drv_ipam_open(dir, "10.123.4.0/24", &ipam, &err), 0);
  char b[16];
  assert_string_equal(ip(drv_ipam_gateway(ipam), b), "10.123.4.1");
  assert_int_equal(drv_ipam_prefix(ipam), 24);
  struct in_addr a1, a2, again;
  assert_int_equal(drv_ipam_alloc(ipam, "pod-a", &a1, &err), 0);
  assert_string_equal(ip(a1, b), "10.123.4.2");
  assert_int_equal(drv_ipam_alloc(ipam, "pod-b", &a2, &err), 0);
  assert_string_equal(ip(a2, b), "10.123.4.3");
  assert_int_equal(drv_ipam_alloc(ipam, "pod-a", &again, &err), 0);
  assert_int_equal(again.s_addr, a1.s_addr);
  assert_int_equal(drv_ipam_used(ipam), 2);
  drv_ipam_free(ipam);

  /* A new process (agent restart) sees the same allocations. */
  assert_int_equal(drv_ipam_open(dir, "10.123.4.0/24", &ipam, &err), 0);
  struct in_addr found;
  assert_int_equal(drv_ipam_lookup(ipam, "pod-b", &found), 0);
  assert_int_equal(found.s_addr, a2.s_addr);
  assert_int_equal(drv_ipam_lookup(ipam, "pod-zzz", &found), -1);
  struct in_addr a3;
  assert_int_equal(drv_ipam_alloc(ipam, "pod-c", &a3, &err), 0);
  assert_true(a3.s_addr != a1.s_addr && a3.s_addr != a2.s_addr);
  assert_int_equal(drv_ipam_release(ipam, "pod-a", &err), 0);
  assert_int_equal(drv_ipam_release(ipam, "pod-a", &err), 0);
  assert_int_equal(drv_ipam_used(ipam), 2);
  drv_ipam_free(ipam);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

static void exhaustion_names_owner(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  drv_err err;
  drv_ipam *ipam = NULL;
  /* /29: .0 network, .1 gateway, .2-.6 pods, .7 broadcast. */
  assert_int_equal(drv_ipam_open(dir, "10.123.9.5/29", &ipam, &err), 0);
  char b[16];
  assert_string_equal(ip(drv_ipam_gateway(ipam), b), "10.123.9.1");
  for (int i = 0; i < 5; i++) {
    char owner[16];
    snprintf(owner, sizeof owner, "p%d", i);
    struct in_addr a;
    assert_int_equal(drv_ipam_alloc(ipam, owner, &a, &err), 0);
    uint32_t h = ntohl(a.s_addr) & 7;
    assert_true(h >= 2 && h <= 6);
  }
  struct in_addr a;
  assert_int_equal(drv_ipam_alloc(ipam, "late", &a, &err), -1);
  assert_int_equal(err.errnum, ENOSPC);
  assert_non_null(strstr(err.msg, "late"));
  /* Freed addresses are reused. */
  assert_int_equal(drv_ipam_release(ipam, "p3", &err), 0);
  assert_int_equal(drv_ipam_alloc(ipam, "late", &a, &err), 0);
  drv_ipam_free(ipam);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

static void bad_input(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  drv_err err;
  drv_ipam *ipam = NULL;
  assert_int_equal(drv_ipam_open(dir, "10.1.2.0", &ipam, &err), -1);
  assert_non_null(strstr(err.msg, "10.1.2.0"));
  assert_int_equal(drv_ipam_open(dir, "10.1.2.0/33", &ipam, &err), -1);
  assert_int_equal(drv_ipam_open(dir, "10.1.2.0/31", &ipam, &err), -1);
  assert_non_null(strstr(err.msg, "/30"));
  assert_int_equal(drv_ipam_open(dir, "300.1.2.0/24", &ipam, &err), -1);
  assert_int_equal(drv_ipam_open(dir, "10.1.2.0/24", &ipam, &err), 0);
  struct in_addr a;
  assert_int_equal(drv_ipam_alloc(ipam, "", &a, &err), -1);
  assert_int_equal(drv_ipam_alloc(ipam, "a\nb", &a, &err), -1);
  drv_ipam_free(ipam);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(alloc_is_stable_and_persisted),
      cmocka_unit_test(exhaustion_names_owner),
      cmocka_unit_test(bad_input),
  };
  return cmocka_run_group_tests_name("net_ipam", tests, NULL, NULL);
}
