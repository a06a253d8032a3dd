/* The front of the image layer: pulls (registry → verified blobs → unpacked layers → ref) and
 * lookups of local images. */
#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/http_client.h"
#include "common/util.h"
#include "image/fail.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/pull.h"
#include "image/ref.h"
#include "image/registry.h"
#include "image/store.h"
#include "image/unpack.h"

void drv_image_free(drv_image *img)
{
  if (!img) return;
  free(img->ref);
  free(img->id);
  free(img->manifest_digest);
  free(img->repo_digest);
  drv_strv_free(img->layer_dirs);
  drv_strv_free(img->diff_ids);
  drv_image_config_free(&img->config);
  free(img);
}

/* ---- lookup ---- */

static int image_from_ref(drv_image_store *s, const drv_store_ref *r, drv_image **out, drv_err *err)
{
  _cleanup_free_ char *mdata = NULL, *cdata = NULL;
  size_t mlen, clen;
  if (drv_store_read_blob(s, r->manifest, 16u << 20, &mdata, &mlen, err) < 0 ||
      drv_store_read_blob(s, r->config, 64u << 20, &cdata, &clen, err) < 0)
    return drv_err_prefix(err, "image `%s`", r->name);
  drv_image_manifest m;
  if (drv_image_manifest_parse(mdata, mlen, NULL, &m, err) < 0)
    return drv_err_prefix(err, "image `%s`", r->name);
  drv_image *img = drv_calloc(1, sizeof *img);
  if (drv_image_config_parse(cdata, clen, &img->config, &img->diff_ids, &img->n_layers,
                             &img->created, err) < 0) {
    drv_image_manifest_free(&m);
    drv_image_free(img);
    return drv_err_prefix(err, "image `%s`", r->name);
  }
  img->ref = drv_strdup(r->name);
  img->id = drv_strdup(r->config);
  img->manifest_digest = drv_strdup(r->manifest);
  img->repo_digest = r->repo_digest ? drv_strdup(r->repo_digest) : NULL;
  img->layer_dirs = drv_calloc(img->n_layers + 1, sizeof(char *));
  for (size_t i = 0; i < img->n_layers; i++) img->layer_dirs[i] = drv_store_layer_path(s, img->diff_ids[i]);
  for (size_t i = 0; i < m.n_layers; i++) img->size += m.layers[i].size;
  drv_image_manifest_free(&m);
  *out = img;
  return 0;
}

static bool all_hex(const char *s)
{
  if (!*s) return false;
  for (; *s; s++)
    if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s)) return false;
  return true;
}

int drv_image_lookup(drv_image_store *s, const char *q, drv_image **out, drv_err *err)
{
  drv_store_ref *refs = NULL;
  size_t n = 0;
  if (drv_store_refs_load(s, &refs, &n, err) < 0) return -1;
  int rc = -1;
  const drv_store_ref *hit = NULL;
  const char *hex = !strncmp(q, "sha256:", 7) ? q + 7 : q;
  if (all_hex(hex) && (hex != q || strlen(hex) >= 12)) {
    for (size_t i = 0; i < n; i++) {
      if (strncmp(drv_digest_hex(refs[i].config), hex, strlen(hex))) continue;
      if (hit && strcmp(hit->config, refs[i].config)) {
        drv_fail(err, EINVAL, "image id prefix `%s` is ambiguous", q);
        goto out;
      }
      hit = &refs[i];
    }
  }
  if (!hit) {
    drv_image_ref ref;
    drv_err perr;
    if (drv_image_ref_parse(q, &ref, &perr) == 0) {
      _cleanup_free_ char *name = drv_image_ref_string(&ref);
      for (size_t i = 0; i < n && !hit; i++)
        if (!strcmp(refs[i].name, name) || (ref.digest && refs[i].repo_digest && !strcmp(refs[i].repo_digest, name)))
          hit = &refs[i];
      drv_image_ref_free(&ref);
    }
  }
  if (!hit) {
    drv_fail(err, ENOENT, "no local image `%s`", q);
    goto out;
  }
  rc = image_from_ref(s, hit, out, err);
out:
  drv_store_refs_free(refs, n);
  return rc;
}

int drv_image_list(drv_image_store *s, drv_image ***out, size_t *n, drv_err *err)
{
  drv_store_ref *refs = NULL;
  size_t nrefs = 0;
  if (drv_store_refs_load(s, &refs, &nrefs, err) < 0) return -1;
  drv_image **imgs = drv_calloc(nrefs + 1, sizeof *imgs);
  size_t k = 0;
  for (size_t i = 0; i < nrefs; i++) {
    drv_err e;
    /* an entry whose blobs are gone (a crash between prune and ref removal) is skipped */
    if (image_from_ref(s, &refs[i], &imgs[k], &e) == 0) k++;
  }
  drv_store_refs_free(refs, nrefs);
  for (size_t i = 1; i < k; i++) /* insertion sort: lists are short */
    for (size_t j = i; j > 0 && strcmp(imgs[j - 1]->ref, imgs[j]->ref) > 0; j--) {
      drv_image *t = imgs[j];
      imgs[j] = imgs[j - 1];
      imgs[j - 1] = t;
    }
  *out = imgs;
  *n = k;
  return 0;
}

void drv_image_list_free(drv_image **imgs, size_t n)
{
  if (!imgs) return;
  for (size_t i = 0; i < n; i++) drv_image_free(imgs[i]);
  free(imgs);
}

int drv_image_remove(drv_image_store *s, const char *q, char ***removed, drv_err *err)
{
  drv_image *img;
  if (drv_image_lookup(s, q, &img, err) < 0) return -1;
  /* By id (or a prefix of it): every reference to that image; by name: just that one. */
  const char *hex = !strncmp(q, "sha256:", 7) ? q + 7 : q;
  bool by_id = strcmp(img->ref, q) != 0 && all_hex(hex) && !strncmp(img->id + 7, hex, strlen(hex));
  drv_store_ref *refs = NULL;
  size_t n = 0;
  char **gone = drv_calloc(1, sizeof(char *));
  size_t ngone = 0;
  int rc = drv_store_refs_load(s, &refs, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (by_id ? strcmp(refs[i].config, img->id) : strcmp(refs[i].name, img->ref)) continue;
    if (drv_store_ref_remove(s, refs[i].name, err) < 0) {
      rc = -1;
      break;
    }
    gone = drv_realloc(gone, (ngone + 2) * sizeof(char *));
    gone[ngone++] = drv_strdup(refs[i].name);
    gone[ngone] = NULL;
  }
  drv_store_refs_free(refs, n);
  drv_image_free(img);
  if (removed) *removed = gone;
  else drv_strv_free(gone);
  return rc;
}

int drv_image_prune(drv_image_store *s, drv_image_prune_stats *st, drv_err *err)
{
  drv_store_gc_stats g;
  if (drv_store_gc(s, &g, err) < 0) return -1;
  st->blobs_removed = g.blobs_removed;
  st->layers_removed = g.layers_removed;
  st->bytes_removed = g.bytes_removed;
  return 0;
}

static bool layers_present(const drv_image *img)
{
  for (size_t i = 0; i < img->n_layers; i++)
    if (!drv_path_exists(img->layer_dirs[i])) return false;
  return true;
}

/* ---- pull ---- */

struct pull {
  drv_image_store *s;
  drv_registry *reg;
  const drv_image_pull_opts *o;
  const drv_image_manifest *m;
  char **diff_ids;
  pthread_mutex_t mu;
  size_t next;
  bool failed;
  drv_err err;
  drv_image_progress prog;
};

static void report(struct pull *p, int64_t delta, bool layer_done)
{
  if (!p->o->progress) return;
  pthread_mutex_lock(&p->mu);
  p->prog.bytes_done += delta;
  if (layer_done) p->prog.layers_done++;
  drv_image_progress snap = p->prog;
  p->o->progress(&snap, p->o->progress_ctx);
  pthread_mutex_unlock(&p->mu);
}

static void on_bytes(int64_t delta, void *ctx)
{
  report(ctx, delta, false);
}

/* Downloads blob d into the store unless it is there; one download per digest across threads
 * and processes (the per-digest lock), the others wait and find it present. */
int drv_image_fetch_blob(drv_image_store *s, drv_registry *reg, drv_http_client *c,
                         const drv_image_descriptor *d, drv_registry_progress_fn progress,
                         void *ctx, drv_err *err)
{
  if (drv_store_has_blob(s, d->digest)) return 0;
  _cleanup_free_ char *lname = drv_asprintf("blob-%s", drv_digest_hex(d->digest));
  int lk = drv_store_lock(s, lname, false, err);
  if (lk < 0) return -1;
  int rc = 0;
  if (!drv_store_has_blob(s, d->digest)) {
    _cleanup_free_ char *partial = drv_asprintf("%s/%s.partial", s->tmp, drv_digest_hex(d->digest));
    rc = drv_registry_fetch_blob(reg, c, d->digest, d->size, partial, progress, ctx, err);
    if (rc == 0) rc = drv_store_commit_blob_file(s, partial, d->digest, err);
    /* A partial download is kept for the next pull to resume, unless the disk is the problem. */
    if (rc < 0 && err && (err->errnum == ENOSPC || err->errnum == EDQUOT || err->errnum == EROFS))
      unlink(partial);
  }
  drv_store_unlock(lk);
  return rc;
}

int drv_image_ensure_layer(drv_image_store *s, const char *blob_digest, const char *diff_id,
                           drv_err *err)
{
  _cleanup_free_ char *dir = drv_store_layer_path(s, diff_id);
  if (drv_path_exists(dir)) return 0;
  _cleanup_free_ char *lname = drv_asprintf("layer-%s", drv_digest_hex(diff_id));
  int lk = drv_store_lock(s, lname, false, err);
  if (lk < 0) return -1;
  int rc = 0;
  if (!drv_path_exists(dir)) {
    _cleanup_free_ char *tmp = drv_asprintf("%s/layer-%s-%d-%lld", s->tmp, drv_digest_hex(diff_id),
                                            getpid(), drv_now_ns());
    _cleanup_free_ char *blob = drv_store_blob_path(s, blob_digest);
    char got[DRV_DIGEST_LEN + 1];
    rc = -1;
    if (mkdir(tmp, 0755) < 0) {
      drv_error(err, errno, "mkdir `%s`", tmp);
    } else if (drv_image_unpack_layer(blob, tmp, got, err) < 0) {
      drv_err_prefix(err, "unpack layer %s", blob_digest);
    } else if (strcmp(got, diff_id)) {
      drv_fail(err, EINVAL, "unpack layer %s: uncompressed content hashes to %s, the image config says %s",
                blob_digest, got, diff_id);
    } else if (rename(tmp, dir) < 0) {
      drv_error(err, errno, "rename `%s` to `%s`", tmp, dir);
    } else {
      rc = 0;
    }
    if (rc < 0) drv_rm_rf(tmp, NULL);
  }
  drv_store_unlock(lk);
  return rc;
}

static void *layer_worker(void *arg)
{
  struct pull *p = arg;
  drv_http_client *c = drv_http_client_new();
  for (;;) {
    pthread_mutex_lock(&p->mu);
    size_t i = p->next++;
    bool stop = p->failed || i >= p->m->n_layers;
    pthread_mutex_unlock(&p->mu);
    if (stop) break;
    const drv_image_descriptor *d = &p->m->layers[i];
    drv_err e;
    drv_err_clear(&e);
    _cleanup_free_ char *dir = drv_store_layer_path(p->s, p->diff_ids[i]);
    int rc = 0;
    if (drv_path_exists(dir)) {
      report(p, d->size, true);
      continue;
    }
    rc = drv_image_fetch_blob(p->s, p->reg, c, d, on_bytes, p, &e);
    if (rc == 0) rc = drv_image_ensure_layer(p->s, d->digest, p->diff_ids[i], &e);
    if (rc < 0) {
      pthread_mutex_lock(&p->mu);
      if (!p->failed) {
        p->failed = true;
        p->err = e;
      }
      pthread_mutex_unlock(&p->mu);
      break;
    }
    report(p, 0, true);
  }
  drv_http_client_free(c);
  return NULL;
}

static int fetch_manifests(drv_image_store *s, drv_registry *reg, drv_http_client *c,
                           const drv_image_ref *ref, drv_image_manifest *m, char *mdigest,
                           char **index_digest, char *top_digest, drv_err *err)
{
  drv_buf body = DRV_BUF_INIT;
  _cleanup_free_ char *ctype = NULL;
  const char *reference = ref->digest ? ref->digest : ref->tag;
  int rc = -1;
  if (drv_registry_get_manifest(reg, c, reference, &body, &ctype, top_digest, err) < 0) goto out;
  if (drv_image_manifest_parse(body.data, body.len, ctype, m, err) < 0) {
    drv_err_prefix(err, "%s", reference);
    goto out;
  }
  strcpy(mdigest, top_digest);
  if (m->kind == DRV_MANIFEST_INDEX) {
    if (drv_store_put_blob(s, top_digest, body.data, body.len, err) < 0) goto out;
    *index_digest = drv_strdup(top_digest);
    const drv_image_descriptor *d;
    if (drv_image_index_select(m, "linux", "amd64", &d, err) < 0) {
      drv_err_prefix(err, "%s", reference);
      goto out;
    }
    _cleanup_free_ char *want = drv_strdup(d->digest);
    drv_image_manifest_free(m);
    free(ctype);
    ctype = NULL;
    if (drv_registry_get_manifest(reg, c, want, &body, &ctype, mdigest, err) < 0) goto out;
    if (drv_image_manifest_parse(body.data, body.len, ctype, m, err) < 0) {
      drv_err_prefix(err, "%s", want);
      goto out;
    }
    if (m->kind != DRV_MANIFEST_IMAGE) {
      drv_fail(err, EINVAL, "%s: index entry is not an image manifest", want);
      goto out;
    }
  }
  if (drv_store_put_blob(s, mdigest, body.data, body.len, err) < 0) goto out;
  rc = 0;
out:
  drv_buf_free(&body);
  return rc;
}

int drv_image_pull(drv_image_store *s, const char *refstr, const drv_image_pull_opts *opts,
                   drv_image **out, drv_err *err)
{
  static const drv_image_pull_opts defaults = {0};
  const drv_image_pull_opts *o = opts ? opts : &defaults;
  drv_image_ref ref;
  if (drv_image_ref_parse(refstr, &ref, err) < 0) return -1;
  _cleanup_free_ char *name = drv_image_ref_string(&ref);
  _cleanup_free_ char *repo = NULL, *repo_digest = NULL;
  int rc = -1;
  drv_registry *reg = NULL;
  drv_http_client *c = NULL;
  drv_image_manifest m = {0};
  char **diff_ids = NULL;
  size_t n_ids = 0;
  char *index_digest = NULL;
  int glk = -1;
  drv_image_config cfg = {0};

  if (o->policy != DRV_IMAGE_PULL_ALWAYS) {
    drv_image *img = NULL;
    drv_err lerr;
    if (drv_image_lookup(s, name, &img, &lerr) == 0) {
      if (layers_present(img)) {
        *out = img;
        rc = 0;
        goto out;
      }
      drv_image_free(img);
    } else if (lerr.errnum != ENOENT) {
      if (err) *err = lerr;
      goto out;
    }
    if (o->policy == DRV_IMAGE_PULL_NEVER) {
      drv_fail(err, ENOENT, "image `%s` is not present locally and the pull policy is Never", name);
      goto out;
    }
  }
  /* Shared: blobs written from here until the ref is recorded are safe from prune. */
  glk = drv_store_lock(s, "store", true, err);
  if (glk < 0) goto out;
  drv_registry_opts ro = {.auth_file = o->auth_file, .ca_file = o->ca_file, .insecure = o->insecure};
  if (drv_registry_open(&ref, &ro, &reg, err) < 0) goto out;
  c = drv_http_client_new();
  char mdigest[DRV_DIGEST_LEN + 1], top[DRV_DIGEST_LEN + 1];
  if (fetch_manifests(s, reg, c, &ref, &m, mdigest, &index_digest, top, err) < 0) goto out;
  if (drv_image_fetch_blob(s, reg, c, &m.config, NULL, NULL, err) < 0) goto out;
  {
    _cleanup_free_ char *cdata = NULL;
    size_t clen;
    if (drv_store_read_blob(s, m.config.digest, 64u << 20, &cdata, &clen, err) < 0) goto out;
    if (drv_image_config_parse(cdata, clen, &cfg, &diff_ids, &n_ids, NULL, err) < 0) {
      drv_err_prefix(err, "config %s", m.config.digest);
      goto out;
    }
  }
  if (n_ids != m.n_layers) {
    drv_fail(err, EINVAL, "image `%s`: manifest has %zu layers but the config lists %zu diff_ids",
              name, m.n_layers, n_ids);
    goto out;
  }
  struct pull p = {.s = s, .reg = reg, .o = o, .m = &m, .diff_ids = diff_ids};
  pthread_mutex_init(&p.mu, NULL);
  p.prog.layers_total = m.n_layers;
  for (size_t i = 0; i < m.n_layers; i++) p.prog.bytes_total += m.layers[i].size;
  int nthreads = o->parallel > 0 ? o->parallel : 4;
  if ((size_t)nthreads > m.n_layers) nthreads = (int)m.n_layers;
  pthread_t tids[64];
  if (nthreads > 64) nthreads = 64;
  int started = 0;
  for (int i = 1; i < nthreads; i++) {
    if (pthread_create(&tids[started], NULL, layer_worker, &p) != 0) break;
    started++;
  }
  layer_worker(&p); /* this thread works too */
  for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
  pthread_mutex_destroy(&p.mu);
  if (p.failed) {
    if (err) *err = p.err;
    drv_err_prefix(err, "pull `%s`", name);
    goto out;
  }
  if (o->progress) {
    p.prog.finished = true;
    o->progress(&p.prog, o->progress_ctx);
  }
  /* Blobs and unpacked layers reach the disk before a reference makes them reachable: one
   * syncfs instead of a flush per file. */
  if (drv_store_sync(s, err) < 0) goto out;
  repo = drv_image_ref_name(&ref);
  repo_digest = drv_asprintf("%s@%s", repo, top);
  drv_store_ref sr = {.name = name, .manifest = mdigest, .config = m.config.digest,
                      .index = index_digest, .repo_digest = repo_digest};
  if (drv_store_ref_set(s, &sr, err) < 0) goto out;
  rc = drv_image_lookup(s, name, out, err);
out:
  if (rc < 0 && err && strncmp(err->msg, "pull", 4)) drv_err_prefix(err, "pull `%s`", name);
  drv_store_unlock(glk);
  drv_image_config_free(&cfg);
  drv_strv_free(diff_ids);
  free(index_digest);
  drv_image_manifest_free(&m);
  drv_http_client_free(c);
  drv_registry_close(reg);
  drv_image_ref_free(&ref);
  return rc;
}
