/* yaml → json, quantities, selectors, Status objects, the resource registry. */
#include "helpers.h"

#include "api/object.h"
#include "api/quantity.h"
#include "api/resource.h"
#include "api/selector.h"
#include "api/status.h"
#include "common/json.h"
#include "common/yaml.h"

static void yaml_scalars_as_kubectl(void **state)
{
  (void)state;
  const char *y = "a: 1\nb: 1.5\nc: true\nd: yes\ne: off\nf: ~\ng:\nh: \"1\"\ni: '007'\nj: 0x1f\n"
                  "k: 0755\nl: 1e3\nm: 1_000\nnn: .inf\no: hello world\np: 2.0\nq: !!str 12\n"
                  "r: |\n  line1\n  line2\ns: [1, two, {x: yy}]\nt: null\nu: 3Gi\nv: 1.10\n";
  drv_err err = {0};
  json_t *v = drv_yaml_load(y, strlen(y), &err);
  if (!v) fail_msg("%s", err.msg);
  assert_json_eq(v, "{\"a\":1,\"b\":1.5,\"c\":true,\"d\":true,\"e\":false,\"f\":null,\"g\":null,"
                    "\"h\":\"1\",\"i\":\"007\",\"j\":31,\"k\":493,\"l\":1000,\"m\":1000,\"nn\":\".inf\","
                    "\"o\":\"hello world\",\"p\":2,\"q\":\"12\",\"r\":\"line1\\nline2\\n\","
                    "\"s\":[1,\"two\",{\"x\":\"yy\"}],\"t\":null,\"u\":\"3Gi\",\"v\":1.1}");
  json_decref(v);
}

static void yaml_multi_document_anchors_errors(void **state)
{
  (void)state;
  const char *y = "---\n# comment only\n---\nkind: A\nbase: &b {x: 1, z: 2}\nref: *b\nmerged:\n  <<: *b\n  z: 3\n---\nkind: B\n...\n";
  drv_err err = {0};
  json_t *docs = drv_yaml_load_all(y, strlen(y), &err);
  if (!docs) fail_msg("%s", err.msg);
  assert_int_equal(json_array_size(docs), 2);
  assert_json_eq(json_array_get(docs, 0),
                 "{\"kind\":\"A\",\"base\":{\"x\":1,\"z\":2},\"ref\":{\"x\":1,\"z\":2},\"merged\":{\"z\":3,\"x\":1}}");
  json_decref(docs);
  const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
  assert_null(drv_yaml_load_all(bad, strlen(bad), &err));
  assert_non_null(strstr(err.msg, "line "));
  const char *two = "a: 1\n---\nb: 2\n";
  assert_null(drv_yaml_load(two, strlen(two), &err));
  /* an alias bomb is refused, not expanded */
  const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                     "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
  assert_null(drv_yaml_load_all(bomb, strlen(bomb), &err));
  assert_non_null(strstr(err.msg, "too many values"));
  /* round trip through drv_json_to_yaml */
  json_t *v = J("{\"a\":\"1\",\"b\":[{\"c\":true,\"d\":[]},\"x: y\"],\"e\":{},\"f\":\"yes\",\"g\":null,\"h\":\"multi\\nline\"}");
  char *text = drv_json_to_yaml(v);
  json_t *back = drv_yaml_load(text, strlen(text), &err);
  if (!back) fail_msg("%s\n%s", err.msg, text);
  assert_true(json_equal(v, back));
  free(text);
  json_decref(back);
  json_decref(v);
  /* a top-level "..." is the document-end marker unless quoted (found by fuzz_yaml) */
  v = json_string("...");
  text = drv_json_to_yaml(v);
  back = drv_yaml_load(text, strlen(text), &err);
  if (!back) fail_msg("%s\n%s", err.msg, text);
  assert_true(json_equal(v, back));
  free(text);
  json_decref(back);
  json_decref(v);
}

static void json_paths(void **state)
{
  (void)state;
  json_t *o = J("{\"a\":{\"b\":{\"c\":5,\"s\":\"x\",\"t\":true}}}");
  assert_int_equal(drv_json_get_int(o, "a.b.c", 0), 5);
  assert_string_equal(drv_json_get_str(o, "a.b.s"), "x");
  assert_true(drv_json_get_bool(o, "a.b.t", false));
  assert_null(drv_json_get(o, "a.x.c"));
  drv_json_set(o, "a.y.z", json_integer(1));
  assert_int_equal(drv_json_get_int(o, "a.y.z", 0), 1);
  assert_int_equal(drv_json_set_default(o, "a.y.z", json_integer(2)), 0);
  assert_int_equal(drv_json_set_default(o, "a.y.w", json_integer(2)), 1);
  drv_json_del(o, "a.b");
  char *s = drv_json_dump_canonical(o);
  assert_string_equal(s, "{\"a\":{\"y\":{\"w\":2,\"z\":1}}}");
  free(s);
  json_decref(o);
  drv_err err;
  assert_null(drv_json_parse("{\n \"a\": }", 9, &err));
  assert_non_null(strstr(err.msg, "line 2"));
}

static void quantities(void **state)
{
  (void)state;
  static const struct {
    const char *in;
    int64_t milli;
    const char *canon;
  } cases[] = {
      {"100m", 100, "100m"},   {"1", 1000, "1"},         {"1.5", 1500, "1500m"},
      {"0.1", 100, "100m"},    {"128Mi", 134217728000LL, "128Mi"}, {"1Gi", 1073741824000LL, "1Gi"},
      {"1G", 1000000000000LL, "1G"}, {"1e3", 1000000, "1e3"}, {"1500k", 1500000000, "1500k"},
      {"2Ki", 2048000, "2Ki"}, {"1536", 1536000, "1536"}, {"1000m", 1000, "1"},
      {"1u", 1, "1m"},         {"-1", -1000, "-1"},      {"0", 0, "0"},
      {"1.5Gi", 1610612736000LL, "1536Mi"}, {"+2", 2000, "2"}, {"12E", 0, NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    drv_quantity q;
    drv_err err;
    if (!cases[i].canon) continue;
    if (drv_quantity_parse(cases[i].in, &q, &err) < 0) fail_msg("%s: %s", cases[i].in, err.msg);
    if (q.milli != cases[i].milli) fail_msg("%s: milli %lld", cases[i].in, (long long)q.milli);
    char buf[32];
    assert_string_equal(drv_quantity_format(&q, buf, sizeof(buf)), cases[i].canon);
  }
  static const char *bad[] = {"", "abc", "1x", "1.2.3", "Mi", "1Mii", "--1", "1e", NULL};
  for (size_t i = 0; bad[i]; i++) {
    drv_quantity q;
    drv_err err;
    if (drv_quantity_parse(bad[i], &q, &err) == 0) fail_msg("accepted `%s`", bad[i]);
  }
  assert_int_equal(drv_quantity_parse_value("1.1"), 2);
  assert_int_equal(drv_quantity_parse_milli("250m"), 250);
  assert_int_equal(drv_quantity_parse_value("100000000000000000000Ei"), -1);
}

static void label_selectors(void **state)
{
  (void)state;
  drv_err err;
  json_t *labels = J("{\"app\":\"web\",\"tier\":\"front\",\"n\":\"5\"}");
  static const struct {
    const char *sel;
    bool match;
  } cases[] = {
      {"", true}, {"app=web", true}, {"app==web", true}, {"app!=web", false},
      {"app=db", false}, {"app in (db, web)", true}, {"app notin (web)", false},
      {"tier", true}, {"!tier", false}, {"missing", false}, {"!missing", true},
      {"missing!=x", true}, {"missing notin (x)", true}, {"app=web,tier=front", true},
      {"app=web,tier=back", false}, {"n>4", true}, {"n<5", false}, {" app = web ", true},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    drv_label_selector *s = drv_label_selector_parse(cases[i].sel, &err);
    if (!s) fail_msg("`%s`: %s", cases[i].sel, err.msg);
    if (drv_label_selector_matches(s, labels) != cases[i].match) fail_msg("`%s` mismatch", cases[i].sel);
    drv_label_selector_free(s);
  }
  static const char *bad[] = {"app in web", "app in (", "=x", "app=web,", "a b", "app=-x-", "-a=b", NULL};
  for (size_t i = 0; bad[i]; i++) {
    drv_label_selector *s = drv_label_selector_parse(bad[i], &err);
    if (s) fail_msg("accepted `%s`", bad[i]);
    assert_non_null(strstr(err.msg, bad[i]));
  }
  drv_label_selector *s = drv_label_selector_parse("z=1,a in (c,b),!q", &err);
  char *str = drv_label_selector_string(s);
  assert_string_equal(str, "a in (b,c),!q,z=1");
  assert_string_equal(drv_label_selector_equals(s, "z"), "1");
  free(str);
  drv_label_selector_free(s);
  json_t *js = J("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"front\",\"x\"]},"
                 "{\"key\":\"gone\",\"operator\":\"DoesNotExist\"}]}");
  s = drv_label_selector_from_json(js, &err);
  assert_non_null(s);
  assert_true(drv_label_selector_matches(s, labels));
  drv_label_selector_free(s);
  char *t = drv_label_selector_json_to_string(js);
  assert_string_equal(t, "app=web,!gone,tier in (front,x)");
  free(t);
  json_decref(js);
  js = J("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}");
  assert_null(drv_label_selector_from_json(js, &err));
  json_decref(js);
  json_t *empty = json_object();
  s = drv_label_selector_from_map(empty, true);
  assert_false(drv_label_selector_matches(s, labels));
  drv_label_selector_free(s);
  json_decref(empty);
  json_decref(labels);
}

static void field_selectors(void **state)
{
  (void)state;
  drv_err err;
  const drv_api_resource *pods = drv_api_resource_find("", "v1", "pods");
  json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\"}}");
  static const struct {
    const char *sel;
    bool match;
  } cases[] = {
      {"metadata.name=p", true}, {"metadata.name!=p", false}, {"spec.nodeName==n1", true},
      {"spec.nodeName=", false}, {"status.phase!=Running,metadata.namespace=d", false},
      {"status.podIP=", true},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    drv_field_selector *s = drv_field_selector_parse(pods, cases[i].sel, &err);
    if (!s) fail_msg("`%s`: %s", cases[i].sel, err.msg);
    if (drv_field_selector_matches(s, pod) != cases[i].match) fail_msg("`%s` mismatch", cases[i].sel);
    drv_field_selector_free(s);
  }
  drv_field_selector *s = drv_field_selector_parse(pods, "spec.nodeName=n1", &err);
  assert_string_equal(drv_field_selector_equals(s, "spec.nodeName"), "n1");
  drv_field_selector_free(s);
  assert_null(drv_field_selector_parse(pods, "spec.foo=x", &err));
  assert_string_equal(err.msg, "field label not supported: spec.foo");
  /* as Kubernetes: an unescaped '=' in a value, or an unknown escape, is refused */
  assert_null(drv_field_selector_parse(pods, "status.phase===", &err));
  assert_string_equal(err.msg, "invalid field selector: unescaped character in value: =");
  assert_null(drv_field_selector_parse(pods, "status.phase=a\\x", &err));
  assert_string_equal(err.msg, "invalid field selector: invalid escape sequence: \\x");
  s = drv_field_selector_parse(pods, "metadata.name=a\\=b\\,c", &err);
  assert_non_null(s);
  assert_string_equal(drv_field_selector_equals(s, "metadata.name"), "a=b,c");
  drv_field_selector_free(s);
  const drv_api_resource *ev = drv_api_resource_find("", "v1", "events");
  json_t *e = J("{\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\"},\"source\":{\"component\":\"sched\"}}");
  s = drv_field_selector_parse(ev, "involvedObject.kind=Pod,involvedObject.name=p,source=sched", &err);
  assert_true(drv_field_selector_matches(s, e));
  drv_field_selector_free(s);
  const drv_api_resource *nodes = drv_api_resource_find("", "v1", "nodes");
  json_t *n = J("{\"metadata\":{\"name\":\"n\"}}");
  s = drv_field_selector_parse(nodes, "spec.unschedulable=false", &err);
  assert_true(drv_field_selector_matches(s, n));
  drv_field_selector_free(s);
  json_decref(n);
  json_decref(e);
  json_decref(pod);
}

static void statuses(void **state)
{
  (void)state;
  const drv_api_resource *deploy = drv_api_resource_find("apps", "v1", "deployments");
  json_t *s = drv_status_not_found(deploy, "web");
  assert_json_eq(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                    "\"message\":\"deployments.apps \\\"web\\\" not found\",\"reason\":\"NotFound\","
                    "\"details\":{\"name\":\"web\",\"group\":\"apps\",\"kind\":\"deployments\"},\"code\":404}");
  json_decref(s);
  const drv_api_resource *pods = drv_api_resource_find("", "v1", "pods");
  json_t *causes = json_array();
  json_array_append_new(causes, drv_status_cause("FieldValueRequired", "Required value", "spec.containers[0].image"));
  s = drv_status_invalid(pods, "p", causes);
  assert_int_equal(drv_status_code(s), 422);
  assert_string_equal(json_string_value(json_object_get(s, "message")),
                      "Pod \"p\" is invalid: spec.containers[0].image: Required value");
  assert_string_equal(drv_json_get_str(s, "details.kind"), "Pod");
  json_decref(s);
  s = drv_status_conflict(pods, "p", NULL);
  assert_int_equal(drv_status_code(s), 409);
  assert_non_null(strstr(json_string_value(json_object_get(s, "message")), "the object has been modified"));
  json_decref(s);
  s = drv_status_already_exists(pods, "p");
  assert_string_equal(json_string_value(json_object_get(s, "reason")), "AlreadyExists");
  json_decref(s);
  s = drv_status_too_many_requests(3);
  assert_int_equal(drv_json_get_int(s, "details.retryAfterSeconds", 0), 3);
  json_decref(s);
  s = drv_status_gone("too old resource version: 1 (9)");
  assert_string_equal(json_string_value(json_object_get(s, "reason")), "Expired");
  json_decref(s);
  s = drv_status_forbidden(pods, NULL, "User \"x\" cannot list resource \"pods\"");
  assert_string_equal(json_string_value(json_object_get(s, "message")), "pods is forbidden: User \"x\" cannot list resource \"pods\"");
  json_decref(s);
  json_decref(drv_status_unauthorized());
  json_decref(drv_status_internal("boom"));
  json_decref(drv_status_method_not_allowed(pods, "PUT"));
  json_decref(drv_status_bad_request("x"));
}

static void registry(void **state)
{
  (void)state;
  assert_string_equal(drv_api_resource_lookup("po")->kind, "Pod");
  assert_string_equal(drv_api_resource_lookup("deploy")->group, "apps");
  assert_string_equal(drv_api_resource_lookup("hpa")->version, "v2");
  assert_string_equal(drv_api_resource_lookup("ev")->group, "");
  assert_string_equal(drv_api_resource_lookup("events.events.k8s.io")->group, "events.k8s.io");
  assert_string_equal(drv_api_resource_lookup("Deployment")->plural, "deployments");
  assert_string_equal(drv_api_resource_lookup("nodes")->group, "");
  assert_null(drv_api_resource_lookup("widgets"));
  const drv_api_resource *v1 = drv_api_resource_by_kind("autoscaling/v1", "HorizontalPodAutoscaler");
  assert_string_equal(drv_api_resource_storage(v1)->version, "v2");
  assert_string_equal(drv_api_group_preferred_version("autoscaling"), "v2");
  assert_null(drv_api_resource_by_kind("apps/v1", "Pod"));
  char g[128], v[128];
  assert_int_equal(drv_api_split_api_version("apps/v1", g, v, sizeof(g)), 0);
  assert_string_equal(g, "apps");
  assert_int_equal(drv_api_split_api_version("a/b/c", g, v, sizeof(g)), -1);
  assert_int_equal(drv_api_verb_bit("watch"), DRV_VERB_WATCH);
  assert_string_equal(drv_api_subresource_name(DRV_SUB_SCALE), "scale");
}

static void object_meta(void **state)
{
  (void)state;
  json_t *o = json_object();
  drv_obj_set_name(o, "x");
  drv_obj_set_label(o, "a", "b");
  drv_obj_set_annotation(o, "k", "v");
  drv_obj_set_type(o, drv_api_resource_find("apps", "v1", "deployments"));
  assert_string_equal(drv_obj_name(o), "x");
  assert_string_equal(drv_obj_label(o, "a"), "b");
  assert_string_equal(drv_obj_api_version(o), "apps/v1");
  drv_obj_set_label(o, "a", NULL);
  assert_null(drv_obj_label(o, "a"));
  char uid[40];
  drv_api_new_uid(uid, sizeof(uid));
  assert_int_equal(strlen(uid), 36);
  assert_int_equal(uid[14], '4');
  char *n = drv_api_generate_name("web-");
  assert_int_equal(strlen(n), 9);
  free(n);
  time_t t;
  assert_int_equal(drv_api_time_parse("2024-01-02T03:04:05Z", &t), 0);
  char buf[64];
  drv_api_time_format(t, buf, sizeof(buf));
  assert_string_equal(buf, "2024-01-02T03:04:05Z");
  assert_int_equal(drv_api_time_parse("2024-01-02T05:04:05.123+02:00", &t), 0);
  drv_api_time_format(t, buf, sizeof(buf));
  assert_string_equal(buf, "2024-01-02T03:04:05Z");
  assert_int_equal(drv_api_time_parse("yesterday", &t), -1);
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(yaml_scalars_as_kubectl), cmocka_unit_test(yaml_multi_document_anchors_errors),
      cmocka_unit_test(json_paths),             cmocka_unit_test(quantities),
      cmocka_unit_test(label_selectors),        cmocka_unit_test(field_selectors),
      cmocka_unit_test(statuses),               cmocka_unit_test(registry),
      cmocka_unit_test(object_meta),
  };
  return cmocka_run_group_tests_name("api_basics", tests, NULL, NULL);
}
