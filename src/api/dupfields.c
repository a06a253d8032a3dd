/* Duplicate keys of a JSON or YAML request body as field paths (see fieldvalidation.h). The
 * decoders keep the last value of a repeated key, as Kubernetes' do; these walks only say
 * where the repeats are, for fieldValidation=Strict (refused) and Warn (a warning). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "api/fieldvalidation.h"
#include "api/pathbuf.h"
#include "common/buf.h"
#include "common/util.h"
#include "common/yaml.h"

/* A set of strings, hashed: a body may hold a map with 100,000s of keys, and a list compared
 * with each new key made that quadratic (24 s of CPU for a 1.3 MB apply patch). */
typedef struct keyset {
  char **slots; /* open addressing, NULL = free; cap is 0 or a power of two */
  size_t n, cap;
} keyset;

static size_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return (size_t)h;
}

static void keyset_put(char **slots, size_t cap, char *key)
{
  size_t i = hash_str(key) & (cap - 1);
  while (slots[i]) i = (i + 1) & (cap - 1);
  slots[i] = key;
}

/* True when key was there already; else it is added (and owned by the set). */
static bool keyset_add(keyset *k, char *key)
{
  if (k->cap) {
    for (size_t i = hash_str(key) & (k->cap - 1); k->slots[i]; i = (i + 1) & (k->cap - 1))
      if (!strcmp(k->slots[i], key)) {
        free(key);
        return true;
      }
  }
  if (2 * (k->n + 1) > k->cap) {
    size_t cap = k->cap ? k->cap * 2 : 8;
    char **slots = drv_calloc(cap, sizeof *slots);
    for (size_t i = 0; i < k->cap; i++)
      if (k->slots[i]) keyset_put(slots, cap, k->slots[i]);
    free(k->slots);
    k->slots = slots;
    k->cap = cap;
  }
  keyset_put(k->slots, k->cap, key);
  k->n++;
  return false;
}

static void keyset_free(keyset *k)
{
  for (size_t i = 0; i < k->cap; i++) free(k->slots[i]);
  free(k->slots);
  *k = (keyset){0};
}

/* Each path once, in the order found. */
static void report(keyset *seen, json_t *out, const char *path, size_t *n)
{
  if (keyset_add(seen, drv_strdup(path))) return;
  json_array_append_new(out, json_string(path));
  (*n)++;
}

/* ---- JSON: a scanner over text the decoder has accepted ---- */

typedef struct jscan {
  const char *p, *end;
  drv_pathbuf path;
  json_t *out;
  keyset reported;
  size_t n;
  int depth;
} jscan;

static void skip_ws(jscan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static void put_utf8(drv_buf *b, uint32_t c)
{
  if (c < 0x80) {
    drv_buf_putc(b, (char)c);
  } else if (c < 0x800) {
    drv_buf_putc(b, (char)(0xc0 | (c >> 6)));
    drv_buf_putc(b, (char)(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    drv_buf_putc(b, (char)(0xe0 | (c >> 12)));
    drv_buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
    drv_buf_putc(b, (char)(0x80 | (c & 0x3f)));
  } else {
    drv_buf_putc(b, (char)(0xf0 | (c >> 18)));
    drv_buf_putc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
    drv_buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
    drv_buf_putc(b, (char)(0x80 | (c & 0x3f)));
  }
}

static uint32_t hex4(const char *p)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v = v * 16 + (uint32_t)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
  }
  return v;
}

/* At '"': the decoded string (escapes resolved, so "a" and "\u0061" are one key). */
static char *read_string(jscan *s)
{
  drv_buf b = DRV_BUF_INIT;
  s->p++;
  while (s->p < s->end && *s->p != '"') {
    if (*s->p != '\\') {
      drv_buf_putc(&b, *s->p++);
      continue;
    }
    if (s->end - s->p < 2) break;
    char e = s->p[1];
    s->p += 2;
    switch (e) {
    case 'b': drv_buf_putc(&b, '\b'); break;
    case 'f': drv_buf_putc(&b, '\f'); break;
    case 'n': drv_buf_putc(&b, '\n'); break;
    case 'r': drv_buf_putc(&b, '\r'); break;
    case 't': drv_buf_putc(&b, '\t'); break;
    case 'u': {
      if (s->end - s->p < 4) break;
      uint32_t c = hex4(s->p);
      s->p += 4;
      if (c >= 0xd800 && c < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
        uint32_t lo = hex4(s->p + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          s->p += 6;
        }
      }
      put_utf8(&b, c);
      break;
    }
    default: drv_buf_putc(&b, e); break; /* \" \\ \/ */
    }
  }
  if (s->p < s->end) s->p++; /* closing quote */
  return drv_buf_steal(&b);
}

static void scan_value(jscan *s);

static void scan_object(jscan *s)
{
  keyset keys = {0};
  s->p++;
  for (;;) {
    skip_ws(s);
    if (s->p >= s->end || *s->p != '"') break; /* '}' or the end */
    char *key = read_string(s);
    skip_ws(s);
    if (s->p < s->end && *s->p == ':') s->p++;
    size_t old = drv_pathbuf_key(&s->path, key);
    if (keyset_add(&keys, key)) report(&s->reported, s->out, s->path.buf, &s->n);
    scan_value(s);
    drv_pathbuf_pop(&s->path, old);
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      continue;
    }
    break;
  }
  if (s->p < s->end && *s->p == '}') s->p++;
  keyset_free(&keys);
}

static void scan_array(jscan *s)
{
  s->p++;
  for (size_t i = 0;; i++) {
    skip_ws(s);
    if (s->p >= s->end || *s->p == ']') break;
    size_t old = drv_pathbuf_index(&s->path, i);
    scan_value(s);
    drv_pathbuf_pop(&s->path, old);
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      continue;
    }
    break;
  }
  if (s->p < s->end && *s->p == ']') s->p++;
}

static void scan_value(jscan *s)
{
  skip_ws(s);
  if (s->p >= s->end) return;
  if ((*s->p == '{' || *s->p == '[') && s->depth >= 1000) {
    s->p = s->end; /* deeper than the decoder allows anyway */
    return;
  }
  s->depth++;
  if (*s->p == '{') {
    scan_object(s);
  } else if (*s->p == '[') {
    scan_array(s);
  } else if (*s->p == '"') {
    free(read_string(s));
  } else {
    while (s->p < s->end && !strchr(",]} \t\r\n", *s->p)) s->p++;
  }
  s->depth--;
}

size_t drv_api_duplicate_fields_json(const char *text, size_t len, json_t *out)
{
  jscan s = {.p = text, .end = text + len, .out = out};
  s.path.buf[0] = '\0';
  scan_value(&s);
  keyset_free(&s.reported);
  return s.n;
}

/* ---- YAML: libyaml's events, with the path kept per nesting level ---- */

typedef struct yframe {
  bool map, want_key;
  size_t index;       /* sequences: the next item's */
  size_t old;         /* path length before the current entry */
  keyset keys;
} yframe;

static void begin_value(yframe *f, drv_pathbuf *path)
{
  if (f && !f->map) f->old = drv_pathbuf_index(path, f->index);
}

static void end_value(yframe *f, drv_pathbuf *path)
{
  if (!f) return;
  drv_pathbuf_pop(path, f->old);
  if (f->map)
    f->want_key = true;
  else
    f->index++;
}

size_t drv_api_duplicate_fields_yaml(const char *text, size_t len, json_t *out)
{
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) return 0;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  drv_pathbuf path = {.len = 0};
  path.buf[0] = '\0';
  yframe *st = NULL;
  size_t depth = 0, cap = 0, n = 0;
  int skip = 0; /* inside a complex (collection) key: ignored */
  keyset reported = {0};
  bool done = false;
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) break;
    yframe *top = depth ? &st[depth - 1] : NULL;
    switch (ev.type) {
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
      /* Deeper than the decoder allows: stop. libyaml's scanner takes time growing with the
       * flow nesting for each token, so 200,000 '[' kept a thread busy for minutes. */
      if (depth + (size_t)skip >= DRV_YAML_MAX_DEPTH) {
        done = true;
        break;
      }
      if (skip || (top && top->map && top->want_key)) {
        skip++;
        break;
      }
      begin_value(top, &path);
      if (depth == cap) {
        cap = cap ? cap * 2 : 16;
        st = drv_realloc(st, cap * sizeof *st);
      }
      st[depth++] = (yframe){.map = ev.type == YAML_MAPPING_START_EVENT, .want_key = true,
                             .old = path.len};
      break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if (skip) {
        if (--skip == 0 && top) { /* a complex key ends: its value follows */
          top->old = drv_pathbuf_key(&path, "?");
          top->want_key = false;
        }
        break;
      }
      keyset_free(&top->keys);
      depth--;
      end_value(depth ? &st[depth - 1] : NULL, &path);
      break;
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
      if (skip) break;
      if (top && top->map && top->want_key) {
        const char *k = ev.type == YAML_SCALAR_EVENT ? (const char *)ev.data.scalar.value : "*";
        top->old = drv_pathbuf_key(&path, k);
        if (keyset_add(&top->keys, drv_strdup(k))) report(&reported, out, path.buf, &n);
        top->want_key = false;
      } else {
        begin_value(top, &path);
        end_value(top, &path);
      }
      break;
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
      done = true; /* a request body is one document */
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  while (depth) keyset_free(&st[--depth].keys);
  keyset_free(&reported);
  free(st);
  yaml_parser_delete(&p);
  return n;
}
