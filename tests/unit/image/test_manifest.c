#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "image/manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void index_selects_linux_amd64(void **state)
{
  (void)state;
  const char *doc = "{\"schemaVersion\":2,\"mediaType\":\"" DRV_MT_DOCKER_LIST "\",\"manifests\":["
                    "{\"mediaType\":\"" DRV_MT_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
                    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                    "{\"mediaType\":\"" DRV_MT_DOCKER_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":11,"
                    "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
                    "{\"mediaType\":\"" DRV_MT_DOCKER_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":12,"
                    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
  drv_image_manifest m;
  drv_err err;
  assert_int_equal(drv_image_manifest_parse(doc, strlen(doc), NULL, &m, &err), 0);
  assert_int_equal(m.kind, DRV_MANIFEST_INDEX);
  assert_int_equal(m.n_manifests, 3);
  const drv_image_descriptor *d;
  assert_int_equal(drv_image_index_select(&m, "linux", "amd64", &d, &err), 0);
  assert_string_equal(d->digest, D3);
  assert_int_equal(drv_image_index_select(&m, "linux", "s390x", &d, &err), -1);
  assert_int_equal(err.errnum, ENOENT);
  drv_image_manifest_free(&m);
}

static void image_manifest_and_media_types(void **state)
{
  (void)state;
  /* OCI without mediaType: recognized by its fields; zstd layer accepted */
  const char *doc = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" DRV_MT_OCI_CONFIG "\",\"digest\":\"" D1
                    "\",\"size\":5},\"layers\":[{\"mediaType\":\"" DRV_MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D2
                    "\",\"size\":7},{\"mediaType\":\"" DRV_MT_DOCKER_LAYER_GZIP "\",\"digest\":\"" D3
                    "\",\"size\":9}]}";
  drv_image_manifest m;
  drv_err err;
  assert_int_equal(drv_image_manifest_parse(doc, strlen(doc), NULL, &m, &err), 0);
  assert_int_equal(m.kind, DRV_MANIFEST_IMAGE);
  assert_string_equal(m.config.digest, D1);
  assert_int_equal(m.n_layers, 2);
  assert_int_equal(m.layers[1].size, 9);
  drv_image_manifest_free(&m);
  drv_layer_compression c;
  assert_int_equal(drv_image_layer_compression(DRV_MT_OCI_LAYER, &c, &err), 0);
  assert_int_equal(c, DRV_LAYER_TAR);
  assert_int_equal(drv_image_layer_compression("application/x-foo", &c, &err), -1);
  assert_non_null(strstr(err.msg, "application/x-foo"));

  const char *bad[] = {
      "{\"schemaVersion\":1,\"fsLayers\":[]}",
      "{\"schemaVersion\":2,\"mediaType\":\"application/x-unknown\"}",
      "{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"x/y\",\"digest\":\"" D1 "\",\"size\":1}],"
      "\"config\":{\"digest\":\"" D2 "\",\"size\":1}}",
      "{\"schemaVersion\":2,\"layers\":[],\"config\":{\"digest\":\"sha256:short\",\"size\":1}}",
      "{\"schemaVersion\":2,\"layers\":[],\"config\":{\"digest\":\"" D2 "\",\"size\":-1}}",
      "[1,2]",
      "{not json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (drv_image_manifest_parse(bad[i], strlen(bad[i]), NULL, &m, &err) == 0) fail_msg("accepted %s", bad[i]);
    assert_true(strlen(err.msg) > 0);
  }
}

static void config_and_overrides(void **state)
{
  (void)state;
  const char *doc = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"created\":\"2024-01-02T03:04:05.123Z\","
                    "\"config\":{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"a\",\"b\"],\"Env\":[\"A=1\",\"B=2\"],"
                    "\"WorkingDir\":\"/w\",\"User\":\"app\",\"ExposedPorts\":{\"80/tcp\":{}},\"StopSignal\":\"SIGQUIT\"},"
                    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";
  drv_image_config cfg;
  char **ids;
  size_t n;
  int64_t created;
  drv_err err;
  assert_int_equal(drv_image_config_parse(doc, strlen(doc), &cfg, &ids, &n, &created, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(ids[0], D1);
  assert_int_equal(created, 1704164645);
  assert_string_equal(cfg.exposed_ports[0], "80/tcp");
  drv_strv_free(ids);

  drv_image_process p;
  assert_int_equal(drv_image_process_from_config(&cfg, NULL, &p, &err), 0);
  assert_string_equal(p.args[0], "/ep");
  assert_string_equal(p.args[2], "b");
  assert_null(p.args[3]);
  assert_string_equal(p.env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert_string_equal(p.env[1], "A=1");
  assert_string_equal(p.cwd, "/w");
  assert_string_equal(p.user, "app");
  assert_string_equal(p.stop_signal, "SIGQUIT");
  drv_image_process_free(&p);

  /* args only: Entrypoint kept, Cmd replaced; env override by name and appended */
  char *args[] = {"x", NULL}, *env[] = {"B=override", "C=3", NULL};
  drv_image_overrides ov = {.args = args, .env = env, .working_dir = "/o", .user = "0:0"};
  assert_int_equal(drv_image_process_from_config(&cfg, &ov, &p, &err), 0);
  assert_string_equal(p.args[0], "/ep");
  assert_string_equal(p.args[1], "x");
  assert_null(p.args[2]);
  assert_string_equal(p.env[2], "B=override");
  assert_string_equal(p.env[3], "C=3");
  assert_string_equal(p.cwd, "/o");
  assert_string_equal(p.user, "0:0");
  drv_image_process_free(&p);

  /* command only: replaces Entrypoint and drops Cmd */
  char *cmd[] = {"/bin/sh", "-c", "true", NULL};
  drv_image_overrides ov2 = {.command = cmd};
  assert_int_equal(drv_image_process_from_config(&cfg, &ov2, &p, &err), 0);
  assert_string_equal(p.args[0], "/bin/sh");
  assert_null(p.args[3]);
  drv_image_process_free(&p);
  drv_image_config_free(&cfg);

  /* nothing to run */
  drv_image_config empty = {0};
  assert_int_equal(drv_image_process_from_config(&empty, NULL, &p, &err), -1);
  assert_int_equal(err.errnum, EINVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(index_selects_linux_amd64),
      cmocka_unit_test(image_manifest_and_media_types),
      cmocka_unit_test(config_and_overrides),
  };
  return cmocka_run_group_tests_name("image_manifest", tests, NULL, NULL);
}
