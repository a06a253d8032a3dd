/* YAML → JSON with libyaml's event parser, resolving plain scalars by the YAML 1.1 rules
 * sigs.k8s.io/yaml (go-yaml v2) applies; JSON → YAML for display. */
#include "common/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/buf.h"
#include "common/util.h"

typedef struct anchor {
  char *name;
  json_t *value;
  struct anchor *next;
} anchor;

typedef struct ctx {
  yaml_parser_t parser;
  anchor *anchors;
  drv_err *err;
  int depth;
  long budget; /* values left to create: aliases cannot expand without bound */
} ctx;

#define YAML_MAX_VALUES 2000000L

static long count_values(const json_t *v)
{
  long n = 1;
  size_t i;
  const char *k;
  json_t *m;
  if (json_is_object(v)) json_object_foreach((json_t *)v, k, m) n += count_values(m);
  else if (json_is_array(v)) json_array_foreach(v, i, m) n += count_values(m);
  return n;
}

static const char *const true_words[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                         "on", "On", "ON", NULL};
static const char *const false_words[] = {"n", "N", "no", "No", "NO", "false", "False",
                                          "FALSE", "off", "Off", "OFF", NULL};

static bool in_list(const char *s, const char *const *l)
{
  for (; *l; l++)
    if (strcmp(s, *l) == 0) return true;
  return false;
}

/* Integers as strconv.ParseInt(s, 0, 64) reads them after go-yaml drops underscores. */
static bool parse_int(const char *s, long long *out)
{
  char clean[128];
  size_t n = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '_') continue;
    if (n + 1 >= sizeof(clean)) return false;
    clean[n++] = *p;
  }
  clean[n] = '\0';
  const char *p = clean;
  bool neg = false;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  if (!*p) return false;
  int base = 10;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
  else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) base = 2, p += 2;
  else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) base = 8, p += 2;
  else if (p[0] == '0' && p[1]) base = 8, p += 1;
  if (!*p) return false;
  for (const char *q = p; *q; q++) {
    int d = (*q >= '0' && *q <= '9') ? *q - '0'
            : (*q >= 'a' && *q <= 'f') ? *q - 'a' + 10
            : (*q >= 'A' && *q <= 'F') ? *q - 'A' + 10 : 99;
    if (d >= base) return false;
  }
  errno = 0;
  unsigned long long v = strtoull(p, NULL, base);
  if (errno == ERANGE) return false;
  if (neg ? v > (unsigned long long)LLONG_MAX + 1 : v > (unsigned long long)LLONG_MAX) return false;
  *out = neg ? (long long)(0 - v) : (long long)v;
  return true;
}

static bool parse_float(const char *s, double *out)
{
  /* YAML 1.1 floats: [-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?, plus e-notation Go
   * accepts; .inf/.nan cannot be expressed in JSON and stay strings. */
  char clean[128];
  size_t n = 0;
  bool digit = false;
  for (const char *p = s; *p; p++) {
    if (*p == '_') continue;
    if (n + 1 >= sizeof(clean)) return false;
    if (!strchr("0123456789.eE+-", *p)) return false;
    if (*p >= '0' && *p <= '9') digit = true;
    clean[n++] = *p;
  }
  clean[n] = '\0';
  if (!digit) return false;
  char *end;
  errno = 0;
  double v = strtod(clean, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

static json_t *resolve_plain(const char *s)
{
  if (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
      strcmp(s, "NULL") == 0)
    return json_null();
  if (in_list(s, true_words)) return json_true();
  if (in_list(s, false_words)) return json_false();
  char c = s[0];
  if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
    long long i;
    if (parse_int(s, &i)) return json_integer(i);
    double d;
    if (parse_float(s, &d)) {
      /* encoding/json writes 1.0 as 1: whole floats reach the server as integers. */
      if (d == floor(d) && fabs(d) < 9007199254740992.0) return json_integer((long long)d);
      return json_real(d);
    }
  }
  return json_string(s);
}

static json_t *scalar_value(const yaml_event_t *ev)
{
  const char *v = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  const char *tag = (const char *)ev->data.scalar.tag;
  if (tag) {
    if (strcmp(tag, YAML_STR_TAG) == 0) return json_stringn(v, len);
    if (strcmp(tag, YAML_NULL_TAG) == 0) return json_null();
    if (strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_INT_TAG) == 0 ||
        strcmp(tag, YAML_FLOAT_TAG) == 0)
      return resolve_plain(v);
    if (strcmp(tag, "tag:yaml.org,2002:binary") == 0) return json_stringn(v, len);
  }
  if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return json_stringn(v, len);
  if (strlen(v) != len) return json_stringn(v, len);
  return resolve_plain(v);
}

static int fail(ctx *c, const yaml_event_t *ev, const char *what)
{
  return drv_error(c->err, 0, "yaml: line %zu: %s", ev->start_mark.line + 1, what);
}

static int next_event(ctx *c, yaml_event_t *ev)
{
  if (!yaml_parser_parse(&c->parser, ev)) {
    const yaml_parser_t *p = &c->parser;
    size_t line = p->problem_mark.line + 1;
    if (p->context)
      return drv_error(c->err, 0, "yaml: line %zu: %s %s", line, p->problem ? p->problem : "error",
                       p->context);
    return drv_error(c->err, 0, "yaml: line %zu: %s", line, p->problem ? p->problem : "error");
  }
  return 0;
}

static void remember(ctx *c, const yaml_char_t *name, json_t *v)
{
  if (!name) return;
  anchor *a = drv_calloc(1, sizeof(*a));
  a->name = drv_strdup((const char *)name);
  a->value = json_incref(v);
  a->next = c->anchors;
  c->anchors = a;
}

static int parse_node(ctx *c, yaml_event_t *ev, json_t **out);

/* A key: scalars as their text (sigs.k8s.io/yaml turns every key into a string). */
static int key_text(ctx *c, yaml_event_t *ev, char **out, bool *merge)
{
  *merge = false;
  if (ev->type == YAML_SCALAR_EVENT) {
    const char *v = (const char *)ev->data.scalar.value;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(v, "<<") == 0) *merge = true;
    json_t *r = scalar_value(ev);
    if (json_is_null(r) && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) *out = drv_strdup("null");
    else if (json_is_true(r)) *out = drv_strdup("true");
    else if (json_is_false(r)) *out = drv_strdup("false");
    else *out = drv_strdup(v);
    json_decref(r);
    json_t *ks = json_string(*out);
    remember(c, ev->data.scalar.anchor, ks);
    json_decref(ks);
    return 0;
  }
  if (ev->type == YAML_ALIAS_EVENT) {
    for (anchor *a = c->anchors; a; a = a->next)
      if (strcmp(a->name, (const char *)ev->data.alias.anchor) == 0 && json_is_string(a->value)) {
        *out = drv_strdup(json_string_value(a->value));
        return 0;
      }
    return fail(c, ev, "unknown or non-scalar alias used as a key");
  }
  return fail(c, ev, "mapping keys must be scalars");
}

static void merge_into(json_t *obj, json_t *src)
{
  const char *k;
  json_t *v;
  json_object_foreach(src, k, v)
    if (!json_object_get(obj, k)) json_object_set(obj, k, v);
}

static int parse_mapping(ctx *c, yaml_event_t *start, json_t **out)
{
  json_t *obj = json_object();
  remember(c, start->data.mapping_start.anchor, obj);
  for (;;) {
    yaml_event_t kev;
    if (next_event(c, &kev) < 0) goto err;
    if (kev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&kev);
      break;
    }
    char *key = NULL;
    bool merge;
    int r = key_text(c, &kev, &key, &merge);
    yaml_event_delete(&kev);
    if (r < 0) goto err;
    yaml_event_t vev;
    if (next_event(c, &vev) < 0) {
      free(key);
      goto err;
    }
    json_t *val = NULL;
    r = parse_node(c, &vev, &val);
    yaml_event_delete(&vev);
    if (r < 0) {
      free(key);
      goto err;
    }
    if (merge && (json_is_object(val) || json_is_array(val))) {
      if (json_is_object(val)) merge_into(obj, val);
      else {
        size_t i;
        json_t *m;
        json_array_foreach(val, i, m) if (json_is_object(m)) merge_into(obj, m);
      }
      json_decref(val);
    } else {
      json_object_set_new(obj, key, val);
    }
    free(key);
  }
  *out = obj;
  return 0;
err:
  json_decref(obj);
  return -1;
}

static int parse_sequence(ctx *c, yaml_event_t *start, json_t **out)
{
  json_t *arr = json_array();
  remember(c, start->data.sequence_start.anchor, arr);
  for (;;) {
    yaml_event_t ev;
    if (next_event(c, &ev) < 0) goto err;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    json_t *v = NULL;
    int r = parse_node(c, &ev, &v);
    yaml_event_delete(&ev);
    if (r < 0) goto err;
    json_array_append_new(arr, v);
  }
  *out = arr;
  return 0;
err:
  json_decref(arr);
  return -1;
}

static int parse_node(ctx *c, yaml_event_t *ev, json_t **out)
{
  if (--c->budget < 0) return fail(c, ev, "document expands to too many values");
  if (++c->depth > DRV_YAML_MAX_DEPTH) {
    c->depth--;
    return fail(c, ev, "nesting too deep");
  }
  int r = 0;
  switch (ev->type) {
  case YAML_SCALAR_EVENT:
    *out = scalar_value(ev);
    remember(c, ev->data.scalar.anchor, *out);
    break;
  case YAML_MAPPING_START_EVENT: r = parse_mapping(c, ev, out); break;
  case YAML_SEQUENCE_START_EVENT: r = parse_sequence(c, ev, out); break;
  case YAML_ALIAS_EVENT: {
    r = fail(c, ev, "unknown anchor");
    for (anchor *a = c->anchors; a; a = a->next)
      if (strcmp(a->name, (const char *)ev->data.alias.anchor) == 0) {
        c->budget -= count_values(a->value);
        if (c->budget < 0) {
          r = fail(c, ev, "document expands to too many values (aliases)");
          break;
        }
        /* Copies keep documents trees (an aliased node edited later must not change both). */
        *out = json_deep_copy(a->value);
        r = 0;
        break;
      }
    break;
  }
  default: r = fail(c, ev, "unexpected event"); break;
  }
  c->depth--;
  return r;
}

static void free_anchors(ctx *c)
{
  while (c->anchors) {
    anchor *a = c->anchors;
    c->anchors = a->next;
    json_decref(a->value);
    free(a->name);
    free(a);
  }
}

json_t *drv_yaml_load_all(const char *buf, size_t len, drv_err *err)
{
  ctx c = {.err = err, .budget = YAML_MAX_VALUES};
  if (!yaml_parser_initialize(&c.parser)) {
    drv_error(err, ENOMEM, "yaml: initialize parser");
    return NULL;
  }
  yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
  json_t *docs = json_array();
  bool done = false;
  while (!done) {
    yaml_event_t ev;
    if (next_event(&c, &ev) < 0) goto err;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: done = true; break;
    case YAML_DOCUMENT_START_EVENT: {
      yaml_event_t node;
      if (next_event(&c, &node) < 0) {
        yaml_event_delete(&ev);
        goto err;
      }
      if (node.type == YAML_DOCUMENT_END_EVENT) {
        yaml_event_delete(&node);
        break; /* empty document */
      }
      json_t *v = NULL;
      int r = parse_node(&c, &node, &v);
      yaml_event_delete(&node);
      if (r < 0) {
        yaml_event_delete(&ev);
        goto err;
      }
      /* A document of only "null"/comments counts as empty, as kubectl skips it. */
      if (json_is_null(v)) json_decref(v);
      else json_array_append_new(docs, v);
      yaml_event_t end;
      if (next_event(&c, &end) < 0) {
        yaml_event_delete(&ev);
        goto err;
      }
      yaml_event_delete(&end);
      free_anchors(&c);
      break;
    }
    default: break;
    }
    yaml_event_delete(&ev);
  }
  free_anchors(&c);
  yaml_parser_delete(&c.parser);
  return docs;
err:
  free_anchors(&c);
  yaml_parser_delete(&c.parser);
  json_decref(docs);
  return NULL;
}

json_t *drv_yaml_load(const char *buf, size_t len, drv_err *err)
{
  json_t *docs = drv_yaml_load_all(buf, len, err);
  if (!docs) return NULL;
  if (json_array_size(docs) != 1) {
    drv_error(err, 0, "yaml: expected one document, found %zu", json_array_size(docs));
    json_decref(docs);
    return NULL;
  }
  json_t *v = json_incref(json_array_get(docs, 0));
  json_decref(docs);
  return v;
}

/* A string goes out plain only when it is made of unremarkable characters and reading it back
 * gives the same string; anything else is written double-quoted (JSON string syntax). */
static bool plain_ok(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 200) return false;
  if (!(isalnum((unsigned char)s[0]) || s[0] == '/' || s[0] == '_' || s[0] == '.')) return false;
  if (s[n - 1] == ' ' || s[n - 1] == ':') return false;
  /* "..." at the start of a line ends a YAML document ("---" starts one, but '-' cannot lead) */
  if (strncmp(s, "...", 3) == 0) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(isalnum(c) || strchr(" -_./+=@,:", c))) return false;
    if (c == ':' && s[i + 1] == ' ') return false;
    if (c == ' ' && (s[i + 1] == ' ' || s[i + 1] == '#')) return false;
  }
  json_t *r = resolve_plain(s);
  bool ok = json_is_string(r);
  json_decref(r);
  return ok;
}

/* A double-quoted YAML scalar cannot hold every character JSON can: the C1 controls
 * (U+0080–U+009F) and U+FFFE/U+FFFF are not allowed in a YAML stream, NEL (U+0085), U+2028 and
 * U+2029 are line breaks there (folded to a space when read back), and a BOM (U+FEFF) is
 * dropped. Such strings are written with JSON's \uXXXX escapes, which YAML reads alike; false
 * when s holds one (DEL is handled where the string is written). */
static bool yaml_printable(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i + 1 < n; i++) {
    if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) return false;
    if (i + 2 < n && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) return false;
    if (i + 2 < n && p[i] == 0xef && p[i + 1] == 0xbb && p[i + 2] == 0xbf) return false;
    if (i + 2 < n && p[i] == 0xef && p[i + 1] == 0xbf && (p[i + 2] == 0xbe || p[i + 2] == 0xbf)) return false;
  }
  return true;
}

static void put_scalar(drv_buf *b, const json_t *v)
{
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) == n && plain_ok(s)) drv_buf_puts(b, s); /* a NUL inside needs quoting */
    else {
      char *q = json_dumps(v, JSON_ENCODE_ANY | (yaml_printable(s, n) ? 0 : JSON_ENSURE_ASCII));
      /* jansson leaves DEL as it is, even with JSON_ENSURE_ASCII */
      for (const char *c = q; *c; c++) {
        if (*c == 0x7f) drv_buf_puts(b, "\\u007f");
        else drv_buf_putc(b, *c);
      }
      free(q);
    }
  } else {
    char *q = json_dumps(v, JSON_ENCODE_ANY);
    drv_buf_puts(b, q);
    free(q);
  }
}

static void indent(drv_buf *b, int n)
{
  for (int i = 0; i < n; i++) drv_buf_putc(b, ' ');
}

static void emit(drv_buf *b, const json_t *v, int ind, bool inline_first);

static bool is_empty_container(const json_t *v)
{
  return (json_is_object(v) && json_object_size(v) == 0) ||
         (json_is_array(v) && json_array_size(v) == 0);
}

static void emit_value_after_key(drv_buf *b, const json_t *v, int ind)
{
  if (is_empty_container(v)) {
    drv_buf_puts(b, json_is_object(v) ? " {}\n" : " []\n");
  } else if (json_is_object(v)) {
    drv_buf_putc(b, '\n');
    emit(b, v, ind + 2, false);
  } else if (json_is_array(v)) {
    drv_buf_putc(b, '\n');
    emit(b, v, ind, false);
  } else {
    drv_buf_putc(b, ' ');
    put_scalar(b, v);
    drv_buf_putc(b, '\n');
  }
}

/* inline_first: the first line continues after "- " already written. */
static void emit(drv_buf *b, const json_t *v, int ind, bool inline_first)
{
  if (json_is_object(v)) {
    const char *k;
    json_t *m;
    bool first = true;
    json_object_foreach((json_t *)v, k, m) {
      if (!(first && inline_first)) indent(b, ind);
      first = false;
      json_t *ks = json_string(k);
      put_scalar(b, ks);
      json_decref(ks);
      drv_buf_putc(b, ':');
      emit_value_after_key(b, m, ind);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
      if (!(i == 0 && inline_first)) indent(b, ind);
      drv_buf_puts(b, "- ");
      if (is_empty_container(m) || !(json_is_object(m) || json_is_array(m))) {
        if (is_empty_container(m)) drv_buf_puts(b, json_is_object(m) ? "{}" : "[]");
        else put_scalar(b, m);
        drv_buf_putc(b, '\n');
      } else {
        emit(b, m, ind + 2, true);
      }
    }
  } else {
    if (!inline_first) indent(b, ind);
    put_scalar(b, v);
    drv_buf_putc(b, '\n');
  }
}

char *drv_json_to_yaml(const json_t *v)
{
  drv_buf b = DRV_BUF_INIT;
  if (is_empty_container(v)) drv_buf_puts(&b, json_is_object(v) ? "{}\n" : "[]\n");
  else emit(&b, v, 0, false);
  return drv_buf_steal(&b);
}
