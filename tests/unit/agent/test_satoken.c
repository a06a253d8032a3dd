/* The agent's service account tokens (satoken.c) against a real server over HTTPS: a token
 * bound to the pod, kept until 80% of its lifetime, requested again after that, and a failed
 * refresh keeping the token that is still valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal.h"
#include "api/client_http.h"
#include "api/object.h"
#include "common/json.h"
#include "common/util.h"
#include "../server/server_fixture.h"

typedef struct {
  fixture *f;
  drv_api_client *http;
  json_t *pod;
} ctx;

static int setup(void **state)
{
  void *fs;
  server_fixture_setup(&fs);
  ctx *c = calloc(1, sizeof *c);
  c->f = fs;
  drv_err err = {0};
  c->http = drv_api_client_http_from_kubeconfig(drv_server_kubeconfig(c->f->srv), "agent-unit", &err);
  if (!c->http) fail_msg("client: %s", err.msg);
  json_t *pod = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind", "Pod",
                          "metadata", "name", "web-0", "spec", "nodeName", "n1", "containers", "name", "c",
                          "image", "busybox");
  drv_api_ref ref = {.version = "v1", .resource = "pods", .ns = "default"};
  if (drv_api_create(c->f->c, &ref, pod, &c->pod, &err) < 0) fail_msg("create pod: %s", err.msg);
  json_decref(pod);
  *state = c;
  return 0;
}

static int teardown(void **state)
{
  ctx *c = *state;
  json_decref(c->pod);
  drv_api_client_free(c->http);
  void *fs = c->f;
  server_fixture_teardown(&fs);
  free(c);
  return 0;
}

static json_t *claims_of(const char *tok)
{
  const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  assert_non_null(d2);
  /* base64url → base64 with padding */
  size_t n = (size_t)(d2 - d1 - 1);
  char *b = calloc(1, n + 4);
  for (size_t i = 0; i < n; i++) b[i] = d1[1 + i] == '-' ? '+' : d1[1 + i] == '_' ? '/' : d1[1 + i];
  while (strlen(b) % 4) strcat(b, "=");
  unsigned char *raw = calloc(1, n + 4);
  int len = EVP_DecodeBlock(raw, (unsigned char *)b, (int)strlen(b));
  assert_true(len > 0);
  while (len > 0 && raw[len - 1] == 0) len--;
  json_t *c = json_loadb((char *)raw, (size_t)len, 0, NULL);
  free(b);
  free(raw);
  assert_non_null(c);
  return c;
}

static void test_token_kept_and_refreshed(void **state)
{
  ctx *c = *state;
  struct drv_agent a;
  memset(&a, 0, sizeof a);
  a.api = c->http;
  drv_pod p;
  memset(&p, 0, sizeof p);
  p.obj = c->pod;
  p.ns = (char *)"default";
  p.name = (char *)"web-0";
  p.uid = (char *)drv_obj_uid(c->pod);
  json_t *src = json_pack("{s:s, s:i, s:s}", "path", "token", "expirationSeconds", 600, "audience", "vault");
  const char *tok;
  long long issued1, issued2;
  drv_err err = {0};
  assert_int_equal(drv_pod_sa_token(&a, &p, src, &tok, &issued1, &err), 0);
  char *t1 = drv_strdup(tok);
  json_t *cl = claims_of(t1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(cl, "aud"), 0)), "vault");
  assert_int_equal(json_integer_value(json_object_get(cl, "exp")) - json_integer_value(json_object_get(cl, "iat")), 600);
  assert_string_equal(drv_json_get_str(json_object_get(cl, "kubernetes.io"), "pod.uid"), p.uid);
  json_decref(cl);
  /* kubelet's rule: asked again once 80% of the lifetime has passed */
  json_t *ent = json_object_get(json_object_get(p.vols, "..tokens"), "600|vault");
  assert_non_null(ent);
  long long refresh = json_integer_value(json_object_get(ent, "refresh"));
  assert_true(refresh - issued1 >= 480000 - 2000 && refresh - issued1 <= 480000 + 2000);
  /* before that, the same token */
  assert_int_equal(drv_pod_sa_token(&a, &p, src, &tok, &issued2, &err), 0);
  assert_string_equal(tok, t1);
  assert_int_equal(issued2, issued1);
  /* after it, a new one */
  json_object_set_new(ent, "refresh", json_integer(0));
  assert_int_equal(drv_pod_sa_token(&a, &p, src, &tok, &issued2, &err), 0);
  assert_string_not_equal(tok, t1);
  char *t2 = drv_strdup(tok);
  /* a refresh the server refuses (the pod's uid no longer matches) keeps the valid token */
  p.uid = (char *)"00000000-0000-0000-0000-000000000000";
  ent = json_object_get(json_object_get(p.vols, "..tokens"), "600|vault");
  json_object_set_new(ent, "refresh", json_integer(0));
  assert_int_equal(drv_pod_sa_token(&a, &p, src, &tok, &issued2, &err), 0);
  assert_string_equal(tok, t2);
  /* with no valid token to fall back on, kubelet's message */
  json_t *other = json_pack("{s:s, s:i}", "path", "t2", "expirationSeconds", 900);
  assert_int_equal(drv_pod_sa_token(&a, &p, other, &tok, &issued2, &err), -1);
  assert_non_null(strstr(err.msg, "failed to fetch token"));
  assert_non_null(strstr(err.msg, "does not match"));
  json_decref(other);
  free(t1);
  free(t2);
  json_decref(src);
  drv_pod_volumes_free(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_token_kept_and_refreshed, setup, teardown),
  };
  return cmocka_run_group_tests_name("agent_satoken", tests, NULL, NULL);
}
