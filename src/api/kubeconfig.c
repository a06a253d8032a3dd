/* kubeconfig reading: YAML through common/yaml.h, base64 *-data fields decoded to files
 * because libcurl takes CA and client certificates as file names. */
#include "api/kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/util.h"
#include "common/yaml.h"

static json_t *named(json_t *arr, const char *name, const char *inner)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    const char *n = json_string_value(json_object_get(v, "name"));
    if (n && !strcmp(n, name)) return json_object_get(v, inner);
  }
  return NULL;
}

/* Public material (CA and client certificates) goes to a content-addressed file in a private
 * per-user directory, shared by every process and never removed: a crashed process leaves
 * nothing new behind. A private key goes to a per-process directory removed by free(). */
static char *shared_dir(void)
{
  const char *tmp = getenv("TMPDIR");
  char *dir = drv_asprintf("%s/drover-kubeconfig-%u", tmp && *tmp ? tmp : "/tmp", (unsigned)getuid());
  struct stat st;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) goto no;
  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) goto no;
  return dir;
no:
  free(dir);
  return NULL;
}

static int data_file(drv_kubeconfig *kc, const char *b64, const char *fname, bool secret, char **out,
                     drv_err *err)
{
  size_t len = strlen(b64);
  _cleanup_free_ unsigned char *raw = drv_malloc(len / 4 * 3 + 4);
  EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
  int n1 = 0, n2 = 0;
  EVP_DecodeInit(ctx);
  int rc = EVP_DecodeUpdate(ctx, raw, &n1, (const unsigned char *)b64, (int)len);
  if (rc >= 0) rc = EVP_DecodeFinal(ctx, raw + n1, &n2);
  EVP_ENCODE_CTX_free(ctx);
  if (rc < 0) return drv_error(err, 0, "decode %s: not valid base64", fname);
  size_t n = (size_t)(n1 + n2);
  _cleanup_free_ char *shared = secret ? NULL : shared_dir();
  if (shared) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(raw, n, md, &mdlen, EVP_sha256(), NULL);
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    _cleanup_free_ char *path = drv_asprintf("%s/%s-%s", shared, hex, fname);
    if (!drv_path_exists(path) && drv_write_file_atomic(path, raw, n, 0600, err) < 0) return -1;
    *out = drv_steal_ptr(path);
    return 0;
  }
  if (!kc->tmp_dir) {
    char tmpl[] = "/tmp/drover-kubeconfig-XXXXXX";
    if (!mkdtemp(tmpl)) return drv_error(err, errno, "create a temporary directory");
    kc->tmp_dir = drv_strdup(tmpl);
  }
  _cleanup_free_ char *path = drv_asprintf("%s/%s", kc->tmp_dir, fname);
  if (drv_write_file_atomic(path, raw, n, 0600, err) < 0) return -1;
  *out = drv_steal_ptr(path);
  return 0;
}

int drv_kubeconfig_load(const char *path, const char *context, drv_kubeconfig *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  _cleanup_free_ char *def = NULL;
  if (!path || !*path) path = getenv("KUBECONFIG");
  if (!path || !*path) {
    const char *home = getenv("HOME");
    def = drv_asprintf("%s/.kube/config", home ? home : "");
    path = def;
  }
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (drv_read_file(path, 1 << 20, &text, &len, err) < 0)
    return drv_err_prefix(err, "read kubeconfig `%s`", path);
  return drv_kubeconfig_parse(text, len, path, context, out, err);
}

int drv_kubeconfig_parse(const char *text, size_t len, const char *path, const char *context,
                         drv_kubeconfig *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  json_t *doc = drv_yaml_load(text, len, err);
  if (!doc) return drv_err_prefix(err, "parse kubeconfig `%s`", path);
  int rc = -1;
  if (!json_is_object(doc)) {
    drv_error(err, 0, "kubeconfig `%s`: not a mapping", path);
    goto out;
  }
  const char *ctxname = context ? context : drv_json_get_str(doc, "current-context");
  if (!ctxname || !*ctxname) {
    drv_error(err, 0, "kubeconfig `%s`: no current-context", path);
    goto out;
  }
  json_t *ctx = named(json_object_get(doc, "contexts"), ctxname, "context");
  if (!ctx) {
    drv_error(err, 0, "kubeconfig `%s`: context `%s` not found", path, ctxname);
    goto out;
  }
  const char *cname = json_string_value(json_object_get(ctx, "cluster"));
  const char *uname = json_string_value(json_object_get(ctx, "user"));
  json_t *cluster = cname ? named(json_object_get(doc, "clusters"), cname, "cluster") : NULL;
  if (!cluster || !json_string_value(json_object_get(cluster, "server"))) {
    drv_error(err, 0, "kubeconfig `%s`: cluster `%s` of context `%s` has no server", path,
              cname ? cname : "", ctxname);
    goto out;
  }
  out->server = drv_strdup(json_string_value(json_object_get(cluster, "server")));
  size_t sl = strlen(out->server);
  while (sl > 0 && out->server[sl - 1] == '/') out->server[--sl] = '\0';
  json_t *ins = json_object_get(cluster, "insecure-skip-tls-verify");
  out->insecure = json_is_true(ins);
  const char *cad = json_string_value(json_object_get(cluster, "certificate-authority-data"));
  const char *caf = json_string_value(json_object_get(cluster, "certificate-authority"));
  if (cad && data_file(out, cad, "ca.crt", false, &out->ca_file, err) < 0) goto out;
  if (!cad && caf) out->ca_file = drv_strdup(caf);
  json_t *user = uname ? named(json_object_get(doc, "users"), uname, "user") : NULL;
  if (user) {
    const char *tok = json_string_value(json_object_get(user, "token"));
    const char *tokf = json_string_value(json_object_get(user, "tokenFile"));
    if (tok)
      out->token = drv_strdup(tok);
    else if (tokf) {
      char *t = NULL;
      size_t tl = 0;
      if (drv_read_file(tokf, 1 << 16, &t, &tl, err) < 0) {
        drv_err_prefix(err, "kubeconfig `%s`: tokenFile", path);
        goto out;
      }
      while (tl > 0 && (t[tl - 1] == '\n' || t[tl - 1] == '\r' || t[tl - 1] == ' ')) t[--tl] = '\0';
      out->token = t;
    }
    const char *ccd = json_string_value(json_object_get(user, "client-certificate-data"));
    const char *ckd = json_string_value(json_object_get(user, "client-key-data"));
    const char *ccf = json_string_value(json_object_get(user, "client-certificate"));
    const char *ckf = json_string_value(json_object_get(user, "client-key"));
    if (ccd && data_file(out, ccd, "client.crt", false, &out->client_cert, err) < 0) goto out;
    if (ckd && data_file(out, ckd, "client.key", true, &out->client_key, err) < 0) goto out;
    if (!ccd && ccf) out->client_cert = drv_strdup(ccf);
    if (!ckd && ckf) out->client_key = drv_strdup(ckf);
  }
  rc = 0;
out:
  json_decref(doc);
  if (rc < 0) drv_kubeconfig_free(out);
  return rc;
}

void drv_kubeconfig_free(drv_kubeconfig *kc)
{
  if (kc->tmp_dir) {
    drv_err e;
    drv_rm_rf(kc->tmp_dir, &e);
  }
  free(kc->server);
  free(kc->ca_file);
  free(kc->token);
  free(kc->client_cert);
  free(kc->client_key);
  free(kc->tmp_dir);
  memset(kc, 0, sizeof *kc);
}
