#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/registry.h"

static void bearer_challenge(void **state)
{
  (void)state;
  drv_www_auth a;
  drv_err err;
  assert_int_equal(drv_www_auth_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                      "scope=\"repository:library/busybox:pull\"", &a, &err), 0);
  assert_string_equal(a.scheme, "Bearer");
  assert_string_equal(a.realm, "https://auth.docker.io/token");
  assert_string_equal(a.service, "registry.docker.io");
  assert_string_equal(a.scope, "repository:library/busybox:pull");
  assert_null(a.error);
  drv_www_auth_free(&a);
  /* spaces, unquoted values, escapes, unknown keys, error= */
  assert_int_equal(drv_www_auth_parse("Bearer  realm=\"http://h/t?x=1\", service=svc ,foo=\"b\\\"ar\", "
                                      "error=\"invalid_token\"", &a, &err), 0);
  assert_string_equal(a.realm, "http://h/t?x=1");
  assert_string_equal(a.service, "svc");
  assert_string_equal(a.error, "invalid_token");
  assert_null(a.scope);
  drv_www_auth_free(&a);
  assert_int_equal(drv_www_auth_parse("Basic realm=\"Registry Realm\"", &a, &err), 0);
  assert_string_equal(a.scheme, "Basic");
  assert_string_equal(a.realm, "Registry Realm");
  drv_www_auth_free(&a);
}

static void bad_challenges(void **state)
{
  (void)state;
  const char *bad[] = {"", "Bearer service=\"x\"", "Bearer realm=\"unterminated", "Bearer realm"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    drv_www_auth a;
    drv_err err;
    if (drv_www_auth_parse(bad[i], &a, &err) == 0) fail_msg("accepted `%s`", bad[i]);
  }
}

static void credentials_file(void **state)
{
  (void)state;
  char path[] = "/tmp/drv-auth-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  /* alice:s3cret:x (a colon in the password), docker hub's legacy key, username/password form */
  const char *json = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3\"},"
                     "\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6czNjcmV0Ong=\"},"
                     "\"http://reg.example.com/v2\":{\"username\":\"bob\",\"password\":\"pw\"}}}";
  assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
  close(fd);
  char *u, *p;
  drv_err err;
  assert_int_equal(drv_registry_credentials(path, "127.0.0.1:5000", &u, &p, &err), 0);
  assert_string_equal(u, "alice");
  assert_string_equal(p, "s3cret:x");
  free(u);
  free(p);
  assert_int_equal(drv_registry_credentials(path, "docker.io", &u, &p, &err), 0);
  assert_string_equal(u, "hub");
  assert_string_equal(p, "pw");
  free(u);
  free(p);
  assert_int_equal(drv_registry_credentials(path, "reg.example.com", &u, &p, &err), 0);
  assert_string_equal(u, "bob");
  free(u);
  free(p);
  assert_int_equal(drv_registry_credentials(path, "other.example.com", &u, &p, &err), -1);
  assert_int_equal(err.errnum, ENOENT);
  unlink(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bearer_challenge),
      cmocka_unit_test(bad_challenges),
      cmocka_unit_test(credentials_file),
  };
  return cmocka_run_group_tests_name("image_auth", tests, NULL, NULL);
}
