#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"

static void check(const char *in, const char *domain, const char *path, const char *tag,
                  const char *digest, const char *norm)
{
  drv_image_ref r;
  drv_err err;
  assert_int_equal(drv_image_ref_parse(in, &r, &err), 0);
  assert_string_equal(r.domain, domain);
  assert_string_equal(r.path, path);
  if (tag) assert_string_equal(r.tag, tag);
  else assert_null(r.tag);
  if (digest) assert_string_equal(r.digest, digest);
  else assert_null(r.digest);
  char *s = drv_image_ref_string(&r);
  assert_string_equal(s, norm);
  free(s);
  drv_image_ref_free(&r);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void docker_hub_defaults(void **state)
{
  (void)state;
  check("busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest");
  check("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36");
  check("user/app:v2", "docker.io", "user/app", "v2", NULL, "docker.io/user/app:v2");
  check("docker.io/library/alpine", "docker.io", "library/alpine", "latest", NULL,
        "docker.io/library/alpine:latest");
}

static void hosts_ports_digests(void **state)
{
  (void)state;
  check("localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest");
  check("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000", "a/b/c", "t", NULL, "127.0.0.1:5000/a/b/c:t");
  check("registry.example.com:443/team/img@" D, "registry.example.com:443", "team/img", NULL, D,
        "registry.example.com:443/team/img@" D);
  check("img:tag@" D, "docker.io", "library/img", "tag", D, "docker.io/library/img@" D);
  check("quay.io/a_b/c-d.e__f:1.0-rc_1", "quay.io", "a_b/c-d.e__f", "1.0-rc_1", NULL,
        "quay.io/a_b/c-d.e__f:1.0-rc_1");
}

static void refused(void **state)
{
  (void)state;
  const char *bad[] = {"", "Busybox", "busybox:", "busybox:-x", "a//b", "a/", "/a", "img@sha256:12",
                       "img@md5:0123", "a:b:c", "bad host!/x", "-lead", "trail-"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    drv_image_ref r;
    drv_err err;
    if (drv_image_ref_parse(bad[i], &r, &err) == 0) fail_msg("accepted `%s`", bad[i]);
    assert_true(strlen(err.msg) > 0);
  }
  drv_image_ref r;
  drv_err err;
  assert_int_equal(drv_image_ref_parse("Upper/case", &r, &err), -1);
  assert_non_null(strstr(err.msg, "lowercase"));
}

static void loopback_and_registry_host(void **state)
{
  (void)state;
  assert_true(drv_image_host_is_loopback("localhost"));
  assert_true(drv_image_host_is_loopback("localhost:5000"));
  assert_true(drv_image_host_is_loopback("127.0.0.1:5000"));
  assert_true(drv_image_host_is_loopback("127.1.2.3"));
  assert_true(drv_image_host_is_loopback("[::1]:5000"));
  assert_false(drv_image_host_is_loopback("127.example.com"));
  assert_false(drv_image_host_is_loopback("localhost.evil.com"));
  assert_false(drv_image_host_is_loopback("10.0.0.1:5000"));
  drv_image_ref r;
  drv_err err;
  assert_int_equal(drv_image_ref_parse("busybox", &r, &err), 0);
  assert_string_equal(drv_image_ref_registry_host(&r), "registry-1.docker.io");
  drv_image_ref_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(docker_hub_defaults),
      cmocka_unit_test(hosts_ports_digests),
      cmocka_unit_test(refused),
      cmocka_unit_test(loopback_and_registry_host),
  };
  return cmocka_run_group_tests_name("image_ref", tests, NULL, NULL);
}
