#include "helpers.h"

#include "api/patch.h"
#include "api/resource.h"
#include "api/status.h"

static const drv_api_resource *res(const char *g, const char *p)
{
  return drv_api_resource_find(g, g[0] ? "v1" : "v1", p);
}

/* RFC 7386 appendix A examples. */
static void merge_patch_rfc_examples(void **state)
{
  (void)state;
  static const char *cases[][3] = {
      {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
      {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
      {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
      {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
      {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
      {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
      {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
      {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
      {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
      {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
      {"{\"a\":\"foo\"}", "null", "null"},
      {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
      {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
      {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
      {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *o = J(cases[i][0]), *p = J(cases[i][1]);
    json_t *r = drv_json_merge_patch(o, p);
    assert_json_eq(r, cases[i][2]);
    json_decref(o);
    json_decref(p);
    json_decref(r);
  }
}

static json_t *jp(const char *doc, const char *ops, drv_err *err)
{
  json_t *d = J(doc), *o = J(ops);
  json_t *r = drv_json_patch(d, o, err);
  json_decref(d);
  json_decref(o);
  return r;
}

/* RFC 6902 appendix A. */
static void json_patch_rfc_examples(void **state)
{
  (void)state;
  static const char *ok[][3] = {
      {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
       "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
      {"{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
       "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
      {"{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
       "{\"foo\":\"bar\"}"},
      {"{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
       "{\"foo\":[\"bar\",\"baz\"]}"},
      {"{\"baz\":\"qux\",\"foo\":\"bar\"}",
       "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
      {"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
       "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
       "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
      {"{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
       "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
       "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
      {"{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
       "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
       "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
      {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
       "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"},
      {"{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
       "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"},
      {"{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10},{\"op\":\"copy\",\"from\":\"/~1\",\"path\":\"/x\"}]",
       "{\"/\":9,\"~1\":10,\"x\":9}"},
      {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}"},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    drv_err err = {0};
    json_t *r = jp(ok[i][0], ok[i][1], &err);
    if (!r) fail_msg("case %zu: %s", i, err.msg);
    assert_json_eq(r, ok[i][2]);
    json_decref(r);
  }
  static const char *bad[][2] = {
      {"{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]"},
      {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]"},
      {"{\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/nope\"}]"},
      {"{\"foo\":\"bar\"}", "[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":1}]"},
      {"{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/5\",\"value\":1}]"},
      {"{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/01\",\"value\":1}]"},
      {"{\"foo\":{}}", "[{\"op\":\"move\",\"from\":\"/foo\",\"path\":\"/foo/x\"}]"},
      {"{}", "[{\"op\":\"frobnicate\",\"path\":\"/x\"}]"},
      {"{}", "[{\"op\":\"add\",\"path\":\"x\",\"value\":1}]"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    drv_err err = {0};
    json_t *r = jp(bad[i][0], bad[i][1], &err);
    if (r) fail_msg("bad case %zu applied", i);
    assert_true(err.msg[0]);
  }
}

static json_t *smp(const drv_api_resource *r, const char *orig, const char *patch)
{
  json_t *o = J(orig), *p = J(patch);
  drv_err err = {0};
  json_t *out = drv_strategic_merge_patch(r, o, p, &err);
  if (!out) fail_msg("strategic merge failed: %s", err.msg);
  json_decref(o);
  json_decref(p);
  return out;
}

static void strategic_merge_keys(void **state)
{
  (void)state;
  const drv_api_resource *pods = res("", "pods");
  /* containers merge by name; env by name; ports by containerPort; nulls delete */
  json_t *r = smp(pods,
                  "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],"
                  "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"name\":\"b\",\"image\":\"y\"}]}}",
                  "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\",\"env\":[{\"name\":\"B\",\"value\":\"3\"},{\"name\":\"C\",\"value\":\"4\"}],"
                  "\"ports\":[{\"containerPort\":443}]}]}}");
  assert_json_eq(r, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
                    "{\"name\":\"B\",\"value\":\"3\"},{\"name\":\"C\",\"value\":\"4\"}],\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"},"
                    "{\"containerPort\":443}]},{\"name\":\"b\",\"image\":\"y\"}]}}");
  json_decref(r);
  /* $patch: delete of a list element; null deletes a field; labels map merge */
  r = smp(pods,
          "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"image\":\"y\"}],\"nodeName\":\"n\"}}",
          "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}},\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"}],\"nodeName\":null}}");
  assert_json_eq(r, "{\"metadata\":{\"labels\":{\"b\":\"2\",\"c\":\"3\"}},\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}");
  json_decref(r);
  /* $patch: replace on a list and on a map */
  r = smp(pods, "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"nodeSelector\":{\"x\":\"1\"}}}",
          "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"$patch\":\"replace\"}],\"nodeSelector\":{\"y\":\"2\",\"$patch\":\"replace\"}}}");
  assert_json_eq(r, "{\"spec\":{\"containers\":[{\"name\":\"c\"}],\"nodeSelector\":{\"y\":\"2\"}}}");
  json_decref(r);
  /* lists without a merge key (tolerations, args) replace */
  r = smp(pods, "{\"spec\":{\"tolerations\":[{\"key\":\"a\"}],\"containers\":[{\"name\":\"a\",\"args\":[\"1\",\"2\"]}]}}",
          "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}],\"containers\":[{\"name\":\"a\",\"args\":[\"3\"]}]}}");
  assert_json_eq(r, "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}],\"containers\":[{\"name\":\"a\",\"args\":[\"3\"]}]}}");
  json_decref(r);
  /* finalizers: a set of primitives; $deleteFromPrimitiveList */
  r = smp(pods, "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
          "{\"metadata\":{\"finalizers\":[\"c\",\"a\"],\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}");
  assert_json_eq(r, "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
  json_decref(r);
  /* $setElementOrder */
  r = smp(pods, "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
          "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}],\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}");
  assert_json_eq(r, "{\"spec\":{\"containers\":[{\"name\":\"b\"},{\"name\":\"a\",\"image\":\"i\"}]}}");
  json_decref(r);
  /* volumes: $retainKeys switches a volume's source */
  r = smp(pods, "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}",
          "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"},\"$retainKeys\":[\"hostPath\",\"name\"]}]}}");
  assert_json_eq(r, "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"}}]}}");
  json_decref(r);
}

static void strategic_deployment_apply(void **state)
{
  (void)state;
  const drv_api_resource *deploy = drv_api_resource_find("apps", "v1", "deployments");
  /* A kubectl apply 3-way patch: strategy switch with $retainKeys, removed container port */
  json_t *r = smp(deploy,
                  "{\"spec\":{\"replicas\":3,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\",\"maxUnavailable\":\"25%\"}},"
                  "\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\",\"ports\":[{\"containerPort\":80},{\"containerPort\":81}]}]}}}}",
                  "{\"spec\":{\"replicas\":2,\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\",\"rollingUpdate\":null},"
                  "\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"web\"}],\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\","
                  "\"$setElementOrder/ports\":[{\"containerPort\":80}],\"ports\":[{\"$patch\":\"delete\",\"containerPort\":81}]}]}}}}");
  assert_json_eq(r, "{\"spec\":{\"replicas\":2,\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\",\"ports\":[{\"containerPort\":80}]}]}}}}");
  json_decref(r);
}

static void strategic_more_semantics(void **state)
{
  (void)state;
  const drv_api_resource *pods = res("", "pods");
  static const char *cases[][3] = {
      /* $patch: delete on a map removes the key */
      {"{\"spec\":{\"nodeSelector\":{\"a\":\"b\"},\"x\":1}}", "{\"spec\":{\"nodeSelector\":{\"$patch\":\"delete\"}}}",
       "{\"spec\":{\"x\":1}}"},
      /* a list set to null is deleted; a list of primitives is replaced */
      {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"1\"],\"command\":[\"x\"]}]}}",
       "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":null,\"command\":[\"y\",\"z\"]}]}}",
       "{\"spec\":{\"containers\":[{\"name\":\"a\",\"command\":[\"y\",\"z\"]}]}}"},
      /* ownerReferences merge by uid; conditions by type */
      {"{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"}]},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}",
       "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"controller\":true},{\"uid\":\"2\",\"name\":\"b\"}]},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
       "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\",\"controller\":true},{\"uid\":\"2\",\"name\":\"b\"}]},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}"},
      /* new elements lose their directives; unknown fields merge like a merge patch */
      {"{\"spec\":{\"containers\":[]},\"extra\":{\"a\":{\"b\":1},\"l\":[1,2]}}",
       "{\"spec\":{\"containers\":[{\"name\":\"n\",\"env\":[{\"name\":\"E\",\"$patch\":\"delete\"},{\"name\":\"F\"}]}]},\"extra\":{\"a\":{\"c\":2},\"l\":[3]}}",
       "{\"spec\":{\"containers\":[{\"name\":\"n\",\"env\":[{\"name\":\"F\"}]}]},\"extra\":{\"a\":{\"b\":1,\"c\":2},\"l\":[3]}}"},
      /* $retainKeys keeps listed keys the patch does not mention */
      {"{\"spec\":{\"volumes\":[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\"},\"emptyDir\":{}}]}}",
       "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$retainKeys\":[\"name\",\"secret\"]}]}}",
       "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\"}}]}}"},
      /* $setElementOrder of a primitive set */
      {"{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}",
       "{\"metadata\":{\"$setElementOrder/finalizers\":[\"c/z\",\"b/y\",\"a/x\"],\"finalizers\":[\"c/z\"]}}",
       "{\"metadata\":{\"finalizers\":[\"c/z\",\"b/y\",\"a/x\"]}}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *r = smp(pods, cases[i][0], cases[i][1]);
    assert_json_eq(r, cases[i][2]);
    json_decref(r);
  }
  /* a merge-keyed list element without its key is an error, named */
  json_t *o = J("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
  json_t *p = J("{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}");
  drv_err err = {0};
  assert_null(drv_strategic_merge_patch(pods, o, p, &err));
  assert_non_null(strstr(err.msg, "merge key: name"));
  json_decref(p);
  p = J("{\"spec\":{\"$patch\":\"explode\"}}");
  assert_null(drv_strategic_merge_patch(pods, o, p, &err));
  assert_non_null(strstr(err.msg, "explode"));
  json_decref(p);
  json_decref(o);
  /* the pointer helper */
  json_t *d = J("{\"a/b\":{\"m~n\":[10,20]}}");
  assert_int_equal(json_integer_value(drv_json_pointer_get(d, "/a~1b/m~0n/1")), 20);
  assert_null(drv_json_pointer_get(d, "/a~1b/m~0n/2"));
  assert_null(drv_json_pointer_get(d, "/a~2"));
  json_decref(d);
}

static void patch_apply_statuses(void **state)
{
  (void)state;
  const drv_api_resource *pods = res("", "pods");
  json_t *o = J("{\"metadata\":{\"name\":\"p\"}}");
  json_t *st = NULL;
  const char *bad = "{not json";
  assert_null(drv_api_patch_apply(pods, o, DRV_PATCH_MERGE, bad, strlen(bad), &st));
  assert_int_equal(drv_status_code(st), 400);
  json_decref(st);
  const char *failing = "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"q\"}]";
  assert_null(drv_api_patch_apply(pods, o, DRV_PATCH_JSON, failing, strlen(failing), &st));
  assert_int_equal(drv_status_code(st), 422);
  json_decref(st);
  const char *good = "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}";
  json_t *r = drv_api_patch_apply(pods, o, DRV_PATCH_STRATEGIC, good, strlen(good), &st);
  assert_json_eq(r, "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"}}}");
  json_decref(r);
  json_decref(o);
  assert_int_equal(drv_patch_type_from_content_type("application/strategic-merge-patch+json; charset=utf-8"), DRV_PATCH_STRATEGIC);
  assert_int_equal(drv_patch_type_from_content_type("application/json-patch+json"), DRV_PATCH_JSON);
  assert_int_equal(drv_patch_type_from_content_type("application/merge-patch+json"), DRV_PATCH_MERGE);
  assert_int_equal(drv_patch_type_from_content_type("application/json"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(merge_patch_rfc_examples),
      cmocka_unit_test(json_patch_rfc_examples),
      cmocka_unit_test(strategic_merge_keys),
      cmocka_unit_test(strategic_deployment_apply),
      cmocka_unit_test(strategic_more_semantics),
      cmocka_unit_test(patch_apply_statuses),
  };
  return cmocka_run_group_tests_name("api_patch", tests, NULL, NULL);
}
