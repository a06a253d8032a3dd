#include "image/import.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/util.h"
#include "image/fail.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/pull.h"
#include "image/ref.h"
#include "image/store.h"
#include "image/unpack.h"

/* Opens dir/rel with symlinks resolved as if dir were "/": an archive's symlink (docker save
 * links duplicate layers) can never reach a file outside it. */
static int open_inside(const char *dir, const char *rel, drv_err *err)
{
  _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return drv_error(err, errno, "open `%s`", dir);
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
  if (fd < 0) return drv_error(err, errno, "open `%s` in `%s`", rel, dir);
  return fd;
}

/* Copies dir/rel into the blob store, hashing it on the way; expected may be NULL. */
static int blob_from_file(drv_image_store *s, const char *dir, const char *rel, const char *expected,
                          char digest[DRV_DIGEST_LEN + 1], int64_t *size, drv_err *err)
{
  if (expected && drv_store_has_blob(s, expected)) {
    strcpy(digest, expected);
    _cleanup_free_ char *bp = drv_store_blob_path(s, expected);
    struct stat st;
    if (size) *size = stat(bp, &st) == 0 ? st.st_size : 0;
    return 0;
  }
  _cleanup_close_ int in = open_inside(dir, rel, err);
  if (in < 0) return -1;
  const char *path = rel;
  _cleanup_free_ char *tmp = drv_asprintf("%s/import-%d-%lld.blob", s->tmp, getpid(), drv_now_ns());
  _cleanup_close_ int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return drv_error(err, errno, "create `%s`", tmp);
  drv_sha256 h;
  drv_sha256_init(&h);
  char buf[1 << 16];
  int64_t total = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (n > 0 && drv_write_all(out, buf, (size_t)n) < 0)) {
      int e = errno;
      drv_sha256_discard(&h);
      unlink(tmp);
      return drv_error(err, e, "copy `%s`", path);
    }
    if (n == 0) break;
    drv_sha256_update(&h, buf, (size_t)n);
    total += n;
  }
  drv_sha256_final(&h, digest);
  if (expected && strcmp(expected, digest)) {
    unlink(tmp);
    return drv_fail(err, EINVAL, "`%s`: digest mismatch: want %s, content hashes to %s", path,
                     expected, digest);
  }
  if (size) *size = total;
  if (drv_store_has_blob(s, digest)) {
    unlink(tmp);
    return 0;
  }
  if (drv_store_commit_blob_file(s, tmp, digest, err) < 0) {
    unlink(tmp);
    return drv_err_prefix(err, "store `%s`", path);
  }
  return 0;
}

/* Reads dir/rel (at most 16 MiB) without leaving dir, see open_inside(). */
static int read_inside(const char *dir, const char *rel, char **out, size_t *len, drv_err *err)
{
  _cleanup_close_ int fd = open_inside(dir, rel, err);
  if (fd < 0) return -1;
  drv_buf b = DRV_BUF_INIT;
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      drv_buf_free(&b);
      return drv_error(err, errno, "read `%s`", rel);
    }
    if (n == 0) break;
    if (b.len + (size_t)n > 16u << 20) {
      drv_buf_free(&b);
      return drv_fail(err, EFBIG, "`%s`: larger than 16 MiB", rel);
    }
    drv_buf_append(&b, chunk, (size_t)n);
  }
  *len = b.len;
  *out = drv_buf_steal(&b);
  return 0;
}

static int read_json(const char *dir, const char *rel, json_t **out, drv_err *err)
{
  _cleanup_free_ char *data = NULL;
  size_t len;
  if (read_inside(dir, rel, &data, &len, err) < 0) return -1;
  json_error_t jerr;
  *out = json_loadb(data, len, 0, &jerr);
  if (!*out) return drv_fail(err, EINVAL, "`%s`: invalid JSON (line %d)", rel, jerr.line);
  return 0;
}

/* Unpacks the layers of a stored image manifest and records the reference. */
static int finish_image(drv_image_store *s, const char *manifest_digest, const char *index_digest,
                        const char *refname, char ***refs, size_t *nrefs, drv_err *err)
{
  _cleanup_free_ char *mdata = NULL, *cdata = NULL;
  size_t mlen, clen;
  if (drv_store_read_blob(s, manifest_digest, 16u << 20, &mdata, &mlen, err) < 0) return -1;
  drv_image_manifest m;
  if (drv_image_manifest_parse(mdata, mlen, NULL, &m, err) < 0) return -1;
  int rc = -1;
  drv_image_config cfg = {0};
  char **ids = NULL;
  size_t nids = 0;
  drv_image_ref ref = {0};
  _cleanup_free_ char *norm = NULL;
  if (m.kind != DRV_MANIFEST_IMAGE) {
    drv_fail(err, EINVAL, "%s: not an image manifest", manifest_digest);
    goto out;
  }
  if (drv_store_read_blob(s, m.config.digest, 64u << 20, &cdata, &clen, err) < 0 ||
      drv_image_config_parse(cdata, clen, &cfg, &ids, &nids, NULL, err) < 0)
    goto out;
  if (nids != m.n_layers) {
    drv_fail(err, EINVAL, "%s: %zu layers but %zu diff_ids", manifest_digest, m.n_layers, nids);
    goto out;
  }
  for (size_t i = 0; i < m.n_layers; i++)
    if (drv_image_ensure_layer(s, m.layers[i].digest, ids[i], err) < 0) goto out;
  if (drv_image_ref_parse(refname, &ref, err) < 0) goto out;
  norm = drv_image_ref_string(&ref);
  if (drv_store_sync(s, err) < 0) goto out;
  drv_store_ref sr = {.name = norm, .manifest = (char *)manifest_digest, .config = m.config.digest,
                      .index = (char *)index_digest};
  if (drv_store_ref_set(s, &sr, err) < 0) goto out;
  *refs = drv_realloc(*refs, (*nrefs + 2) * sizeof(char *));
  (*refs)[(*nrefs)++] = drv_steal_ptr(norm);
  (*refs)[*nrefs] = NULL;
  rc = 0;
out:
  drv_image_ref_free(&ref);
  drv_strv_free(ids);
  drv_image_config_free(&cfg);
  drv_image_manifest_free(&m);
  return rc;
}

static char *layout_blob(const char *digest)
{
  return drv_asprintf("blobs/sha256/%s", drv_digest_hex(digest));
}

static int copy_descriptor(drv_image_store *s, const char *dir, const drv_image_descriptor *d,
                           drv_err *err)
{
  _cleanup_free_ char *rel = layout_blob(d->digest);
  char got[DRV_DIGEST_LEN + 1];
  return blob_from_file(s, dir, rel, d->digest, got, NULL, err);
}

static int import_layout(drv_image_store *s, const char *dir, const char *name, char ***refs,
                         size_t *nrefs, drv_err *err)
{
  const char *ipath = "index.json";
  _cleanup_free_ char *idata = NULL;
  size_t ilen;
  if (read_inside(dir, ipath, &idata, &ilen, err) < 0) return -1;
  drv_image_manifest idx;
  if (drv_image_manifest_parse(idata, ilen, DRV_MT_OCI_INDEX, &idx, err) < 0)
    return drv_err_prefix(err, "`%s`", ipath);
  json_t *iroot = json_loadb(idata, ilen, 0, NULL);
  json_t *entries = json_object_get(iroot, "manifests");
  int rc = -1;
  if (idx.kind != DRV_MANIFEST_INDEX || idx.n_manifests == 0) {
    drv_fail(err, EINVAL, "`%s`: no manifests", ipath);
    goto out;
  }
  if (name && idx.n_manifests > 1) {
    drv_fail(err, EINVAL, "`%s` holds %zu images: --name names only one", ipath, idx.n_manifests);
    goto out;
  }
  for (size_t i = 0; i < idx.n_manifests; i++) {
    const drv_image_descriptor *d = &idx.manifests[i];
    json_t *ann = json_object_get(json_array_get(entries, i), "annotations");
    const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
    const char *tag = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
    const char *refname = name ? name : full;
    drv_image_ref probe;
    if (!refname && tag && strpbrk(tag, "/:") && drv_image_ref_parse(tag, &probe, NULL) == 0) {
      drv_image_ref_free(&probe);
      refname = tag;
    }
    if (!refname) {
      drv_fail(err, EINVAL, "`%s`: manifest %s has no full image name (ref.name `%s`): give --name",
                ipath, d->digest, tag ? tag : "");
      goto out;
    }
    if (copy_descriptor(s, dir, d, err) < 0) goto out;
    const char *mdigest = d->digest, *index_digest = NULL;
    _cleanup_free_ char *chosen = NULL;
    _cleanup_free_ char *mdata = NULL;
    size_t mlen;
    drv_image_manifest m;
    if (drv_store_read_blob(s, d->digest, 16u << 20, &mdata, &mlen, err) < 0 ||
        drv_image_manifest_parse(mdata, mlen, d->media_type, &m, err) < 0)
      goto out;
    if (m.kind == DRV_MANIFEST_INDEX) {
      const drv_image_descriptor *pick;
      if (drv_image_index_select(&m, "linux", "amd64", &pick, err) < 0) {
        drv_image_manifest_free(&m);
        goto out;
      }
      chosen = drv_strdup(pick->digest);
      index_digest = d->digest;
      drv_image_descriptor copy = *pick;
      int c = copy_descriptor(s, dir, &copy, err);
      drv_image_manifest_free(&m);
      if (c < 0) goto out;
      mdigest = chosen;
      free(mdata);
      mdata = NULL;
      if (drv_store_read_blob(s, mdigest, 16u << 20, &mdata, &mlen, err) < 0 ||
          drv_image_manifest_parse(mdata, mlen, NULL, &m, err) < 0)
        goto out;
    }
    int c = m.kind == DRV_MANIFEST_IMAGE ? copy_descriptor(s, dir, &m.config, err) : 0;
    for (size_t j = 0; c == 0 && j < m.n_layers; j++) c = copy_descriptor(s, dir, &m.layers[j], err);
    drv_image_manifest_free(&m);
    if (c < 0 || finish_image(s, mdigest, index_digest, refname, refs, nrefs, err) < 0) goto out;
  }
  rc = 0;
out:
  json_decref(iroot);
  drv_image_manifest_free(&idx);
  return rc;
}

static const char *sniff_layer_type(drv_image_store *s, const char *digest)
{
  _cleanup_free_ char *path = drv_store_blob_path(s, digest);
  unsigned char m[4] = {0};
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && read(fd, m, 4) == 4) {
    if (m[0] == 0x1f && m[1] == 0x8b) return DRV_MT_OCI_LAYER_GZIP;
    if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return DRV_MT_OCI_LAYER_ZSTD;
  }
  return DRV_MT_OCI_LAYER;
}

/* A name inside the archive must stay inside it. */
static const char *member(const char *rel, drv_err *err)
{
  const char *why = drv_image_tar_name_problem(rel);
  if (why) {
    drv_fail(err, EINVAL, "manifest.json: path `%s`: %s", rel ? rel : "", why);
    return NULL;
  }
  return rel;
}

static int import_docker(drv_image_store *s, const char *dir, const char *name, char ***refs,
                         size_t *nrefs, drv_err *err)
{
  const char *mpath = "manifest.json";
  json_t *root;
  if (read_json(dir, mpath, &root, err) < 0) return -1;
  int rc = -1;
  if (!json_is_array(root) || json_array_size(root) == 0) {
    drv_fail(err, EINVAL, "`%s`: not a non-empty array", mpath);
    goto out;
  }
  if (name && json_array_size(root) > 1) {
    drv_fail(err, EINVAL, "archive holds %zu images: --name names only one", json_array_size(root));
    goto out;
  }
  size_t i;
  json_t *img;
  json_array_foreach(root, i, img)
  {
    const char *cfgrel = json_string_value(json_object_get(img, "Config"));
    json_t *layers = json_object_get(img, "Layers"), *tags = json_object_get(img, "RepoTags");
    if (!cfgrel || !json_is_array(layers)) {
      drv_fail(err, EINVAL, "`%s`: entry %zu lacks Config or Layers", mpath, i);
      goto out;
    }
    if (!name && json_array_size(tags) == 0) {
      drv_fail(err, EINVAL, "`%s`: entry %zu has no RepoTags: give --name", mpath, i);
      goto out;
    }
    const char *cfgpath = member(cfgrel, err);
    if (!cfgpath) goto out;
    char cdigest[DRV_DIGEST_LEN + 1];
    int64_t csize;
    if (blob_from_file(s, dir, cfgpath, NULL, cdigest, &csize, err) < 0) goto out;
    json_t *ml = json_array();
    size_t j;
    json_t *l;
    json_array_foreach(layers, j, l)
    {
      const char *lp = member(json_string_value(l), err);
      char ld[DRV_DIGEST_LEN + 1];
      int64_t lsize;
      if (!lp || blob_from_file(s, dir, lp, NULL, ld, &lsize, err) < 0) {
        json_decref(ml);
        goto out;
      }
      json_array_append_new(ml, json_pack("{s:s,s:s,s:I}", "mediaType", sniff_layer_type(s, ld),
                                          "digest", ld, "size", (json_int_t)lsize));
    }
    json_t *man = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                            DRV_MT_OCI_MANIFEST, "config", "mediaType", DRV_MT_OCI_CONFIG,
                            "digest", cdigest, "size", (json_int_t)csize, "layers", ml);
    char *text = json_dumps(man, JSON_COMPACT);
    json_decref(man);
    char mdigest[DRV_DIGEST_LEN + 1];
    drv_sha256_digest(text, strlen(text), mdigest);
    int prc = drv_store_put_blob(s, mdigest, text, strlen(text), err);
    free(text);
    if (prc < 0) goto out;
    if (name) {
      if (finish_image(s, mdigest, NULL, name, refs, nrefs, err) < 0) goto out;
    } else {
      size_t k;
      json_t *t;
      json_array_foreach(tags, k, t)
      {
        if (!json_is_string(t) || finish_image(s, mdigest, NULL, json_string_value(t), refs, nrefs, err) < 0)
          goto out;
      }
    }
  }
  rc = 0;
out:
  json_decref(root);
  return rc;
}

int drv_image_import(drv_image_store *s, const char *path, const char *name, char ***refs_out,
                     drv_err *err)
{
  struct stat st;
  if (stat(path, &st) < 0) return drv_error(err, errno, "import `%s`", path);
  int glk = drv_store_lock(s, "store", true, err);
  if (glk < 0) return -1;
  _cleanup_free_ char *tmp = NULL, *index = NULL, *manifest = NULL;
  const char *dir = path;
  int rc = -1;
  char **refs = NULL;
  size_t nrefs = 0;
  if (!S_ISDIR(st.st_mode)) {
    tmp = drv_asprintf("%s/import-%d-%lld", s->tmp, getpid(), drv_now_ns());
    char ignored[DRV_DIGEST_LEN + 1];
    if (mkdir(tmp, 0700) < 0) {
      drv_error(err, errno, "mkdir `%s`", tmp);
      goto out;
    }
    if (drv_image_unpack_layer(path, tmp, ignored, err) < 0) {
      drv_err_prefix(err, "import `%s`: read archive", path);
      goto out;
    }
    dir = tmp;
  }
  index = drv_asprintf("%s/index.json", dir);
  manifest = drv_asprintf("%s/manifest.json", dir);
  if (drv_path_exists(index))
    rc = import_layout(s, dir, name, &refs, &nrefs, err);
  else if (drv_path_exists(manifest))
    rc = import_docker(s, dir, name, &refs, &nrefs, err);
  else
    rc = drv_fail(err, EINVAL, "neither an OCI layout (index.json) nor a `docker save` archive (manifest.json)");
  if (rc < 0) drv_err_prefix(err, "import `%s`", path);
out:
  if (tmp) drv_rm_rf(tmp, NULL);
  drv_store_unlock(glk);
  if (rc == 0) *refs_out = refs;
  else drv_strv_free(refs);
  return rc;
}
