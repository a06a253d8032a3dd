/* ObjectMeta helpers (see object.h). */
#include "api/object.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/json.h"
#include "common/util.h"

static const char *meta_str(const json_t *obj, const char *key)
{
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

const char *drv_obj_api_version(const json_t *obj)
{
  return json_string_value(json_object_get(obj, "apiVersion"));
}
const char *drv_obj_kind(const json_t *obj) { return json_string_value(json_object_get(obj, "kind")); }
const char *drv_obj_name(const json_t *obj) { return meta_str(obj, "name"); }
const char *drv_obj_namespace(const json_t *obj) { return meta_str(obj, "namespace"); }
const char *drv_obj_generate_name(const json_t *obj) { return meta_str(obj, "generateName"); }
const char *drv_obj_uid(const json_t *obj) { return meta_str(obj, "uid"); }
const char *drv_obj_resource_version(const json_t *obj) { return meta_str(obj, "resourceVersion"); }
const char *drv_obj_creation_timestamp(const json_t *obj) { return meta_str(obj, "creationTimestamp"); }
const char *drv_obj_deletion_timestamp(const json_t *obj) { return meta_str(obj, "deletionTimestamp"); }

long long drv_obj_generation(const json_t *obj)
{
  return drv_json_get_int(obj, "metadata.generation", 0);
}

json_t *drv_obj_labels(const json_t *obj)
{
  json_t *l = drv_json_get(obj, "metadata.labels");
  return json_is_object(l) ? l : NULL;
}

json_t *drv_obj_annotations(const json_t *obj)
{
  json_t *a = drv_json_get(obj, "metadata.annotations");
  return json_is_object(a) ? a : NULL;
}

const char *drv_obj_label(const json_t *obj, const char *key)
{
  return json_string_value(json_object_get(drv_obj_labels(obj), key));
}

const char *drv_obj_annotation(const json_t *obj, const char *key)
{
  return json_string_value(json_object_get(drv_obj_annotations(obj), key));
}

json_t *drv_obj_finalizers(const json_t *obj)
{
  json_t *f = drv_json_get(obj, "metadata.finalizers");
  return json_is_array(f) ? f : NULL;
}

bool drv_obj_has_finalizer(const json_t *obj, const char *finalizer)
{
  size_t i;
  json_t *v;
  json_array_foreach(drv_obj_finalizers(obj), i, v)
  {
    if (json_is_string(v) && strcmp(json_string_value(v), finalizer) == 0) return true;
  }
  return false;
}

json_t *drv_obj_meta(json_t *obj) { return drv_json_obj(obj, "metadata"); }

void drv_obj_set_str(json_t *obj, const char *meta_key, const char *value)
{
  json_t *m = drv_obj_meta(obj);
  if (value) json_object_set_new(m, meta_key, json_string(value));
  else json_object_del(m, meta_key);
}

void drv_obj_set_name(json_t *obj, const char *name) { drv_obj_set_str(obj, "name", name); }
void drv_obj_set_namespace(json_t *obj, const char *ns) { drv_obj_set_str(obj, "namespace", ns); }
void drv_obj_set_uid(json_t *obj, const char *uid) { drv_obj_set_str(obj, "uid", uid); }
void drv_obj_set_resource_version(json_t *obj, const char *rv)
{
  drv_obj_set_str(obj, "resourceVersion", rv);
}

void drv_obj_set_generation(json_t *obj, long long gen)
{
  json_object_set_new(drv_obj_meta(obj), "generation", json_integer(gen));
}

static void set_map_entry(json_t *obj, const char *map, const char *key, const char *value)
{
  json_t *m = drv_obj_meta(obj);
  if (!value) {
    json_t *l = json_object_get(m, map);
    if (json_is_object(l)) json_object_del(l, key);
    return;
  }
  json_object_set_new(drv_json_obj(m, map), key, json_string(value));
}

void drv_obj_set_label(json_t *obj, const char *key, const char *value)
{
  set_map_entry(obj, "labels", key, value);
}

void drv_obj_set_annotation(json_t *obj, const char *key, const char *value)
{
  set_map_entry(obj, "annotations", key, value);
}

void drv_obj_set_type(json_t *obj, const drv_api_resource *res)
{
  char av[256];
  json_object_set_new(obj, "apiVersion",
                      json_string(drv_api_resource_api_version(res, av, sizeof(av))));
  json_object_set_new(obj, "kind", json_string(res->kind));
}

json_t *drv_obj_controller_ref(const json_t *obj)
{
  size_t i;
  json_t *r;
  json_array_foreach(drv_json_get(obj, "metadata.ownerReferences"), i, r)
  {
    if (json_is_true(json_object_get(r, "controller"))) return r;
  }
  return NULL;
}

void drv_api_time_format(time_t t, char *buf, size_t size)
{
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void drv_api_microtime_format(long long unix_us, char *buf, size_t size)
{
  time_t t = (time_t)(unix_us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char base[32];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, size, "%s.%06lldZ", base, unix_us % 1000000);
}

int drv_api_time_parse(const char *s, time_t *out)
{
  if (!s) return -1;
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) return -1;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') p++;
  }
  long off = 0;
  if (*p == 'Z' || *p == 'z') p++;
  else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1;
    int hh, mm;
    if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
    off = sign * (hh * 3600L + mm * 60L);
    p += 6;
  } else return -1;
  if (*p) return -1;
  *out = timegm(&tm) - off;
  return 0;
}

void drv_obj_set_creation_timestamp(json_t *obj, time_t t)
{
  char buf[64];
  drv_api_time_format(t, buf, sizeof(buf));
  drv_obj_set_str(obj, "creationTimestamp", buf);
}

static void random_bytes(unsigned char *b, size_t n)
{
  if (RAND_bytes(b, (int)n) == 1) return;
  /* OpenSSL's RNG failing is not expected; fall back to the kernel's. */
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, b, n) != (ssize_t)n) abort();
  close(fd);
}

void drv_api_new_uid(char *buf, size_t size)
{
  unsigned char b[16];
  random_bytes(b, sizeof(b));
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(buf, size,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

char *drv_api_generate_name(const char *prefix)
{
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  size_t n = strlen(prefix);
  if (n > 58) n = 58; /* 63 - 5 random characters */
  char *s = drv_malloc(n + 6);
  memcpy(s, prefix, n);
  unsigned char r[5];
  random_bytes(r, sizeof(r));
  for (int i = 0; i < 5; i++) s[n + i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
  s[n + 5] = '\0';
  return s;
}
