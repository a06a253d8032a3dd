/* Server-side apply field ownership (managedfields.h). */
#include "api/managedfields.h"

#include <stdio.h>
#include <string.h>

#include "api/patch.h"
#include "api/schema.h"
#include "api/status.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

/* ---- field sets ---- */

static json_t *struct_set(const json_t *obj, const drv_schema_type *t);

/* The set node of one value of field f (NULL f: a value of unknown shape). */
static json_t *value_set(const json_t *v, const drv_schema_field *f)
{
  if (!f) return json_is_object(v) && json_object_size(v) ? struct_set(v, NULL) : json_object();
  switch (f->kind) {
  case DRV_S_OBJECT:
    return json_is_object(v) && json_object_size(v) ? struct_set(v, f->type) : json_object();
  case DRV_S_MAP: {
    json_t *node = json_object();
    if (!json_is_object(v)) return node;
    drv_schema_field ef = {f->name, f->elem, 0, f->type, NULL, 0, NULL};
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
      char *key = drv_asprintf("f:%s", k);
      json_object_set_new(node, key, value_set(x, &ef));
      free(key);
    }
    return node;
  }
  case DRV_S_ARRAY: {
    json_t *node = json_object();
    if (!json_is_array(v)) return node;
    size_t i;
    json_t *x;
    if (f->merge_key && f->elem == DRV_S_OBJECT) {
      json_array_foreach(v, i, x)
      {
        json_t *kv = json_object_get(x, f->merge_key);
        if (!kv) { /* items without their key cannot be told apart: the list is atomic */
          json_object_clear(node);
          return node;
        }
        json_t *kj = json_pack("{s:O}", f->merge_key, kv);
        char *ks = json_dumps(kj, JSON_COMPACT | JSON_SORT_KEYS);
        char *key = drv_asprintf("k:%s", ks);
        json_t *item = struct_set(x, f->type);
        json_object_set_new(item, ".", json_object());
        json_object_set_new(node, key, item);
        free(key);
        free(ks);
        json_decref(kj);
      }
    } else if (f->flags & DRV_SF_MERGE) {
      json_array_foreach(v, i, x)
      {
        char *vs = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
        char *key = drv_asprintf("v:%s", vs);
        json_object_set_new(node, key, json_object());
        free(key);
        free(vs);
      }
    }
    return node; /* atomic lists are one leaf */
  }
  default:
    return json_object();
  }
}

static json_t *struct_set(const json_t *obj, const drv_schema_type *t)
{
  json_t *node = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v)
  {
    const drv_schema_field *f = t ? drv_schema_field_find(t, k) : NULL;
    char *key = drv_asprintf("f:%s", k);
    json_object_set_new(node, key, value_set(v, f));
    free(key);
  }
  return node;
}

/* What of metadata writers own: labels, annotations, finalizers, ownerReferences. */
static const drv_schema_field meta_fields[] = {
    {"labels", DRV_S_MAP, DRV_S_STRING, NULL, NULL, 0, NULL},
    {"annotations", DRV_S_MAP, DRV_S_STRING, NULL, NULL, 0, NULL},
    {"finalizers", DRV_S_ARRAY, DRV_S_STRING, NULL, NULL, DRV_SF_MERGE, NULL},
    {"ownerReferences", DRV_S_ARRAY, DRV_S_OBJECT, NULL, "uid", 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, NULL}};

json_t *drv_mf_fieldset(const drv_api_resource *res, const json_t *obj)
{
  const drv_schema_type *t = drv_schema_for(res);
  json_t *set = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v)
  {
    if (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "status")) continue;
    json_t *node;
    if (!strcmp(k, "metadata")) {
      node = json_object();
      for (const drv_schema_field *f = meta_fields; f->name; f++) {
        json_t *mv = json_object_get(v, f->name);
        if (!mv) continue;
        char *key = drv_asprintf("f:%s", f->name);
        json_object_set_new(node, key, value_set(mv, f));
        free(key);
      }
      if (!json_object_size(node)) {
        json_decref(node);
        continue;
      }
    } else {
      node = value_set(v, t ? drv_schema_field_find(t, k) : NULL);
    }
    char *key = drv_asprintf("f:%s", k);
    json_object_set_new(set, key, node);
    free(key);
  }
  return set;
}

/* ---- paths: arrays of segment strings ---- */

static void collect_leaves(const json_t *node, json_t *prefix, json_t *out)
{
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)node, k, v)
  {
    json_array_append_new(prefix, json_string(k));
    if (json_object_size(v) == 0) json_array_append_new(out, json_copy(prefix));
    else collect_leaves(v, prefix, out);
    json_array_remove(prefix, json_array_size(prefix) - 1);
  }
}

static json_t *leaves(const json_t *set)
{
  json_t *out = json_array(), *prefix = json_array();
  if (json_is_object(set)) collect_leaves(set, prefix, out);
  json_decref(prefix);
  return out;
}

static const char *seg(const json_t *path, size_t i)
{
  return json_string_value(json_array_get(path, i));
}

static bool has_leaf(const json_t *set, const json_t *path)
{
  const json_t *n = set;
  for (size_t i = 0; i < json_array_size(path); i++) {
    n = json_object_get(n, seg(path, i));
    if (!n) return false;
  }
  return json_object_size(n) == 0;
}

static void add_leaf(json_t *set, const json_t *path)
{
  json_t *n = set;
  for (size_t i = 0; i < json_array_size(path); i++) {
    json_t *c = json_object_get(n, seg(path, i));
    if (!c) {
      c = json_object();
      json_object_set_new(n, seg(path, i), c);
    }
    n = c;
  }
}

/* Removes the leaf and the parents it leaves empty (an empty node would read as a leaf). */
static bool remove_at(json_t *node, const json_t *path, size_t i)
{
  json_t *c = json_object_get(node, seg(path, i));
  if (!c) return false;
  if (i + 1 == json_array_size(path)) {
    if (json_object_size(c)) return false;
    json_object_del(node, seg(path, i));
    return true;
  }
  bool removed = remove_at(c, path, i + 1);
  if (removed && json_object_size(c) == 0) json_object_del(node, seg(path, i));
  return removed;
}

/* The array index of the item a "k:{...}" or "v:..." segment names, or -1. */
static int item_index(const json_t *arr, const char *s)
{
  if (!json_is_array(arr)) return -1;
  json_t *want = json_loads(s + 2, JSON_DECODE_ANY, NULL);
  if (!want) return -1;
  int found = -1;
  size_t i;
  json_t *x;
  json_array_foreach(arr, i, x)
  {
    bool match;
    if (s[0] == 'v') {
      match = json_equal(x, want);
    } else {
      match = json_is_object(x);
      const char *k;
      json_t *kv;
      json_object_foreach(want, k, kv) if (!json_equal(json_object_get(x, k), kv)) match = false;
    }
    if (match) {
      found = (int)i;
      break;
    }
  }
  json_decref(want);
  return found;
}

static json_t *value_at(const json_t *obj, const json_t *path)
{
  const json_t *v = obj;
  for (size_t i = 0; v && i < json_array_size(path); i++) {
    const char *s = seg(path, i);
    if (!strcmp(s, ".")) continue;
    if (!strncmp(s, "f:", 2)) v = json_object_get(v, s + 2);
    else {
      int idx = item_index(v, s);
      v = idx < 0 ? NULL : json_array_get(v, (size_t)idx);
    }
  }
  return (json_t *)v;
}

/* Deletes the field or item path names from obj (nothing when absent). */
static void delete_at(json_t *obj, const json_t *path)
{
  size_t n = json_array_size(path);
  if (n && !strcmp(seg(path, n - 1), ".")) n--; /* the item itself */
  if (!n) return;
  json_t *parent = obj;
  for (size_t i = 0; parent && i + 1 < n; i++) {
    const char *s = seg(path, i);
    if (!strncmp(s, "f:", 2)) parent = json_object_get(parent, s + 2);
    else {
      int idx = item_index(parent, s);
      parent = idx < 0 ? NULL : json_array_get(parent, (size_t)idx);
    }
  }
  const char *last = seg(path, n - 1);
  if (!parent) return;
  if (!strncmp(last, "f:", 2)) json_object_del(parent, last + 2);
  else {
    int idx = item_index(parent, last);
    if (idx >= 0) json_array_remove(parent, (size_t)idx);
  }
}

/* ".spec.template.spec.containers[name=\"c\"].image", as Kubernetes prints field paths. */
static char *path_text(const json_t *path)
{
  drv_buf b = DRV_BUF_INIT;
  drv_buf_puts(&b, "");
  for (size_t i = 0; i < json_array_size(path); i++) {
    const char *s = seg(path, i);
    if (!strcmp(s, ".")) continue;
    if (!strncmp(s, "f:", 2)) {
      drv_buf_printf(&b, ".%s", s + 2);
    } else if (!strncmp(s, "v:", 2)) {
      drv_buf_printf(&b, "[=%s]", s + 2);
    } else {
      json_t *k = json_loads(s + 2, 0, NULL);
      drv_buf_putc(&b, '[');
      const char *kk;
      json_t *kv;
      bool first = true;
      json_object_foreach(k, kk, kv)
      {
        char *vs = json_dumps(kv, JSON_COMPACT | JSON_ENCODE_ANY);
        drv_buf_printf(&b, "%s%s=%s", first ? "" : ",", kk, vs);
        free(vs);
        first = false;
      }
      drv_buf_putc(&b, ']');
      json_decref(k);
    }
  }
  return drv_buf_steal(&b);
}

/* ---- entries ---- */

static bool entry_is(const json_t *e, const char *manager, const char *operation, const char *sub)
{
  const char *m = json_string_value(json_object_get(e, "manager")) ?: "";
  const char *o = json_string_value(json_object_get(e, "operation")) ?: "";
  const char *s = json_string_value(json_object_get(e, "subresource")) ?: "";
  return !strcmp(m, manager) && !strcmp(o, operation) && !strcmp(s, sub ? sub : "");
}

static json_t *entry_set(json_t *e)
{
  json_t *s = json_object_get(e, "fieldsV1");
  if (!json_is_object(s)) {
    s = json_object();
    json_object_set_new(e, "fieldsV1", s);
  }
  return s;
}

/* The entry of (manager, operation, sub) in entries, appended when missing. */
static json_t *entry_for(json_t *entries, const char *manager, const char *operation, const char *sub,
                         const char *api_version, const char *now)
{
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) if (entry_is(e, manager, operation, sub))
  {
    json_object_set_new(e, "time", json_string(now));
    json_object_set_new(e, "apiVersion", json_string(api_version));
    return e;
  }
  e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{}}", "manager", manager, "operation", operation, "apiVersion",
                api_version, "time", now, "fieldsType", "FieldsV1", "fieldsV1");
  if (sub && *sub) json_object_set_new(e, "subresource", json_string(sub));
  json_array_append_new(entries, e);
  return e;
}

static void drop_empty(json_t *entries)
{
  for (size_t i = json_array_size(entries); i-- > 0;)
    if (json_object_size(json_object_get(json_array_get(entries, i), "fieldsV1")) == 0)
      json_array_remove(entries, i);
}

static json_t *entries_of(const json_t *obj)
{
  json_t *mf = drv_json_get(obj, "metadata.managedFields");
  return json_is_array(mf) ? json_deep_copy(mf) : json_array();
}

static void set_entries(json_t *obj, json_t *entries)
{
  json_t *meta = json_object_get(obj, "metadata");
  if (!json_is_object(meta)) {
    meta = json_object();
    json_object_set_new(obj, "metadata", meta);
  }
  if (json_array_size(entries)) json_object_set_new(meta, "managedFields", entries);
  else {
    json_object_del(meta, "managedFields");
    json_decref(entries);
  }
}

static const char *api_version_of(const drv_api_resource *res, const json_t *obj, char *buf, size_t size)
{
  const char *av = json_string_value(json_object_get(obj, "apiVersion"));
  if (av && *av) return av;
  return drv_api_resource_api_version(res, buf, size);
}

/* "conflict with \"kubectl\" with subresource \"scale\" using apps/v1" */
static char *conflict_text(const json_t *e)
{
  const char *sub = json_string_value(json_object_get(e, "subresource"));
  _cleanup_free_ char *subtext = sub && *sub ? drv_asprintf(" with subresource \"%s\"", sub) : drv_strdup("");
  return drv_asprintf("conflict with \"%s\"%s using %s", json_string_value(json_object_get(e, "manager")) ?: "",
                      subtext, json_string_value(json_object_get(e, "apiVersion")) ?: "");
}

/* ---- apply ---- */

json_t *drv_mf_apply(const drv_api_resource *res, const json_t *current, const json_t *config,
                     const char *manager, bool force, const char *now, json_t **status)
{
  *status = NULL;
  if (!json_is_object(config)) {
    *status = drv_status_bad_request("the applied configuration is not an object");
    return NULL;
  }
  char avbuf[128];
  const char *av = api_version_of(res, config, avbuf, sizeof avbuf);
  json_t *cfg = json_deep_copy(config);
  json_object_del(cfg, "status"); /* the status subresource has its own appliers */
  json_t *meta = json_object_get(cfg, "metadata");
  if (json_is_object(meta)) json_object_del(meta, "managedFields");
  json_t *applied = drv_mf_fieldset(res, cfg);
  json_t *entries = current ? entries_of(current) : json_array();
  json_t *paths = leaves(applied);
  json_t *conflicts = json_array(); /* [entry index, path] */
  size_t i, j;
  json_t *e, *p;
  if (current) {
    json_array_foreach(entries, i, e)
    {
      if (entry_is(e, manager, "Apply", "")) continue;
      json_t *set = json_object_get(e, "fieldsV1");
      json_array_foreach(paths, j, p)
      {
        const char *last = seg(p, json_array_size(p) - 1);
        if (!strcmp(last, ".") || !has_leaf(set, p)) continue; /* an item's existence is no value */
        json_t *a = value_at(cfg, p), *b = value_at(current, p);
        if (a && b && json_equal(a, b)) continue;
        json_array_append_new(conflicts, json_pack("[I, O]", (json_int_t)i, p));
      }
    }
  }
  if (json_array_size(conflicts) && !force) {
    size_t n = json_array_size(conflicts);
    drv_buf msg = DRV_BUF_INIT;
    drv_buf_printf(&msg, "Apply failed with %zu conflict%s:", n, n == 1 ? "" : "s");
    json_t *causes = json_array();
    json_t *c;
    json_array_foreach(conflicts, i, c)
    {
      json_t *ce = json_array_get(entries, (size_t)json_integer_value(json_array_get(c, 0)));
      _cleanup_free_ char *who = conflict_text(ce);
      _cleanup_free_ char *field = path_text(json_array_get(c, 1));
      drv_buf_printf(&msg, " %s: %s", who, field);
      json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", "FieldManagerConflict", "message", who,
                                              "field", field));
    }
    json_t *st = drv_status_failure(409, "Conflict", msg.data);
    json_object_set_new(st, "details", json_pack("{s:o}", "causes", causes));
    drv_buf_free(&msg);
    *status = st;
    goto out_fail;
  }
  /* forced: the conflicting fields change hands */
  json_t *c;
  json_array_foreach(conflicts, i, c)
  {
    json_t *ce = json_array_get(entries, (size_t)json_integer_value(json_array_get(c, 0)));
    remove_at(entry_set(ce), json_array_get(c, 1), 0);
  }
  json_t *merged;
  if (!current) {
    merged = json_deep_copy(cfg);
  } else {
    json_t *base = json_deep_copy(current);
    /* what this manager applied before and applies no more goes, unless another owns it */
    json_t *mine = NULL;
    json_array_foreach(entries, i, e) if (entry_is(e, manager, "Apply", "")) mine = json_object_get(e, "fieldsV1");
    json_t *before = leaves(mine);
    /* whole list items first: their fields' paths name them by fields that then go */
    for (int pass = 0; pass < 2; pass++) {
      json_array_foreach(before, j, p)
      {
        bool item = !strcmp(seg(p, json_array_size(p) - 1), ".");
        if (item != (pass == 0) || has_leaf(applied, p)) continue;
        bool owned = false;
        json_array_foreach(entries, i, e) if (!entry_is(e, manager, "Apply", "") &&
                                              has_leaf(json_object_get(e, "fieldsV1"), p)) owned = true;
        if (!owned) delete_at(base, p);
      }
    }
    json_decref(before);
    drv_err err = {0};
    merged = drv_strategic_merge_patch(res, base, cfg, &err);
    json_decref(base);
    if (!merged) {
      *status = drv_status_failure(422, "Invalid", err.msg);
      goto out_fail;
    }
  }
  json_t *mine = entry_for(entries, manager, "Apply", "", av, now);
  json_object_set(mine, "fieldsV1", applied);
  drop_empty(entries);
  set_entries(merged, entries);
  json_decref(conflicts);
  json_decref(paths);
  json_decref(applied);
  json_decref(cfg);
  return merged;
out_fail:
  json_decref(conflicts);
  json_decref(paths);
  json_decref(applied);
  json_decref(entries);
  json_decref(cfg);
  return NULL;
}

/* ---- updates ---- */

void drv_mf_track_update(const drv_api_resource *res, const json_t *old, json_t *next,
                         const char *manager, const char *subresource, const char *now)
{
  json_t *mf = drv_json_get(old, "metadata.managedFields");
  if (!json_is_array(mf) || !json_array_size(mf)) return;
  json_t *entries = json_deep_copy(mf);
  json_t *before = drv_mf_fieldset(res, old), *after = drv_mf_fieldset(res, next);
  json_t *gone = leaves(before), *now_paths = leaves(after);
  size_t i, j;
  json_t *p, *e;
  /* removed fields are nobody's any more */
  json_array_foreach(gone, i, p) if (!has_leaf(after, p)) json_array_foreach(entries, j, e)
      remove_at(entry_set(e), p, 0);
  char avbuf[128];
  const char *av = api_version_of(res, next, avbuf, sizeof avbuf);
  json_t *mine = NULL;
  json_array_foreach(now_paths, i, p)
  {
    json_t *a = value_at(next, p), *b = value_at(old, p);
    const char *last = seg(p, json_array_size(p) - 1);
    bool changed = !strcmp(last, ".") ? !b : !(a && b && json_equal(a, b));
    if (!changed) continue;
    if (!mine) mine = entry_for(entries, manager ? manager : "unknown", "Update", subresource, av, now);
    json_array_foreach(entries, j, e) if (e != mine) remove_at(entry_set(e), p, 0);
    add_leaf(entry_set(mine), p);
  }
  drop_empty(entries);
  set_entries(next, entries);
  json_decref(gone);
  json_decref(now_paths);
  json_decref(before);
  json_decref(after);
}

const char *drv_mf_manager(const char *field_manager, const char *user_agent, char *buf, size_t size)
{
  if (field_manager && *field_manager) snprintf(buf, size, "%.128s", field_manager);
  else if (user_agent && *user_agent) snprintf(buf, size, "%.*s", (int)strcspn(user_agent, "/"), user_agent);
  else snprintf(buf, size, "unknown");
  return buf;
}
