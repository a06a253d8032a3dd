/* Duplicate keys of JSON and YAML bodies as field paths, and what fieldValidation does with
 * them. */
#include "helpers.h"

#include "api/fieldvalidation.h"
#include "api/resource.h"
#include "api/status.h"
#include "common/buf.h"

#include <time.h>

static json_t *dups_json(const char *text)
{
  json_t *out = json_array();
  drv_api_duplicate_fields_json(text, strlen(text), out);
  return out;
}

static json_t *dups_yaml(const char *text)
{
  json_t *out = json_array();
  drv_api_duplicate_fields_yaml(text, strlen(text), out);
  return out;
}

static void assert_paths(json_t *got, const char *const *want)
{
  size_t n = 0;
  for (; want[n]; n++) {
    const char *g = json_string_value(json_array_get(got, n));
    if (!g || strcmp(g, want[n])) fail_msg("path %zu: got `%s`, want `%s`", n, g ? g : "(none)", want[n]);
  }
  assert_int_equal(json_array_size(got), n);
  json_decref(got);
}

static void json_paths(void **state)
{
  (void)state;
  assert_paths(dups_json("{\"a\":1,\"b\":{\"c\":[1,{\"d\":2,\"d\":3}]},\"a\":\"x\"}"),
               (const char *const[]){"b.c[1].d", "a", NULL});
  /* escapes resolved: "\u0061" is "a"; strings with brackets and quotes do not confuse it */
  assert_paths(dups_json(" { \"a\" : \"}]\\\"\" , \"\\u0061\" : [ ] , \"k\\\"\":1, \"k\\\"\":2 } "),
               (const char *const[]){"a", "k\"", NULL});
  /* the same key in sibling objects is no duplicate; three times is reported once */
  assert_paths(dups_json("[{\"a\":1},{\"a\":2},{\"x\":1,\"x\":2,\"x\":3}]"),
               (const char *const[]){"[2].x", NULL});
  assert_paths(dups_json("{\"metadata\":{\"name\":\"a\",\"labels\":{\"\\ud83d\\ude00\":\"1\",\"😀\":\"2\"}}}"),
               (const char *const[]){"metadata.labels.😀", NULL});
  assert_paths(dups_json("{}"), (const char *const[]){NULL});
}

static void yaml_paths(void **state)
{
  (void)state;
  assert_paths(dups_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
                         "data:\n  x: '1'\n  y: '2'\n  x: '3'\n"),
               (const char *const[]){"metadata.name", "data.x", NULL});
  assert_paths(dups_yaml("spec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n"
                         "      - name: a\n        image: b\n      - name: c\n        env:\n"
                         "        - {name: X, value: '1', value: '2'}\n  replicas: 2\n"),
               (const char *const[]){"spec.template.spec.containers[1].env[0].value", "spec.replicas", NULL});
  /* flow style, anchors and aliases, a complex key */
  assert_paths(dups_yaml("a: &x {b: 1}\nc: *x\n? [k]\n: v\nd: [1, {e: 1, e: 2}]\n"),
               (const char *const[]){"d[1].e", NULL});
  assert_paths(dups_yaml("a: 1\n"), (const char *const[]){NULL});
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bodies at the request size limit that once took minutes of CPU: a map of 150,000 keys (each
 * key compared with all before it) and 200,000 nested flow sequences (libyaml's scanner slows
 * with the nesting: the walk now stops where the decoder gives up). Each must take well under
 * a second; 10 s leaves room for a loaded machine and sanitizers. */
static void big_bodies_take_linear_time(void **state)
{
  (void)state;
  enum { KEYS = 150000, NEST = 200000 };
  drv_buf y = DRV_BUF_INIT, j = DRV_BUF_INIT;
  drv_buf_printf(&y, "data:\n");
  drv_buf_printf(&j, "{\"data\":{");
  for (int i = 0; i < KEYS; i++) {
    drv_buf_printf(&y, "  k%d: ''\n", i);
    drv_buf_printf(&j, "\"k%d\":\"\",", i);
  }
  drv_buf_printf(&y, "  k7: ''\n");
  drv_buf_printf(&j, "\"k7\":\"\"}}");
  double t0 = now_s();
  assert_paths(dups_yaml(y.data), (const char *const[]){"data.k7", NULL});
  assert_paths(dups_json(j.data), (const char *const[]){"data.k7", NULL});
  double t1 = now_s();
  assert_true(t1 - t0 < 10.0);
  drv_buf_reset(&y);
  drv_buf_printf(&y, "a: ");
  for (int i = 0; i < NEST; i++) drv_buf_putc(&y, '[');
  for (int i = 0; i < NEST; i++) drv_buf_putc(&y, ']');
  drv_buf_putc(&y, '\n');
  assert_paths(dups_yaml(y.data), (const char *const[]){NULL});
  assert_true(now_s() - t1 < 10.0);
  drv_buf_free(&y);
  drv_buf_free(&j);
}

static void field_validation_modes(void **state)
{
  (void)state;
  const drv_api_resource *cm = drv_api_resource_find("", "v1", "configmaps");
  assert_non_null(cm);
  const char *j = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"name\":\"b\"},"
                  "\"data\":{\"k\":\"1\",\"k\":\"2\"}}";
  const char *y = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata:\n  k: '1'\n  k: '2'\n";
  for (int yaml = 0; yaml < 2; yaml++) {
    const char *body = yaml ? y : j;
    json_t *warnings = NULL, *status = NULL;
    json_t *o = drv_api_decode(cm, body, strlen(body), yaml, DRV_FV_STRICT, &warnings, &status);
    assert_null(o);
    assert_int_equal(drv_status_code(status), 400);
    const char *msg = json_string_value(json_object_get(status, "message"));
    assert_non_null(strstr(msg, "strict decoding error: duplicate field \"metadata.name\", duplicate field \"data.k\""));
    json_decref(status);
    status = NULL;
    o = drv_api_decode(cm, body, strlen(body), yaml, DRV_FV_WARN, &warnings, &status);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), "b");
    assert_int_equal(json_array_size(warnings), 2);
    assert_string_equal(json_string_value(json_array_get(warnings, 0)), "duplicate field \"metadata.name\"");
    json_decref(o);
    json_decref(warnings);
    warnings = NULL;
    o = drv_api_decode(cm, body, strlen(body), yaml, DRV_FV_IGNORE, &warnings, &status);
    assert_non_null(o);
    assert_null(warnings);
    json_decref(o);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(json_paths),
      cmocka_unit_test(yaml_paths),
      cmocka_unit_test(field_validation_modes),
      cmocka_unit_test(big_bodies_take_linear_time),
  };
  return cmocka_run_group_tests_name("api_dupfields", tests, NULL, NULL);
}
