/* The in-process API client over a real server (temp data dir, ephemeral port): create, get,
 * list with selectors, patch, update conflicts, watch events, delete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/client.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/util.h"
#include "server/internal.h"
#include "server/server.h"
#include "server_fixture.h"


static json_t *configmap(const char *name, const char *label)
{
  return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                   "metadata", "name", name, "labels", "app", label, "data", "k", "v");
}

static void test_crud(void **state)
{
  fixture *f = *state;
  drv_err err = {0};
  drv_api_ref coll = {.version = "v1", .resource = "configmaps", .ns = "default"};
  json_t *a = configmap("a", "x"), *b = configmap("b", "y"), *out = NULL;
  assert_int_equal(drv_api_create(f->c, &coll, a, &out, &err), 0);
  assert_string_equal(drv_json_get_str(out, "metadata.name"), "a");
  assert_non_null(drv_json_get_str(out, "metadata.uid"));
  json_decref(out);
  assert_int_equal(drv_api_create(f->c, &coll, b, NULL, &err), 0);
  assert_int_equal(drv_api_create(f->c, &coll, a, NULL, &err), DRV_API_ECONFLICT);

  drv_api_list_opts lo = {.label_selector = "app=y"};
  assert_int_equal(drv_api_list(f->c, &coll, &lo, &out, &err), 0);
  assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
  assert_string_equal(drv_json_get_str(json_array_get(json_object_get(out, "items"), 0), "metadata.name"), "b");
  json_decref(out);

  drv_api_ref one = coll;
  one.name = "a";
  json_t *patch = json_pack("{s:{s:s}}", "data", "k2", "v2");
  assert_int_equal(drv_api_patch(f->c, &one, DRV_API_PATCH_MERGE, patch, &out, &err), 0);
  assert_string_equal(drv_json_get_str(out, "data.k2"), "v2");
  json_t *stale = json_deep_copy(out);
  json_decref(out);
  /* re-applying the same patch changes nothing: the resourceVersion stays */
  assert_int_equal(drv_api_patch(f->c, &one, DRV_API_PATCH_MERGE, patch, NULL, &err), 0);
  drv_json_set(stale, "data.k3", json_string("v3"));
  assert_int_equal(drv_api_update(f->c, &one, stale, NULL, &err), 0);
  /* stale still carries the old resourceVersion: conflict */
  drv_json_set(stale, "data.k4", json_string("v4"));
  assert_int_equal(drv_api_update(f->c, &one, stale, NULL, &err), DRV_API_ECONFLICT);
  json_decref(stale);
  json_decref(patch);

  assert_int_equal(drv_api_delete(f->c, &one, NULL, NULL, &err), 0);
  assert_int_equal(drv_api_get(f->c, &one, NULL, &err), DRV_API_ENOTFOUND);
  json_decref(a);
  json_decref(b);
}

/* Pages through the in-process client are one snapshot, as over HTTP. */
static void test_paginated_list(void **state)
{
  fixture *f = *state;
  drv_err err = {0};
  drv_api_ref coll = {.version = "v1", .resource = "configmaps", .ns = "default"};
  const char *names[] = {"p1", "p2", "p3", "p4"};
  for (int i = 0; i < 4; i++) {
    json_t *o = configmap(names[i], "pg");
    assert_int_equal(drv_api_create(f->c, &coll, o, NULL, &err), 0);
    json_decref(o);
  }
  drv_api_list_opts lo = {.label_selector = "app=pg", .limit = 2};
  json_t *page = NULL;
  assert_int_equal(drv_api_list(f->c, &coll, &lo, &page, &err), 0);
  assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
  char *tok = drv_strdup(drv_json_get_str(page, "metadata.continue"));
  char *rv = drv_strdup(drv_json_get_str(page, "metadata.resourceVersion"));
  json_decref(page);
  /* between the pages: p3 goes, p0 and p5 come */
  drv_api_ref p3 = coll;
  p3.name = "p3";
  assert_int_equal(drv_api_delete(f->c, &p3, NULL, NULL, &err), 0);
  json_t *p0 = configmap("p0", "pg"), *p5 = configmap("p5", "pg");
  assert_int_equal(drv_api_create(f->c, &coll, p0, NULL, &err), 0);
  assert_int_equal(drv_api_create(f->c, &coll, p5, NULL, &err), 0);
  json_decref(p0);
  json_decref(p5);
  lo.continue_token = tok;
  assert_int_equal(drv_api_list(f->c, &coll, &lo, &page, &err), 0);
  json_t *items = json_object_get(page, "items");
  assert_int_equal(json_array_size(items), 2);
  assert_string_equal(drv_json_get_str(json_array_get(items, 0), "metadata.name"), "p3");
  assert_string_equal(drv_json_get_str(json_array_get(items, 1), "metadata.name"), "p4");
  assert_string_equal(drv_json_get_str(page, "metadata.resourceVersion"), rv);
  assert_null(drv_json_get_str(page, "metadata.continue"));
  json_decref(page);
  lo.continue_token = "12x";
  assert_int_equal(drv_api_list(f->c, &coll, &lo, &page, &err), DRV_API_EBADREQ);
  free(tok);
  free(rv);
}

static void test_watch(void **state)
{
  fixture *f = *state;
  drv_err err = {0};
  drv_api_ref coll = {.version = "v1", .resource = "configmaps", .ns = "default"};
  json_t *list = NULL;
  assert_int_equal(drv_api_list(f->c, &coll, NULL, &list, &err), 0);
  drv_api_list_opts wo = {.resource_version = drv_json_get_str(list, "metadata.resourceVersion"),
                          .label_selector = "app=w"};
  drv_api_watch *w = NULL;
  assert_int_equal(drv_api_watch_open(f->c, &coll, &wo, &w, &err), 0);
  json_decref(list);
  json_t *other = configmap("o", "other"), *mine = configmap("m", "w");
  assert_int_equal(drv_api_create(f->c, &coll, other, NULL, &err), 0);
  assert_int_equal(drv_api_create(f->c, &coll, mine, NULL, &err), 0);
  drv_api_ref one = coll;
  one.name = "m";
  assert_int_equal(drv_api_delete(f->c, &one, NULL, NULL, &err), 0);
  drv_api_event ev;
  assert_int_equal(drv_api_watch_next(w, 2000, &ev, &err), 1);
  assert_int_equal(ev.type, DRV_API_ADDED);
  assert_string_equal(drv_json_get_str(ev.object, "metadata.name"), "m");
  json_decref(ev.object);
  assert_int_equal(drv_api_watch_next(w, 2000, &ev, &err), 1);
  assert_int_equal(ev.type, DRV_API_DELETED);
  json_decref(ev.object);
  assert_int_equal(drv_api_watch_next(w, 50, &ev, &err), 0);
  drv_api_watch_close(w);
  json_decref(other);
  json_decref(mine);
}

static void test_event_ttl(void **state)
{
  fixture *f = *state;
  drv_err err = {0};
  drv_api_ref coll = {.version = "v1", .resource = "events", .ns = "default"};
  const char *names[] = {"old", "fresh"};
  const char *times[] = {"2020-01-01T00:00:00Z", NULL};
  char now[64];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
  times[1] = now;
  for (int i = 0; i < 2; i++) {
    json_t *ev = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s}", "apiVersion", "v1",
                           "kind", "Event", "metadata", "name", names[i], "involvedObject", "kind", "Pod",
                           "name", "p", "namespace", "default", "reason", "Test", "message", "m",
                           "type", "Normal", "lastTimestamp", times[i]);
    if (drv_api_create(f->c, &coll, ev, NULL, &err) < 0) fail_msg("create event: %s", err.msg);
    json_decref(ev);
  }
  /* the TTL runs from the last write: both were written just now */
  assert_int_equal(drv_server_expire_events(f->srv, t + 1800, 3600), 0);
  drv_api_ref one = coll;
  one.name = "old";
  assert_int_equal(drv_api_get(f->c, &one, NULL, &err), 0);
  assert_int_equal(drv_server_expire_events(f->srv, t + 7200, 3600), 2);
  assert_int_equal(drv_api_get(f->c, &one, NULL, &err), DRV_API_ENOTFOUND);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_crud, server_fixture_setup, server_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_paginated_list, server_fixture_setup, server_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_watch, server_fixture_setup, server_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_event_ttl, server_fixture_setup, server_fixture_teardown),
  };
  return cmocka_run_group_tests_name("server_client_local", tests, NULL, NULL);
}
