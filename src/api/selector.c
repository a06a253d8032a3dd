/* Label and field selectors (see selector.h), parsed as Kubernetes' labels.Parse and
 * fields.ParseSelector read them. */
#include "api/selector.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

typedef enum { OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS, OP_GT, OP_LT } op_t;

typedef struct req {
  char *key;
  op_t op;
  char **values; /* sorted, NULL-terminated */
  size_t nvalues;
} req;

struct drv_label_selector {
  req *reqs;
  size_t n;
  bool nothing; /* selects nothing (an empty service selector) */
};

static void req_free(req *r)
{
  free(r->key);
  for (size_t i = 0; i < r->nvalues; i++) free(r->values[i]);
  free(r->values);
}

void drv_label_selector_free(drv_label_selector *sel)
{
  if (!sel) return;
  for (size_t i = 0; i < sel->n; i++) req_free(&sel->reqs[i]);
  free(sel->reqs);
  free(sel);
}

void drv_label_selector_freep(drv_label_selector **sel) { drv_label_selector_free(*sel); }

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_req(const void *a, const void *b)
{
  const req *x = a, *y = b;
  return strcmp(x->key, y->key);
}

static void add_value(req *r, const char *v, size_t n)
{
  for (size_t i = 0; i < r->nvalues; i++)
    if (strlen(r->values[i]) == n && strncmp(r->values[i], v, n) == 0) return;
  r->values = drv_realloc(r->values, sizeof(char *) * (r->nvalues + 2));
  r->values[r->nvalues++] = drv_strndup(v, n);
  r->values[r->nvalues] = NULL;
}

static req *add_req(drv_label_selector *sel, const char *key, size_t keylen, op_t op)
{
  sel->reqs = drv_realloc(sel->reqs, sizeof(req) * (sel->n + 1));
  req *r = &sel->reqs[sel->n++];
  memset(r, 0, sizeof(*r));
  r->key = drv_strndup(key, keylen);
  r->op = op;
  return r;
}

static void finish(drv_label_selector *sel)
{
  for (size_t i = 0; i < sel->n; i++)
    if (sel->reqs[i].nvalues > 1) qsort(sel->reqs[i].values, sel->reqs[i].nvalues, sizeof(char *), cmp_str);
  if (sel->n > 1) qsort(sel->reqs, sel->n, sizeof(req), cmp_req);
}

static bool ident_char(char c)
{
  return c && !isspace((unsigned char)c) && !strchr("=!(),<>", c);
}

static const char *skip_ws(const char *p)
{
  while (isspace((unsigned char)*p)) p++;
  return p;
}

static int check_key(const char *k, size_t n, drv_err *err)
{
  char *key = drv_strndup(k, n);
  const char *why = drv_api_check_label_key(key);
  int r = 0;
  if (why) r = drv_error(err, 0, "unable to parse requirement: key: Invalid value: \"%s\": %s", key, why);
  free(key);
  return r;
}

static int check_value(const char *v, size_t n, drv_err *err)
{
  char *val = drv_strndup(v, n);
  const char *why = drv_api_check_label_value(val);
  int r = 0;
  if (why) r = drv_error(err, 0, "unable to parse requirement: values[0]: Invalid value: \"%s\": %s", val, why);
  free(val);
  return r;
}

drv_label_selector *drv_label_selector_parse(const char *s, drv_err *err)
{
  drv_label_selector *sel = drv_calloc(1, sizeof(*sel));
  if (!s) return sel;
  const char *p = skip_ws(s);
  if (!*p) return sel;
  for (;;) {
    p = skip_ws(p);
    bool bang = false;
    if (*p == '!') {
      bang = true;
      p = skip_ws(p + 1);
    }
    const char *k = p;
    while (ident_char(*p)) p++;
    size_t kl = (size_t)(p - k);
    if (kl == 0) {
      drv_error(err, 0, "found '%s', expected: !, identifier, or 'end of string'", *p ? p : "end of string");
      goto fail;
    }
    /* "in"/"notin" read as identifiers; a key followed by them is a set requirement. */
    if (check_key(k, kl, err) < 0) goto fail;
    p = skip_ws(p);
    if (bang) {
      add_req(sel, k, kl, OP_NOTEXISTS);
    } else if (!*p || *p == ',') {
      add_req(sel, k, kl, OP_EXISTS);
    } else if (*p == '=' || (*p == '!' && p[1] == '=') || *p == '>' || *p == '<') {
      op_t op = *p == '!' ? OP_NE : *p == '>' ? OP_GT : *p == '<' ? OP_LT : OP_EQ;
      p += (*p == '!' || (p[0] == '=' && p[1] == '=')) ? 2 : 1;
      p = skip_ws(p);
      const char *v = p;
      while (ident_char(*p)) p++;
      size_t vl = (size_t)(p - v);
      if (op == OP_GT || op == OP_LT) {
        char *num = drv_strndup(v, vl), *end;
        strtoll(num, &end, 10);
        bool ok = vl && !*end;
        free(num);
        if (!ok) {
          drv_error(err, 0, "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer");
          goto fail;
        }
      } else if (check_value(v, vl, err) < 0) {
        goto fail;
      }
      req *r = add_req(sel, k, kl, op);
      add_value(r, v, vl);
    } else if ((strncmp(p, "in", 2) == 0 && !ident_char(p[2])) ||
               (strncmp(p, "notin", 5) == 0 && !ident_char(p[5]))) {
      op_t op = p[0] == 'i' ? OP_IN : OP_NOTIN;
      p = skip_ws(p + (op == OP_IN ? 2 : 5));
      if (*p != '(') {
        drv_error(err, 0, "found '%s', expected: '('", *p ? p : "end of string");
        goto fail;
      }
      req *r = add_req(sel, k, kl, op);
      p++;
      for (;;) {
        p = skip_ws(p);
        const char *v = p;
        while (ident_char(*p)) p++;
        size_t vl = (size_t)(p - v);
        if (check_value(v, vl, err) < 0) goto fail;
        add_value(r, v, vl);
        p = skip_ws(p);
        if (*p == ',') {
          p++;
          continue;
        }
        if (*p == ')') {
          p++;
          break;
        }
        drv_error(err, 0, "found '%s', expected: ',', or ')'", *p ? p : "end of string");
        goto fail;
      }
    } else {
      drv_error(err, 0, "found '%s', expected: in, notin, =, ==, !=, gt, lt", p);
      goto fail;
    }
    p = skip_ws(p);
    if (!*p) break;
    if (*p != ',') {
      drv_error(err, 0, "found '%s', expected: ',' or 'end of string'", p);
      goto fail;
    }
    p++;
  }
  finish(sel);
  return sel;
fail:
  drv_err_prefix(err, "couldn't parse the selector string \"%s\"", s);
  drv_label_selector_free(sel);
  return NULL;
}

drv_label_selector *drv_label_selector_from_json(const json_t *js, drv_err *err)
{
  drv_label_selector *sel = drv_calloc(1, sizeof(*sel));
  if (!js || json_is_null(js)) return sel;
  if (!json_is_object(js)) {
    drv_error(err, 0, "label selector must be an object");
    goto fail;
  }
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(js, "matchLabels"), k, v)
  {
    if (!json_is_string(v)) {
      drv_error(err, 0, "matchLabels[%s] must be a string", k);
      goto fail;
    }
    req *r = add_req(sel, k, strlen(k), OP_EQ);
    add_value(r, json_string_value(v), json_string_length(v));
  }
  size_t i;
  json_array_foreach(json_object_get(js, "matchExpressions"), i, v)
  {
    const char *key = json_string_value(json_object_get(v, "key"));
    const char *op = json_string_value(json_object_get(v, "operator"));
    json_t *vals = json_object_get(v, "values");
    if (!key || !op) {
      drv_error(err, 0, "matchExpressions[%zu]: key and operator are required", i);
      goto fail;
    }
    op_t o;
    if (strcmp(op, "In") == 0) o = OP_IN;
    else if (strcmp(op, "NotIn") == 0) o = OP_NOTIN;
    else if (strcmp(op, "Exists") == 0) o = OP_EXISTS;
    else if (strcmp(op, "DoesNotExist") == 0) o = OP_NOTEXISTS;
    else {
      drv_error(err, 0, "\"%s\" is not a valid label selector operator", op);
      goto fail;
    }
    if ((o == OP_IN || o == OP_NOTIN) && json_array_size(vals) == 0) {
      drv_error(err, 0, "for 'in', 'notin' operators, values set can't be empty");
      goto fail;
    }
    if ((o == OP_EXISTS || o == OP_NOTEXISTS) && json_array_size(vals) > 0) {
      drv_error(err, 0, "values set must be empty for exists and does not exist");
      goto fail;
    }
    req *r = add_req(sel, key, strlen(key), o);
    size_t j;
    json_t *s;
    json_array_foreach(vals, j, s)
    {
      if (!json_is_string(s)) {
        drv_error(err, 0, "matchExpressions[%zu].values[%zu] must be a string", i, j);
        goto fail;
      }
      add_value(r, json_string_value(s), json_string_length(s));
    }
  }
  finish(sel);
  return sel;
fail:
  drv_label_selector_free(sel);
  return NULL;
}

drv_label_selector *drv_label_selector_from_map(const json_t *map, bool nothing_if_empty)
{
  drv_label_selector *sel = drv_calloc(1, sizeof(*sel));
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)map, k, v)
  {
    if (!json_is_string(v)) continue;
    req *r = add_req(sel, k, strlen(k), OP_EQ);
    add_value(r, json_string_value(v), json_string_length(v));
  }
  if (sel->n == 0 && nothing_if_empty) sel->nothing = true;
  finish(sel);
  return sel;
}

static bool has_value(const req *r, const char *v)
{
  for (size_t i = 0; i < r->nvalues; i++)
    if (strcmp(r->values[i], v) == 0) return true;
  return false;
}

bool drv_label_selector_matches(const drv_label_selector *sel, const json_t *labels)
{
  if (sel->nothing) return false;
  for (size_t i = 0; i < sel->n; i++) {
    const req *r = &sel->reqs[i];
    const char *v = json_string_value(json_object_get(labels, r->key));
    switch (r->op) {
    case OP_EQ:
    case OP_IN:
      if (!v || !has_value(r, v)) return false;
      break;
    case OP_NE:
    case OP_NOTIN:
      if (v && has_value(r, v)) return false;
      break;
    case OP_EXISTS:
      if (!v) return false;
      break;
    case OP_NOTEXISTS:
      if (v) return false;
      break;
    case OP_GT:
    case OP_LT: {
      if (!v) return false;
      char *end;
      long long have = strtoll(v, &end, 10);
      if (*end || !*v) return false;
      long long want = strtoll(r->values[0], NULL, 10);
      if (r->op == OP_GT ? !(have > want) : !(have < want)) return false;
      break;
    }
    }
  }
  return true;
}

bool drv_label_selector_empty(const drv_label_selector *sel) { return sel->n == 0 && !sel->nothing; }

const char *drv_label_selector_equals(const drv_label_selector *sel, const char *key)
{
  for (size_t i = 0; i < sel->n; i++) {
    const req *r = &sel->reqs[i];
    if (strcmp(r->key, key) == 0 && (r->op == OP_EQ || r->op == OP_IN) && r->nvalues == 1)
      return r->values[0];
  }
  return NULL;
}

char *drv_label_selector_string(const drv_label_selector *sel)
{
  drv_buf b = DRV_BUF_INIT;
  for (size_t i = 0; i < sel->n; i++) {
    const req *r = &sel->reqs[i];
    if (i) drv_buf_putc(&b, ',');
    switch (r->op) {
    case OP_EQ: drv_buf_printf(&b, "%s=%s", r->key, r->values[0]); break;
    case OP_NE: drv_buf_printf(&b, "%s!=%s", r->key, r->values[0]); break;
    case OP_GT: drv_buf_printf(&b, "%s>%s", r->key, r->values[0]); break;
    case OP_LT: drv_buf_printf(&b, "%s<%s", r->key, r->values[0]); break;
    case OP_EXISTS: drv_buf_puts(&b, r->key); break;
    case OP_NOTEXISTS: drv_buf_printf(&b, "!%s", r->key); break;
    case OP_IN:
    case OP_NOTIN:
      drv_buf_printf(&b, "%s %s (", r->key, r->op == OP_IN ? "in" : "notin");
      for (size_t j = 0; j < r->nvalues; j++) drv_buf_printf(&b, "%s%s", j ? "," : "", r->values[j]);
      drv_buf_putc(&b, ')');
      break;
    }
  }
  return drv_buf_steal(&b);
}

char *drv_label_selector_json_to_string(const json_t *js)
{
  drv_err err;
  drv_label_selector *sel = drv_label_selector_from_json(js, &err);
  if (!sel) return NULL;
  char *s = drv_label_selector_string(sel);
  drv_label_selector_free(sel);
  return s;
}

/* ---- field selectors ---- */

typedef struct freq {
  char *field;
  char *value;
  bool neg;
} freq;

struct drv_field_selector {
  freq *reqs;
  size_t n;
  const drv_api_resource *res;
};

void drv_field_selector_free(drv_field_selector *sel)
{
  if (!sel) return;
  for (size_t i = 0; i < sel->n; i++) {
    free(sel->reqs[i].field);
    free(sel->reqs[i].value);
  }
  free(sel->reqs);
  free(sel);
}

void drv_field_selector_freep(drv_field_selector **sel) { drv_field_selector_free(*sel); }

static const char *const pod_fields[] = {"spec.nodeName", "spec.restartPolicy",
                                         "spec.schedulerName", "spec.serviceAccountName",
                                         "spec.hostNetwork", "status.phase", "status.podIP",
                                         "status.podIPs", "status.nominatedNodeName", NULL};
static const char *const event_fields[] = {
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
    /* events.k8s.io/v1 names of the same fields */
    "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
    "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
    "reportingController", NULL};
static const char *const node_fields[] = {"spec.unschedulable", NULL};
static const char *const ns_fields[] = {"status.phase", NULL};
static const char *const secret_fields[] = {"type", NULL};
static const char *const rs_fields[] = {"status.replicas", NULL};

static const char *const *fields_for(const drv_api_resource *res)
{
  if (!strcmp(res->kind, "Pod") && !res->group[0]) return pod_fields;
  if (!strcmp(res->kind, "Event")) return event_fields;
  if (!strcmp(res->kind, "Node")) return node_fields;
  if (!strcmp(res->kind, "Namespace")) return ns_fields;
  if (!strcmp(res->kind, "Secret")) return secret_fields;
  if (!strcmp(res->kind, "ReplicaSet")) return rs_fields;
  return NULL;
}

static bool field_supported(const drv_api_resource *res, const char *f)
{
  if (!res || !strcmp(f, "metadata.name") || !strcmp(f, "metadata.namespace")) return true;
  const char *const *l = fields_for(res);
  for (; l && *l; l++)
    if (!strcmp(*l, f)) return true;
  return false;
}

/* Reads up to an unescaped stop character, undoing `\` escapes. */
static char *read_escaped(const char **pp, const char *stops)
{
  drv_buf b = DRV_BUF_INIT;
  const char *p = *pp;
  drv_buf_puts(&b, "");
  while (*p && !strchr(stops, *p)) {
    if (*p == '\\' && p[1]) p++;
    drv_buf_putc(&b, *p++);
  }
  *pp = p;
  return drv_buf_steal(&b);
}

/* A value up to the next unescaped ',': as Kubernetes, only \\, \, and \= are escapes and an
 * unescaped '=' is an error. */
static char *read_value(const char **pp, drv_err *err)
{
  drv_buf b = DRV_BUF_INIT;
  const char *p = *pp;
  drv_buf_puts(&b, "");
  for (; *p && *p != ','; p++) {
    if (*p == '=') {
      drv_buf_free(&b);
      drv_error(err, 0, "invalid field selector: unescaped character in value: =");
      return NULL;
    }
    if (*p == '\\') {
      if (!p[1] || !strchr("\\,=", p[1])) {
        drv_buf_free(&b);
        drv_error(err, 0, "invalid field selector: invalid escape sequence: \\%.1s", p + 1);
        return NULL;
      }
      p++;
    }
    drv_buf_putc(&b, *p);
  }
  *pp = p;
  return drv_buf_steal(&b);
}

drv_field_selector *drv_field_selector_parse(const drv_api_resource *res, const char *s,
                                             drv_err *err)
{
  drv_field_selector *sel = drv_calloc(1, sizeof(*sel));
  sel->res = res;
  if (!s) return sel;
  const char *p = s;
  while (*p) {
    _cleanup_free_ char *field = read_escaped(&p, "=!,");
    /* trim spaces around the field name */
    char *f = field;
    while (isspace((unsigned char)*f)) f++;
    char *e = f + strlen(f);
    while (e > f && isspace((unsigned char)e[-1])) *--e = '\0';
    if (!*p || *p == ',') {
      if (!*f && !*p) break;
      drv_error(err, 0, "invalid selector: '%s'; can't understand '%s'", s, f);
      goto fail;
    }
    bool neg = false;
    if (*p == '!') {
      if (p[1] != '=') {
        drv_error(err, 0, "invalid selector: '%s'; can't understand '%s'", s, f);
        goto fail;
      }
      neg = true;
      p += 2;
    } else {
      p += (p[1] == '=') ? 2 : 1;
    }
    char *value = read_value(&p, err);
    if (!value) goto fail;
    if (!*f) {
      free(value);
      drv_error(err, 0, "invalid selector: '%s'; empty field name", s);
      goto fail;
    }
    if (!field_supported(res, f)) {
      free(value);
      drv_error(err, 0, "field label not supported: %s", f);
      goto fail;
    }
    sel->reqs = drv_realloc(sel->reqs, sizeof(freq) * (sel->n + 1));
    sel->reqs[sel->n++] = (freq){drv_strdup(f), value, neg};
    if (*p == ',') p++;
  }
  return sel;
fail:
  drv_field_selector_free(sel);
  return NULL;
}

/* A field's value as the selector compares it: strings as they are, numbers and booleans in
 * their text form, missing as "". */
static char *field_value(const json_t *obj, const char *field)
{
  json_t *v;
  if (!strcmp(field, "source")) v = drv_json_get(obj, "source.component");
  else if (!strcmp(field, "status.podIPs")) {
    v = json_object_get(json_array_get(drv_json_get(obj, "status.podIPs"), 0), "ip");
  } else v = drv_json_get(obj, field);
  if (!v) {
    /* events.k8s.io names for core fields and back */
    if (!strncmp(field, "regarding.", 10)) {
      char alt[128];
      snprintf(alt, sizeof(alt), "involvedObject.%s", field + 10);
      v = drv_json_get(obj, alt);
    } else if (!strcmp(field, "reportingController")) {
      v = drv_json_get(obj, "reportingComponent");
    } else if (!strcmp(field, "reportingComponent")) {
      v = drv_json_get(obj, "reportingController");
    } else if (!strncmp(field, "involvedObject.", 15)) {
      char alt[128];
      snprintf(alt, sizeof(alt), "regarding.%s", field + 15);
      v = drv_json_get(obj, alt);
    }
  }
  if (json_is_string(v)) return drv_strdup(json_string_value(v));
  if (json_is_true(v)) return drv_strdup("true");
  if (json_is_false(v)) return drv_strdup("false");
  if (json_is_integer(v)) return drv_asprintf("%lld", (long long)json_integer_value(v));
  if (!v && !strcmp(field, "spec.unschedulable")) return drv_strdup("false");
  if (!v && !strcmp(field, "spec.hostNetwork")) return drv_strdup("false");
  return drv_strdup("");
}

bool drv_field_selector_matches(const drv_field_selector *sel, const json_t *obj)
{
  for (size_t i = 0; i < sel->n; i++) {
    _cleanup_free_ char *v = field_value(obj, sel->reqs[i].field);
    bool eq = strcmp(v, sel->reqs[i].value) == 0;
    if (eq == sel->reqs[i].neg) return false;
  }
  return true;
}

bool drv_field_selector_empty(const drv_field_selector *sel) { return sel->n == 0; }

const char *drv_field_selector_equals(const drv_field_selector *sel, const char *field)
{
  for (size_t i = 0; i < sel->n; i++)
    if (!sel->reqs[i].neg && strcmp(sel->reqs[i].field, field) == 0) return sel->reqs[i].value;
  return NULL;
}
