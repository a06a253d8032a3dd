/* Shared helpers of the api unit tests. */
#ifndef DRV_TEST_API_HELPERS_H
#define DRV_TEST_API_HELPERS_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses JSON text or fails the test. */
static inline json_t *J(const char *text)
{
  json_error_t je;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
  if (!v) fail_msg("bad test JSON (%s): %s", je.text, text);
  return v;
}

/* Asserts v equals the JSON text (consumes nothing). */
#define assert_json_eq(v, text)                                                                \
  do {                                                                                         \
    json_t *want_ = J(text);                                                                   \
    if (!json_equal((v), want_)) {                                                             \
      char *got_ = json_dumps((v), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);           \
      char *exp_ = json_dumps(want_, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);         \
      print_error("got:  %s\nwant: %s\n", got_, exp_);                                          \
      free(got_);                                                                              \
      free(exp_);                                                                              \
      json_decref(want_);                                                                      \
      fail();                                                                                  \
    }                                                                                          \
    json_decref(want_);                                                                        \
  } while (0)

#endif
