/* libFuzzer: object decoding. YAML → JSON (multi-document) and back; each document decoded as
 * a request body of its kind (strict field validation), defaulted and validated; inputs with
 * the "k8s\0" prefix go through the protobuf decoder; repeated keys are looked for in the raw
 * text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/defaults.h"
#include "api/fieldvalidation.h"
#include "api/protobuf.h"
#include "api/convert.h"
#include "api/resource.h"
#include "api/strategy.h"
#include "api/table.h"
#include "api/validate.h"
#include "common/yaml.h"

static void exercise(const json_t *doc)
{
  const drv_api_resource *res = drv_api_resource_by_kind(
      json_string_value(json_object_get(doc, "apiVersion")), json_string_value(json_object_get(doc, "kind")));
  if (!res) res = drv_api_resource_find("", "v1", "pods");
  char *text = json_dumps(doc, JSON_COMPACT);
  if (!text) return;
  json_t *warnings = NULL, *status = NULL;
  json_t *obj = drv_api_decode(res, text, strlen(text), false, DRV_FV_WARN, &warnings, &status);
  /* tables and conversions must cope with any shape, defaulted or not */
  json_t *t = drv_api_table(res, doc, DRV_TABLE_OBJECT_FULL, 1700000000);
  json_decref(t);
  json_t *scale = drv_api_scale_get(res, doc);
  json_decref(scale);
  const drv_api_resource *st = drv_api_resource_storage(res);
  drv_err err;
  json_t *conv = drv_api_convert(doc, res, st, &err);
  json_decref(conv);
  if (obj) {
    json_t *copy = json_deep_copy(obj);
    drv_api_prepare_for_create(res, copy);
    drv_api_prepare_for_update(res, copy, obj);
    drv_api_prepare_for_status_update(res, copy, obj);
    json_decref(copy);
    drv_api_default(res, obj);
    json_t *st = drv_api_validate(res, obj, NULL);
    json_t *st2 = drv_api_validate(res, obj, obj);
    json_decref(st);
    json_decref(st2);
  }
  json_decref(obj);
  json_decref(warnings);
  json_decref(status);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  drv_err err;
  if (size >= 4 && memcmp(data, "k8s", 4) == 0) {
    json_t *o = drv_api_protobuf_decode(data, size, &err);
    if (o) exercise(o);
    json_decref(o);
    return 0;
  }
  json_t *docs = drv_yaml_load_all((const char *)data, size, &err);
  if (!docs) return 0;
  /* repeated keys of the raw text, as request bodies are checked (YAML; JSON when it is) */
  json_t *dups = json_array();
  drv_api_duplicate_fields_yaml((const char *)data, size, dups);
  json_t *js = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (js) drv_api_duplicate_fields_json((const char *)data, size, dups);
  json_decref(js);
  json_decref(dups);
  size_t i;
  json_t *d;
  json_array_foreach(docs, i, d)
  {
    char *y = drv_json_to_yaml(d);
    json_t *back = drv_yaml_load(y, strlen(y), &err);
    /* what drover prints must read back as the same value */
    if (!back || !json_equal(back, d)) __builtin_trap();
    json_decref(back);
    free(y);
    if (json_is_object(d)) exercise(d);
  }
  json_decref(docs);
  return 0;
}
