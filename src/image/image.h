/* Container images, the library the node agent and `drover image` call in-process.
 *
 * A store lives under <data-dir>/images: content-addressed blobs (each verified against its
 * sha256 before it becomes visible), layers unpacked once into shared read-only directories,
 * and a small reference database (name → manifest + config digests). A store handle holds
 * only paths: it may be shared by threads, and several processes may use the same directory
 * (per-digest lock files make concurrent pulls of one blob download it once).
 *
 * Typical agent use:
 *   drv_image_store *s;  drv_image_store_open(data_dir, &s, &err);
 *   drv_image *img;      drv_image_pull(s, "busybox:1.36", &opts, &img, &err);
 *   drv_image_process p; drv_image_process_from_config(&img->config, &overrides, &p, &err);
 *   char *rootfs;        drv_image_rootfs_prepare(s, img, "/run/.../ctr-1", &rootfs, &err);
 *   ... run the container with root.path = rootfs, p.args/p.env/p.cwd/p.user ...
 *   drv_image_rootfs_remove("/run/.../ctr-1", &err);
 */
#ifndef DRV_IMAGE_IMAGE_H
#define DRV_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct drv_image_store drv_image_store;

/* Opens (creating as needed) the store at <data_dir>/images. */
int drv_image_store_open(const char *data_dir, drv_image_store **out, drv_err *err);
void drv_image_store_close(drv_image_store *s);
/* The store's root directory (<data_dir>/images). */
const char *drv_image_store_root(const drv_image_store *s);

/* ---- Image config: what the image says a container runs by default ---- */
typedef struct drv_image_config {
  char **entrypoint;    /* NULL-terminated, NULL when unset */
  char **cmd;           /* NULL-terminated, NULL when unset */
  char **env;           /* "NAME=value", NULL-terminated, NULL when unset */
  char *working_dir;    /* NULL when unset */
  char *user;           /* "uid", "uid:gid", "name", "name:group"; NULL when unset */
  char **exposed_ports; /* "80/tcp", NULL-terminated, NULL when none */
  char *stop_signal;    /* "SIGTERM", NULL when unset */
  char *os, *architecture;
} drv_image_config;

/* A resolved local image. Everything is owned by the struct: free with drv_image_free(). */
typedef struct drv_image {
  char *ref;             /* normalized reference, e.g. "docker.io/library/busybox:1.36" */
  char *id;              /* config digest "sha256:…": the image id */
  char *manifest_digest; /* digest of the (platform) manifest */
  char *repo_digest;     /* "docker.io/library/busybox@sha256:…" of what the registry served */
  size_t n_layers;
  char **layer_dirs;     /* unpacked layer directories, lowest (base) first */
  char **diff_ids;       /* uncompressed layer digests, same order */
  int64_t size;          /* sum of compressed layer sizes */
  int64_t created;       /* seconds since the epoch, 0 when the config has none */
  drv_image_config config;
} drv_image;

void drv_image_free(drv_image *img);

/* ---- Pull ---- */
typedef enum {
  DRV_IMAGE_PULL_IF_NOT_PRESENT = 0, /* use a local image of that reference when there is one */
  DRV_IMAGE_PULL_ALWAYS,             /* ask the registry; blobs already present are not fetched */
  DRV_IMAGE_PULL_NEVER,              /* local only: missing → error with errnum ENOENT */
} drv_image_pull_policy;

/* Progress of one pull, reported from the pulling thread(s) (serialized by the library). */
typedef struct drv_image_progress {
  size_t layers_total, layers_done;
  int64_t bytes_total, bytes_done; /* over all layers of the image; already-present count as done */
  bool finished;                   /* last call */
} drv_image_progress;
typedef void (*drv_image_progress_fn)(const drv_image_progress *p, void *ctx);

typedef struct drv_image_pull_opts {
  drv_image_pull_policy policy;
  const char *auth_file; /* docker config.json ("auths"), NULL = anonymous / bearer only */
  const char *ca_file;   /* extra CA bundle, NULL = system CAs */
  bool insecure;         /* allow plain HTTP for any registry (loopback ones always may) */
  int parallel;          /* concurrent layer downloads, 0 = default (4) */
  drv_image_progress_fn progress;
  void *progress_ctx;
} drv_image_pull_opts;

/* Pulls (per policy) `ref` ("busybox", "busybox:1.36", "host:5000/a/b@sha256:…"), picks
 * linux/amd64 from a multi-platform index, verifies and stores every blob, unpacks the layers
 * and records the reference. On failure nothing new is listed; a later pull resumes. */
int drv_image_pull(drv_image_store *s, const char *ref, const drv_image_pull_opts *opts,
                   drv_image **out, drv_err *err);

/* A local image by reference ("busybox" → docker.io/library/busybox:latest), by id
 * ("sha256:…" or a unique hex prefix of at least 12 characters), or by repo digest.
 * Not found → -1 with err->errnum = ENOENT. */
int drv_image_lookup(drv_image_store *s, const char *ref_or_id, drv_image **out, drv_err *err);

/* Every local image (one entry per reference, sorted by reference). */
int drv_image_list(drv_image_store *s, drv_image ***out, size_t *n, drv_err *err);
void drv_image_list_free(drv_image **imgs, size_t n);

/* Removes a reference (a name, or an id: then every reference to that image). The content
 * stays until drv_image_prune(). Not found → ENOENT. *removed (may be NULL) gets the removed
 * references, NULL-terminated (free with drv_strv_free). */
int drv_image_remove(drv_image_store *s, const char *ref_or_id, char ***removed, drv_err *err);

typedef struct drv_image_prune_stats {
  size_t blobs_removed, layers_removed;
  int64_t bytes_removed;
} drv_image_prune_stats;
/* Deletes blobs and layer directories no reference needs (layer directories under a mounted
 * overlay are kept) and leftovers of interrupted pulls. Waits for pulls in progress. */
int drv_image_prune(drv_image_store *s, drv_image_prune_stats *st, drv_err *err);

/* ---- Container process from image config + Kubernetes-style overrides ---- */
typedef struct drv_image_overrides {
  char *const *command;    /* NULL-terminated; non-NULL replaces Entrypoint (and drops Cmd
                              unless args is given), as Kubernetes does */
  char *const *args;       /* NULL-terminated; non-NULL replaces Cmd */
  char *const *env;        /* "NAME=value"; replaces an image variable of the same name,
                              otherwise appended (in this order) */
  const char *working_dir; /* non-NULL replaces WorkingDir */
  const char *user;        /* non-NULL replaces User */
} drv_image_overrides;

typedef struct drv_image_process {
  char **args;       /* NULL-terminated, at least one element */
  char **env;        /* NULL-terminated; PATH defaulted when the image has none */
  char *cwd;         /* "/" when unset */
  char *user;        /* as written in the image/override, NULL = root */
  char *stop_signal; /* NULL = SIGTERM */
} drv_image_process;

/* Fails (EINVAL) when the result has no command to run. overrides may be NULL. */
int drv_image_process_from_config(const drv_image_config *cfg, const drv_image_overrides *ov,
                                  drv_image_process *out, drv_err *err);
void drv_image_process_free(drv_image_process *p);

/* Resolves "uid[:gid]" / "name[:group]" against <rootfs>/etc/passwd and /etc/group, the way
 * Docker does (a numeric uid without gid takes the passwd entry's gid, else 0). */
int drv_image_resolve_user(const char *rootfs, const char *user, uint32_t *uid, uint32_t *gid,
                           drv_err *err);

/* ---- Root filesystem per container ---- */
/* Makes <container_dir>/rootfs: an overlay mount with the image's layer directories as lower
 * dirs and a private <container_dir>/upper + work; where overlay is unavailable, a copy of the
 * layers (also when DROVER_ROOTFS_COPY=1 is set in the environment). *rootfs_out (caller
 * frees) is the directory to use as the OCI root.path. The layer directories must stay while
 * the overlay is mounted: drv_image_prune() keeps those a mounted overlay uses. */
int drv_image_rootfs_prepare(drv_image_store *s, const drv_image *img, const char *container_dir,
                             char **rootfs_out, drv_err *err);
/* Unmounts and removes what drv_image_rootfs_prepare made under container_dir (not the
 * directory itself). Missing pieces are fine. */
int drv_image_rootfs_remove(const char *container_dir, drv_err *err);

#endif
