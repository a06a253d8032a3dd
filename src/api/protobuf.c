/* Protobuf → JSON for the served kinds (see protobuf.h), driven by the message table of
 * protobuf_types.c. Zero values gogo-protobuf always writes (empty strings, the zero Time)
 * are dropped, as the JSON encoding's omitempty would drop them. */
#include "api/protobuf.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/object.h"
#include "api/protobuf_types.h"
#include "common/json.h"
#include "common/util.h"

typedef struct pfield {
  int num;
  char name[64];
  char code[4];     /* "s", "*m", "Ms", "Km", "KQ"... */
  const struct pmsg *msg;
} pfield;

typedef struct pmsg {
  const char *name;
  pfield *fields;
  size_t n;
} pmsg;

static pmsg *msgs;
static size_t nmsgs;

static const pmsg *find_msg(const char *name)
{
  for (size_t i = 0; i < nmsgs; i++)
    if (!strcmp(msgs[i].name, name)) return &msgs[i];
  return NULL;
}

static void load(void)
{
  size_t n = 0;
  while (drv_pb_msgs[n].name) n++;
  msgs = drv_calloc(n, sizeof(pmsg));
  nmsgs = n;
  for (size_t i = 0; i < n; i++) msgs[i].name = drv_pb_msgs[i].name;
  for (size_t i = 0; i < n; i++) {
    const char *s = drv_pb_msgs[i].fields;
    size_t cnt = *s ? 1 : 0;
    for (const char *p = s; *p; p++) cnt += *p == '|';
    msgs[i].fields = drv_calloc(cnt ? cnt : 1, sizeof(pfield));
    const char *p = s;
    while (*p) {
      pfield *f = &msgs[i].fields[msgs[i].n];
      char ref[96] = "";
      int used = 0;
      if (sscanf(p, "%d %63[^ |] %3[^ |]%n", &f->num, f->name, f->code, &used) < 3) break;
      p += used;
      if (*p == ' ') {
        sscanf(p + 1, "%95[^|]", ref);
        p += 1 + strlen(ref);
      }
      if (ref[0]) f->msg = find_msg(ref);
      msgs[i].n++;
      if (*p == '|') p++;
    }
  }
}

static const pmsg *message(const char *name)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, load);
  return find_msg(name);
}

typedef struct rd {
  const unsigned char *p, *end;
} rd;

static int varint(rd *r, unsigned long long *out)
{
  unsigned long long v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (r->p >= r->end) return -1;
    unsigned char b = *r->p++;
    v |= (unsigned long long)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* Reads one field header and its payload: varint value, or bytes (ptr/len). */
typedef struct item {
  int num, wire;
  unsigned long long v;
  const unsigned char *data;
  size_t len;
} item;

static int next(rd *r, item *it, drv_err *err)
{
  unsigned long long key;
  if (varint(r, &key) < 0) return drv_error(err, 0, "protobuf: truncated field key");
  it->num = (int)(key >> 3);
  it->wire = (int)(key & 7);
  switch (it->wire) {
  case 0:
    if (varint(r, &it->v) < 0) return drv_error(err, 0, "protobuf: truncated varint (field %d)", it->num);
    return 0;
  case 1:
    if (r->end - r->p < 8) return drv_error(err, 0, "protobuf: truncated fixed64 (field %d)", it->num);
    memcpy(&it->v, r->p, 8);
    r->p += 8;
    return 0;
  case 5: {
    if (r->end - r->p < 4) return drv_error(err, 0, "protobuf: truncated fixed32 (field %d)", it->num);
    unsigned int v32;
    memcpy(&v32, r->p, 4);
    it->v = v32;
    r->p += 4;
    return 0;
  }
  case 2: {
    unsigned long long n;
    if (varint(r, &n) < 0 || n > (unsigned long long)(r->end - r->p))
      return drv_error(err, 0, "protobuf: bad length (field %d)", it->num);
    it->data = r->p;
    it->len = (size_t)n;
    r->p += n;
    return 0;
  }
  default: return drv_error(err, 0, "protobuf: unsupported wire type %d (field %d)", it->wire, it->num);
  }
}

static json_t *decode_msg(const pmsg *m, const unsigned char *p, size_t len, int depth, drv_err *err);

static json_t *base64(const unsigned char *d, size_t n)
{
  char *out = drv_malloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, d, (int)n);
  json_t *s = json_string(out);
  free(out);
  return s;
}

/* Time {seconds, nanos}; NULL for Go's zero time. */
static json_t *time_value(const item *it, drv_err *err)
{
  rd r = {it->data, it->data + it->len};
  long long secs = 0, nanos = 0;
  item f;
  while (r.p < r.end) {
    if (next(&r, &f, err) < 0) return NULL;
    if (f.num == 1 && f.wire == 0) secs = (long long)f.v;
    if (f.num == 2 && f.wire == 0) nanos = (long long)f.v;
  }
  if (secs == -62135596800LL || (secs == 0 && nanos == 0)) return json_null();
  char buf[64];
  if (nanos) drv_api_microtime_format(secs * 1000000 + nanos / 1000, buf, sizeof(buf));
  else drv_api_time_format((time_t)secs, buf, sizeof(buf));
  return json_string(buf);
}

/* The value of one (non-repeated view of a) field; NULL + err on error, json null to drop. */
static json_t *value(const pfield *f, char code, const item *it, int depth, drv_err *err)
{
  switch (code) {
  case 's':
    if (it->wire != 2) break;
    if (it->len == 0) return json_null();
    return json_stringn((const char *)it->data, it->len);
  case 'b':
    if (it->wire != 2) break;
    return base64(it->data, it->len);
  case 'i':
    if (it->wire != 0) break;
    return json_integer((json_int_t)(long long)it->v);
  case 'B':
    if (it->wire != 0) break;
    return json_boolean(it->v != 0);
  case 'd': {
    if (it->wire != 1) break;
    double d;
    memcpy(&d, &it->v, 8);
    return json_real(d);
  }
  case 'm':
    if (it->wire != 2 || !f->msg) break;
    return decode_msg(f->msg, it->data, it->len, depth + 1, err);
  case 'T': {
    if (it->wire != 2) break;
    json_t *t = time_value(it, err);
    return t;
  }
  case 'Q': {
    if (it->wire != 2) break;
    rd r = {it->data, it->data + it->len};
    item q;
    json_t *s = json_null();
    while (r.p < r.end) {
      if (next(&r, &q, err) < 0) {
        json_decref(s);
        return NULL;
      }
      if (q.num == 1 && q.wire == 2) {
        json_decref(s);
        s = json_stringn((const char *)q.data, q.len);
      }
    }
    return s;
  }
  case 'I': {
    if (it->wire != 2) break;
    rd r = {it->data, it->data + it->len};
    item q;
    long long type = 0, iv = 0;
    json_t *sv = NULL;
    while (r.p < r.end) {
      if (next(&r, &q, err) < 0) {
        json_decref(sv);
        return NULL;
      }
      if (q.num == 1 && q.wire == 0) type = (long long)q.v;
      if (q.num == 2 && q.wire == 0) iv = (long long)(int)q.v;
      if (q.num == 3 && q.wire == 2) {
        json_decref(sv);
        sv = json_stringn((const char *)q.data, q.len);
      }
    }
    if (type == 1) return sv ? sv : json_string("");
    json_decref(sv);
    return json_integer(iv);
  }
  case 'R': {
    if (it->wire != 2) break;
    rd r = {it->data, it->data + it->len};
    item q;
    while (r.p < r.end) {
      if (next(&r, &q, err) < 0) return NULL;
      if (q.num == 1 && q.wire == 2) return drv_json_parse((const char *)q.data, q.len, err);
    }
    return json_null();
  }
  case 'D': {
    if (it->wire != 2) break;
    rd r = {it->data, it->data + it->len};
    item q;
    long long ns = 0;
    while (r.p < r.end) {
      if (next(&r, &q, err) < 0) return NULL;
      if (q.num == 1 && q.wire == 0) ns = (long long)q.v;
    }
    char buf[64];
    long long s = ns / 1000000000LL;
    if (s >= 3600) snprintf(buf, sizeof(buf), "%lldh%lldm%llds", s / 3600, s / 60 % 60, s % 60);
    else if (s >= 60) snprintf(buf, sizeof(buf), "%lldm%llds", s / 60, s % 60);
    else snprintf(buf, sizeof(buf), "%llds", s);
    return json_string(buf);
  }
  }
  drv_error(err, 0, "protobuf: field %s (%d) has wire type %d, not what its type needs", f->name, f->num, it->wire);
  return NULL;
}

/* A map entry {1: key, 2: value}. */
static int map_entry(json_t *obj, const pfield *f, const item *it, int depth, drv_err *err)
{
  if (it->wire != 2) return drv_error(err, 0, "protobuf: map field %s is not length-delimited", f->name);
  rd r = {it->data, it->data + it->len};
  item e, val = {0};
  char *key = NULL;
  bool have = false;
  while (r.p < r.end) {
    if (next(&r, &e, err) < 0) {
      free(key);
      return -1;
    }
    if (e.num == 1 && e.wire == 2) {
      free(key);
      key = drv_strndup((const char *)e.data, e.len);
    } else if (e.num == 2) {
      val = e;
      have = true;
    }
  }
  if (!key) key = drv_strdup("");
  char vc = f->code[1];
  json_t *v;
  if (!have) v = vc == 's' ? json_string("") : vc == 'i' ? json_integer(0) : json_object();
  else if (vc == 's' && val.wire == 2) v = json_stringn((const char *)val.data, val.len);
  else v = value(f, vc, &val, depth, err);
  if (!v) {
    free(key);
    return -1;
  }
  if (json_is_null(v) && vc == 'Q') v = json_string("0");
  json_object_set_new(obj, key, v);
  free(key);
  return 0;
}

static const pfield *field_of(const pmsg *m, int num)
{
  for (size_t i = 0; i < m->n; i++)
    if (m->fields[i].num == num) return &m->fields[i];
  return NULL;
}

static json_t *decode_msg(const pmsg *m, const unsigned char *p, size_t len, int depth, drv_err *err)
{
  if (depth > 64) {
    drv_error(err, 0, "protobuf: message nesting too deep");
    return NULL;
  }
  json_t *obj = json_object();
  rd r = {p, p + len};
  item it;
  while (r.p < r.end) {
    if (next(&r, &it, err) < 0) goto fail;
    const pfield *f = field_of(m, it.num);
    if (!f) continue; /* unknown fields are skipped, as protobuf readers do */
    if (f->code[0] == 'M' || f->code[0] == 'K') {
      json_t *map = json_object_get(obj, f->name);
      if (!map) {
        map = json_object();
        json_object_set_new(obj, f->name, map);
      }
      if (map_entry(map, f, &it, depth, err) < 0) goto fail;
      continue;
    }
    if (f->code[0] == '*') {
      json_t *arr = json_object_get(obj, f->name);
      if (!arr) {
        arr = json_array();
        json_object_set_new(obj, f->name, arr);
      }
      char c = f->code[1];
      if (it.wire == 2 && (c == 'i' || c == 'B' || c == 'd')) {
        /* packed scalars */
        rd pr = {it.data, it.data + it.len};
        while (pr.p < pr.end) {
          unsigned long long v;
          if (c == 'd') {
            if (pr.end - pr.p < 8) goto truncated;
            double d;
            memcpy(&d, pr.p, 8);
            pr.p += 8;
            json_array_append_new(arr, json_real(d));
            continue;
          }
          if (varint(&pr, &v) < 0) goto truncated;
          json_array_append_new(arr, c == 'B' ? json_boolean(v != 0) : json_integer((json_int_t)(long long)v));
        }
        continue;
      }
      json_t *v = c == 's' && it.wire == 2 ? json_stringn((const char *)it.data, it.len) : value(f, c, &it, depth, err);
      if (!v) goto fail;
      json_array_append_new(arr, v);
      continue;
    }
    json_t *v = value(f, f->code[0], &it, depth, err);
    if (!v) goto fail;
    if (json_is_null(v)) {
      json_decref(v);
      json_object_del(obj, f->name);
    } else {
      json_object_set_new(obj, f->name, v);
    }
  }
  return obj;
truncated:
  drv_error(err, 0, "protobuf: truncated packed field");
fail:
  json_decref(obj);
  return NULL;
}

bool drv_api_is_protobuf(const char *ct)
{
  if (!ct) return false;
  size_t n = strcspn(ct, ";");
  while (n && ct[n - 1] == ' ') n--;
  return n == strlen(DRV_API_PROTOBUF_CT) && !strncasecmp(ct, DRV_API_PROTOBUF_CT, n);
}

/* "apps/v1" → "apps"; the table's package prefix of a group version. */
static const char *prefix_of(const char *api_version)
{
  static const struct {
    const char *gv, *pfx;
  } map[] = {{"v1", "core"},
             {"apps/v1", "apps"},
             {"autoscaling/v1", "asv1"},
             {"autoscaling/v2", "asv2"},
             {"coordination.k8s.io/v1", "coord"},
             {"discovery.k8s.io/v1", "disc"},
             {"events.k8s.io/v1", "events"},
             {"meta.k8s.io/v1", "meta"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (!strcmp(map[i].gv, api_version)) return map[i].pfx;
  return NULL;
}

json_t *drv_api_protobuf_decode(const void *buf, size_t len, drv_err *err)
{
  const unsigned char *p = buf;
  if (len < 4 || memcmp(p, "k8s\0", 4) != 0) {
    drv_error(err, 0, "protobuf: missing the \"k8s\\0\" envelope prefix");
    return NULL;
  }
  rd r = {p + 4, p + len};
  item it;
  char *api_version = NULL, *kind = NULL;
  const unsigned char *raw = NULL;
  size_t raw_len = 0;
  json_t *out = NULL;
  while (r.p < r.end) {
    if (next(&r, &it, err) < 0) goto done;
    if (it.num == 1 && it.wire == 2) {
      rd tr = {it.data, it.data + it.len};
      item t;
      while (tr.p < tr.end) {
        if (next(&tr, &t, err) < 0) goto done;
        if (t.num == 1 && t.wire == 2) {
          free(api_version);
          api_version = drv_strndup((const char *)t.data, t.len);
        } else if (t.num == 2 && t.wire == 2) {
          free(kind);
          kind = drv_strndup((const char *)t.data, t.len);
        }
      }
    } else if (it.num == 2 && it.wire == 2) {
      raw = it.data;
      raw_len = it.len;
    } else if (it.num == 3 && it.wire == 2 && it.len) {
      drv_error(err, 0, "protobuf: content encoding \"%.*s\" is not supported", (int)it.len, it.data);
      goto done;
    }
  }
  if (!api_version || !kind) {
    drv_error(err, 0, "protobuf: the envelope has no apiVersion/kind");
    goto done;
  }
  const char *pfx = prefix_of(api_version);
  char name[160];
  snprintf(name, sizeof(name), "%s.%s", pfx ? pfx : "", kind);
  const pmsg *m = pfx ? message(name) : NULL;
  if (!m) {
    drv_error(err, 0, "protobuf: no kind \"%s\" is registered for version \"%s\"", kind, api_version);
    goto done;
  }
  json_t *body = decode_msg(m, raw ? raw : (const unsigned char *)"", raw_len, 0, err);
  if (!body) goto done;
  out = json_pack("{s:s, s:s}", "apiVersion", api_version, "kind", kind);
  json_object_update(out, body);
  json_decref(body);
done:
  free(api_version);
  free(kind);
  return out;
}
