/* Cause builders and shared checks for validate*.c (validate_util.h). */
#include "api/validate_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/resource.h"
#include "api/status.h"
#include "api/validate.h"
#include "common/buf.h"
#include "common/util.h"

static void add(vctx *v, const char *reason, const char *msg, const char *field)
{
  json_array_append_new(v->causes, drv_status_cause(reason, msg, field));
}

void v_required(vctx *v, const char *field, const char *detail)
{
  char *m = detail && *detail ? drv_asprintf("Required value: %s", detail) : drv_strdup("Required value");
  add(v, "FieldValueRequired", m, field);
  free(m);
}

static char *show(const json_t *value)
{
  if (json_is_string(value)) {
    char *s = json_dumps(value, JSON_ENCODE_ANY);
    return s ? s : drv_strdup("\"\"");
  }
  if (!value || json_is_null(value)) return drv_strdup("null");
  char *s = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
  return s ? s : drv_strdup("?");
}

void v_invalid(vctx *v, const char *field, const json_t *value, const char *detail)
{
  char *val = show(value);
  char *m = detail && *detail ? drv_asprintf("Invalid value: %s: %s", val, detail)
                              : drv_asprintf("Invalid value: %s", val);
  add(v, "FieldValueInvalid", m, field);
  free(m);
  free(val);
}

void v_invalid_str(vctx *v, const char *field, const char *value, const char *detail)
{
  json_t *s = json_string(value ? value : "");
  v_invalid(v, field, s, detail);
  json_decref(s);
}

void v_invalid_int(vctx *v, const char *field, long long value, const char *detail)
{
  json_t *s = json_integer(value);
  v_invalid(v, field, s, detail);
  json_decref(s);
}

void v_unsupported(vctx *v, const char *field, const char *value, const char *const *supported)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_printf(&b, "Unsupported value: \"%s\"", value ? value : "");
  if (supported && *supported) {
    drv_buf_puts(&b, ": supported values: ");
    for (size_t i = 0; supported[i]; i++) drv_buf_printf(&b, "%s\"%s\"", i ? ", " : "", supported[i]);
  }
  add(v, "FieldValueNotSupported", b.data, field);
  drv_buf_free(&b);
}

void v_duplicate(vctx *v, const char *field, const json_t *value)
{
  char *val = show(value);
  char *m = drv_asprintf("Duplicate value: %s", val);
  add(v, "FieldValueDuplicate", m, field);
  free(m);
  free(val);
}

void v_forbidden(vctx *v, const char *field, const char *detail)
{
  char *m = drv_asprintf("Forbidden: %s", detail);
  add(v, "FieldValueForbidden", m, field);
  free(m);
}

void v_not_found(vctx *v, const char *field, const json_t *value)
{
  char *val = show(value);
  char *m = drv_asprintf("Not found: %s", val);
  add(v, "FieldValueNotFound", m, field);
  free(m);
  free(val);
}

void v_too_long(vctx *v, const char *field, long long max)
{
  char *m = drv_asprintf("Too long: must have at most %lld bytes", max);
  add(v, "FieldValueTooLong", m, field);
  free(m);
}

bool v_one_of(vctx *v, const char *field, const char *value, const char *const *allowed)
{
  for (size_t i = 0; allowed[i]; i++)
    if (value && !strcmp(value, allowed[i])) return true;
  v_unsupported(v, field, value, allowed);
  return false;
}

void v_optional_one_of(vctx *v, const char *base, const json_t *obj, const char *key,
                       const char *const *allowed)
{
  const char *value = json_string_value(json_object_get(obj, key));
  if (!value) return;
  char *f = v_path(base, key);
  v_one_of(v, f, value, allowed);
  free(f);
}

char *v_path(const char *base, const char *child)
{
  return *base ? drv_asprintf("%s.%s", base, child) : drv_strdup(child);
}

char *v_index(const char *base, size_t i) { return drv_asprintf("%s[%zu]", base, i); }

void v_labels(vctx *v, const char *field, const json_t *labels)
{
  if (!labels || json_is_null(labels)) return;
  if (!json_is_object(labels)) {
    v_invalid(v, field, labels, "must be a map of strings");
    return;
  }
  const char *k;
  json_t *val;
  json_object_foreach((json_t *)labels, k, val)
  {
    const char *why = drv_api_check_label_key(k);
    if (why) v_invalid_str(v, field, k, why);
    if (!json_is_string(val)) {
      v_invalid(v, field, val, "label values must be strings");
      continue;
    }
    why = drv_api_check_label_value(json_string_value(val));
    if (why) v_invalid(v, field, val, why);
  }
}

void v_port(vctx *v, const char *field, const json_t *port, bool zero_ok)
{
  if (!json_is_integer(port)) {
    if (port) v_invalid(v, field, port, "must be an integer");
    return;
  }
  long long p = json_integer_value(port);
  if ((p == 0 && zero_ok)) return;
  if (p < 1 || p > 65535) v_invalid_int(v, field, p, "must be between 1 and 65535, inclusive");
}

const char *v_check_port_name(const char *s)
{
  size_t n = strlen(s);
  if (n > 15) return "must be no more than 15 characters";
  bool letter = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (n == 0 || s[0] == '-' || s[n - 1] == '-') return "must not begin or end with a hyphen";
  if (strstr(s, "--")) return "must not contain consecutive hyphens";
  if (!letter) return "must contain at least one letter (a-z)";
  return NULL;
}

const char *v_check_env_name(const char *s)
{
  if (!*s || isdigit((unsigned char)s[0]))
    return "a valid environment variable name must consist of alphabetic characters, digits, "
           "'_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
           "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
           "'[-._a-zA-Z][-._a-zA-Z0-9]*')";
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
      return "a valid environment variable name must consist of alphabetic characters, digits, "
             "'_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
             "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
             "'[-._a-zA-Z][-._a-zA-Z0-9]*')";
  return NULL;
}

const char *v_check_config_key(const char *s)
{
  if (strlen(s) > 253) return "must be no more than 253 characters";
  bool ok = *s != '\0';
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-._", *p)) ok = false;
  if (!ok)
    return "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
           "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
           "'[-._a-zA-Z0-9]+')";
  if (!strcmp(s, ".") || !strcmp(s, "..")) return "must not be '.' or '..'";
  return NULL;
}

static bool is_qualified_finalizer(const char *f)
{
  static const char *const standard[] = {"kubernetes", "orphan", "foregroundDeletion", NULL};
  for (size_t i = 0; standard[i]; i++)
    if (!strcmp(f, standard[i])) return true;
  return strchr(f, '/') != NULL;
}

void v_object_meta(vctx *v, const drv_api_resource *res, const json_t *obj)
{
  const json_t *meta = json_object_get(obj, "metadata");
  if (!json_is_object(meta)) {
    v_required(v, "metadata.name", "name or generateName is required");
    return;
  }
  const char *name = json_string_value(json_object_get(meta, "name"));
  const char *gen = json_string_value(json_object_get(meta, "generateName"));
  if (!name || !*name) {
    if (!gen || !*gen) v_required(v, "metadata.name", "name or generateName is required");
  } else {
    const char *why = drv_api_check_object_name(res, name);
    if (why) v_invalid_str(v, "metadata.name", name, why);
  }
  const char *ns = json_string_value(json_object_get(meta, "namespace"));
  if (res->namespaced) {
    if (ns && *ns) {
      const char *why = drv_api_check_dns1123_label(ns);
      if (why) v_invalid_str(v, "metadata.namespace", ns, why);
    }
  } /* cluster-scoped: the namespace is cleared before validation (strategy.c) */
  v_labels(v, "metadata.labels", json_object_get(meta, "labels"));
  json_t *ann = json_object_get(meta, "annotations");
  if (json_is_object(ann)) {
    size_t total = 0;
    const char *k;
    json_t *val;
    json_object_foreach(ann, k, val)
    {
      const char *why = drv_api_check_label_key(k);
      if (why) v_invalid_str(v, "metadata.annotations", k, why);
      if (!json_is_string(val)) v_invalid(v, "metadata.annotations", val, "annotation values must be strings");
      total += strlen(k) + json_string_length(val);
    }
    if (total > 262144) v_too_long(v, "metadata.annotations", 262144);
  } else if (ann && !json_is_null(ann)) {
    v_invalid(v, "metadata.annotations", ann, "must be a map of strings");
  }
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(meta, "finalizers"), i, f)
  {
    char *p = v_index("metadata.finalizers", i);
    if (!json_is_string(f)) v_invalid(v, p, f, "must be a string");
    else if (!is_qualified_finalizer(json_string_value(f)))
      v_invalid(v, p, f, "name is neither a standard finalizer name nor is it fully qualified");
    free(p);
  }
  json_t *ref;
  json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
  {
    const char *req[] = {"apiVersion", "kind", "name", "uid"};
    for (size_t r = 0; r < 4; r++) {
      const char *s = json_string_value(json_object_get(ref, req[r]));
      if (!s || !*s) {
        char *p = drv_asprintf("metadata.ownerReferences[%zu].%s", i, req[r]);
        v_invalid_str(v, p, s ? s : "", "must not be empty");
        free(p);
      }
    }
  }
  json_t *gen_v = json_object_get(meta, "generation");
  if (json_is_integer(gen_v) && json_integer_value(gen_v) < 0)
    v_invalid(v, "metadata.generation", gen_v, "must be greater than or equal to 0");
}
