/* kubeconfig reading: the current context's server, CA data, token, insecure flag; errors
 * that name what is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/kubeconfig.h"
#include "common/fs.h"

static const char KC[] =
    "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443/\n"
    "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
    "- name: other\n  cluster: {server: 'https://other:1', insecure-skip-tls-verify: true}\n"
    "users:\n- name: u\n  user: {token: s3cret}\ncontexts:\n- name: main\n  context: {cluster: c, user: u}\n"
    "- name: alt\n  context: {cluster: other, user: u}\ncurrent-context: main\n";

static void test_current_context(void **st)
{
  drv_kubeconfig kc;
  drv_err err;
  assert_int_equal(drv_kubeconfig_parse(KC, sizeof KC - 1, "t", NULL, &kc, &err), 0);
  assert_string_equal(kc.server, "https://127.0.0.1:6443");
  assert_string_equal(kc.token, "s3cret");
  assert_false(kc.insecure);
  assert_non_null(kc.ca_file);
  char *pem = NULL;
  size_t len = 0;
  assert_int_equal(drv_read_file(kc.ca_file, 0, &pem, &len, &err), 0);
  assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));
  free(pem);
  assert_null(kc.tmp_dir); /* public material is shared: nothing per process to remove */
  char *ca = strdup(kc.ca_file);
  drv_kubeconfig_free(&kc);
  /* the same CA again lands in the same file */
  assert_int_equal(drv_kubeconfig_parse(KC, sizeof KC - 1, "t", NULL, &kc, &err), 0);
  assert_string_equal(kc.ca_file, ca);
  drv_kubeconfig_free(&kc);
  free(ca);
  /* a private key goes to a per-process directory that free() removes */
  const char key[] = "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
                     "users:\n- name: u\n  user: {client-certificate-data: QUJD, client-key-data: REVG}\n"
                     "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
  assert_int_equal(drv_kubeconfig_parse(key, sizeof key - 1, "t", NULL, &kc, &err), 0);
  assert_non_null(kc.tmp_dir);
  char *dir = strdup(kc.tmp_dir);
  assert_int_equal(access(kc.client_key, R_OK), 0);
  drv_kubeconfig_free(&kc);
  assert_int_equal(access(dir, F_OK), -1);
  free(dir);
}

static void test_named_context_and_errors(void **st)
{
  drv_kubeconfig kc;
  drv_err err;
  assert_int_equal(drv_kubeconfig_parse(KC, sizeof KC - 1, "t", "alt", &kc, &err), 0);
  assert_string_equal(kc.server, "https://other:1");
  assert_true(kc.insecure);
  assert_null(kc.ca_file);
  drv_kubeconfig_free(&kc);
  assert_int_equal(drv_kubeconfig_parse(KC, sizeof KC - 1, "t", "nope", &kc, &err), -1);
  assert_string_equal(err.msg, "kubeconfig `t`: context `nope` not found");
  const char none[] = "apiVersion: v1\nkind: Config\n";
  assert_int_equal(drv_kubeconfig_parse(none, sizeof none - 1, "t", NULL, &kc, &err), -1);
  assert_string_equal(err.msg, "kubeconfig `t`: no current-context");
  const char list[] = "- a\n- b\n";
  assert_int_equal(drv_kubeconfig_parse(list, sizeof list - 1, "t", NULL, &kc, &err), -1);
  assert_string_equal(err.msg, "kubeconfig `t`: not a mapping");
  assert_int_equal(drv_kubeconfig_load("/nonexistent/kc", NULL, &kc, &err), -1);
  assert_non_null(strstr(err.msg, "read kubeconfig `/nonexistent/kc`"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_current_context),
      cmocka_unit_test(test_named_context_and_errors),
  };
  return cmocka_run_group_tests_name("controllers_kubeconfig", tests, NULL, NULL);
}
