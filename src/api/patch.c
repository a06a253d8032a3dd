/* PATCH kinds (see patch.h). Strategic merge follows apimachinery's strategicpatch
 * semantics: merge keys and strategies from the schema tables, the $patch, $retainKeys,
 * $deleteFromPrimitiveList/ and $setElementOrder/ directives; unknown fields merge like a JSON
 * merge patch (maps merge, lists replace). */
#include "api/patch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/schema.h"
#include "api/status.h"
#include "common/json.h"
#include "common/util.h"

drv_patch_type drv_patch_type_from_content_type(const char *ct)
{
  if (!ct) return 0;
  size_t n = strcspn(ct, ";");
  while (n && ct[n - 1] == ' ') n--;
#define IS(s) (n == strlen(s) && strncasecmp(ct, s, n) == 0)
  if (IS("application/json-patch+json")) return DRV_PATCH_JSON;
  if (IS("application/merge-patch+json")) return DRV_PATCH_MERGE;
  if (IS("application/strategic-merge-patch+json")) return DRV_PATCH_STRATEGIC;
  if (IS("application/apply-patch+yaml") || IS("application/apply-patch+cbor")) return DRV_PATCH_APPLY;
#undef IS
  return 0;
}

/* ---- RFC 7386 ---- */

static json_t *merge_patch_into(json_t *target, const json_t *patch)
{
  if (!json_is_object(patch)) {
    json_decref(target);
    return json_deep_copy(patch);
  }
  if (!json_is_object(target)) {
    json_decref(target);
    target = json_object();
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)patch, k, v)
  {
    if (json_is_null(v)) {
      json_object_del(target, k);
      continue;
    }
    json_t *cur = json_object_get(target, k);
    json_t *merged = merge_patch_into(cur ? json_incref(cur) : NULL, v);
    json_object_set_new(target, k, merged);
  }
  return target;
}

json_t *drv_json_merge_patch(const json_t *original, const json_t *patch)
{
  return merge_patch_into(json_deep_copy(original), patch);
}

/* ---- RFC 6901 / 6902 ---- */

/* Splits a pointer into unescaped tokens. Returns count or -1 when malformed. */
static int pointer_tokens(const char *ptr, char ***out)
{
  *out = NULL;
  if (!*ptr) return 0;
  if (*ptr != '/') return -1;
  int n = 0;
  char **toks = NULL;
  const char *p = ptr + 1;
  for (;;) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *t = drv_malloc(len + 1), *w = t;
    for (size_t i = 0; i < len; i++) {
      if (p[i] == '~') {
        if (i + 1 < len && p[i + 1] == '0') *w++ = '~';
        else if (i + 1 < len && p[i + 1] == '1') *w++ = '/';
        else {
          free(t);
          for (int j = 0; j < n; j++) free(toks[j]);
          free(toks);
          return -1;
        }
        i++;
      } else *w++ = p[i];
    }
    *w = '\0';
    toks = drv_realloc(toks, sizeof(char *) * (size_t)(n + 2));
    toks[n++] = t;
    toks[n] = NULL;
    if (!e) break;
    p = e + 1;
  }
  *out = toks;
  return n;
}

static bool array_index(const char *tok, size_t size, bool allow_end, size_t *out)
{
  if (allow_end && strcmp(tok, "-") == 0) {
    *out = size;
    return true;
  }
  if (!*tok || (tok[0] == '0' && tok[1])) return false;
  size_t v = 0;
  for (const char *p = tok; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (size_t)(*p - '0');
    if (v > 100000000) return false;
  }
  if (v > size || (!allow_end && v == size)) return false;
  *out = v;
  return true;
}

static json_t *resolve(json_t *root, char **toks, int n)
{
  json_t *cur = root;
  for (int i = 0; i < n && cur; i++) {
    if (json_is_object(cur)) cur = json_object_get(cur, toks[i]);
    else if (json_is_array(cur)) {
      size_t idx;
      if (!array_index(toks[i], json_array_size(cur), false, &idx)) return NULL;
      cur = json_array_get(cur, idx);
    } else return NULL;
  }
  return cur;
}

json_t *drv_json_pointer_get(const json_t *root, const char *pointer)
{
  char **toks;
  int n = pointer_tokens(pointer, &toks);
  if (n < 0) return NULL;
  json_t *v = resolve((json_t *)root, toks, n);
  drv_strv_free(toks);
  return v;
}

/* Removes the value at toks; *removed gets it (a new reference) when asked. */
static int ptr_remove(json_t *root, char **toks, int n, json_t **removed, const char *path,
                      drv_err *err)
{
  if (n == 0) return drv_error(err, 0, "remove operation does not apply: cannot remove the document root");
  json_t *parent = resolve(root, toks, n - 1);
  const char *last = toks[n - 1];
  if (json_is_object(parent)) {
    json_t *v = json_object_get(parent, last);
    if (!v) return drv_error(err, 0, "remove operation does not apply: doc is missing path: \"%s\"", path);
    if (removed) *removed = json_incref(v);
    json_object_del(parent, last);
    return 0;
  }
  if (json_is_array(parent)) {
    size_t idx;
    if (!array_index(last, json_array_size(parent), false, &idx))
      return drv_error(err, 0, "remove operation does not apply: doc is missing path: \"%s\"", path);
    if (removed) *removed = json_incref(json_array_get(parent, idx));
    json_array_remove(parent, idx);
    return 0;
  }
  return drv_error(err, 0, "remove operation does not apply: doc is missing path: \"%s\"", path);
}

/* Adds value (stolen) at toks; replaces the root when n == 0. */
static int ptr_add(json_t **root, char **toks, int n, json_t *value, const char *op,
                   const char *path, drv_err *err)
{
  if (n == 0) {
    json_decref(*root);
    *root = value;
    return 0;
  }
  json_t *parent = resolve(*root, toks, n - 1);
  const char *last = toks[n - 1];
  if (json_is_object(parent)) {
    json_object_set_new(parent, last, value);
    return 0;
  }
  if (json_is_array(parent)) {
    size_t idx;
    if (!array_index(last, json_array_size(parent), true, &idx)) {
      json_decref(value);
      return drv_error(err, 0, "%s operation does not apply: index out of bounds in path \"%s\"", op, path);
    }
    json_array_insert_new(parent, idx, value);
    return 0;
  }
  json_decref(value);
  return drv_error(err, 0, "%s operation does not apply: doc is missing path: \"%s\"", op, path);
}

static int apply_op(json_t **doc, const json_t *op, size_t i, drv_err *err)
{
  const char *name = json_string_value(json_object_get(op, "op"));
  const char *path = json_string_value(json_object_get(op, "path"));
  if (!json_is_object(op) || !name) return drv_error(err, 0, "operation %zu: missing \"op\"", i);
  if (!path) return drv_error(err, 0, "operation %zu (%s): missing \"path\"", i, name);
  char **toks;
  int n = pointer_tokens(path, &toks);
  if (n < 0) return drv_error(err, 0, "operation %zu (%s): malformed JSON pointer \"%s\"", i, name, path);
  int r = 0;
  json_t *value = json_object_get(op, "value");
  bool needs_value = !strcmp(name, "add") || !strcmp(name, "replace") || !strcmp(name, "test");
  if (needs_value && !value) {
    r = drv_error(err, 0, "operation %zu (%s): missing \"value\"", i, name);
  } else if (!strcmp(name, "add")) {
    r = ptr_add(doc, toks, n, json_deep_copy(value), "add", path, err);
  } else if (!strcmp(name, "remove")) {
    r = ptr_remove(*doc, toks, n, NULL, path, err);
  } else if (!strcmp(name, "replace")) {
    if (!resolve(*doc, toks, n))
      r = drv_error(err, 0, "replace operation does not apply: doc is missing key: %s", path);
    else if (n == 0) {
      json_decref(*doc);
      *doc = json_deep_copy(value);
    } else {
      json_t *parent = resolve(*doc, toks, n - 1);
      if (json_is_object(parent)) json_object_set_new(parent, toks[n - 1], json_deep_copy(value));
      else {
        size_t idx;
        array_index(toks[n - 1], json_array_size(parent), false, &idx);
        json_array_set_new(parent, idx, json_deep_copy(value));
      }
    }
  } else if (!strcmp(name, "test")) {
    json_t *cur = resolve(*doc, toks, n);
    if (!cur || !json_equal(cur, value))
      r = drv_error(err, 0, "testing value %s failed: test failed", path);
  } else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
    const char *from = json_string_value(json_object_get(op, "from"));
    char **ftoks = NULL;
    int fn = from ? pointer_tokens(from, &ftoks) : -1;
    if (fn < 0) r = drv_error(err, 0, "operation %zu (%s): missing or malformed \"from\"", i, name);
    else if (!strcmp(name, "move")) {
      /* A value cannot move into its own child. */
      size_t fl = strlen(from);
      if (strncmp(path, from, fl) == 0 && path[fl] == '/')
        r = drv_error(err, 0, "move operation does not apply: \"%s\" is a child of \"%s\"", path, from);
      else {
        json_t *v = NULL;
        r = ptr_remove(*doc, ftoks, fn, &v, from, err);
        if (r == 0) r = ptr_add(doc, toks, n, v, "move", path, err);
      }
    } else {
      json_t *v = resolve(*doc, ftoks, fn);
      if (!v) r = drv_error(err, 0, "copy operation does not apply: doc is missing from path: \"%s\"", from);
      else r = ptr_add(doc, toks, n, json_deep_copy(v), "copy", path, err);
    }
    drv_strv_free(ftoks);
  } else {
    r = drv_error(err, 0, "Unexpected kind: %s", name);
  }
  drv_strv_free(toks);
  return r;
}

json_t *drv_json_patch(const json_t *original, const json_t *ops, drv_err *err)
{
  if (!json_is_array(ops)) {
    drv_error(err, 0, "a JSON patch must be an array of operations");
    return NULL;
  }
  json_t *doc = json_deep_copy(original);
  size_t i;
  json_t *op;
  json_array_foreach(ops, i, op)
  {
    if (apply_op(&doc, op, i, err) < 0) {
      json_decref(doc);
      return NULL;
    }
  }
  return doc;
}

/* ---- strategic merge patch ---- */

#define DIR_PATCH "$patch"
#define DIR_RETAIN "$retainKeys"
#define DIR_DELETE_PRIM "$deleteFromPrimitiveList/"
#define DIR_ORDER "$setElementOrder/"

/* Element descriptor of a MAP/ARRAY field. */
static drv_schema_field elem_of(const drv_schema_field *f)
{
  drv_schema_field e = {"", f->elem, 0, f->type, NULL, 0, NULL};
  return e;
}

/* The descriptor of member k of an object described by f (NULL: unknown, merge generically). */
static const drv_schema_field *member(const drv_schema_field *f, const char *k,
                                      drv_schema_field *scratch)
{
  if (!f) return NULL;
  if (f->kind == DRV_S_OBJECT) return drv_schema_field_find(f->type, k);
  if (f->kind == DRV_S_MAP) {
    *scratch = elem_of(f);
    return scratch;
  }
  return NULL;
}

/* A copy of a patch value with directives and nulls removed (a value added where nothing was). */
static json_t *strip(const json_t *v)
{
  if (json_is_object(v)) {
    json_t *o = json_object();
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m)
    {
      if (k[0] == '$' || json_is_null(m)) continue;
      json_object_set_new(o, k, strip(m));
    }
    return o;
  }
  if (json_is_array(v)) {
    json_t *a = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m)
    {
      if (json_is_object(m) && json_object_get(m, DIR_PATCH)) continue;
      json_array_append_new(a, strip(m));
    }
    return a;
  }
  return json_deep_copy(v);
}

static json_t *merge_value(json_t *orig, const json_t *patch, const drv_schema_field *f, drv_err *err);

static json_t *find_by_key(json_t *list, const char *key, const json_t *val, size_t *idx)
{
  size_t i;
  json_t *m;
  json_array_foreach(list, i, m)
  {
    if (json_is_object(m) && json_equal(json_object_get(m, key), val)) {
      if (idx) *idx = i;
      return m;
    }
  }
  return NULL;
}

/* Orders list by order (values or {key: value} maps): listed items first, in that order;
 * others after, keeping their relative order. */
static json_t *apply_order(json_t *list, const json_t *order, const char *key)
{
  json_t *out = json_array();
  json_t *used = json_array();
  size_t i, j;
  json_t *o, *m;
  json_array_foreach(order, i, o)
  {
    const json_t *want = key ? json_object_get(o, key) : o;
    json_array_foreach(list, j, m)
    {
      const json_t *have = key ? json_object_get(m, key) : m;
      if (have && want && json_equal(have, want)) {
        json_array_append(out, m);
        json_array_append_new(used, json_integer((json_int_t)j));
        break;
      }
    }
  }
  json_array_foreach(list, j, m)
  {
    bool taken = false;
    size_t k;
    json_t *u;
    json_array_foreach(used, k, u) if ((size_t)json_integer_value(u) == j) taken = true;
    if (!taken) json_array_append(out, m);
  }
  json_decref(used);
  json_decref(list);
  return out;
}

static json_t *merge_list(json_t *orig, const json_t *patch, const drv_schema_field *f, drv_err *err)
{
  if (f->elem != DRV_S_OBJECT) {
    if (!(f->flags & DRV_SF_MERGE)) {
      json_decref(orig);
      return strip(patch);
    }
    /* A set of primitives: union, original order first. */
    size_t i;
    json_t *v;
    json_array_foreach(patch, i, v)
    {
      bool have = false;
      size_t j;
      json_t *o;
      json_array_foreach(orig, j, o) if (json_equal(o, v)) have = true;
      if (!have) json_array_append(orig, v);
    }
    return orig;
  }
  const char *key = f->merge_key;
  if (!key) {
    json_decref(orig);
    return strip(patch);
  }
  /* {"$patch": "replace"} anywhere in the list replaces the whole list. */
  size_t i;
  json_t *p;
  json_array_foreach(patch, i, p)
  {
    const char *d = json_string_value(json_object_get(p, DIR_PATCH));
    if (d && !strcmp(d, "replace")) {
      json_decref(orig);
      return strip(patch);
    }
  }
  drv_schema_field elem = elem_of(f);
  json_array_foreach(patch, i, p)
  {
    if (!json_is_object(p)) {
      drv_error(err, 0, "list element %zu: expected an object with merge key \"%s\"", i, key);
      goto fail;
    }
    json_t *kv = json_object_get(p, key);
    const char *d = json_string_value(json_object_get(p, DIR_PATCH));
    if (!kv) {
      drv_error(err, 0, "list element %zu does not contain declared merge key: %s", i, key);
      goto fail;
    }
    size_t idx;
    json_t *cur = find_by_key(orig, key, kv, &idx);
    if (d && !strcmp(d, "delete")) {
      /* remove every element with that key */
      while ((cur = find_by_key(orig, key, kv, &idx))) json_array_remove(orig, idx);
      continue;
    }
    if (cur) {
      json_t *merged = merge_value(json_incref(cur), p, &elem, err);
      if (!merged) goto fail;
      json_array_set_new(orig, idx, merged);
    } else {
      json_array_append_new(orig, strip(p));
    }
  }
  return orig;
fail:
  json_decref(orig);
  return NULL;
}

static json_t *merge_map(json_t *orig, const json_t *patch, const drv_schema_field *f, drv_err *err)
{
  const char *d = json_string_value(json_object_get(patch, DIR_PATCH));
  if (d && !strcmp(d, "replace")) {
    json_decref(orig);
    return strip(patch);
  }
  if (d && strcmp(d, "delete") && strcmp(d, "merge")) {
    json_decref(orig);
    drv_error(err, 0, "Unknown patch type: %s in map: $patch", d);
    return NULL;
  }
  if (!json_is_object(orig)) {
    json_decref(orig);
    orig = json_object();
  }
  /* $retainKeys: drop original fields the patch does not list. */
  json_t *retain = json_object_get(patch, DIR_RETAIN);
  if (retain) {
    if (!json_is_array(retain)) {
      json_decref(orig);
      drv_error(err, 0, "$retainKeys must be a list");
      return NULL;
    }
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(orig, tmp, k, v)
    {
      bool keep = false;
      size_t i;
      json_t *r;
      json_array_foreach(retain, i, r) if (json_is_string(r) && !strcmp(json_string_value(r), k)) keep = true;
      if (!keep) json_object_del(orig, k);
    }
  }
  const char *k;
  json_t *pv;
  drv_schema_field scratch;
  json_object_foreach((json_t *)patch, k, pv)
  {
    if (!strncmp(k, DIR_DELETE_PRIM, strlen(DIR_DELETE_PRIM))) {
      const char *field = k + strlen(DIR_DELETE_PRIM);
      json_t *list = json_object_get(orig, field);
      if (json_is_array(list) && json_is_array(pv)) {
        json_t *kept = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
          bool drop = false;
          size_t j;
          json_t *x;
          json_array_foreach(pv, j, x) if (json_equal(x, v)) drop = true;
          if (!drop) json_array_append(kept, v);
        }
        json_object_set_new(orig, field, kept);
      }
      continue;
    }
    if (k[0] == '$') continue; /* $patch, $retainKeys, $setElementOrder handled around */
    const drv_schema_field *mf = member(f, k, &scratch);
    if (json_is_null(pv)) {
      json_object_del(orig, k);
      continue;
    }
    json_t *cur = json_object_get(orig, k);
    if (!cur) {
      /* A new map under a $patch: delete directive stays deleted. */
      if (json_is_object(pv)) {
        const char *pd = json_string_value(json_object_get(pv, DIR_PATCH));
        if (pd && !strcmp(pd, "delete")) continue;
      }
      json_t *v = strip(pv);
      /* a new list still has its order directive applied */
      json_object_set_new(orig, k, v);
      cur = v;
    } else {
      json_t *merged = merge_value(json_incref(cur), pv, mf, err);
      if (!merged) {
        if (err->msg[0]) goto fail;
        json_object_del(orig, k); /* $patch: delete */
        continue;
      }
      json_object_set_new(orig, k, merged);
    }
  }
  /* $setElementOrder/<field> after merging the field. */
  json_object_foreach((json_t *)patch, k, pv)
  {
    if (strncmp(k, DIR_ORDER, strlen(DIR_ORDER))) continue;
    const char *field = k + strlen(DIR_ORDER);
    json_t *list = json_object_get(orig, field);
    if (!json_is_array(list) || !json_is_array(pv)) continue;
    const drv_schema_field *mf = member(f, field, &scratch);
    const char *key = mf && mf->kind == DRV_S_ARRAY && mf->elem == DRV_S_OBJECT ? mf->merge_key : NULL;
    if (mf && mf->elem == DRV_S_OBJECT && !key) continue;
    json_object_set_new(orig, field, apply_order(json_incref(list), pv, key));
  }
  if (d && !strcmp(d, "delete")) {
    json_decref(orig);
    return NULL; /* err->msg empty: the caller deletes the key */
  }
  return orig;
fail:
  json_decref(orig);
  return NULL;
}

/* Returns the merged value (orig reference consumed), or NULL: with err->msg set on error,
 * with it empty when the patch deletes the value ($patch: delete). */
static json_t *merge_value(json_t *orig, const json_t *patch, const drv_schema_field *f, drv_err *err)
{
  if (json_is_object(patch)) {
    if (f && f->kind != DRV_S_OBJECT && f->kind != DRV_S_MAP && f->kind != DRV_S_ANY) {
      json_decref(orig);
      return strip(patch);
    }
    return merge_map(orig, patch, f && f->kind != DRV_S_ANY ? f : NULL, err);
  }
  if (json_is_array(patch) && json_is_array(orig) && f && f->kind == DRV_S_ARRAY) {
    /* Work on a copy: the original list may be shared with the caller's document. */
    json_t *copy = json_deep_copy(orig);
    json_decref(orig);
    return merge_list(copy, patch, f, err);
  }
  json_decref(orig);
  return strip(patch);
}

json_t *drv_strategic_merge_patch(const drv_api_resource *res, const json_t *original,
                                  const json_t *patch, drv_err *err)
{
  if (!json_is_object(patch)) {
    drv_error(err, 0, "a strategic merge patch must be a JSON object");
    return NULL;
  }
  const drv_schema_type *t = drv_schema_for(res);
  drv_schema_field root = {"", DRV_S_OBJECT, 0, t, NULL, 0, NULL};
  drv_err_clear(err);
  json_t *out = merge_value(json_deep_copy(original), patch, t ? &root : NULL, err);
  if (!out && !err->msg[0]) drv_error(err, 0, "the patch deletes the whole object");
  return out;
}

json_t *drv_api_patch_apply(const drv_api_resource *res, const json_t *original,
                            drv_patch_type type, const char *patch, size_t len, json_t **status)
{
  drv_err err = {0};
  json_t *p = drv_json_parse(patch, len, &err);
  if (!p) {
    char *msg = drv_asprintf("error decoding patch: %s", err.msg);
    *status = drv_status_bad_request(msg);
    free(msg);
    return NULL;
  }
  json_t *out = NULL;
  switch (type) {
  case DRV_PATCH_MERGE:
    if (!json_is_object(p)) {
      *status = drv_status_bad_request("a merge patch must be a JSON object");
      break;
    }
    out = drv_json_merge_patch(original, p);
    break;
  case DRV_PATCH_JSON:
    if (!json_is_array(p)) {
      *status = drv_status_bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
      break;
    }
    out = drv_json_patch(original, p, &err);
    if (!out) *status = drv_status_failure(422, "Invalid", err.msg);
    break;
  case DRV_PATCH_STRATEGIC:
    if (!json_is_object(p)) {
      *status = drv_status_bad_request("a strategic merge patch must be a JSON object");
      break;
    }
    out = drv_strategic_merge_patch(res, original, p, &err);
    if (!out) *status = drv_status_failure(422, "Invalid", err.msg);
    break;
  default:
    *status = drv_status_failure(415, "UnsupportedMediaType", "the patch type is not supported here");
    break;
  }
  json_decref(p);
  if (out && !json_is_object(out)) {
    json_decref(out);
    out = NULL;
    *status = drv_status_bad_request("the patched document is not a JSON object");
  }
  return out;
}
