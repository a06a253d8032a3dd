#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/metrics.h"
#include "common/json.h"

static const char *SNAP =
    "{\"ts\":1000,\"node\":{\"cpu_ns\":5000000000,\"mem_ws\":1048576,\"mem_usage\":1048576},"
    "\"containers\":[{\"namespace\":\"default\",\"pod\":\"web\",\"container\":\"c\",\"id\":\"/drover/x\","
    "\"name\":\"x\",\"image\":\"busybox\",\"cpu_ns\":1500000000,\"mem_ws\":2048,\"mem_usage\":4096,"
    "\"rss\":1024,\"mem_limit\":0,\"pids\":3,\"oom_kills\":0,\"start_s\":17}],"
    "\"pods\":[{\"namespace\":\"default\",\"pod\":\"web\",\"rx_bytes\":10,\"tx_bytes\":20,\"rx_packets\":1,\"tx_packets\":2}]}";

static void prometheus_text(void **state)
{
  (void)state;
  json_t *snap = json_loads(SNAP, 0, NULL);
  drv_buf out = DRV_BUF_INIT;
  drv_metrics_prometheus(snap, "n1", &out);
  const char *t = out.data;
  assert_non_null(strstr(t, "# TYPE container_cpu_usage_seconds_total counter\n"));
  assert_non_null(strstr(t, "container_cpu_usage_seconds_total{container=\"c\",id=\"/drover/x\",image=\"busybox\","
                            "name=\"x\",namespace=\"default\",pod=\"web\"} 1.5 1000\n"));
  assert_non_null(strstr(t, "container_cpu_usage_seconds_total{container=\"\",id=\"/\",image=\"\",name=\"\",namespace=\"\",pod=\"\"} 5 1000\n"));
  assert_non_null(strstr(t, "# TYPE container_memory_working_set_bytes gauge\n"));
  assert_non_null(strstr(t, "pod=\"web\"} 2048 1000\n"));
  assert_non_null(strstr(t, "container_network_receive_bytes_total{container=\"POD\",interface=\"eth0\",namespace=\"default\",pod=\"web\"} 10 1000\n"));
  assert_non_null(strstr(t, "machine_cpu_cores{node=\"n1\"}"));
  /* Every sample line is NAME{labels} VALUE TS. */
  for (char *line = strtok(out.data, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#') continue;
    assert_non_null(strchr(line, '{'));
    assert_non_null(strstr(line, "} "));
  }
  drv_buf_free(&out);
  json_decref(snap);
}

static void label_escaping(void **state)
{
  (void)state;
  drv_buf out = DRV_BUF_INIT;
  drv_metrics_label(&out, "a\"b\\c\nd");
  assert_string_equal(out.data, "a\\\"b\\\\c\\nd");
  drv_buf_free(&out);
}

static void node_metrics_rates(void **state)
{
  (void)state;
  json_t *prev = json_loads(SNAP, 0, NULL);
  json_t *cur = json_deep_copy(prev);
  json_object_set_new(cur, "ts", json_integer(2000));
  drv_json_set(cur, "node.cpu_ns", json_integer(6000000000LL)); /* +1 s of cpu in 1 s */
  json_object_set_new(json_array_get(json_object_get(cur, "containers"), 0), "cpu_ns", json_integer(1750000000LL));
  assert_null(drv_metrics_node_metrics(NULL, cur, "n1"));
  json_t *nm = drv_metrics_node_metrics(prev, cur, "n1");
  assert_string_equal(drv_json_get_str(nm, "kind"), "NodeMetrics");
  assert_string_equal(drv_json_get_str(nm, "metadata.name"), "n1");
  assert_string_equal(drv_json_get_str(nm, "usage.cpu"), "1000000000n");
  assert_string_equal(drv_json_get_str(nm, "usage.memory"), "1024Ki");
  json_t *pod = json_array_get(json_object_get(nm, "pods"), 0);
  assert_string_equal(drv_json_get_str(pod, "metadata.name"), "web");
  json_t *c = json_array_get(json_object_get(pod, "containers"), 0);
  assert_string_equal(drv_json_get_str(c, "usage.cpu"), "250000000n");
  assert_string_equal(drv_json_get_str(c, "usage.memory"), "2Ki");
  json_decref(nm);
  json_decref(prev);
  json_decref(cur);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(prometheus_text),
      cmocka_unit_test(label_escaping),
      cmocka_unit_test(node_metrics_rates),
  };
  return cmocka_run_group_tests_name("agent_metrics", tests, NULL, NULL);
}
