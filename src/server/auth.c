/* Bearer-token authentication against DIR/tokens. */
#include "server/auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"

typedef struct token {
  char *token, *user;
} token;

struct drv_auth {
  char *path;
  pthread_mutex_t mu;
  token *toks;
  size_t n;
  struct timespec mtime;
  long long checked_ms;
};

static void free_tokens(token *t, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    OPENSSL_cleanse(t[i].token, strlen(t[i].token));
    free(t[i].token);
    free(t[i].user);
  }
  free(t);
}

/* Parses "TOKEN USER" lines; '#' comments and blank lines skipped. */
static int parse_tokens(const char *data, token **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  const char *p = data;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    _cleanup_free_ char *line = drv_strndup(p, len);
    p += len + (e ? 1 : 0);
    char *save = NULL, *tok = strtok_r(line, " \t\r", &save), *user = strtok_r(NULL, " \t\r", &save);
    if (!tok || tok[0] == '#' || !user) continue;
    *out = drv_realloc(*out, (*n + 1) * sizeof **out);
    (*out)[*n].token = drv_strdup(tok);
    (*out)[*n].user = drv_strdup(user);
    (*n)++;
  }
  return 0;
}

static int reload(drv_auth *a, drv_err *err)
{
  struct stat st;
  if (stat(a->path, &st) < 0) return drv_error(err, errno, "read tokens `%s`", a->path);
  if (st.st_mtim.tv_sec == a->mtime.tv_sec && st.st_mtim.tv_nsec == a->mtime.tv_nsec && a->toks)
    return 0;
  _cleanup_free_ char *data = NULL;
  size_t len;
  if (drv_read_file(a->path, 1 << 20, &data, &len, err) < 0) return -1;
  token *t;
  size_t n;
  parse_tokens(data, &t, &n);
  free_tokens(a->toks, a->n);
  a->toks = t;
  a->n = n;
  a->mtime = st.st_mtim;
  return 0;
}

int drv_auth_open(const char *data_dir, drv_auth **out, drv_err *err)
{
  drv_auth *a = drv_calloc(1, sizeof *a);
  a->path = drv_asprintf("%s/tokens", data_dir);
  pthread_mutex_init(&a->mu, NULL);
  if (reload(a, err) < 0) {
    drv_auth_free(a);
    return -1;
  }
  a->checked_ms = drv_now_ms();
  *out = a;
  return 0;
}

void drv_auth_free(drv_auth *a)
{
  if (!a) return;
  free_tokens(a->toks, a->n);
  pthread_mutex_destroy(&a->mu);
  free(a->path);
  free(a);
}

bool drv_auth_check(drv_auth *a, const char *tok, char *user, size_t size)
{
  if (!tok || !*tok) return false;
  size_t tlen = strlen(tok);
  bool ok = false;
  pthread_mutex_lock(&a->mu);
  long long now = drv_now_ms();
  if (now - a->checked_ms >= 1000) { /* pick up `drover token` changes within a second */
    drv_err err;
    reload(a, &err);
    a->checked_ms = now;
  }
  for (size_t i = 0; i < a->n && !ok; i++) {
    if (strlen(a->toks[i].token) == tlen && CRYPTO_memcmp(a->toks[i].token, tok, tlen) == 0) {
      snprintf(user, size, "%s", a->toks[i].user);
      ok = true;
    }
  }
  pthread_mutex_unlock(&a->mu);
  return ok;
}

static char *tokens_path(const char *dir)
{
  return drv_asprintf("%s/tokens", dir);
}

static int read_tokens(const char *dir, token **t, size_t *n, drv_err *err)
{
  _cleanup_free_ char *path = tokens_path(dir);
  *t = NULL;
  *n = 0;
  if (!drv_path_exists(path)) return 0;
  _cleanup_free_ char *data = NULL;
  size_t len;
  if (drv_read_file(path, 1 << 20, &data, &len, err) < 0) return -1;
  return parse_tokens(data, t, n);
}

static int write_tokens(const char *dir, token *t, size_t n, drv_err *err)
{
  _cleanup_free_ char *path = tokens_path(dir);
  _cleanup_buf_ drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "# drover API bearer tokens: TOKEN USER\n");
  for (size_t i = 0; i < n; i++) drv_buf_printf(&b, "%s %s\n", t[i].token, t[i].user);
  return drv_write_file_atomic(path, b.data, b.len, 0600, err);
}

int drv_token_create(const char *data_dir, const char *user, char **out, drv_err *err)
{
  if (!user || !*user || strpbrk(user, " \t\r\n#"))
    return drv_error(err, EINVAL, "token user `%s`: must be a non-empty word", user ? user : "");
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) return drv_error(err, EIO, "create token: no random bytes");
  char hex[2 * sizeof raw + 1];
  for (size_t i = 0; i < sizeof raw; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  token *t;
  size_t n;
  if (read_tokens(data_dir, &t, &n, err) < 0) return -1;
  t = drv_realloc(t, (n + 1) * sizeof *t);
  t[n].token = drv_strdup(hex);
  t[n].user = drv_strdup(user);
  int rc = write_tokens(data_dir, t, n + 1, err);
  free_tokens(t, n + 1);
  if (rc < 0) return -1;
  *out = drv_strdup(hex);
  return 0;
}

char *drv_token_find(const char *data_dir, const char *user)
{
  token *t;
  size_t n;
  drv_err err;
  if (read_tokens(data_dir, &t, &n, &err) < 0) return NULL;
  char *found = NULL;
  for (size_t i = 0; i < n && !found; i++)
    if (strcmp(t[i].user, user) == 0) found = drv_strdup(t[i].token);
  free_tokens(t, n);
  return found;
}

int drv_token_list(const char *data_dir, char **out, drv_err *err)
{
  token *t;
  size_t n;
  if (read_tokens(data_dir, &t, &n, err) < 0) return -1;
  drv_buf b = DRV_BUF_INIT;
  drv_buf_printf(&b, "%-20s %s\n", "USER", "TOKEN");
  for (size_t i = 0; i < n; i++) drv_buf_printf(&b, "%-20s %.8s...\n", t[i].user, t[i].token);
  free_tokens(t, n);
  *out = drv_buf_steal(&b);
  return 0;
}

int drv_token_revoke(const char *data_dir, const char *what, drv_err *err)
{
  token *t;
  size_t n, kept = 0;
  if (read_tokens(data_dir, &t, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(t[i].user, what) == 0 || strcmp(t[i].token, what) == 0) {
      free(t[i].token);
      free(t[i].user);
      continue;
    }
    t[kept++] = t[i];
  }
  int removed = (int)(n - kept);
  int rc = removed ? write_tokens(data_dir, t, kept, err) : 0;
  free_tokens(t, kept);
  return rc < 0 ? -1 : removed;
}
