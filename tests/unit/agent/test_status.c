#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/status.h"
#include "common/json.h"
#include "common/util.h"

static void backoff_doubles_to_five_minutes(void **state)
{
  (void)state;
  assert_int_equal(drv_backoff_ms(0), 0);
  assert_int_equal(drv_backoff_ms(1), 10000);
  assert_int_equal(drv_backoff_ms(2), 20000);
  assert_int_equal(drv_backoff_ms(3), 40000);
  assert_int_equal(drv_backoff_ms(5), 160000);
  assert_int_equal(drv_backoff_ms(6), 300000);
  assert_int_equal(drv_backoff_ms(50), 300000);
}

static drv_ctr_status running(const char *name)
{
  return (drv_ctr_status){.name = name, .kind = DRV_CS_RUNNING, .started_ms = 1000, .ready = true, .started = true};
}

static drv_ctr_status terminated(const char *name, int code)
{
  return (drv_ctr_status){.name = name, .kind = DRV_CS_TERMINATED,
                          .term = {.exit_code = code, .started_ms = 1000, .finished_ms = 2000}};
}

static void phases(void **state)
{
  (void)state;
  drv_ctr_status c[2] = {running("a"), running("b")};
  drv_pod_view v = {.ctrs = c, .n_ctrs = 2, .init_done = true};
  assert_string_equal(drv_pod_phase(&v), "Running");
  c[0] = (drv_ctr_status){.name = "a", .kind = DRV_CS_WAITING, .reason = "ContainerCreating"};
  assert_string_equal(drv_pod_phase(&v), "Pending");
  /* Waiting in back-off after a run counts as stopped: the pod still Running. */
  c[0].has_last = true;
  c[0].last.exit_code = 1;
  assert_string_equal(drv_pod_phase(&v), "Running");
  c[0] = terminated("a", 0);
  c[1] = terminated("b", 0);
  v.restart_policy = "Never";
  assert_string_equal(drv_pod_phase(&v), "Succeeded");
  v.restart_policy = "OnFailure";
  assert_string_equal(drv_pod_phase(&v), "Succeeded");
  c[1] = terminated("b", 2);
  v.restart_policy = "Never";
  assert_string_equal(drv_pod_phase(&v), "Failed");
  v.restart_policy = "OnFailure";
  assert_string_equal(drv_pod_phase(&v), "Running");
  v.restart_policy = NULL; /* Always */
  assert_string_equal(drv_pod_phase(&v), "Running");
  /* Init containers not done: Pending, or Failed when one failed for good. */
  drv_ctr_status init = terminated("i", 1);
  v.init = &init;
  v.n_init = 1;
  v.init_done = false;
  v.restart_policy = "Always";
  assert_string_equal(drv_pod_phase(&v), "Pending");
  v.restart_policy = "Never";
  assert_string_equal(drv_pod_phase(&v), "Failed");
}

static const char *cond(json_t *st, const char *type, const char *field)
{
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(st, "conditions"), i, c)
    if (!strcmp(json_string_value(json_object_get(c, "type")), type))
      return json_string_value(json_object_get(c, field));
  return NULL;
}

static void status_json(void **state)
{
  (void)state;
  drv_ctr_status c[2] = {running("a"), running("b")};
  c[1].ready = false;
  c[1].restart_count = 2;
  c[1].has_last = true;
  c[1].last = (drv_cs_term){.exit_code = 137, .reason = "OOMKilled", .started_ms = 0, .finished_ms = 500};
  drv_pod_view v = {.ctrs = c, .n_ctrs = 2, .init_done = true, .pod_ip = "10.1.0.5",
                    .host_ip = "192.0.2.1", .start_ms = 1764018356000LL, .qos_class = "BestEffort"};
  json_t *st = drv_pod_status_json(&v, NULL, 1764018357000LL);
  assert_string_equal(drv_json_get_str(st, "phase"), "Running");
  assert_string_equal(drv_json_get_str(st, "podIP"), "10.1.0.5");
  assert_string_equal(drv_json_get_str(st, "hostIP"), "192.0.2.1");
  assert_string_equal(drv_json_get_str(st, "startTime"), "2025-11-24T21:05:56Z");
  assert_string_equal(cond(st, "Ready", "status"), "False");
  assert_string_equal(cond(st, "ContainersReady", "reason"), "ContainersNotReady");
  assert_string_equal(cond(st, "Initialized", "status"), "True");
  assert_string_equal(cond(st, "PodScheduled", "status"), "True");
  json_t *b = json_array_get(json_object_get(st, "containerStatuses"), 1);
  assert_int_equal(json_integer_value(json_object_get(b, "restartCount")), 2);
  assert_string_equal(drv_json_get_str(b, "lastState.terminated.reason"), "OOMKilled");
  assert_int_equal(drv_json_get_int(b, "lastState.terminated.exitCode", 0), 137);
  assert_non_null(drv_json_get(b, "state.running.startedAt"));

  /* All ready: Ready True; an unchanged condition keeps its lastTransitionTime. */
  c[1].ready = true;
  json_t *st2 = drv_pod_status_json(&v, st, 1764018999000LL);
  assert_string_equal(cond(st2, "Ready", "status"), "True");
  assert_string_equal(cond(st2, "Ready", "lastTransitionTime"), "2025-11-24T21:16:39Z");
  assert_string_equal(cond(st2, "PodScheduled", "lastTransitionTime"), cond(st, "PodScheduled", "lastTransitionTime"));
  json_decref(st);
  json_decref(st2);

  /* Waiting reasons and terminated defaults. */
  drv_ctr_status w[2] = {{.name = "x", .kind = DRV_CS_WAITING, .reason = "ErrImagePull", .message = "no such image"},
                         terminated("y", 0)};
  drv_pod_view v2 = {.ctrs = w, .n_ctrs = 2, .init_done = true, .start_ms = 0};
  json_t *st3 = drv_pod_status_json(&v2, NULL, 0);
  json_t *x = json_array_get(json_object_get(st3, "containerStatuses"), 0);
  assert_string_equal(drv_json_get_str(x, "state.waiting.reason"), "ErrImagePull");
  assert_string_equal(drv_json_get_str(x, "state.waiting.message"), "no such image");
  json_t *y = json_array_get(json_object_get(st3, "containerStatuses"), 1);
  assert_string_equal(drv_json_get_str(y, "state.terminated.reason"), "Completed");
  assert_null(drv_json_get(st3, "podIP"));
  json_decref(st3);

  /* Evicted under node pressure: Failed, and a DisruptionTarget condition (not for a refusal). */
  drv_pod_view v3 = {.ctrs = w, .n_ctrs = 2, .init_done = true, .reason = "Evicted",
                     .message = "The node was low on resource: memory. "};
  json_t *st4 = drv_pod_status_json(&v3, NULL, 0);
  assert_string_equal(drv_json_get_str(st4, "phase"), "Failed");
  assert_string_equal(cond(st4, "DisruptionTarget", "status"), "True");
  assert_string_equal(cond(st4, "DisruptionTarget", "reason"), "TerminationByKubelet");
  assert_string_equal(cond(st4, "DisruptionTarget", "message"), "The node was low on resource: memory. ");
  json_decref(st4);
  drv_pod_view v4 = {.ctrs = w, .n_ctrs = 2, .init_done = true, .reason = "NodePorts", .rejected = true};
  assert_string_equal(drv_pod_phase(&v4), "Failed");
  v3.message = "The node had condition: [DiskPressure]. ";
  st4 = drv_pod_status_json(&v3, NULL, 0);
  assert_null(cond(st4, "DisruptionTarget", "status"));
  json_decref(st4);
}

/* The informer's copy keeps what the agent reads back: phase and conditions of the status. */
static void trim_cached(void **state)
{
  (void)state;
  json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\",\"managedFields\":[{}]},\"spec\":{\"containers\":[]},"
                           "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}],"
                           "\"podIP\":\"10.0.0.2\",\"containerStatuses\":[{\"name\":\"c\"}]}}",
                           0, NULL);
  assert_non_null(pod);
  drv_pod_trim_cached(pod);
  assert_string_equal(drv_json_get_str(pod, "status.phase"), "Running");
  assert_int_equal(json_array_size(drv_json_get(pod, "status.conditions")), 1);
  assert_null(drv_json_get(pod, "status.podIP"));
  assert_null(drv_json_get(pod, "status.containerStatuses"));
  assert_null(drv_json_get(pod, "metadata.managedFields"));
  assert_string_equal(drv_json_get_str(pod, "metadata.name"), "p");
  assert_non_null(drv_json_get(pod, "spec.containers"));
  json_decref(pod);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(backoff_doubles_to_five_minutes),
      cmocka_unit_test(phases),
      cmocka_unit_test(status_json),
      cmocka_unit_test(trim_cached),
  };
  return cmocka_run_group_tests_name("agent_status", tests, NULL, NULL);
}
