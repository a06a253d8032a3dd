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
  char *groups; /* comma-separated, "-" for none; NULL on a line from before groups */
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
    free(t[i].groups);
  }
  free(t);
}

/* Parses "TOKEN USER [GROUPS]" lines; '#' comments and blank lines skipped. */
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
    char *groups = strtok_r(NULL, " \t\r", &save);
    *out = drv_realloc(*out, (*n + 1) * sizeof **out);
    (*out)[*n].token = drv_strdup(tok);
    (*out)[*n].user = drv_strdup(user);
    (*out)[*n].groups = groups ? drv_strdup(groups) : NULL;
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

bool drv_auth_user_in_group(const drv_auth_user *u, const char *group)
{
  for (int i = 0; i < u->ngroups; i++)
    if (strcmp(u->groups[i], group) == 0) return true;
  return false;
}

static void add_group(drv_auth_user *u, const char *g, size_t len)
{
  if (!len || u->ngroups >= DRV_AUTH_MAX_GROUPS || len >= sizeof u->groups[0]) return;
  memcpy(u->groups[u->ngroups], g, len);
  u->groups[u->ngroups][len] = 0;
  for (int i = 0; i < u->ngroups; i++)
    if (strcmp(u->groups[i], u->groups[u->ngroups]) == 0) return;
  u->ngroups++;
}

/* The identity of a token line: a line without groups predates identities and keeps the
 * administrator rights every token had then. */
static void fill_user(const token *t, drv_auth_user *u)
{
  snprintf(u->name, sizeof u->name, "%s", t->user);
  u->ngroups = 0;
  u->uid[0] = 0;
  u->nextra = 0;
  if (!t->groups) {
    add_group(u, DRV_AUTH_MASTERS, strlen(DRV_AUTH_MASTERS));
  } else if (strcmp(t->groups, "-") != 0) {
    for (const char *p = t->groups; *p;) {
      size_t len = strcspn(p, ",");
      add_group(u, p, len);
      p += len + (p[len] ? 1 : 0);
    }
  }
  add_group(u, DRV_AUTH_AUTHENTICATED, strlen(DRV_AUTH_AUTHENTICATED));
}

bool drv_auth_check(drv_auth *a, const char *tok, drv_auth_user *user)
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
  for (int pass = 0; pass < 2 && !ok; pass++) {
    /* an unknown token may have been written just now (`drover token create`, the local
     * agent's node token): look at the file again, which costs a stat when it is unchanged */
    if (pass == 1) {
      drv_err err;
      reload(a, &err);
      a->checked_ms = now;
    }
    for (size_t i = 0; i < a->n && !ok; i++) {
      if (strlen(a->toks[i].token) == tlen && CRYPTO_memcmp(a->toks[i].token, tok, tlen) == 0) {
        fill_user(&a->toks[i], user);
        ok = true;
      }
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
  drv_buf_puts(&b, "# drover API bearer tokens: TOKEN USER GROUPS (comma-separated, - for none)\n");
  for (size_t i = 0; i < n; i++) {
    drv_buf_printf(&b, "%s %s", t[i].token, t[i].user);
    if (t[i].groups) drv_buf_printf(&b, " %s", t[i].groups);
    drv_buf_putc(&b, '\n');
  }
  return drv_write_file_atomic(path, b.data, b.len, 0600, err);
}

int drv_token_create(const char *data_dir, const char *user, const char *const *groups,
                     char **out, drv_err *err)
{
  if (!user || !*user || strpbrk(user, " \t\r\n#") || strlen(user) >= sizeof(((drv_auth_user *)0)->name))
    return drv_error(err, EINVAL, "token user `%s`: must be a non-empty word", user ? user : "");
  _cleanup_buf_ drv_buf gs = DRV_BUF_INIT;
  size_t ng = 0;
  for (const char *const *g = groups; g && *g; g++, ng++) {
    if (!**g || strpbrk(*g, " \t\r\n#,") || strlen(*g) >= sizeof(((drv_auth_user *)0)->groups[0]))
      return drv_error(err, EINVAL, "token group `%s`: must be a non-empty word without commas", *g);
    if (ng + 2 > DRV_AUTH_MAX_GROUPS)
      return drv_error(err, EINVAL, "token groups: at most %d", DRV_AUTH_MAX_GROUPS - 1);
    drv_buf_printf(&gs, "%s%s", gs.len ? "," : "", *g);
  }
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
  t[n].groups = drv_strdup(gs.len ? gs.data : "-");
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
  drv_buf_printf(&b, "%-24s %-32s %s\n", "USER", "GROUPS", "TOKEN");
  for (size_t i = 0; i < n; i++) {
    const char *g = !t[i].groups ? DRV_AUTH_MASTERS : strcmp(t[i].groups, "-") ? t[i].groups : "<none>";
    drv_buf_printf(&b, "%-24s %-32s %.8s...\n", t[i].user, g, t[i].token);
  }
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
      free(t[i].groups);
      continue;
    }
    t[kept++] = t[i];
  }
  int removed = (int)(n - kept);
  int rc = removed ? write_tokens(data_dir, t, kept, err) : 0;
  free_tokens(t, kept);
  return rc < 0 ? -1 : removed;
}
