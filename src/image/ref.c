#include "image/ref.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "image/fail.h"
#include "image/digest.h"

void drv_image_ref_free(drv_image_ref *r)
{
  if (!r) return;
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof *r);
}

static bool valid_tag(const char *t)
{
  size_t n = strlen(t);
  if (n == 0 || n > 128) return false;
  if (!(isalnum((unsigned char)t[0]) || t[0] == '_')) return false;
  for (const char *p = t; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-')) return false;
  return true;
}

/* Path components: lowercase alphanumerics separated by '.', '_', '__' or runs of '-'. */
static bool valid_path(const char *path, const char **why)
{
  if (!*path) {
    *why = "empty repository name";
    return false;
  }
  const char *p = path;
  while (*p) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 0) {
      *why = "empty path component";
      return false;
    }
    if (!islower((unsigned char)p[0]) && !isdigit((unsigned char)p[0])) {
      *why = isupper((unsigned char)p[0]) ? "repository name must be lowercase"
                                          : "path component must start with a letter or digit";
      return false;
    }
    if (!islower((unsigned char)p[n - 1]) && !isdigit((unsigned char)p[n - 1])) {
      *why = isupper((unsigned char)p[n - 1]) ? "repository name must be lowercase"
                                              : "path component must end with a letter or digit";
      return false;
    }
    for (size_t i = 0; i < n; i++) {
      char c = p[i];
      if (isupper((unsigned char)c)) {
        *why = "repository name must be lowercase";
        return false;
      }
      if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' || c == '_' ||
            c == '-')) {
        *why = "invalid character in repository name";
        return false;
      }
      if (c == '.' && i + 1 < n && (p[i + 1] == '.' || p[i + 1] == '_' || p[i + 1] == '-')) {
        *why = "invalid separator in repository name";
        return false;
      }
    }
    p = end ? end + 1 : p + n;
    if (end && !*p) {
      *why = "trailing '/'";
      return false;
    }
  }
  return true;
}

static bool valid_domain(const char *d)
{
  if (!*d) return false;
  for (const char *p = d; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' ||
          *p == ']'))
      return false;
  return true;
}

int drv_image_ref_parse(const char *s, drv_image_ref *out, drv_err *err)
{
  memset(out, 0, sizeof *out);
  if (!s || !*s) return drv_fail(err, EINVAL, "image reference: empty");
  if (strlen(s) > 4096) return drv_fail(err, EINVAL, "image reference: too long");
  _cleanup_free_ char *copy = drv_strdup(s);
  char *at = strchr(copy, '@');
  if (at) {
    *at = '\0';
    if (!drv_digest_valid(at + 1))
      return drv_fail(err, EINVAL, "image reference `%s`: invalid digest `%s` (want sha256:<64 hex>)",
                       s, at + 1);
    out->digest = drv_strdup(at + 1);
  }
  char *name = copy;
  /* Domain: the first component when it looks like a host. */
  char *slash = strchr(name, '/');
  if (slash && (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':', (size_t)(slash - name)) ||
                (slash - name == 9 && strncmp(name, "localhost", 9) == 0))) {
    *slash = '\0';
    if (!valid_domain(name)) {
      drv_image_ref_free(out);
      return drv_fail(err, EINVAL, "image reference `%s`: invalid registry host `%s`", s, name);
    }
    out->domain = drv_strdup(name);
    name = slash + 1;
  } else {
    out->domain = drv_strdup("docker.io");
  }
  /* Tag: after the last ':' of the path part (the domain's port is gone by now). */
  char *colon = strrchr(name, ':');
  if (colon) {
    *colon = '\0';
    if (!valid_tag(colon + 1)) {
      drv_image_ref_free(out);
      return drv_fail(err, EINVAL, "image reference `%s`: invalid tag `%s`", s, colon + 1);
    }
    out->tag = drv_strdup(colon + 1);
  }
  const char *why = NULL;
  if (!valid_path(name, &why)) {
    drv_image_ref_free(out);
    return drv_fail(err, EINVAL, "image reference `%s`: %s", s, why);
  }
  if (strcmp(out->domain, "docker.io") == 0 && !strchr(name, '/'))
    out->path = drv_asprintf("library/%s", name);
  else
    out->path = drv_strdup(name);
  if (strlen(out->domain) + 1 + strlen(out->path) > 255) {
    drv_image_ref_free(out);
    return drv_fail(err, EINVAL, "image reference `%s`: name longer than 255 characters", s);
  }
  if (!out->tag && !out->digest) out->tag = drv_strdup("latest");
  return 0;
}

char *drv_image_ref_string(const drv_image_ref *r)
{
  if (r->digest) return drv_asprintf("%s/%s@%s", r->domain, r->path, r->digest);
  return drv_asprintf("%s/%s:%s", r->domain, r->path, r->tag ? r->tag : "latest");
}

char *drv_image_ref_name(const drv_image_ref *r)
{
  return drv_asprintf("%s/%s", r->domain, r->path);
}

const char *drv_image_ref_registry_host(const drv_image_ref *r)
{
  if (strcmp(r->domain, "docker.io") == 0 || strcmp(r->domain, "index.docker.io") == 0)
    return "registry-1.docker.io";
  return r->domain;
}

bool drv_image_host_is_loopback(const char *host)
{
  if (strncmp(host, "[::1]", 5) == 0) return host[5] == '\0' || host[5] == ':';
  size_t n = strcspn(host, ":");
  if (n == 9 && strncmp(host, "localhost", 9) == 0) return true;
  if (n >= 4 && strncmp(host, "127.", 4) == 0) {
    for (size_t i = 4; i < n; i++)
      if (!isdigit((unsigned char)host[i]) && host[i] != '.') return false;
    return true;
  }
  return false;
}
