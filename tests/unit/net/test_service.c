#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "common/buf.h"
#include "net/service.h"

static struct in_addr addr(const char *s)
{
  struct in_addr a;
  inet_pton(AF_INET, s, &a);
  return a;
}

static void renders_balanced_dnat(void **state)
{
  (void)state;
  drv_svc_ep eps[3] = {{addr("10.123.1.2"), 8080}, {addr("10.123.2.2"), 8080}, {addr("10.123.3.2"), 8080}};
  drv_svc_rule rules[2] = {
      {"default/web:80", "tcp", addr("10.96.0.10"), 80, 30080, eps, 3},
      {"default/empty:53", "udp", addr("10.96.0.11"), 53, 0, NULL, 0},
  };
  char *stale[] = {"DROVER-SVC-0123456789ABCDEF", NULL};
  drv_buf out = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_svc_render(rules, 2, stale, &out, &err), 0);
  const char *t = out.data;
  assert_non_null(strstr(t, "*nat\n"));
  assert_non_null(strstr(t, "-A DROVER-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80"));
  assert_non_null(strstr(t, "-A DROVER-NODEPORTS -p tcp -m tcp --dport 30080"));
  assert_non_null(strstr(t, "--probability 0.3333333333 -j DNAT --to-destination 10.123.1.2:8080"));
  assert_non_null(strstr(t, "--probability 0.5000000000 -j DNAT --to-destination 10.123.2.2:8080"));
  assert_non_null(strstr(t, "-p tcp -j DNAT --to-destination 10.123.3.2:8080"));
  assert_null(strstr(t, "10.96.0.11")); /* no endpoints: no rule */
  assert_non_null(strstr(t, ":DROVER-SVC-0123456789ABCDEF - [0:0]\n"));
  assert_non_null(strstr(t, "-X DROVER-SVC-0123456789ABCDEF\nCOMMIT\n"));
  assert_non_null(strstr(t, "MASQUERADE"));
  drv_buf_free(&out);
}

static void rejects_bad_protocol(void **state)
{
  (void)state;
  drv_svc_ep eps[1] = {{addr("10.123.1.2"), 80}};
  drv_svc_rule r = {"ns/x:80", "icmp", addr("10.96.0.1"), 80, 0, eps, 1};
  drv_buf out = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_svc_render(&r, 1, NULL, &out, &err), -1);
  assert_non_null(strstr(err.msg, "icmp"));
  assert_non_null(strstr(err.msg, "ns/x:80"));
  drv_buf_free(&out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(renders_balanced_dnat),
      cmocka_unit_test(rejects_bad_protocol),
  };
  return cmocka_run_group_tests_name("net_service", tests, NULL, NULL);
}
