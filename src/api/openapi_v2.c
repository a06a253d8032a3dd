/* /openapi/v2 as kubectl fetches it: the gnostic OpenAPIv2 Document in protobuf, with the
 * definitions of the v3 documents (openapi.c) converted. kubectl validates a manifest against
 * v3 and asks v2 only for a kind v3 does not have; without a v2 document a misspelt kind got
 * "failed to download openapi" instead of kubectl's "no matches for kind". */
#include "api/openapi.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"

#define V3_REF "#/components/schemas/"

/* ---- protobuf writing (proto3: varints and length-delimited fields) ---- */

static void put_varint(drv_buf *b, uint64_t v)
{
  char c[10];
  size_t n = 0;
  do {
    c[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  drv_buf_append(b, c, n);
}

static void put_bytes(drv_buf *b, int field, const void *data, size_t len)
{
  put_varint(b, (uint64_t)field << 3 | 2);
  put_varint(b, len);
  drv_buf_append(b, data, len);
}

static void put_str(drv_buf *b, int field, const char *s)
{
  if (s && *s) put_bytes(b, field, s, strlen(s));
}

/* Appends sub as field and empties it. */
static void put_msg(drv_buf *b, int field, drv_buf *sub)
{
  put_bytes(b, field, sub->data ? sub->data : "", sub->len);
  drv_buf_reset(sub);
}

/* ---- openapi_v2.Schema (gnostic OpenAPIv2.proto field numbers) ---- */

enum { S_REF = 1, S_FORMAT = 2, S_DESCRIPTION = 4, S_REQUIRED = 19, S_ADDITIONAL = 21, S_TYPE = 22,
       S_ITEMS = 23, S_PROPERTIES = 25, S_VENDOR_EXT = 31 };

static void schema_pb(drv_buf *b, const json_t *s)
{
  const char *ref = json_string_value(json_object_get(s, "$ref"));
  const json_t *all = json_object_get(s, "allOf");
  /* v3 wraps a reference in allOf so that a description can sit beside it; v2 has $ref */
  if (!ref && json_array_size(all) == 1) ref = json_string_value(json_object_get(json_array_get(all, 0), "$ref"));
  const char *desc = json_string_value(json_object_get(s, "description"));
  if (ref) {
    if (!strncmp(ref, V3_REF, strlen(V3_REF))) ref += strlen(V3_REF);
    _cleanup_free_ char *r = drv_asprintf("#/definitions/%s", ref);
    put_str(b, S_REF, r);
    put_str(b, S_DESCRIPTION, desc);
    return;
  }
  drv_buf sub = DRV_BUF_INIT, item = DRV_BUF_INIT;
  put_str(b, S_FORMAT, json_string_value(json_object_get(s, "format")));
  put_str(b, S_DESCRIPTION, desc);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(s, "required"), i, v) put_str(b, S_REQUIRED, json_string_value(v));
  const json_t *ap = json_object_get(s, "additionalProperties");
  if (json_is_object(ap)) {
    schema_pb(&item, ap);
    put_msg(&sub, 1, &item);
    put_msg(b, S_ADDITIONAL, &sub);
  } else if (json_is_boolean(ap)) {
    put_varint(&sub, 2 << 3 | 0);
    put_varint(&sub, json_is_true(ap));
    put_msg(b, S_ADDITIONAL, &sub);
  }
  /* oneOf (int-or-string, quantities) has no v2 form: no type, which reads as "anything" */
  const char *type = json_string_value(json_object_get(s, "type"));
  if (type) {
    put_str(&sub, 1, type);
    put_msg(b, S_TYPE, &sub);
  }
  const json_t *items = json_object_get(s, "items");
  if (json_is_object(items)) {
    schema_pb(&item, items);
    put_msg(&sub, 1, &item);
    put_msg(b, S_ITEMS, &sub);
  }
  const char *k;
  json_t *p;
  drv_buf named = DRV_BUF_INIT;
  json_object_foreach((json_t *)json_object_get(s, "properties"), k, p) {
    put_str(&named, 1, k);
    schema_pb(&item, p);
    put_msg(&named, 2, &item);
    put_msg(&sub, 1, &named);
  }
  if (json_object_size(json_object_get(s, "properties"))) put_msg(b, S_PROPERTIES, &sub);
  json_object_foreach((json_t *)s, k, p) {
    if (strncmp(k, "x-", 2)) continue;
    /* NamedAny{name, Any{yaml}}: JSON is YAML */
    _cleanup_free_ char *yaml = json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY);
    put_str(&item, 2, yaml);
    put_str(&named, 1, k);
    put_msg(&named, 2, &item);
    put_msg(b, S_VENDOR_EXT, &named);
  }
  drv_buf_free(&sub);
  drv_buf_free(&item);
  drv_buf_free(&named);
}

/* ---- the Document ---- */

static char *doc_pb;
static size_t doc_len;

static void build(void)
{
  drv_buf b = DRV_BUF_INIT, sub = DRV_BUF_INIT, defs = DRV_BUF_INIT, named = DRV_BUF_INIT, item = DRV_BUF_INIT;
  put_str(&b, 1, "2.0");
  put_str(&sub, 1, "Kubernetes");
  put_str(&sub, 2, "v1.32.0");
  put_msg(&b, 2, &sub);
  json_t *index = json_loads(drv_api_openapi_index(), 0, NULL);
  json_t *seen = json_object();
  const char *path, *name;
  json_t *ent, *s;
  json_object_foreach(json_object_get(index, "paths"), path, ent) {
    json_t *d = json_loads(drv_api_openapi_doc(path, NULL), 0, NULL);
    json_object_foreach(json_object_get(json_object_get(d, "components"), "schemas"), name, s) {
      if (json_object_get(seen, name)) continue; /* shared types are in several documents */
      json_object_set_new(seen, name, json_true());
      put_str(&named, 1, name);
      schema_pb(&item, s);
      put_msg(&named, 2, &item);
      put_msg(&defs, 1, &named);
    }
    json_decref(d);
  }
  json_decref(seen);
  json_decref(index);
  put_msg(&b, 8, &sub); /* paths: the operations are described in v3 only */
  put_msg(&b, 9, &defs);
  doc_len = b.len;
  doc_pb = drv_buf_steal(&b);
  drv_buf_free(&sub);
  drv_buf_free(&defs);
  drv_buf_free(&named);
  drv_buf_free(&item);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

const char *drv_api_openapi_v2(size_t *len)
{
  pthread_once(&once, build);
  *len = doc_len;
  return doc_pb;
}
