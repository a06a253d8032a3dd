#include "image/registry.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "image/fail.h"
#include "image/manifest.h"

struct drv_registry {
  char *host;     /* as in the reference, e.g. 127.0.0.1:5000 */
  char *base;     /* scheme://host */
  char *path;     /* repository path */
  char *ca_file;
  char *user, *pass; /* from the auth file, NULL when none */
  int max_attempts;
  pthread_mutex_t mu;
  char *token;    /* bearer token once obtained */
  bool basic;     /* the registry asked for basic auth */
  /* Loopback and --insecure registries: HTTPS is tried first and plain HTTP taken when the
   * first connection fails below HTTP (as Docker does); decided once per session. */
  bool may_fall_back;
};

/* ---- WWW-Authenticate ---- */

void drv_www_auth_free(drv_www_auth *a)
{
  if (!a) return;
  free(a->scheme);
  free(a->realm);
  free(a->service);
  free(a->scope);
  free(a->error);
  memset(a, 0, sizeof *a);
}

int drv_www_auth_parse(const char *h, drv_www_auth *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  if (!h) return drv_fail(err, EINVAL, "WWW-Authenticate: missing");
  const char *p = h;
  while (*p == ' ') p++;
  const char *s = p;
  while (*p && *p != ' ') p++;
  if (p == s) return drv_fail(err, EINVAL, "WWW-Authenticate `%s`: no scheme", h);
  out->scheme = drv_strndup(s, (size_t)(p - s));
  for (;;) {
    while (*p == ' ' || *p == ',' || *p == '\t') p++;
    if (!*p) break;
    const char *k = p;
    while (*p && *p != '=' && *p != ' ' && *p != ',') p++;
    size_t klen = (size_t)(p - k);
    if (*p != '=') {
      drv_www_auth_free(out);
      return drv_fail(err, EINVAL, "WWW-Authenticate `%s`: parameter without value", h);
    }
    p++;
    drv_buf v = DRV_BUF_INIT;
    if (*p == '"') {
      p++;
      while (*p && *p != '"') {
        if (*p == '\\' && p[1]) p++;
        drv_buf_putc(&v, *p++);
      }
      if (*p != '"') {
        drv_buf_free(&v);
        drv_www_auth_free(out);
        return drv_fail(err, EINVAL, "WWW-Authenticate `%s`: unterminated quoted value", h);
      }
      p++;
    } else {
      while (*p && *p != ',' && *p != ' ') drv_buf_putc(&v, *p++);
    }
    char *val = drv_buf_steal(&v);
    char **slot = NULL;
    if (klen == 5 && !strncasecmp(k, "realm", 5)) slot = &out->realm;
    else if (klen == 7 && !strncasecmp(k, "service", 7)) slot = &out->service;
    else if (klen == 5 && !strncasecmp(k, "scope", 5)) slot = &out->scope;
    else if (klen == 5 && !strncasecmp(k, "error", 5)) slot = &out->error;
    if (slot) {
      free(*slot);
      *slot = val;
    } else {
      free(val);
    }
  }
  if (!strcasecmp(out->scheme, "Bearer") && !out->realm) {
    drv_www_auth_free(out);
    return drv_fail(err, EINVAL, "WWW-Authenticate `%s`: Bearer challenge without realm", h);
  }
  return 0;
}

/* ---- credentials ---- */

static char *host_of_key(const char *k)
{
  const char *p = strstr(k, "://");
  p = p ? p + 3 : k;
  return drv_strndup(p, strcspn(p, "/"));
}

int drv_registry_credentials(const char *auth_file, const char *host, char **user, char **pass,
                             drv_err *err)
{
  *user = *pass = NULL;
  json_error_t jerr;
  json_t *root = json_load_file(auth_file, 0, &jerr);
  if (!root) return drv_fail(err, EINVAL, "credentials file `%s`: %s", auth_file, jerr.text);
  json_t *auths = json_object_get(root, "auths");
  int rc = drv_fail(err, ENOENT, "credentials file `%s`: no entry for `%s`", auth_file, host);
  bool hub = !strcmp(host, "docker.io") || !strcmp(host, "registry-1.docker.io");
  const char *k;
  json_t *v;
  json_object_foreach(auths, k, v)
  {
    _cleanup_free_ char *kh = host_of_key(k);
    if (strcmp(kh, host) && !(hub && (!strcmp(kh, "index.docker.io") || !strcmp(kh, "docker.io") ||
                                      !strcmp(kh, "registry-1.docker.io"))))
      continue;
    const char *a = json_string_value(json_object_get(v, "auth"));
    const char *u = json_string_value(json_object_get(v, "username"));
    const char *pw = json_string_value(json_object_get(v, "password"));
    if (a && *a) {
      size_t n = strlen(a);
      _cleanup_free_ unsigned char *dec = drv_malloc(n + 4);
      int dn = EVP_DecodeBlock(dec, (const unsigned char *)a, (int)n);
      if (dn < 0) {
        rc = drv_fail(err, EINVAL, "credentials file `%s`: `%s`: auth is not base64", auth_file, k);
        break;
      }
      while (n > 0 && a[n - 1] == '=') { /* DecodeBlock counts padding as zero bytes */
        n--;
        dn--;
      }
      dec[dn] = '\0';
      char *colon = strchr((char *)dec, ':');
      if (!colon) {
        rc = drv_fail(err, EINVAL, "credentials file `%s`: `%s`: auth is not user:password", auth_file, k);
        break;
      }
      *user = drv_strndup((char *)dec, (size_t)(colon - (char *)dec));
      *pass = drv_strdup(colon + 1);
    } else if (u) {
      *user = drv_strdup(u);
      *pass = drv_strdup(pw ? pw : "");
    } else {
      continue;
    }
    drv_err_clear(err);
    rc = 0;
    break;
  }
  json_decref(root);
  return rc;
}

/* ---- session ---- */

int drv_registry_open(const drv_image_ref *ref, const drv_registry_opts *o, drv_registry **out,
                      drv_err *err)
{
  drv_registry *r = drv_calloc(1, sizeof *r);
  const char *host = drv_image_ref_registry_host(ref);
  r->host = drv_strdup(host);
  r->may_fall_back = o->insecure || drv_image_host_is_loopback(host);
  r->base = drv_asprintf("https://%s", host);
  r->path = drv_strdup(ref->path);
  r->ca_file = o->ca_file ? drv_strdup(o->ca_file) : NULL;
  r->max_attempts = o->max_attempts > 0 ? o->max_attempts : 4;
  pthread_mutex_init(&r->mu, NULL);
  if (o->auth_file) {
    drv_err e2;
    if (drv_registry_credentials(o->auth_file, ref->domain, &r->user, &r->pass, &e2) < 0 &&
        e2.errnum != ENOENT) {
      drv_registry_close(r);
      if (err) *err = e2;
      return -1;
    }
  }
  *out = r;
  return 0;
}

void drv_registry_close(drv_registry *r)
{
  if (!r) return;
  free(r->host);
  free(r->base);
  free(r->path);
  free(r->ca_file);
  free(r->user);
  free(r->pass);
  free(r->token);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

/* "401 Unauthorized: UNAUTHORIZED: authentication required" from a registry error body. */
static void describe(const drv_http_response *rs, char *out, size_t n)
{
  const char *reason = rs->status == 401   ? "Unauthorized"
                       : rs->status == 403 ? "Forbidden"
                       : rs->status == 404 ? "Not Found"
                       : rs->status == 429 ? "Too Many Requests"
                       : rs->status >= 500 ? "Server Error"
                                           : "unexpected status";
  json_t *root = rs->body.len ? json_loadb(rs->body.data, rs->body.len, 0, NULL) : NULL;
  json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
  const char *code = json_string_value(json_object_get(e0, "code"));
  const char *msg = json_string_value(json_object_get(e0, "message"));
  if (code || msg)
    snprintf(out, n, "%ld %s: %s%s%s", rs->status, reason, code ? code : "", code && msg ? ": " : "",
             msg ? msg : "");
  else
    snprintf(out, n, "%ld %s", rs->status, reason);
  json_decref(root);
}

static void backoff(int attempt)
{
  struct timespec ts = {0, (long)(100 * 1000 * 1000) << (attempt < 4 ? attempt : 4)};
  while (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  nanosleep(&ts, NULL);
}

static bool transient(int rc, const drv_err *err, const drv_http_response *rs)
{
  if (rc < 0)
    return err && (err->errnum == ETIMEDOUT || err->errnum == ECONNRESET ||
                   err->errnum == ECONNREFUSED || err->errnum == EIO);
  return rs->status >= 500 || rs->status == 429;
}

/* Answers a 401 challenge: fetches a token from the realm (with basic credentials when we have
 * them) or switches to basic auth. */
static int authenticate(drv_registry *r, drv_http_client *c, const drv_http_response *rs,
                        drv_err *err)
{
  _cleanup_free_ char *h = drv_http_response_header(rs, "WWW-Authenticate");
  if (!h) return drv_fail(err, EACCES, "401 Unauthorized without a challenge");
  drv_www_auth a;
  if (drv_www_auth_parse(h, &a, err) < 0) return -1;
  int rc = -1;
  _cleanup_free_ char *scope = NULL, *escope = NULL;
  drv_buf url = DRV_BUF_INIT;
  if (!strcasecmp(a.scheme, "Basic")) {
    if (!r->user) {
      drv_fail(err, EACCES, "401 Unauthorized: basic credentials required (none for `%s` in the credentials file)",
                r->host);
      goto out;
    }
    pthread_mutex_lock(&r->mu);
    r->basic = true;
    pthread_mutex_unlock(&r->mu);
    rc = 0;
    goto out;
  }
  if (strcasecmp(a.scheme, "Bearer")) {
    drv_fail(err, EACCES, "unsupported auth scheme `%s`", a.scheme);
    goto out;
  }
  drv_buf_puts(&url, a.realm);
  char sep = strchr(a.realm, '?') ? '&' : '?';
  if (a.service) {
    _cleanup_free_ char *e = drv_http_escape(a.service);
    drv_buf_printf(&url, "%cservice=%s", sep, e);
    sep = '&';
  }
  scope = a.scope ? drv_strdup(a.scope) : drv_asprintf("repository:%s:pull", r->path);
  escope = drv_http_escape(scope);
  drv_buf_printf(&url, "%cscope=%s", sep, escope);
  drv_http_request rq = {.url = url.data, .ca_file = r->ca_file, .basic_user = r->user,
                         .basic_password = r->pass, .follow_redirects = true, .timeout_ms = 60000,
                         .max_body = 1 << 20};
  drv_http_response tr = DRV_HTTP_RESPONSE_INIT;
  if (drv_http_do(c, &rq, &tr, err) < 0) {
    drv_err_prefix(err, "token request");
  } else if (tr.status != 200) {
    char d[512];
    describe(&tr, d, sizeof d);
    drv_fail(err, tr.status == 401 || tr.status == 403 ? EACCES : EIO,
              "token request to %s: %s", a.realm, d);
  } else {
    json_t *j = json_loadb(tr.body.data, tr.body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "token"));
    if (!t) t = json_string_value(json_object_get(j, "access_token"));
    if (!t || !*t) {
      drv_fail(err, EIO, "token response from %s has no token", a.realm);
    } else {
      pthread_mutex_lock(&r->mu);
      free(r->token);
      r->token = drv_strdup(t);
      pthread_mutex_unlock(&r->mu);
      rc = 0;
    }
    json_decref(j);
  }
  drv_http_response_free(&tr);
out:
  drv_buf_free(&url);
  drv_www_auth_free(&a);
  return rc;
}

/* One request to base + path with auth: a 401 gets one answer to its challenge and one more
 * try. */
static int reg_do(drv_registry *r, drv_http_client *c, const char *path, drv_http_request *rq,
                  drv_http_response *rs, drv_err *err)
{
  for (int round = 0;; round++) {
    pthread_mutex_lock(&r->mu);
    _cleanup_free_ char *url = drv_asprintf("%s%s", r->base, path);
    bool fall_back = r->may_fall_back;
    pthread_mutex_unlock(&r->mu);
    rq->url = url;
    pthread_mutex_lock(&r->mu);
    _cleanup_free_ char *tok = r->token ? drv_strdup(r->token) : NULL;
    bool basic = r->basic;
    pthread_mutex_unlock(&r->mu);
    rq->bearer_token = tok;
    rq->basic_user = !tok && basic ? r->user : NULL;
    rq->basic_password = !tok && basic ? r->pass : NULL;
    rq->ca_file = r->ca_file;
    int rc = drv_http_do(c, rq, rs, err);
    rq->bearer_token = NULL;
    rq->url = NULL;
    if (fall_back) {
      pthread_mutex_lock(&r->mu);
      if (r->may_fall_back) {
        r->may_fall_back = false;
        /* No TLS there (an untrusted certificate is an error, not a reason for plain HTTP). */
        if (rc < 0 && err && err->errnum != EPROTO && !strncmp(r->base, "https://", 8)) {
          free(r->base);
          r->base = drv_asprintf("http://%s", r->host);
          pthread_mutex_unlock(&r->mu);
          round--;
          continue;
        }
      }
      pthread_mutex_unlock(&r->mu);
    }
    if (rc < 0 || rs->status != 401 || round > 0) return rc;
    if (authenticate(r, c, rs, err) < 0) return -1;
  }
}

int drv_registry_get_manifest(drv_registry *r, drv_http_client *c, const char *reference,
                              drv_buf *body, char **content_type,
                              char digest_out[DRV_DIGEST_LEN + 1], drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("/v2/%s/manifests/%s", r->path, reference);
  const char *hdrs[] = {"Accept: " DRV_MANIFEST_ACCEPT, NULL};
  drv_http_request rq = {.headers = hdrs, .follow_redirects = true,
                         .timeout_ms = 120000, .max_body = 4 << 20};
  drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
  int rc = -1;
  for (int attempt = 0; attempt < r->max_attempts; attempt++) {
    if (attempt) backoff(attempt - 1);
    rc = reg_do(r, c, path, &rq, &rs, err);
    if (!transient(rc, err, &rs)) break;
  }
  if (rc < 0) {
    drv_err_prefix(err, "registry %s: manifest %s:%s", r->host, r->path, reference);
    goto out;
  }
  if (rs.status != 200) {
    char d[512];
    describe(&rs, d, sizeof d);
    rc = drv_fail(err, rs.status == 404 ? ENOENT : rs.status == 401 || rs.status == 403 ? EACCES : EIO,
                   "registry %s: manifest %s:%s: %s", r->host, r->path, reference, d);
    goto out;
  }
  drv_sha256_digest(rs.body.data ? rs.body.data : "", rs.body.len, digest_out);
  if (drv_digest_valid(reference) && strcmp(reference, digest_out)) {
    rc = drv_fail(err, EINVAL, "registry %s: manifest %s@%s: digest mismatch (content hashes to %s)",
                   r->host, r->path, reference, digest_out);
    goto out;
  }
  drv_buf_free(body);
  *body = rs.body;
  rs.body = (drv_buf)DRV_BUF_INIT;
  if (content_type) *content_type = drv_http_response_header(&rs, "Content-Type");
  rc = 0;
out:
  drv_http_response_free(&rs);
  return rc;
}

struct blob_sink {
  int fd;
  drv_sha256 *h;
  int64_t have, limit;
  drv_registry_progress_fn progress;
  void *ctx;
};

static int blob_write(const void *data, size_t len, void *ud, drv_err *err)
{
  struct blob_sink *s = ud;
  if (s->have + (int64_t)len > s->limit)
    return drv_fail(err, EINVAL, "blob larger than the %lld bytes its descriptor says",
                     (long long)s->limit);
  if (drv_write_all(s->fd, data, len) < 0) return drv_error(err, errno, "write blob");
  drv_sha256_update(s->h, data, len);
  s->have += (int64_t)len;
  if (s->progress) s->progress((int64_t)len, s->ctx);
  return 0;
}

/* Hashes what a previous attempt left in the partial file so a resume can continue the hash. */
static int64_t hash_existing(int fd, drv_sha256 *h)
{
  char buf[1 << 16];
  int64_t n = 0;
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  for (;;) {
    ssize_t rd = read(fd, buf, sizeof buf);
    if (rd < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (rd == 0) break;
    drv_sha256_update(h, buf, (size_t)rd);
    n += rd;
  }
  return n;
}

int drv_registry_fetch_blob(drv_registry *r, drv_http_client *c, const char *digest, int64_t size,
                            const char *partial_path, drv_registry_progress_fn progress,
                            void *progress_ctx, drv_err *err)
{
  _cleanup_free_ char *path = drv_asprintf("/v2/%s/blobs/%s", r->path, digest);
  _cleanup_close_ int fd = open(partial_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return drv_error(err, errno, "blob %s: open `%s`", digest, partial_path);
  drv_sha256 h;
  drv_sha256_init(&h);
  int64_t have = hash_existing(fd, &h);
  if (have < 0 || have > size) { /* unreadable or longer than it can be: start over */
    if (ftruncate(fd, 0) < 0) {
      drv_sha256_discard(&h);
      return drv_error(err, errno, "blob %s: truncate `%s`", digest, partial_path);
    }
    drv_sha256_discard(&h);
    drv_sha256_init(&h);
    have = 0;
  }
  if (progress && have) progress(have, progress_ctx);
  int rc = -1;
  drv_http_response rs = DRV_HTTP_RESPONSE_INIT;
  bool restarted = false;
  for (int attempt = 0; have < size || attempt == 0; attempt++) {
    if (attempt >= r->max_attempts) break;
    if (attempt) backoff(attempt - 1);
    if (have == size) break; /* everything already there from an earlier pull */
    struct blob_sink sink = {.fd = fd, .h = &h, .have = have, .limit = size, .progress = progress,
                             .ctx = progress_ctx};
    drv_http_request rq = {.follow_redirects = true, .range_start = have,
                           .on_data = blob_write, .on_data_ctx = &sink, .stall_timeout_s = 30};
    if (lseek(fd, have, SEEK_SET) < 0) {
      rc = drv_error(err, errno, "blob %s: seek", digest);
      goto out;
    }
    drv_err_clear(err);
    rc = reg_do(r, c, path, &rq, &rs, err);
    if (rc == 0 && have > 0 && rs.status == 200) {
      if (restarted) { /* ignores Range and cuts transfers: give up rather than loop */
        rc = drv_fail(err, EIO, "registry %s: blob %s: transfer cut and the server ignores Range",
                      r->host, digest);
        goto out;
      }
      restarted = true;
      /* The server ignored the Range: what arrived is the whole blob from byte 0, written at
       * offset `have` — start over cleanly. */
      if (progress) progress(-sink.have, progress_ctx);
      drv_sha256_discard(&h);
      drv_sha256_init(&h);
      if (ftruncate(fd, 0) < 0) {
        rc = drv_error(err, errno, "blob %s: truncate", digest);
        goto out;
      }
      have = 0;
      attempt--;
      continue;
    }
    have = sink.have;
    if (rc < 0) {
      if (err && err->errnum == EINVAL) goto out; /* oversized: not transient */
      if (transient(rc, err, &rs)) continue;
      drv_err_prefix(err, "registry %s: blob %s", r->host, digest);
      goto out;
    }
    if (rs.status == 416 && have == size) break;
    if (rs.status != 200 && rs.status != 206) {
      if (transient(0, NULL, &rs)) {
        char d[512];
        describe(&rs, d, sizeof d);
        drv_fail(err, EIO, "registry %s: blob %s: %s", r->host, digest, d);
        rc = -1;
        continue;
      }
      char d[512];
      describe(&rs, d, sizeof d);
      rc = drv_fail(err, rs.status == 404 ? ENOENT : rs.status == 401 || rs.status == 403 ? EACCES : EIO,
                     "registry %s: blob %s@%s: %s", r->host, r->path, digest, d);
      goto out;
    }
    if (have < size) {
      rc = drv_fail(err, EIO, "registry %s: blob %s: transfer ended after %lld of %lld bytes",
                     r->host, digest, (long long)have, (long long)size);
      continue;
    }
  }
  if (have < size) {
    if (rc == 0 || !err || !err->msg[0])
      drv_fail(err, EIO, "registry %s: blob %s: incomplete (%lld of %lld bytes)", r->host, digest,
                (long long)have, (long long)size);
    else
      drv_err_prefix(err, "after %d attempts", r->max_attempts);
    rc = -1;
    goto out;
  }
  char got[DRV_DIGEST_LEN + 1];
  drv_sha256_final(&h, got);
  if (strcmp(got, digest)) {
    unlink(partial_path);
    rc = drv_fail(err, EINVAL, "registry %s: blob %s: digest mismatch (content hashes to %s)",
                   r->host, digest, got);
    goto out;
  }
  rc = 0; /* durability: one syncfs() before the pull records its reference */
out:
  drv_sha256_discard(&h);
  drv_http_response_free(&rs);
  return rc;
}
