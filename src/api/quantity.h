/* resource.Quantity: "100m", "1.5", "128Mi", "1G", "1e3", "2Ki"... parsed to milli-units and
 * formatted back canonically as Kubernetes does. */
#ifndef DRV_API_QUANTITY_H
#define DRV_API_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum {
  DRV_QTY_DECIMAL_SI = 0, /* m, "", k, M, G, T, P, E */
  DRV_QTY_BINARY_SI,      /* Ki, Mi, Gi, Ti, Pi, Ei */
  DRV_QTY_DECIMAL_EXP,    /* e3, E6 */
} drv_qty_format;

typedef struct drv_quantity {
  int64_t milli;          /* value × 1000, rounded up (as Kubernetes' MilliValue) */
  drv_qty_format format;  /* the suffix family the input used */
} drv_quantity;

/* Parses s; on error (empty, bad number, unknown suffix, overflow) fills err with the
 * Kubernetes text "quantities must match the regular expression ..." and returns -1. */
int drv_quantity_parse(const char *s, drv_quantity *out, drv_err *err);
/* Value rounded up to whole units (bytes, cores). */
int64_t drv_quantity_value(const drv_quantity *q);
/* Canonical form: "100m", "1", "128Mi", "1500m", "1k", "1e3"... into buf (>= 32). */
const char *drv_quantity_format(const drv_quantity *q, char *buf, size_t size);
/* Shortcuts: milli-units (cpu) and whole units (memory bytes); -1 on malformed input. */
int64_t drv_quantity_parse_milli(const char *s);
int64_t drv_quantity_parse_value(const char *s);

#endif
