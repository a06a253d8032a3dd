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
  char *stale[] = {"DRV-0A1B2C3D-SVC0123456789A", NULL};
  drv_svc_table t = {.owner = "0A1B2C3D", .rules = rules, .n = 2};
  drv_buf out = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_svc_render(&t, stale, &out, &err), 0);
  const char *s = out.data;
  assert_non_null(strstr(s, "*nat\n:DRV-0A1B2C3D-SERVICES - [0:0]\n"));
  assert_non_null(strstr(s, "-A DRV-0A1B2C3D-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80"));
  assert_non_null(strstr(s, "-A DRV-0A1B2C3D-NODEPORTS -p tcp -m tcp --dport 30080"));
  assert_non_null(strstr(s, "--probability 0.3333333333 -j DNAT --to-destination 10.123.1.2:8080"));
  assert_non_null(strstr(s, "--probability 0.5000000000 -j DNAT --to-destination 10.123.2.2:8080"));
  assert_non_null(strstr(s, "-p tcp -j DNAT --to-destination 10.123.3.2:8080"));
  assert_null(strstr(s, "10.96.0.11")); /* no endpoints: no rule */
  assert_null(strstr(s, "HOSTPORTS\n-A")); /* no hostPorts: no jump */
  assert_non_null(strstr(s, ":DRV-0A1B2C3D-SVC0123456789A - [0:0]\n"));
  assert_non_null(strstr(s, "-X DRV-0A1B2C3D-SVC0123456789A\nCOMMIT\n"));
  assert_non_null(strstr(s, "-A DRV-0A1B2C3D-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE"));
  /* No chain of another owner and none of the old shared names. */
  assert_null(strstr(s, "DROVER-"));
  drv_buf_free(&out);
}

static void renders_hostports(void **state)
{
  (void)state;
  drv_hostport hps[2] = {
      {"default/web/c:8080", "tcp", {0}, 18080, addr("10.123.1.5"), 8080},
      {"default/dns/c:53", "udp", addr("192.168.7.1"), 5353, addr("10.123.1.6"), 53},
  };
  drv_svc_table t = {.owner = "00C0FFEE", .hps = hps, .n_hps = 2};
  drv_buf out = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_svc_render(&t, NULL, &out, &err), 0);
  const char *s = out.data;
  assert_non_null(strstr(s, "-A DRV-00C0FFEE-SERVICES -m addrtype --dst-type LOCAL -j DRV-00C0FFEE-HOSTPORTS\n"));
  assert_non_null(strstr(s, "-A DRV-00C0FFEE-HOSTPORTS -p tcp -m tcp --dport 18080 -m comment --comment "
                            "\"default/web/c:8080\" -j DNAT --to-destination 10.123.1.5:8080\n"));
  assert_non_null(strstr(s, "-A DRV-00C0FFEE-HOSTPORTS -p tcp -m tcp --dport 18080 -s 10.123.1.5/32"));
  assert_non_null(strstr(s, "-A DRV-00C0FFEE-HOSTPORTS -p tcp -m tcp --dport 18080 -s 127.0.0.0/8"));
  assert_non_null(strstr(s, "-A DRV-00C0FFEE-HOSTPORTS -d 192.168.7.1/32 -p udp -m udp --dport 5353 -m comment "
                            "--comment \"default/dns/c:53\" -j DNAT --to-destination 10.123.1.6:53\n"));
  /* hostPorts are matched before nodePorts */
  assert_true(strstr(s, "-j DRV-00C0FFEE-HOSTPORTS\n") < strstr(s, "-j DRV-00C0FFEE-NODEPORTS\n"));
  drv_buf_free(&out);
}

static void owner_differs_per_agent(void **state)
{
  (void)state;
  char a[DRV_SVC_OWNER_LEN + 1], b[DRV_SVC_OWNER_LEN + 1], c[DRV_SVC_OWNER_LEN + 1];
  drv_svc_owner("node1", "/var/lib/drover-a", a);
  drv_svc_owner("node1", "/var/lib/drover-b", b);
  drv_svc_owner("node1", "/var/lib/drover-a", c);
  assert_int_equal(strlen(a), DRV_SVC_OWNER_LEN);
  assert_string_not_equal(a, b);
  assert_string_equal(a, c);
}

static void rejects_bad_input(void **state)
{
  (void)state;
  drv_svc_ep eps[1] = {{addr("10.123.1.2"), 80}};
  drv_svc_rule r = {"ns/x:80", "icmp", addr("10.96.0.1"), 80, 0, eps, 1};
  drv_svc_table t = {.owner = "0A1B2C3D", .rules = &r, .n = 1};
  drv_buf out = DRV_BUF_INIT;
  drv_err err;
  assert_int_equal(drv_svc_render(&t, NULL, &out, &err), -1);
  assert_non_null(strstr(err.msg, "icmp"));
  assert_non_null(strstr(err.msg, "ns/x:80"));
  drv_buf_free(&out);
  drv_hostport h = {"ns/p/c:80", "tcp", {0}, 0, addr("10.1.1.1"), 80};
  drv_svc_table t2 = {.owner = "0A1B2C3D", .hps = &h, .n_hps = 1};
  assert_int_equal(drv_svc_render(&t2, NULL, &out, &err), -1);
  assert_non_null(strstr(err.msg, "ns/p/c:80"));
  drv_buf_free(&out);
  drv_svc_table t3 = {.owner = "x; rm"};
  assert_int_equal(drv_svc_render(&t3, NULL, &out, &err), -1);
  assert_non_null(strstr(err.msg, "owner"));
  drv_buf_free(&out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(renders_balanced_dnat),
      cmocka_unit_test(renders_hostports),
      cmocka_unit_test(owner_differs_per_agent),
      cmocka_unit_test(rejects_bad_input),
  };
  return cmocka_run_group_tests_name("net_service", tests, NULL, NULL);
}
