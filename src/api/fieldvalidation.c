/* Body decoding with unknown/duplicate field detection (see fieldvalidation.h). */
#include "api/fieldvalidation.h"

#include <stdio.h>
#include <string.h>

#include "api/pathbuf.h"
#include "api/protobuf.h"
#include "api/schema.h"
#include "api/status.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"
#include "common/yaml.h"

int drv_field_validation_parse(const char *s, drv_field_validation *out)
{
  if (!s || !*s || !strcmp(s, "Warn")) *out = DRV_FV_WARN;
  else if (!strcmp(s, "Strict")) *out = DRV_FV_STRICT;
  else if (!strcmp(s, "Ignore")) *out = DRV_FV_IGNORE;
  else return -1;
  return 0;
}

static size_t walk(const drv_schema_type *t, const json_t *obj, drv_pathbuf *path, json_t *out);

static size_t walk_value(const drv_schema_field *f, const json_t *v, drv_pathbuf *path, json_t *out)
{
  size_t n = 0;
  if (f->kind == DRV_S_OBJECT && json_is_object(v)) {
    n += walk(f->type, v, path, out);
  } else if (f->kind == DRV_S_ARRAY && f->elem == DRV_S_OBJECT && json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
      size_t old = drv_pathbuf_index(path, i);
      if (json_is_object(e)) n += walk(f->type, e, path, out);
      drv_pathbuf_pop(path, old);
    }
  } else if (f->kind == DRV_S_MAP && f->elem == DRV_S_OBJECT && json_is_object(v)) {
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e)
    {
      size_t old = drv_pathbuf_mapkey(path, k);
      if (json_is_object(e)) n += walk(f->type, e, path, out);
      drv_pathbuf_pop(path, old);
    }
  }
  return n;
}

static size_t walk(const drv_schema_type *t, const json_t *obj, drv_pathbuf *path, json_t *out)
{
  if (!t) return 0;
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v)
  {
    const drv_schema_field *f = drv_schema_field_find(t, k);
    size_t old = drv_pathbuf_key(path, k);
    if (!f) {
      if (!t->preserve_unknown) {
        json_array_append_new(out, json_string(path->buf));
        n++;
      }
    } else {
      n += walk_value(f, v, path, out);
    }
    drv_pathbuf_pop(path, old);
  }
  return n;
}

size_t drv_api_unknown_fields(const drv_api_resource *res, const json_t *obj, json_t *out)
{
  const drv_schema_type *t = drv_schema_for(res);
  if (!t || !json_is_object(obj)) return 0;
  drv_pathbuf path = {.len = 0};
  path.buf[0] = '\0';
  return walk(t, obj, &path, out);
}

/* Parses JSON rejecting duplicate keys first (one pass in the common case); on a duplicate
 * the body is parsed again keeping the last value, as Kubernetes' decoder does, and the
 * duplicates' paths go to dups. */
static json_t *parse_json(const char *body, size_t len, bool check_dups, json_t *dups, drv_err *err)
{
  if (!check_dups) return drv_json_parse(body, len, err);
  json_error_t je;
  json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (v) return v;
  if (!strstr(je.text, "duplicate object key")) {
    drv_error(err, 0, "line %d column %d: %s", je.line, je.column, je.text);
    return NULL;
  }
  v = drv_json_parse(body, len, err);
  if (v) drv_api_duplicate_fields_json(body, len, dups);
  return v;
}

json_t *drv_api_decode(const drv_api_resource *res, const char *body, size_t len, bool yaml,
                       drv_field_validation fv, json_t **warnings, json_t **status)
{
  drv_err err = {0};
  /* kubectl's typed clients send Kubernetes' protobuf envelope ("k8s\0" + runtime.Unknown). */
  bool pb = len >= 4 && memcmp(body, "k8s", 4) == 0;
  json_t *dups = json_array();
  json_t *obj = pb     ? drv_api_protobuf_decode(body, len, &err)
                : yaml ? drv_yaml_load(body, len, &err)
                       : parse_json(body, len, fv != DRV_FV_IGNORE, dups, &err);
  if (obj && yaml && !pb && fv != DRV_FV_IGNORE) drv_api_duplicate_fields_yaml(body, len, dups);
  const char *kind = res ? res->kind : "Object";
  const char *version = res ? res->version : "v1";
  if (!obj) {
    json_decref(dups);
    char *msg = drv_asprintf("%s in version \"%s\" cannot be handled as a %s: %s", kind, version,
                             kind, err.msg);
    *status = drv_status_bad_request(msg);
    free(msg);
    return NULL;
  }
  if (!json_is_object(obj)) {
    json_decref(dups);
    json_decref(obj);
    char *msg = drv_asprintf("%s in version \"%s\" cannot be handled as a %s: the body is not a "
                             "JSON object", kind, version, kind);
    *status = drv_status_bad_request(msg);
    free(msg);
    return NULL;
  }
  if (fv == DRV_FV_IGNORE || pb) { /* protobuf has no unknown or duplicate fields */
    json_decref(dups);
    return obj;
  }
  json_t *problems = json_array();
  size_t i;
  json_t *u;
  json_array_foreach(dups, i, u)
  {
    char *m = drv_asprintf("duplicate field \"%s\"", json_string_value(u));
    json_array_append_new(problems, json_string(m));
    free(m);
  }
  json_decref(dups);
  json_t *unknown = json_array();
  drv_api_unknown_fields(res, obj, unknown);
  json_array_foreach(unknown, i, u)
  {
    char *m = drv_asprintf("unknown field \"%s\"", json_string_value(u));
    json_array_append_new(problems, json_string(m));
    free(m);
  }
  json_decref(unknown);
  if (json_array_size(problems) == 0) {
    json_decref(problems);
    return obj;
  }
  if (fv == DRV_FV_STRICT) {
    drv_buf b = DRV_BUF_INIT;
    drv_buf_printf(&b, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ",
                   kind, version, kind);
    json_array_foreach(problems, i, u) drv_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(u));
    *status = drv_status_bad_request(b.data);
    drv_buf_free(&b);
    json_decref(problems);
    json_decref(obj);
    return NULL;
  }
  if (warnings) {
    if (!*warnings) *warnings = json_array();
    json_array_extend(*warnings, problems);
  }
  json_decref(problems);
  return obj;
}

char *drv_api_warning_header(const char *text)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "299 - \"");
  for (const char *p = text ? text : ""; *p; p++) {
    if (*p == '"' || *p == '\\') drv_buf_putc(&b, '\\');
    /* header values cannot carry control characters */
    drv_buf_putc(&b, (unsigned char)*p < 0x20 ? ' ' : *p);
  }
  drv_buf_putc(&b, '"');
  return drv_buf_steal(&b);
}
