/* Boolean query parameters and flags, spelled as Kubernetes' clients send them: what Go's
 * strconv.ParseBool accepts (python3-kubernetes sends "True", kubectl "true", curl users "1"). */
#pragma once

#include <stdbool.h>
#include <string.h>

/* 1 for 1 t T TRUE true True, 0 for 0 f F FALSE false False, -1 for anything else (or NULL). */
static inline int drv_parse_bool(const char *s)
{
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  if (!s) return -1;
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (!strcmp(s, yes[i])) return 1;
    if (!strcmp(s, no[i])) return 0;
  }
  return -1;
}

/* A flag that is on only when spelled as true. */
static inline bool drv_parse_bool_true(const char *s)
{
  return drv_parse_bool(s) == 1;
}
