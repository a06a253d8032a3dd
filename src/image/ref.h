/* Image references as Docker writes them: [domain/]path[:tag][@digest]. "busybox" means
 * docker.io/library/busybox:latest; a first component with a '.' or ':' or "localhost" is a
 * registry host (with optional port). */
#ifndef DRV_IMAGE_REF_H
#define DRV_IMAGE_REF_H

#include <stdbool.h>

#include "common/err.h"

typedef struct drv_image_ref {
  char *domain; /* "docker.io", "127.0.0.1:5000" */
  char *path;   /* "library/busybox" */
  char *tag;    /* NULL when a digest is given without tag */
  char *digest; /* "sha256:…" or NULL */
} drv_image_ref;

int drv_image_ref_parse(const char *s, drv_image_ref *out, drv_err *err);
void drv_image_ref_free(drv_image_ref *r);
/* "domain/path@digest" when there is a digest, else "domain/path:tag". Caller frees. */
char *drv_image_ref_string(const drv_image_ref *r);
/* "domain/path". Caller frees. */
char *drv_image_ref_name(const drv_image_ref *r);
/* The host to talk to: docker.io → registry-1.docker.io. */
const char *drv_image_ref_registry_host(const drv_image_ref *r);
/* True for localhost, 127.0.0.0/8 and [::1] (with any port): plain HTTP is allowed there. */
bool drv_image_host_is_loopback(const char *host);

#endif
