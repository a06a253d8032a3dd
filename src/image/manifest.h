/* OCI image index/manifest, Docker schema2 manifest/manifest list and image config parsing. */
#ifndef DRV_IMAGE_MANIFEST_H
#define DRV_IMAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/image.h"

#define DRV_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define DRV_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define DRV_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define DRV_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define DRV_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define DRV_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DRV_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DRV_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DRV_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define DRV_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* What the registry is asked to send (Accept header value). */
#define DRV_MANIFEST_ACCEPT                                                                        \
  DRV_MT_OCI_INDEX ", " DRV_MT_DOCKER_LIST ", " DRV_MT_OCI_MANIFEST ", " DRV_MT_DOCKER_MANIFEST

typedef struct drv_image_descriptor {
  char *media_type;
  char *digest;
  int64_t size;
  char *os, *architecture, *variant; /* index entries only, NULL when absent */
} drv_image_descriptor;

typedef enum { DRV_MANIFEST_INDEX = 1, DRV_MANIFEST_IMAGE = 2 } drv_manifest_kind;

typedef struct drv_image_manifest {
  drv_manifest_kind kind;
  char *media_type;
  drv_image_descriptor *manifests; /* index */
  size_t n_manifests;
  drv_image_descriptor config;     /* image manifest */
  drv_image_descriptor *layers;
  size_t n_layers;
} drv_image_manifest;

/* content_type (the HTTP Content-Type, may be NULL) is used when the document has no
 * mediaType field. Unknown media types, schema 1 and malformed documents are errors. */
int drv_image_manifest_parse(const char *data, size_t len, const char *content_type,
                             drv_image_manifest *out, drv_err *err);
void drv_image_manifest_free(drv_image_manifest *m);

/* Picks the entry for os/arch (variant ignored unless given) from an index. */
int drv_image_index_select(const drv_image_manifest *idx, const char *os, const char *arch,
                           const drv_image_descriptor **out, drv_err *err);

typedef enum { DRV_LAYER_TAR = 0, DRV_LAYER_GZIP, DRV_LAYER_ZSTD } drv_layer_compression;
/* Layer media type → compression; unknown → -1 with a message naming it. */
int drv_image_layer_compression(const char *media_type, drv_layer_compression *out, drv_err *err);

/* Image config JSON → container defaults, the layers' diffIDs (rootfs.diff_ids) and the
 * creation time. */
int drv_image_config_parse(const char *data, size_t len, drv_image_config *cfg, char ***diff_ids,
                           size_t *n_diff_ids, int64_t *created, drv_err *err);
void drv_image_config_free(drv_image_config *cfg);

#endif
