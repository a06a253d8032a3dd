/* meta.k8s.io/v1 Table responses (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) with
 * the columns kubectl prints for each served kind, computed as Kubernetes' printers do. */
#ifndef DRV_API_TABLE_H
#define DRV_API_TABLE_H

#include <jansson.h>
#include <time.h>

#include "api/resource.h"

typedef enum {
  DRV_TABLE_OBJECT_METADATA = 0, /* includeObject=Metadata (the default): PartialObjectMetadata */
  DRV_TABLE_OBJECT_NONE,         /* includeObject=None */
  DRV_TABLE_OBJECT_FULL,         /* includeObject=Object */
} drv_table_include;

/* "None" | "Metadata" | "Object" → include; -1 on anything else. */
int drv_table_include_parse(const char *s, drv_table_include *out);

/* A Table of list_or_obj: a List (its items, and its metadata resourceVersion/continue are
 * carried over) or one object. now: the clock AGE is computed against. New reference. */
json_t *drv_api_table(const drv_api_resource *res, const json_t *list_or_obj,
                      drv_table_include include, time_t now);

/* kubectl's duration format for AGE ("5s", "3m20s", "5h", "2d3h", "400d"). */
void drv_api_human_duration(long long seconds, char *buf, size_t size);

#endif
