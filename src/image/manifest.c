#include "image/manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "image/fail.h"
#include "image/digest.h"

static void descriptor_free(drv_image_descriptor *d)
{
  free(d->media_type);
  free(d->digest);
  free(d->os);
  free(d->architecture);
  free(d->variant);
  memset(d, 0, sizeof *d);
}

void drv_image_manifest_free(drv_image_manifest *m)
{
  if (!m) return;
  for (size_t i = 0; i < m->n_manifests; i++) descriptor_free(&m->manifests[i]);
  free(m->manifests);
  for (size_t i = 0; i < m->n_layers; i++) descriptor_free(&m->layers[i]);
  free(m->layers);
  descriptor_free(&m->config);
  free(m->media_type);
  memset(m, 0, sizeof *m);
}

static char *opt_str(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? drv_strdup(json_string_value(v)) : NULL;
}

static int parse_descriptor(json_t *o, const char *what, drv_image_descriptor *d, drv_err *err)
{
  if (!json_is_object(o)) return drv_fail(err, EINVAL, "%s: not an object", what);
  json_t *dg = json_object_get(o, "digest"), *sz = json_object_get(o, "size");
  if (!json_is_string(dg) || !drv_digest_valid(json_string_value(dg)))
    return drv_fail(err, EINVAL, "%s: missing or unsupported digest `%s`", what,
                     json_is_string(dg) ? json_string_value(dg) : "");
  if (!json_is_integer(sz) || json_integer_value(sz) < 0)
    return drv_fail(err, EINVAL, "%s: missing or negative size", what);
  d->digest = drv_strdup(json_string_value(dg));
  d->size = json_integer_value(sz);
  d->media_type = opt_str(o, "mediaType");
  json_t *plat = json_object_get(o, "platform");
  if (json_is_object(plat)) {
    d->os = opt_str(plat, "os");
    d->architecture = opt_str(plat, "architecture");
    d->variant = opt_str(plat, "variant");
  }
  return 0;
}

static int parse_descriptors(json_t *arr, const char *what, drv_image_descriptor **out, size_t *n,
                             drv_err *err)
{
  if (!json_is_array(arr)) return drv_fail(err, EINVAL, "manifest: `%s` is not an array", what);
  size_t cnt = json_array_size(arr);
  *out = drv_calloc(cnt ? cnt : 1, sizeof **out);
  *n = cnt;
  for (size_t i = 0; i < cnt; i++) {
    char name[64];
    snprintf(name, sizeof name, "manifest: %s[%zu]", what, i);
    if (parse_descriptor(json_array_get(arr, i), name, &(*out)[i], err) < 0) return -1;
  }
  return 0;
}

int drv_image_manifest_parse(const char *data, size_t len, const char *content_type,
                             drv_image_manifest *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  json_t *root = json_loadb(data, len, 0, &jerr);
  if (!root) return drv_fail(err, EINVAL, "manifest: invalid JSON: %s (line %d)", jerr.text, jerr.line);
  int rc = -1;
  if (!json_is_object(root)) {
    drv_fail(err, EINVAL, "manifest: not a JSON object");
    goto out;
  }
  json_t *sv = json_object_get(root, "schemaVersion");
  if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
    drv_fail(err, EINVAL, "manifest: unsupported schemaVersion %lld (Docker schema 1 is not supported)",
              json_is_integer(sv) ? (long long)json_integer_value(sv) : 0LL);
    goto out;
  }
  char *mt = opt_str(root, "mediaType");
  if (!mt && content_type && *content_type) {
    size_t n = strcspn(content_type, "; ");
    mt = drv_strndup(content_type, n);
  }
  if (!mt || strcmp(mt, "application/json") == 0 || strcmp(mt, "text/plain") == 0) {
    free(mt);
    /* OCI allows omitting mediaType: tell the two kinds apart by their fields. */
    if (json_object_get(root, "manifests")) mt = drv_strdup(DRV_MT_OCI_INDEX);
    else if (json_object_get(root, "layers")) mt = drv_strdup(DRV_MT_OCI_MANIFEST);
    else {
      drv_fail(err, EINVAL, "manifest: no mediaType and neither `manifests` nor `layers`");
      goto out;
    }
  }
  out->media_type = mt;
  if (!strcmp(mt, DRV_MT_OCI_INDEX) || !strcmp(mt, DRV_MT_DOCKER_LIST)) {
    out->kind = DRV_MANIFEST_INDEX;
    if (parse_descriptors(json_object_get(root, "manifests"), "manifests", &out->manifests,
                          &out->n_manifests, err) < 0)
      goto out;
  } else if (!strcmp(mt, DRV_MT_OCI_MANIFEST) || !strcmp(mt, DRV_MT_DOCKER_MANIFEST)) {
    out->kind = DRV_MANIFEST_IMAGE;
    if (parse_descriptor(json_object_get(root, "config"), "manifest: config", &out->config, err) < 0)
      goto out;
    if (parse_descriptors(json_object_get(root, "layers"), "layers", &out->layers, &out->n_layers,
                          err) < 0)
      goto out;
    for (size_t i = 0; i < out->n_layers; i++) {
      drv_layer_compression c;
      const char *lmt = out->layers[i].media_type;
      if (!lmt) {
        drv_fail(err, EINVAL, "manifest: layers[%zu]: missing mediaType", i);
        goto out;
      }
      if (drv_image_layer_compression(lmt, &c, err) < 0) {
        drv_err_prefix(err, "manifest: layers[%zu]", i);
        goto out;
      }
    }
  } else {
    drv_fail(err, EINVAL, "manifest: unknown media type `%s`", mt);
    goto out;
  }
  rc = 0;
out:
  json_decref(root);
  if (rc < 0) drv_image_manifest_free(out);
  return rc;
}

int drv_image_index_select(const drv_image_manifest *idx, const char *os, const char *arch,
                           const drv_image_descriptor **out, drv_err *err)
{
  for (size_t i = 0; i < idx->n_manifests; i++) {
    const drv_image_descriptor *d = &idx->manifests[i];
    if (d->os && d->architecture && !strcmp(d->os, os) && !strcmp(d->architecture, arch)) {
      const char *mt = d->media_type;
      if (mt && strcmp(mt, DRV_MT_OCI_MANIFEST) && strcmp(mt, DRV_MT_DOCKER_MANIFEST))
        return drv_fail(err, EINVAL, "index: %s/%s entry has unsupported media type `%s`", os,
                         arch, mt);
      *out = d;
      return 0;
    }
  }
  return drv_fail(err, ENOENT, "index: no manifest for platform %s/%s (%zu entries)", os, arch,
                   idx->n_manifests);
}

int drv_image_layer_compression(const char *mt, drv_layer_compression *out, drv_err *err)
{
  static const struct {
    const char *mt;
    drv_layer_compression c;
  } map[] = {
      {DRV_MT_OCI_LAYER, DRV_LAYER_TAR},
      {DRV_MT_OCI_LAYER_GZIP, DRV_LAYER_GZIP},
      {DRV_MT_OCI_LAYER_ZSTD, DRV_LAYER_ZSTD},
      {DRV_MT_DOCKER_LAYER_GZIP, DRV_LAYER_GZIP},
      {"application/vnd.docker.image.rootfs.diff.tar", DRV_LAYER_TAR},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", DRV_LAYER_TAR},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", DRV_LAYER_GZIP},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", DRV_LAYER_ZSTD},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", DRV_LAYER_GZIP},
  };
  for (size_t i = 0; i < DRV_ARRAY_LEN(map); i++)
    if (!strcmp(mt, map[i].mt)) {
      *out = map[i].c;
      return 0;
    }
  return drv_fail(err, EINVAL, "unknown layer media type `%s`", mt);
}

void drv_image_config_free(drv_image_config *c)
{
  if (!c) return;
  drv_strv_free(c->entrypoint);
  drv_strv_free(c->cmd);
  drv_strv_free(c->env);
  drv_strv_free(c->exposed_ports);
  free(c->working_dir);
  free(c->user);
  free(c->stop_signal);
  free(c->os);
  free(c->architecture);
  memset(c, 0, sizeof *c);
}

static int str_array(json_t *v, const char *what, char ***out, drv_err *err)
{
  *out = NULL;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_array(v)) return drv_fail(err, EINVAL, "image config: `%s` is not an array", what);
  size_t n = json_array_size(v);
  char **r = drv_calloc(n + 1, sizeof *r);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(v, i);
    if (!json_is_string(s)) {
      drv_strv_free(r);
      return drv_fail(err, EINVAL, "image config: `%s[%zu]` is not a string", what, i);
    }
    r[i] = drv_strdup(json_string_value(s));
  }
  *out = r;
  return 0;
}

static int64_t parse_time(const char *s)
{
  struct tm tm = {0};
  if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return (int64_t)timegm(&tm);
}

int drv_image_config_parse(const char *data, size_t len, drv_image_config *cfg, char ***diff_ids,
                           size_t *n_diff_ids, int64_t *created, drv_err *err)
{
  memset(cfg, 0, sizeof *cfg);
  *diff_ids = NULL;
  *n_diff_ids = 0;
  json_error_t jerr;
  json_t *root = json_loadb(data, len, 0, &jerr);
  if (!root) return drv_fail(err, EINVAL, "image config: invalid JSON: %s", jerr.text);
  int rc = -1;
  if (!json_is_object(root)) {
    drv_fail(err, EINVAL, "image config: not a JSON object");
    goto out;
  }
  cfg->os = opt_str(root, "os");
  cfg->architecture = opt_str(root, "architecture");
  if (created) *created = parse_time(json_string_value(json_object_get(root, "created")));
  json_t *c = json_object_get(root, "config");
  if (json_is_object(c)) {
    if (str_array(json_object_get(c, "Entrypoint"), "Entrypoint", &cfg->entrypoint, err) < 0 ||
        str_array(json_object_get(c, "Cmd"), "Cmd", &cfg->cmd, err) < 0 ||
        str_array(json_object_get(c, "Env"), "Env", &cfg->env, err) < 0)
      goto out;
    cfg->working_dir = opt_str(c, "WorkingDir");
    cfg->user = opt_str(c, "User");
    cfg->stop_signal = opt_str(c, "StopSignal");
    if (cfg->working_dir && !*cfg->working_dir) {
      free(cfg->working_dir);
      cfg->working_dir = NULL;
    }
    if (cfg->user && !*cfg->user) {
      free(cfg->user);
      cfg->user = NULL;
    }
    json_t *ports = json_object_get(c, "ExposedPorts");
    if (json_is_object(ports) && json_object_size(ports)) {
      size_t n = json_object_size(ports), i = 0;
      cfg->exposed_ports = drv_calloc(n + 1, sizeof(char *));
      const char *k;
      json_t *v;
      json_object_foreach(ports, k, v) cfg->exposed_ports[i++] = drv_strdup(k);
    }
  } else if (c && !json_is_null(c)) {
    drv_fail(err, EINVAL, "image config: `config` is not an object");
    goto out;
  }
  json_t *rootfs = json_object_get(root, "rootfs");
  json_t *ids = json_is_object(rootfs) ? json_object_get(rootfs, "diff_ids") : NULL;
  if (!json_is_array(ids)) {
    drv_fail(err, EINVAL, "image config: missing `rootfs.diff_ids`");
    goto out;
  }
  size_t n = json_array_size(ids);
  char **d = drv_calloc(n + 1, sizeof *d);
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(ids, i));
    if (!drv_digest_valid(s)) {
      drv_strv_free(d);
      drv_fail(err, EINVAL, "image config: rootfs.diff_ids[%zu]: invalid digest", i);
      goto out;
    }
    d[i] = drv_strdup(s);
  }
  *diff_ids = d;
  *n_diff_ids = n;
  rc = 0;
out:
  json_decref(root);
  if (rc < 0) drv_image_config_free(cfg);
  return rc;
}
