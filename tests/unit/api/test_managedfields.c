/* Server-side apply field ownership: field sets, apply conflicts and force, removal of fields
 * an applier stops applying, Update entries taking fields over, manager names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/managedfields.h"
#include "api/resource.h"
#include "common/json.h"

static json_t *J(const char *s)
{
  json_error_t e;
  json_t *j = json_loads(s, 0, &e);
  if (!j) fail_msg("bad json in test: %s", e.text);
  return j;
}

#define DEPLOY(replicas, image)                                                                     \
  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"labels\":{\"a\":\"1\"}}," \
  "\"spec\":{\"replicas\":" replicas ",\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"" image "\"}]}}}}"

static void test_fieldset(void **state)
{
  (void)state;
  const drv_api_resource *res = drv_api_resource_find("apps", "v1", "deployments");
  json_t *o = J(DEPLOY("2", "x"));
  json_object_set_new(o, "status", json_pack("{s:i}", "replicas", 2));
  json_t *set = drv_mf_fieldset(res, o);
  json_t *want = J("{\"f:metadata\":{\"f:labels\":{\"f:a\":{}}},\"f:spec\":{\"f:replicas\":{},\"f:template\":{\"f:spec\":"
                   "{\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{},\"f:name\":{},\"f:image\":{}}}}}}}");
  assert_true(json_equal(set, want));
  json_decref(set);
  json_decref(want);
  json_decref(o);
}

static void test_apply_conflict_force_and_update(void **state)
{
  (void)state;
  const drv_api_resource *res = drv_api_resource_find("apps", "v1", "deployments");
  json_t *st = NULL;
  json_t *cfg = J(DEPLOY("2", "x"));
  json_t *o1 = drv_mf_apply(res, NULL, cfg, "a", false, "2026-01-01T00:00:00Z", &st);
  assert_non_null(o1);
  assert_int_equal(json_array_size(drv_json_get(o1, "metadata.managedFields")), 1);
  /* another manager changes replicas with an ordinary write */
  json_t *o2 = json_deep_copy(o1);
  drv_json_set(o2, "spec.replicas", json_integer(5));
  drv_mf_track_update(res, o1, o2, "scaler", "scale", "2026-01-01T00:00:01Z");
  json_t *mf = drv_json_get(o2, "metadata.managedFields");
  assert_int_equal(json_array_size(mf), 2);
  assert_string_equal(drv_json_get_str(json_array_get(mf, 1), "manager"), "scaler");
  assert_non_null(drv_json_get(json_array_get(mf, 1), "fieldsV1.f:spec.f:replicas"));
  /* applying replicas 2 again: a conflict naming the field and the manager */
  json_t *o3 = drv_mf_apply(res, o2, cfg, "a", false, "2026-01-01T00:00:02Z", &st);
  assert_null(o3);
  assert_int_equal(json_integer_value(json_object_get(st, "code")), 409);
  assert_string_equal(json_string_value(json_object_get(st, "message")),
                      "Apply failed with 1 conflict: conflict with \"scaler\" with subresource \"scale\" using "
                      "apps/v1: .spec.replicas");
  json_decref(st);
  /* the same value is no conflict; force takes the field over */
  o3 = drv_mf_apply(res, o2, cfg, "a", true, "2026-01-01T00:00:02Z", &st);
  assert_non_null(o3);
  assert_int_equal(json_integer_value(drv_json_get(o3, "spec.replicas")), 2);
  assert_int_equal(json_array_size(drv_json_get(o3, "metadata.managedFields")), 1);
  /* dropping a field from the configuration removes it */
  json_t *cfg2 = J(DEPLOY("2", "x"));
  json_object_del(drv_json_get(cfg2, "metadata.labels"), "a");
  json_t *o4 = drv_mf_apply(res, o3, cfg2, "a", false, "2026-01-01T00:00:03Z", &st);
  assert_non_null(o4);
  assert_null(drv_json_get(o4, "metadata.labels.a"));
  json_decref(o4);
  json_decref(cfg2);
  json_decref(o3);
  json_decref(o2);
  json_decref(o1);
  json_decref(cfg);
}

static void test_manager_names(void **state)
{
  (void)state;
  char b[160];
  assert_string_equal(drv_mf_manager("kubectl-edit", "kubectl/v1.32", b, sizeof b), "kubectl-edit");
  assert_string_equal(drv_mf_manager(NULL, "kubectl/v1.32.0 (linux/amd64)", b, sizeof b), "kubectl");
  assert_string_equal(drv_mf_manager("", NULL, b, sizeof b), "unknown");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fieldset),
      cmocka_unit_test(test_apply_conflict_force_and_update),
      cmocka_unit_test(test_manager_names),
  };
  return cmocka_run_group_tests_name("api_managedfields", tests, NULL, NULL);
}
