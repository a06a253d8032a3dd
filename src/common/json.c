/* Generic jansson helpers (see json.h). */
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Walks all but the last step of path; returns the parent and points *last at the last key. */
static json_t *walk(const json_t *root, const char *path, char *key, size_t keysz,
                    bool create)
{
  json_t *cur = (json_t *)root;
  const char *p = path;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n >= keysz) return NULL;
    memcpy(key, p, n);
    key[n] = '\0';
    if (!dot) return cur;
    if (!json_is_object(cur)) return NULL;
    json_t *next = json_object_get(cur, key);
    if (!json_is_object(next)) {
      if (!create) return NULL;
      next = json_object();
      json_object_set_new(cur, key, next);
    }
    cur = next;
    p = dot + 1;
  }
}

json_t *drv_json_get(const json_t *root, const char *path)
{
  char key[256];
  json_t *parent = walk(root, path, key, sizeof(key), false);
  if (!json_is_object(parent)) return NULL;
  return json_object_get(parent, key);
}

const char *drv_json_get_str(const json_t *root, const char *path)
{
  return json_string_value(drv_json_get(root, path));
}

long long drv_json_get_int(const json_t *root, const char *path, long long dflt)
{
  json_t *v = drv_json_get(root, path);
  return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

bool drv_json_get_bool(const json_t *root, const char *path, bool dflt)
{
  json_t *v = drv_json_get(root, path);
  return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int drv_json_set(json_t *root, const char *path, json_t *value)
{
  char key[256];
  json_t *parent = json_is_object(root) ? walk(root, path, key, sizeof(key), true) : NULL;
  if (!json_is_object(parent)) {
    json_decref(value);
    return -1;
  }
  json_object_set_new(parent, key, value);
  return 0;
}

int drv_json_set_default(json_t *root, const char *path, json_t *value)
{
  if (drv_json_get(root, path)) {
    json_decref(value);
    return 0;
  }
  return drv_json_set(root, path, value) == 0 ? 1 : 0;
}

void drv_json_del(json_t *root, const char *path)
{
  char key[256];
  json_t *parent = walk(root, path, key, sizeof(key), false);
  if (json_is_object(parent)) json_object_del(parent, key);
}

json_t *drv_json_obj(json_t *parent, const char *key)
{
  json_t *v = json_object_get(parent, key);
  if (json_is_object(v)) return v;
  v = json_object();
  json_object_set_new(parent, key, v);
  return v;
}

json_t *drv_json_parse(const char *buf, size_t len, drv_err *err)
{
  json_error_t je;
  json_t *v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (!v) {
    drv_error(err, 0, "line %d column %d: %s", je.line, je.column, je.text);
    return NULL;
  }
  return v;
}

char *drv_json_dump_canonical(const json_t *v)
{
  char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (!s) abort();
  return s;
}

char *drv_json_dump(const json_t *v)
{
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!s) abort();
  return s;
}
