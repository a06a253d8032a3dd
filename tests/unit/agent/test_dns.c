#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/dns.h"
#include "agent/internal.h"

static size_t query(unsigned char *b, const char *name, int qtype)
{
  unsigned char h[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(b, h, 12);
  size_t pos = 12;
  const char *p = name;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    b[pos++] = (unsigned char)l;
    memcpy(b + pos, p, l);
    pos += l;
    p += l + (dot ? 1 : 0);
  }
  b[pos++] = 0;
  b[pos++] = 0, b[pos++] = (unsigned char)qtype, b[pos++] = 0, b[pos++] = 1;
  return pos;
}

static void unknown_names_and_bad_packets(void **state)
{
  (void)state;
  drv_agent a;
  memset(&a, 0, sizeof a);
  unsigned char q[512], r[1500];
  size_t ql = query(q, "Web.Default.svc.cluster.local", 1);
  size_t n = drv_dns_answer(&a, q, ql, r, sizeof r);
  assert_int_equal(n, ql);                 /* the question back, no answer */
  assert_int_equal(r[0], 0x12);            /* same id */
  assert_true(r[2] & 0x80);                /* a response */
  assert_int_equal(r[3] & 0x0f, 3);        /* NXDOMAIN: no such Service known */
  assert_int_equal(r[7], 0);
  /* Truncated question: FORMERR. */
  n = drv_dns_answer(&a, q, 15, r, sizeof r);
  assert_int_equal(n, 12);
  assert_int_equal(r[3] & 0x0f, 1);
  /* A response is not answered; too short is ignored. */
  q[2] |= 0x80;
  assert_int_equal(drv_dns_answer(&a, q, ql, r, sizeof r), 0);
  assert_int_equal(drv_dns_answer(&a, q, 5, r, sizeof r), 0);
  bool known = true;
  struct in_addr ips[2];
  assert_int_equal(drv_dns_lookup(&a, "example.com", ips, 2, &known), 0);
  assert_false(known);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unknown_names_and_bad_packets),
  };
  return cmocka_run_group_tests_name("agent_dns", tests, NULL, NULL);
}
