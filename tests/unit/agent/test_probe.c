#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/probe.h"
#include "common/util.h"

static void parse_defaults_and_named_ports(void **state)
{
  (void)state;
  drv_err err;
  drv_probe_spec sp;
  json_t *ctr = json_loads("{\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}", 0, NULL);
  json_t *p = json_loads("{\"httpGet\":{\"port\":\"http\"}}", 0, NULL);
  assert_int_equal(drv_probe_parse(p, ctr, &sp, &err), 0);
  assert_int_equal(sp.kind, DRV_PROBE_HTTP);
  assert_int_equal(sp.port, 8080);
  assert_string_equal(sp.path, "/");
  assert_int_equal(sp.period_ms, 10000);
  assert_int_equal(sp.timeout_ms, 1000);
  assert_int_equal(sp.success_threshold, 1);
  assert_int_equal(sp.failure_threshold, 3);
  json_decref(p);
  p = json_loads("{\"tcpSocket\":{\"port\":\"nope\"}}", 0, NULL);
  assert_int_equal(drv_probe_parse(p, ctr, &sp, &err), -1);
  assert_non_null(strstr(err.msg, "nope"));
  json_decref(p);
  p = json_loads("{\"exec\":{\"command\":[]}}", 0, NULL);
  assert_int_equal(drv_probe_parse(p, ctr, &sp, &err), -1);
  json_decref(p);
  p = json_loads("{\"periodSeconds\":1}", 0, NULL);
  assert_int_equal(drv_probe_parse(p, ctr, &sp, &err), -1);
  json_decref(p);
  assert_int_equal(drv_probe_parse(NULL, ctr, &sp, &err), 0);
  assert_int_equal(sp.kind, DRV_PROBE_NONE);
  json_decref(ctr);
}

static void thresholds_and_schedule(void **state)
{
  (void)state;
  drv_err err;
  drv_probe_spec sp;
  json_t *p = json_loads("{\"tcpSocket\":{\"port\":1},\"initialDelaySeconds\":5,\"periodSeconds\":2,"
                         "\"successThreshold\":2,\"failureThreshold\":2}", 0, NULL);
  assert_int_equal(drv_probe_parse(p, NULL, &sp, &err), 0);
  drv_probe_state st;
  drv_probe_reset(&st);
  assert_false(drv_probe_due(&st, &sp, 1000, 5999)); /* initial delay */
  assert_true(drv_probe_due(&st, &sp, 1000, 6000));
  assert_int_equal(drv_probe_record(&st, &sp, true, 6000), -1); /* 1 of 2 successes */
  assert_false(drv_probe_due(&st, &sp, 1000, 7999));
  assert_true(drv_probe_due(&st, &sp, 1000, 8000));
  assert_int_equal(drv_probe_record(&st, &sp, true, 8000), 1);
  assert_int_equal(drv_probe_record(&st, &sp, false, 10000), 1); /* 1 failure: still passing */
  assert_int_equal(drv_probe_record(&st, &sp, false, 12000), 0);
  assert_int_equal(drv_probe_record(&st, &sp, true, 14000), 0); /* needs 2 successes again */
  assert_int_equal(drv_probe_record(&st, &sp, true, 16000), 1);
  json_decref(p);
}

static void *serve_once(void *arg)
{
  int ls = *(int *)arg;
  int c = accept(ls, NULL, NULL);
  if (c >= 0) {
    char buf[512];
    (void)!read(c, buf, sizeof buf);
    const char *resp = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    (void)!write(c, resp, strlen(resp));
    close(c);
  }
  c = accept(ls, NULL, NULL);
  if (c >= 0) {
    char buf[512];
    (void)!read(c, buf, sizeof buf);
    const char *resp = "HTTP/1.1 204 No Content\r\n\r\n";
    (void)!write(c, resp, strlen(resp));
    close(c);
  }
  return NULL;
}

static void tcp_and_http_handlers(void **state)
{
  (void)state;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t l = sizeof sa;
  getsockname(ls, (struct sockaddr *)&sa, &l);
  assert_int_equal(listen(ls, 4), 0);
  int port = ntohs(sa.sin_port);
  pthread_t t;
  pthread_create(&t, NULL, serve_once, &ls);
  assert_false(drv_probe_http(-1, "127.0.0.1", port, "/healthz", 1000)); /* 503 */
  assert_true(drv_probe_http(-1, "127.0.0.1", port, "/healthz", 1000));  /* 204 */
  pthread_join(t, NULL);
  assert_true(drv_probe_tcp(-1, "127.0.0.1", port, 1000));
  close(ls);
  assert_false(drv_probe_tcp(-1, "127.0.0.1", port, 1000)); /* closed: refused */
  assert_false(drv_probe_tcp(-1, "not-an-ip", port, 1000));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_defaults_and_named_ports),
      cmocka_unit_test(thresholds_and_schedule),
      cmocka_unit_test(tcp_and_http_handlers),
  };
  return cmocka_run_group_tests_name("agent_probe", tests, NULL, NULL);
}
