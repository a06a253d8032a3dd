#include "image/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "image/fail.h"
#include "image/digest.h"
#include "image/manifest.h"

int drv_image_store_open(const char *data_dir, drv_image_store **out, drv_err *err)
{
  _cleanup_free_ char *root = drv_asprintf("%s/images", data_dir);
  if (drv_mkdir_p(root, 0700, err) < 0) return drv_err_prefix(err, "open image store");
  /* Resolved once so that symlink checks during unpack never trip over the store's own path. */
  char real[PATH_MAX];
  if (!realpath(root, real)) return drv_error(err, errno, "open image store: resolve `%s`", root);
  drv_image_store *s = drv_calloc(1, sizeof *s);
  s->root = drv_strdup(real);
  s->blobs = drv_asprintf("%s/blobs/sha256", real);
  s->layers = drv_asprintf("%s/layers/sha256", real);
  s->tmp = drv_asprintf("%s/tmp", real);
  s->locks = drv_asprintf("%s/locks", real);
  const char *dirs[] = {s->blobs, s->layers, s->tmp, s->locks};
  for (size_t i = 0; i < DRV_ARRAY_LEN(dirs); i++)
    if (drv_mkdir_p(dirs[i], 0700, err) < 0) {
      drv_image_store_close(s);
      return drv_err_prefix(err, "open image store");
    }
  *out = s;
  return 0;
}

void drv_image_store_close(drv_image_store *s)
{
  if (!s) return;
  free(s->root);
  free(s->blobs);
  free(s->layers);
  free(s->tmp);
  free(s->locks);
  free(s);
}

const char *drv_image_store_root(const drv_image_store *s)
{
  return s->root;
}

int drv_store_lock(drv_image_store *s, const char *name, bool shared, drv_err *err)
{
  _cleanup_free_ char *p = drv_asprintf("%s/%s.lock", s->locks, name);
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return drv_error(err, errno, "open lock `%s`", p);
  while (flock(fd, shared ? LOCK_SH : LOCK_EX) < 0) {
    if (errno == EINTR) continue;
    int e = errno;
    close(fd);
    return drv_error(err, e, "lock `%s`", p);
  }
  return fd;
}

void drv_store_unlock(int fd)
{
  if (fd >= 0) close(fd);
}

char *drv_store_blob_path(const drv_image_store *s, const char *digest)
{
  return drv_asprintf("%s/%s", s->blobs, drv_digest_hex(digest));
}

char *drv_store_layer_path(const drv_image_store *s, const char *diff_id)
{
  return drv_asprintf("%s/%s", s->layers, drv_digest_hex(diff_id));
}

bool drv_store_has_blob(const drv_image_store *s, const char *digest)
{
  if (!drv_digest_valid(digest)) return false;
  _cleanup_free_ char *p = drv_store_blob_path(s, digest);
  return access(p, F_OK) == 0;
}

int drv_store_put_blob(drv_image_store *s, const char *digest, const void *data, size_t len,
                       drv_err *err)
{
  char got[DRV_DIGEST_LEN + 1];
  drv_sha256_digest(data, len, got);
  if (digest && strcmp(digest, got) != 0)
    return drv_fail(err, EINVAL, "blob %s: digest mismatch (content hashes to %s)", digest, got);
  _cleanup_free_ char *p = drv_store_blob_path(s, got);
  if (access(p, F_OK) == 0) return 0;
  return drv_write_file_atomic(p, data, len, 0644, err);
}

int drv_store_read_blob(drv_image_store *s, const char *digest, size_t max, char **data,
                        size_t *len, drv_err *err)
{
  if (!drv_digest_valid(digest)) return drv_fail(err, EINVAL, "invalid digest `%s`", digest);
  _cleanup_free_ char *p = drv_store_blob_path(s, digest);
  return drv_read_file(p, max, data, len, err);
}

int drv_store_commit_blob_file(drv_image_store *s, const char *tmp_path, const char *digest,
                               drv_err *err)
{
  _cleanup_free_ char *p = drv_store_blob_path(s, digest);
  if (rename(tmp_path, p) < 0) return drv_error(err, errno, "rename `%s` to `%s`", tmp_path, p);
  return 0; /* made durable by drv_store_sync() before any reference points at it */
}

int drv_store_sync(drv_image_store *s, drv_err *err)
{
  _cleanup_close_ int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || syncfs(fd) < 0) return drv_error(err, errno, "sync `%s`", s->root);
  return 0;
}

/* ---- refs.json ---- */

void drv_store_refs_free(drv_store_ref *refs, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(refs[i].name);
    free(refs[i].manifest);
    free(refs[i].config);
    free(refs[i].index);
    free(refs[i].repo_digest);
  }
  free(refs);
}

static json_t *refs_read(drv_image_store *s, drv_err *err)
{
  _cleanup_free_ char *p = drv_asprintf("%s/refs.json", s->root);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (drv_read_file(p, 64u << 20, &data, &len, err) < 0) {
    if (err && err->errnum == ENOENT) {
      drv_err_clear(err);
      return json_object();
    }
    return NULL;
  }
  json_error_t jerr;
  json_t *root = json_loadb(data, len, 0, &jerr);
  if (!json_is_object(root) || !json_is_object(json_object_get(root, "refs"))) {
    json_decref(root);
    drv_fail(err, EINVAL, "read `%s`: not a drover refs file (%s)", p, jerr.text);
    return NULL;
  }
  json_t *refs = json_incref(json_object_get(root, "refs"));
  json_decref(root);
  return refs;
}

static int refs_write(drv_image_store *s, json_t *refs, drv_err *err)
{
  _cleanup_free_ char *p = drv_asprintf("%s/refs.json", s->root);
  json_t *root = json_pack("{s:i,s:O}", "version", 1, "refs", refs);
  char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
  json_decref(root);
  int rc = drv_write_file_atomic(p, text, strlen(text), 0644, err);
  free(text);
  return rc;
}

int drv_store_refs_load(drv_image_store *s, drv_store_ref **out, size_t *n, drv_err *err)
{
  int lk = drv_store_lock(s, "refs", true, err);
  if (lk < 0) return -1;
  json_t *refs = refs_read(s, err);
  drv_store_unlock(lk);
  if (!refs) return -1;
  size_t cnt = json_object_size(refs), i = 0;
  drv_store_ref *r = drv_calloc(cnt + 1, sizeof *r);
  const char *k;
  json_t *v;
  json_object_foreach(refs, k, v)
  {
    const char *m = json_string_value(json_object_get(v, "manifest"));
    const char *c = json_string_value(json_object_get(v, "config"));
    if (!drv_digest_valid(m) || !drv_digest_valid(c)) continue;
    const char *ix = json_string_value(json_object_get(v, "index"));
    const char *rd = json_string_value(json_object_get(v, "repoDigest"));
    r[i].name = drv_strdup(k);
    r[i].manifest = drv_strdup(m);
    r[i].config = drv_strdup(c);
    r[i].index = ix && drv_digest_valid(ix) ? drv_strdup(ix) : NULL;
    r[i].repo_digest = rd ? drv_strdup(rd) : NULL;
    r[i].time = json_integer_value(json_object_get(v, "time"));
    i++;
  }
  json_decref(refs);
  *out = r;
  *n = i;
  return 0;
}

int drv_store_ref_set(drv_image_store *s, const drv_store_ref *r, drv_err *err)
{
  int lk = drv_store_lock(s, "refs", false, err);
  if (lk < 0) return -1;
  json_t *refs = refs_read(s, err);
  int rc = -1;
  if (refs) {
    json_t *e = json_pack("{s:s,s:s,s:I}", "manifest", r->manifest, "config", r->config, "time",
                          (json_int_t)(r->time ? r->time : time(NULL)));
    if (r->index) json_object_set_new(e, "index", json_string(r->index));
    if (r->repo_digest) json_object_set_new(e, "repoDigest", json_string(r->repo_digest));
    json_object_set_new(refs, r->name, e);
    rc = refs_write(s, refs, err);
    json_decref(refs);
  }
  drv_store_unlock(lk);
  return rc;
}

int drv_store_ref_remove(drv_image_store *s, const char *name, drv_err *err)
{
  int lk = drv_store_lock(s, "refs", false, err);
  if (lk < 0) return -1;
  json_t *refs = refs_read(s, err);
  int rc = -1;
  if (refs) {
    if (json_object_del(refs, name) < 0)
      drv_fail(err, ENOENT, "no image `%s`", name);
    else
      rc = refs_write(s, refs, err);
    json_decref(refs);
  }
  drv_store_unlock(lk);
  return rc;
}

/* ---- garbage collection ---- */

static bool strv_has(char **v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i], s)) return true;
  return false;
}

static void keep(char ***v, size_t *n, const char *s)
{
  if (strv_has(*v, *n, s)) return;
  *v = drv_realloc(*v, (*n + 2) * sizeof(char *));
  (*v)[(*n)++] = drv_strdup(s);
  (*v)[*n] = NULL;
}

/* Layer directories named in the options of a mounted overlay (a running container's rootfs). */
static char *mounted_overlays(void)
{
  _cleanup_free_ char *data = NULL;
  size_t len;
  if (drv_read_file("/proc/self/mountinfo", 0, &data, &len, NULL) < 0) return drv_strdup("");
  return drv_steal_ptr(data);
}

int drv_store_gc(drv_image_store *s, drv_store_gc_stats *st, drv_err *err)
{
  memset(st, 0, sizeof *st);
  /* Pulls hold store.lock shared: collect only when none is between download and ref write. */
  int glk = drv_store_lock(s, "store", false, err);
  if (glk < 0) return -1;
  int rc = -1;
  drv_store_ref *refs = NULL;
  size_t nrefs = 0, nblobs = 0, nlayers = 0;
  char **blobs = NULL, **layers = NULL;
  _cleanup_free_ char *mounts = NULL;
  if (drv_store_refs_load(s, &refs, &nrefs, err) < 0) goto out;
  for (size_t i = 0; i < nrefs; i++) {
    keep(&blobs, &nblobs, drv_digest_hex(refs[i].manifest));
    keep(&blobs, &nblobs, drv_digest_hex(refs[i].config));
    if (refs[i].index) keep(&blobs, &nblobs, drv_digest_hex(refs[i].index));
    _cleanup_free_ char *mdata = NULL, *cdata = NULL;
    size_t mlen, clen;
    drv_image_manifest m;
    if (drv_store_read_blob(s, refs[i].manifest, 0, &mdata, &mlen, NULL) == 0 &&
        drv_image_manifest_parse(mdata, mlen, NULL, &m, NULL) == 0) {
      for (size_t j = 0; j < m.n_layers; j++) keep(&blobs, &nblobs, drv_digest_hex(m.layers[j].digest));
      drv_image_manifest_free(&m);
    }
    drv_image_config cfg;
    char **ids = NULL;
    size_t nids = 0;
    if (drv_store_read_blob(s, refs[i].config, 0, &cdata, &clen, NULL) == 0 &&
        drv_image_config_parse(cdata, clen, &cfg, &ids, &nids, NULL, NULL) == 0) {
      for (size_t j = 0; j < nids; j++) keep(&layers, &nlayers, drv_digest_hex(ids[j]));
      drv_strv_free(ids);
      drv_image_config_free(&cfg);
    }
  }
  mounts = mounted_overlays();
  {
    _cleanup_dir_ DIR *d = opendir(s->blobs);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.' || strv_has(blobs, nblobs, e->d_name)) continue;
      _cleanup_free_ char *p = drv_asprintf("%s/%s", s->blobs, e->d_name);
      struct stat sb;
      if (lstat(p, &sb) == 0) st->bytes_removed += sb.st_size;
      if (unlink(p) == 0) st->blobs_removed++;
    }
  }
  {
    _cleanup_dir_ DIR *d = opendir(s->layers);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.' || strv_has(layers, nlayers, e->d_name)) continue;
      _cleanup_free_ char *p = drv_asprintf("%s/%s", s->layers, e->d_name);
      if (strstr(mounts, p)) continue;
      if (drv_rm_rf(p, NULL) == 0) st->layers_removed++;
    }
  }
  {
    _cleanup_dir_ DIR *d = opendir(s->tmp);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      _cleanup_free_ char *p = drv_asprintf("%s/%s", s->tmp, e->d_name);
      drv_rm_rf(p, NULL);
    }
  }
  {
    /* No pull runs now (we hold store.lock exclusively): per-digest lock files can go. */
    _cleanup_dir_ DIR *d = opendir(s->locks);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (strncmp(e->d_name, "blob-", 5) && strncmp(e->d_name, "layer-", 6)) continue;
      _cleanup_free_ char *p = drv_asprintf("%s/%s", s->locks, e->d_name);
      unlink(p);
    }
  }
  rc = 0;
out:
  drv_store_refs_free(refs, nrefs);
  drv_strv_free(blobs);
  drv_strv_free(layers);
  drv_store_unlock(glk);
  return rc;
}
