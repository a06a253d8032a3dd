/* RBAC authorizer (authz.h): compiled policy, swapped under a read-write lock by the watcher
 * thread that follows rbac.authorization.k8s.io objects in the store. */
#include "server/authz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/selector.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define RBAC_PREFIX "/rbac.authorization.k8s.io/"
#define WATCH_TICK_MS 100

typedef struct crule {
  char **verbs, **groups, **resources, **names, **urls; /* NULL-terminated */
} crule;

typedef struct crole {
  char *kind;   /* Role or ClusterRole */
  char *ns;     /* "" for ClusterRoles */
  char *name;
  crule *rules;
  size_t n;
} crole;

typedef struct cbinding {
  char *kind;   /* RoleBinding or ClusterRoleBinding */
  char *ns;     /* "" for ClusterRoleBindings: everywhere */
  char *name;
  char **users, **groups; /* service accounts as their user names */
  const crole *role;      /* NULL when the referenced role does not exist */
  char *role_kind, *role_name;
} cbinding;

/* A subject ("u" + user name or "g" + group name) of a binding, for finding an identity's
 * bindings by binary search instead of walking all of them. */
typedef struct sref {
  char *key;
  size_t binding;
} sref;

typedef struct policy {
  crole *roles;
  size_t nroles;
  cbinding *bindings;
  size_t nbindings;
  sref *subs; /* sorted by key */
  size_t nsubs;
} policy;

struct drv_authz {
  drv_store *st;
  pthread_rwlock_t lock; /* guards pol */
  policy *pol;
  pthread_mutex_t mu;    /* guards progress, stop */
  pthread_cond_t cond;
  uint64_t progress;     /* store revision the compiled policy reflects */
  bool stop;
  pthread_t thread;
  bool started;
};

/* ---- compiling ---- */

static char **strv_of(const json_t *arr)
{
  size_t n = json_array_size(arr), k = 0;
  char **v = drv_calloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    if (s) v[k++] = drv_strdup(s);
  }
  return v;
}

static void rule_free(crule *r)
{
  drv_strv_free(r->verbs);
  drv_strv_free(r->groups);
  drv_strv_free(r->resources);
  drv_strv_free(r->names);
  drv_strv_free(r->urls);
}

static void policy_free(policy *p)
{
  if (!p) return;
  for (size_t i = 0; i < p->nroles; i++) {
    crole *r = &p->roles[i];
    for (size_t j = 0; j < r->n; j++) rule_free(&r->rules[j]);
    free(r->rules);
    free(r->kind);
    free(r->ns);
    free(r->name);
  }
  for (size_t i = 0; i < p->nbindings; i++) {
    cbinding *b = &p->bindings[i];
    free(b->kind);
    free(b->ns);
    free(b->name);
    drv_strv_free(b->users);
    drv_strv_free(b->groups);
    free(b->role_kind);
    free(b->role_name);
  }
  for (size_t i = 0; i < p->nsubs; i++) free(p->subs[i].key);
  free(p->subs);
  free(p->roles);
  free(p->bindings);
  free(p);
}

static bool has_rule(const json_t *rules, const json_t *r)
{
  size_t i;
  json_t *x;
  json_array_foreach(rules, i, x) if (json_equal(x, r)) return true;
  return false;
}

/* The rules of every ClusterRole after aggregation: a ClusterRole with an aggregationRule also
 * gets the rules of the ClusterRoles its selectors match, to a fixpoint (view → edit → admin). */
static json_t *effective_rules(json_t *const *objs, size_t n)
{
  json_t *eff = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *rules = json_array();
    size_t j;
    json_t *r;
    json_array_foreach(json_object_get(objs[i], "rules"), j, r)
        if (json_is_object(r) && !has_rule(rules, r)) json_array_append(rules, r);
    json_array_append_new(eff, rules);
  }
  for (int round = 0; round < 5; round++) {
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
      const char *kind = json_string_value(json_object_get(objs[i], "kind"));
      json_t *sels = drv_json_get(objs[i], "aggregationRule.clusterRoleSelectors");
      if (!kind || strcmp(kind, "ClusterRole") || !json_array_size(sels)) continue;
      size_t s;
      json_t *sel;
      json_array_foreach(sels, s, sel)
      {
        drv_err err;
        drv_label_selector *ls = drv_label_selector_from_json(sel, &err);
        if (!ls) continue;
        for (size_t k = 0; k < n; k++) {
          const char *kk = json_string_value(json_object_get(objs[k], "kind"));
          if (k == i || !kk || strcmp(kk, "ClusterRole")) continue;
          if (!drv_label_selector_matches(ls, drv_json_get(objs[k], "metadata.labels"))) continue;
          size_t j;
          json_t *r;
          json_array_foreach(json_array_get(eff, k), j, r)
          {
            if (has_rule(json_array_get(eff, i), r)) continue;
            json_array_append(json_array_get(eff, i), r);
            changed = true;
          }
        }
        drv_label_selector_free(ls);
      }
    }
    if (!changed) break;
  }
  return eff;
}

static const crole *find_role(const policy *p, const char *kind, const char *ns, const char *name)
{
  for (size_t i = 0; i < p->nroles; i++) {
    const crole *r = &p->roles[i];
    if (!strcmp(r->kind, kind) && !strcmp(r->name, name) && (!strcmp(kind, "ClusterRole") || !strcmp(r->ns, ns)))
      return r;
  }
  return NULL;
}

static int sref_cmp(const void *a, const void *b)
{
  const sref *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : (x->binding > y->binding) - (x->binding < y->binding);
}

/* objs: every stored RBAC object. */
static policy *compile(json_t *const *objs, size_t n)
{
  policy *p = drv_calloc(1, sizeof *p);
  p->roles = drv_calloc(n ? n : 1, sizeof *p->roles);
  p->bindings = drv_calloc(n ? n : 1, sizeof *p->bindings);
  json_t *eff = effective_rules(objs, n);
  for (size_t i = 0; i < n; i++) {
    const char *kind = json_string_value(json_object_get(objs[i], "kind"));
    const char *name = drv_json_get_str(objs[i], "metadata.name");
    const char *ns = drv_json_get_str(objs[i], "metadata.namespace");
    if (!kind || !name || (strcmp(kind, "Role") && strcmp(kind, "ClusterRole"))) continue;
    crole *r = &p->roles[p->nroles++];
    r->kind = drv_strdup(kind);
    r->ns = drv_strdup(!strcmp(kind, "Role") && ns ? ns : "");
    r->name = drv_strdup(name);
    json_t *rules = json_array_get(eff, i);
    r->rules = drv_calloc(json_array_size(rules) + 1, sizeof *r->rules);
    size_t j;
    json_t *x;
    json_array_foreach(rules, j, x)
    {
      crule *c = &r->rules[r->n++];
      c->verbs = strv_of(json_object_get(x, "verbs"));
      c->groups = strv_of(json_object_get(x, "apiGroups"));
      c->resources = strv_of(json_object_get(x, "resources"));
      c->names = strv_of(json_object_get(x, "resourceNames"));
      c->urls = strv_of(json_object_get(x, "nonResourceURLs"));
    }
  }
  json_decref(eff);
  for (size_t i = 0; i < n; i++) {
    const char *kind = json_string_value(json_object_get(objs[i], "kind"));
    const char *name = drv_json_get_str(objs[i], "metadata.name");
    const char *ns = drv_json_get_str(objs[i], "metadata.namespace");
    if (!kind || !name || (strcmp(kind, "RoleBinding") && strcmp(kind, "ClusterRoleBinding"))) continue;
    bool cluster = !strcmp(kind, "ClusterRoleBinding");
    cbinding *b = &p->bindings[p->nbindings++];
    b->kind = drv_strdup(kind);
    b->ns = drv_strdup(!cluster && ns ? ns : "");
    b->name = drv_strdup(name);
    b->role_kind = drv_strdup(drv_json_get_str(objs[i], "roleRef.kind") ?: "");
    b->role_name = drv_strdup(drv_json_get_str(objs[i], "roleRef.name") ?: "");
    b->role = find_role(p, b->role_kind, b->ns, b->role_name);
    json_t *subs = json_object_get(objs[i], "subjects");
    b->users = drv_calloc(json_array_size(subs) + 1, sizeof(char *));
    b->groups = drv_calloc(json_array_size(subs) + 1, sizeof(char *));
    size_t nu = 0, ng = 0, j;
    json_t *s;
    json_array_foreach(subs, j, s)
    {
      const char *sk = json_string_value(json_object_get(s, "kind"));
      const char *sn = json_string_value(json_object_get(s, "name"));
      if (!sk || !sn) continue;
      if (!strcmp(sk, "User")) b->users[nu++] = drv_strdup(sn);
      else if (!strcmp(sk, "Group")) b->groups[ng++] = drv_strdup(sn);
      else if (!strcmp(sk, "ServiceAccount")) {
        const char *sns = json_string_value(json_object_get(s, "namespace"));
        b->users[nu++] = drv_asprintf("system:serviceaccount:%s:%s", sns && *sns ? sns : b->ns, sn);
      }
    }
  }
  size_t cap = 0;
  for (size_t i = 0; i < p->nbindings; i++)
    cap += drv_strv_len(p->bindings[i].users) + drv_strv_len(p->bindings[i].groups);
  p->subs = drv_calloc(cap ? cap : 1, sizeof *p->subs);
  for (size_t i = 0; i < p->nbindings; i++) {
    for (char **u = p->bindings[i].users; *u; u++) p->subs[p->nsubs++] = (sref){drv_asprintf("u%s", *u), i};
    for (char **g = p->bindings[i].groups; *g; g++) p->subs[p->nsubs++] = (sref){drv_asprintf("g%s", *g), i};
  }
  qsort(p->subs, p->nsubs, sizeof *p->subs, sref_cmp);
  return p;
}

/* ---- matching ---- */

static bool in(char *const *v, const char *s)
{
  for (; v && *v; v++)
    if (!strcmp(*v, s)) return true;
  return false;
}

static bool resource_matches(const crule *r, const char *res, const char *sub)
{
  char combined[256];
  if (sub && *sub) snprintf(combined, sizeof combined, "%s/%s", res, sub);
  else snprintf(combined, sizeof combined, "%s", res);
  for (char *const *p = r->resources; p && *p; p++) {
    if (!strcmp(*p, "*") || !strcmp(*p, combined)) return true;
    if (!sub || !*sub) continue;
    /* star-slash-log matches the log of every resource, pods/star every subresource of pods */
    if ((*p)[0] == '*' && (*p)[1] == '/' && !strcmp(*p + 2, sub)) return true;
    size_t rl = strlen(res);
    if (!strncmp(*p, res, rl) && !strcmp(*p + rl, "/*")) return true;
  }
  return false;
}

static bool url_matches(const crule *r, const char *path)
{
  for (char *const *p = r->urls; p && *p; p++) {
    if (!strcmp(*p, "*") || !strcmp(*p, path)) return true;
    size_t l = strlen(*p);
    if (l && (*p)[l - 1] == '*' && !strncmp(*p, path, l - 1)) return true;
  }
  return false;
}

static bool rule_allows(const crule *r, const drv_authz_attrs *a)
{
  if (!in(r->verbs, "*") && !in(r->verbs, a->verb)) return false;
  if (!a->resource_request) return url_matches(r, a->path ? a->path : "");
  if (!in(r->groups, "*") && !in(r->groups, a->group ? a->group : "")) return false;
  if (!resource_matches(r, a->resource ? a->resource : "", a->sub)) return false;
  if (r->names && r->names[0]) return a->name && *a->name && in(r->names, a->name);
  return true;
}

static bool subject_matches(const cbinding *b, const drv_auth_user *u)
{
  if (in(b->users, u->name)) return true;
  for (int i = 0; i < u->ngroups; i++)
    if (in(b->groups, u->groups[i])) return true;
  return false;
}

/* A RoleBinding applies to requests in its namespace only; cluster-scoped and non-resource
 * requests need a ClusterRoleBinding. */
static bool binding_applies(const cbinding *b, const drv_authz_attrs *a)
{
  if (!b->ns[0]) return true;
  return a->resource_request && a->ns && !strcmp(a->ns, b->ns);
}

static bool binding_allows(const cbinding *b, const drv_auth_user *u, const drv_authz_attrs *a, char *why,
                           size_t size)
{
  if (!b->role || !binding_applies(b, a)) return false;
  for (size_t j = 0; j < b->role->n; j++) {
    if (!rule_allows(&b->role->rules[j], a)) continue;
    if (why)
      snprintf(why, size, "RBAC: allowed by %s \"%s\"%s%s%s of %s \"%s\" to User \"%s\"", b->kind,
               b->name, b->ns[0] ? " in namespace \"" : "", b->ns, b->ns[0] ? "\"" : "",
               b->role->kind, b->role->name, u->name);
    return true;
  }
  return false;
}

/* The bindings naming key ("u" + user or "g" + group): binary search, then each in turn. */
static bool subject_allows(const policy *p, const char *kind, const char *name, const drv_auth_user *u,
                           const drv_authz_attrs *a, char *why, size_t size)
{
  char key[300];
  snprintf(key, sizeof key, "%s%s", kind, name);
  size_t lo = 0, hi = p->nsubs;
  while (lo < hi) { /* first entry >= key */
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(p->subs[mid].key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (; lo < p->nsubs && !strcmp(p->subs[lo].key, key); lo++)
    if (binding_allows(&p->bindings[p->subs[lo].binding], u, a, why, size)) return true;
  return false;
}

static bool decide(const policy *p, const drv_auth_user *u, const drv_authz_attrs *a, char *why,
                   size_t size)
{
  if (!p) return false;
  if (subject_allows(p, "u", u->name, u, a, why, size)) return true;
  for (int i = 0; i < u->ngroups; i++)
    if (subject_allows(p, "g", u->groups[i], u, a, why, size)) return true;
  return false;
}

static uint64_t newest_rbac_rev(drv_store *st)
{
  drv_store_list l;
  uint64_t newest = 0;
  drv_store_list_prefix(st, RBAC_PREFIX, NULL, 0, NULL, NULL, &l);
  for (size_t i = 0; i < l.n; i++)
    if (l.items[i]->mod_rev > newest) newest = l.items[i]->mod_rev;
  drv_store_list_free(&l);
  return newest;
}

bool drv_authz_allowed(drv_authz *z, const drv_auth_user *u, const drv_authz_attrs *a, char *why,
                       size_t size)
{
  if (why && size) why[0] = 0;
  if (drv_auth_user_in_group(u, DRV_AUTH_MASTERS)) {
    if (why) snprintf(why, size, "member of %s", DRV_AUTH_MASTERS);
    return true;
  }
  pthread_rwlock_rdlock(&z->lock);
  bool ok = decide(z->pol, u, a, why, size);
  pthread_rwlock_unlock(&z->lock);
  if (ok) return true;
  /* A role or binding written just before this request may not be compiled yet: when the
   * newest RBAC object in the watch cache is newer than the compiled policy, wait (briefly)
   * for the watcher, then decide again. Refusals only; deletions only ever refuse more. */
  pthread_mutex_lock(&z->mu);
  bool current = z->progress >= drv_store_revision(z->st);
  pthread_mutex_unlock(&z->mu);
  if (current) return false; /* compiled at the store's newest revision */
  uint64_t want = newest_rbac_rev(z->st);
  pthread_mutex_lock(&z->mu);
  if (z->progress >= want || !z->started) {
    pthread_mutex_unlock(&z->mu);
    return false;
  }
  struct timespec dl = drv_deadline_ms(CLOCK_REALTIME, 3 * WATCH_TICK_MS);
  while (z->progress < want && !z->stop)
    if (pthread_cond_timedwait(&z->cond, &z->mu, &dl) == ETIMEDOUT) break;
  pthread_mutex_unlock(&z->mu);
  pthread_rwlock_rdlock(&z->lock);
  ok = decide(z->pol, u, a, why, size);
  pthread_rwlock_unlock(&z->lock);
  return ok;
}

char *drv_authz_denied_message(const drv_auth_user *u, const drv_authz_attrs *a)
{
  if (!a->resource_request)
    return drv_asprintf("User \"%s\" cannot %s path \"%s\"", u->name, a->verb, a->path ? a->path : "");
  char res[256];
  if (a->sub && *a->sub) snprintf(res, sizeof res, "%s/%s", a->resource, a->sub);
  else snprintf(res, sizeof res, "%s", a->resource);
  if (a->ns && *a->ns)
    return drv_asprintf("User \"%s\" cannot %s resource \"%s\" in API group \"%s\" in the namespace \"%s\"",
                        u->name, a->verb, res, a->group ? a->group : "", a->ns);
  return drv_asprintf("User \"%s\" cannot %s resource \"%s\" in API group \"%s\" at the cluster scope",
                      u->name, a->verb, res, a->group ? a->group : "");
}

json_t *drv_authz_forbidden_status(const drv_auth_user *u, const drv_authz_attrs *a)
{
  _cleanup_free_ char *why = drv_authz_denied_message(u, a);
  if (!a->resource_request) {
    _cleanup_free_ char *msg = drv_asprintf("forbidden: %s", why);
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:{}, s:i}", "kind", "Status", "apiVersion", "v1",
                           "metadata", "status", "Failure", "message", msg, "reason", "Forbidden",
                           "details", "code", 403);
    return st;
  }
  char q[256];
  if (a->group && *a->group) snprintf(q, sizeof q, "%s.%s", a->resource, a->group);
  else snprintf(q, sizeof q, "%s", a->resource);
  _cleanup_free_ char *msg = a->name && *a->name ? drv_asprintf("%s \"%s\" is forbidden: %s", q, a->name, why)
                                                  : drv_asprintf("%s is forbidden: %s", q, why);
  json_t *details = json_pack("{s:s}", "kind", a->resource);
  if (a->name && *a->name) json_object_set_new(details, "name", json_string(a->name));
  if (a->group && *a->group) json_object_set_new(details, "group", json_string(a->group));
  return json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:o, s:i}", "kind", "Status", "apiVersion", "v1",
                   "metadata", "status", "Failure", "message", msg, "reason", "Forbidden", "details",
                   details, "code", 403);
}

/* ---- rules review ---- */

static json_t *arr_of(char *const *v)
{
  json_t *a = json_array();
  for (; v && *v; v++) json_array_append_new(a, json_string(*v));
  return a;
}

json_t *drv_authz_rules_status(drv_authz *z, const drv_auth_user *u, const char *ns)
{
  json_t *rr = json_array(), *nr = json_array();
  drv_authz_attrs probe = {.resource_request = true, .ns = ns ? ns : ""};
  pthread_rwlock_rdlock(&z->lock);
  const policy *p = z->pol;
  for (size_t i = 0; p && i < p->nbindings; i++) {
    const cbinding *b = &p->bindings[i];
    if (!b->role || !binding_applies(b, &probe) || !subject_matches(b, u)) continue;
    for (size_t j = 0; j < b->role->n; j++) {
      const crule *r = &b->role->rules[j];
      json_t *e;
      if (r->urls && r->urls[0]) {
        if (b->ns[0]) continue;
        e = json_pack("{s:o, s:o}", "verbs", arr_of(r->verbs), "nonResourceURLs", arr_of(r->urls));
        if (!has_rule(nr, e)) json_array_append(nr, e);
      } else {
        e = json_pack("{s:o, s:o, s:o}", "verbs", arr_of(r->verbs), "apiGroups", arr_of(r->groups),
                      "resources", arr_of(r->resources));
        if (r->names && r->names[0]) json_object_set_new(e, "resourceNames", arr_of(r->names));
        if (!has_rule(rr, e)) json_array_append(rr, e);
      }
      json_decref(e);
    }
  }
  pthread_rwlock_unlock(&z->lock);
  return json_pack("{s:o, s:o, s:b}", "resourceRules", rr, "nonResourceRules", nr, "incomplete", 0);
}

/* ---- following the store ---- */

static void install(drv_authz *z, json_t *objs, uint64_t rev)
{
  size_t n = json_object_size(objs), i = 0;
  json_t **v = drv_calloc(n ? n : 1, sizeof *v);
  const char *k;
  json_t *o;
  json_object_foreach(objs, k, o) v[i++] = o;
  policy *p = compile(v, n);
  free(v);
  pthread_rwlock_wrlock(&z->lock);
  policy *old = z->pol;
  z->pol = p;
  pthread_rwlock_unlock(&z->lock);
  policy_free(old);
  pthread_mutex_lock(&z->mu);
  if (rev > z->progress) z->progress = rev;
  pthread_cond_broadcast(&z->cond);
  pthread_mutex_unlock(&z->mu);
}

/* Loads every RBAC object; *rev gets the revision of that snapshot. */
static json_t *load_all(drv_store *st, uint64_t *rev)
{
  drv_store_list l;
  json_t *objs = json_object();
  drv_store_list_prefix(st, RBAC_PREFIX, NULL, 0, NULL, NULL, &l);
  for (size_t i = 0; i < l.n; i++) {
    json_t *o = json_loadb(l.items[i]->data, l.items[i]->len, 0, NULL);
    if (o) json_object_set_new(objs, l.items[i]->key, o);
  }
  *rev = l.rev;
  drv_store_list_free(&l);
  return objs;
}

static bool stopping(drv_authz *z)
{
  pthread_mutex_lock(&z->mu);
  bool s = z->stop;
  pthread_mutex_unlock(&z->mu);
  return s;
}

static void *watch_main(void *arg)
{
  drv_authz *z = arg;
  json_t *objs = NULL;
  drv_store_watch *w = NULL;
  while (!stopping(z)) {
    if (!w) {
      uint64_t rev;
      json_decref(objs);
      objs = load_all(z->st, &rev);
      install(z, objs, rev);
      drv_err err;
      if (drv_store_watch_open(z->st, RBAC_PREFIX, rev, NULL, NULL, &w, &err) < 0) {
        drv_log_warn("authz: watch RBAC objects: %s", err.msg);
        w = NULL;
        struct timespec ts = {0, WATCH_TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
        continue;
      }
    }
    drv_store_event evs[64];
    int n = drv_store_watch_next(w, evs, 64, WATCH_TICK_MS);
    if (n < 0) { /* fell behind the history: start over from a fresh list */
      drv_store_watch_close(w);
      w = NULL;
      continue;
    }
    for (int i = 0; i < n; i++) {
      drv_store_obj *o = evs[i].obj;
      if (evs[i].type == DRV_STORE_DELETED) {
        json_object_del(objs, o->key);
      } else {
        json_t *j = json_loadb(o->data, o->len, 0, NULL);
        if (j) json_object_set_new(objs, o->key, j);
      }
      drv_store_event_release(&evs[i]);
    }
    uint64_t progress = drv_store_watch_progress(w);
    if (n > 0) {
      install(z, objs, progress);
    } else {
      pthread_mutex_lock(&z->mu);
      if (progress > z->progress) z->progress = progress;
      pthread_cond_broadcast(&z->cond);
      pthread_mutex_unlock(&z->mu);
    }
  }
  if (w) drv_store_watch_close(w);
  json_decref(objs);
  return NULL;
}

int drv_authz_open(drv_store *st, drv_authz **out, drv_err *err)
{
  drv_authz *z = drv_calloc(1, sizeof *z);
  z->st = st;
  pthread_rwlock_init(&z->lock, NULL);
  pthread_mutex_init(&z->mu, NULL);
  pthread_cond_init(&z->cond, NULL);
  uint64_t rev;
  json_t *objs = load_all(st, &rev);
  install(z, objs, rev);
  json_decref(objs);
  int rc = pthread_create(&z->thread, NULL, watch_main, z);
  if (rc != 0) {
    drv_authz_free(z);
    return drv_error(err, rc, "start the RBAC watcher thread");
  }
  z->started = true;
  *out = z;
  return 0;
}

void drv_authz_free(drv_authz *z)
{
  if (!z) return;
  pthread_mutex_lock(&z->mu);
  z->stop = true;
  pthread_cond_broadcast(&z->cond);
  pthread_mutex_unlock(&z->mu);
  if (z->started) pthread_join(z->thread, NULL);
  policy_free(z->pol);
  pthread_rwlock_destroy(&z->lock);
  pthread_mutex_destroy(&z->mu);
  pthread_cond_destroy(&z->cond);
  free(z);
}

/* ---- escalation ---- */

static void add_missing(drv_buf *b, const char *verb, const char *group, const char *res,
                        const char *name, const char *url, int *n)
{
  if ((*n)++ >= 8) return; /* enough to act on */
  if (url)
    drv_buf_printf(b, "\n{NonResourceURLs:[\"%s\"], Verbs:[\"%s\"]}", url, verb);
  else if (name && *name)
    drv_buf_printf(b, "\n{APIGroups:[\"%s\"], Resources:[\"%s\"], ResourceNames:[\"%s\"], Verbs:[\"%s\"]}",
                   group, res, name, verb);
  else
    drv_buf_printf(b, "\n{APIGroups:[\"%s\"], Resources:[\"%s\"], Verbs:[\"%s\"]}", group, res, verb);
}

/* Appends to b every (verb, group, resource, name) or (verb, URL) of rules that u does not hold
 * in ns; returns how many. Caller holds the read lock. */
static int uncovered(const policy *p, const drv_auth_user *u, const char *ns, const json_t *rules, drv_buf *b)
{
  int n = 0;
  size_t i, iv, ig, ir, in_;
  json_t *r, *v, *g, *res, *nm;
  json_array_foreach(rules, i, r)
  {
    json_t *urls = json_object_get(r, "nonResourceURLs");
    json_array_foreach(json_object_get(r, "verbs"), iv, v)
    {
      const char *verb = json_string_value(v);
      if (!verb) continue;
      if (json_array_size(urls)) {
        json_array_foreach(urls, ir, res)
        {
          drv_authz_attrs a = {.verb = verb, .path = json_string_value(res)};
          if (a.path && !decide(p, u, &a, NULL, 0)) add_missing(b, verb, NULL, NULL, NULL, a.path, &n);
        }
        continue;
      }
      json_array_foreach(json_object_get(r, "apiGroups"), ig, g)
          json_array_foreach(json_object_get(r, "resources"), ir, res)
      {
        const char *gs = json_string_value(g), *rs = json_string_value(res);
        if (!gs || !rs) continue;
        char base[256];
        snprintf(base, sizeof base, "%s", rs);
        char *slash = strchr(base, '/');
        if (slash) *slash++ = 0;
        drv_authz_attrs a = {.verb = verb, .resource_request = true, .group = gs, .resource = base,
                             .sub = slash ? slash : "", .ns = ns, .name = ""};
        json_t *names = json_object_get(r, "resourceNames");
        if (!json_array_size(names)) {
          if (!decide(p, u, &a, NULL, 0)) add_missing(b, verb, gs, rs, NULL, NULL, &n);
          continue;
        }
        json_array_foreach(names, in_, nm)
        {
          a.name = json_string_value(nm);
          if (a.name && !decide(p, u, &a, NULL, 0)) add_missing(b, verb, gs, rs, a.name, NULL, &n);
        }
      }
    }
  }
  return n;
}

static json_t *rules_json(const crole *r)
{
  json_t *rules = json_array();
  for (size_t j = 0; j < r->n; j++) {
    const crule *c = &r->rules[j];
    json_t *e = json_pack("{s:o}", "verbs", arr_of(c->verbs));
    if (c->urls && c->urls[0]) json_object_set_new(e, "nonResourceURLs", arr_of(c->urls));
    else {
      json_object_set_new(e, "apiGroups", arr_of(c->groups));
      json_object_set_new(e, "resources", arr_of(c->resources));
      if (c->names && c->names[0]) json_object_set_new(e, "resourceNames", arr_of(c->names));
    }
    json_array_append_new(rules, e);
  }
  return rules;
}

char *drv_authz_escalation(drv_authz *z, const drv_auth_user *u, const char *ns, const json_t *obj)
{
  if (!u || drv_auth_user_in_group(u, DRV_AUTH_MASTERS)) return NULL;
  const char *kind = json_string_value(json_object_get(obj, "kind"));
  if (!kind) return NULL;
  bool role = !strcmp(kind, "Role") || !strcmp(kind, "ClusterRole");
  bool binding = !strcmp(kind, "RoleBinding") || !strcmp(kind, "ClusterRoleBinding");
  if (!role && !binding) return NULL;
  ns = ns ? ns : "";
  drv_buf b = DRV_BUF_INIT;
  char *why = NULL;
  pthread_rwlock_rdlock(&z->lock);
  if (role) {
    drv_authz_attrs esc = {.verb = "escalate", .resource_request = true, .group = "rbac.authorization.k8s.io",
                           .resource = !strcmp(kind, "Role") ? "roles" : "clusterroles", .sub = "", .ns = ns,
                           .name = drv_json_get_str(obj, "metadata.name") ?: ""};
    if (!decide(z->pol, u, &esc, NULL, 0)) {
      json_t *rules = json_deep_copy(json_object_get(obj, "rules"));
      if (!rules) rules = json_array();
      /* an aggregated ClusterRole may gather anything: only for those who hold everything */
      if (json_object_get(obj, "aggregationRule"))
        json_array_append_new(rules, json_pack("{s:[s], s:[s], s:[s]}", "verbs", "*", "apiGroups", "*",
                                               "resources", "*"));
      uncovered(z->pol, u, ns, rules, &b);
      json_decref(rules);
    }
  } else {
    const char *rk = drv_json_get_str(obj, "roleRef.kind") ?: "", *rn = drv_json_get_str(obj, "roleRef.name") ?: "";
    drv_authz_attrs bind = {.verb = "bind", .resource_request = true, .group = "rbac.authorization.k8s.io",
                            .resource = !strcmp(rk, "Role") ? "roles" : "clusterroles", .sub = "",
                            .ns = ns, .name = rn};
    if (!decide(z->pol, u, &bind, NULL, 0)) {
      const crole *r = z->pol ? find_role(z->pol, rk, ns, rn) : NULL;
      if (r) {
        json_t *rules = rules_json(r);
        uncovered(z->pol, u, ns, rules, &b);
        json_decref(rules);
      }
      /* a role that does not exist yet grants nothing today, but would once it is created: */
      else drv_buf_printf(&b, "\n%s \"%s\" (not found)", rk, rn);
    }
  }
  pthread_rwlock_unlock(&z->lock);
  if (b.len) {
    _cleanup_buf_ drv_buf groups = DRV_BUF_INIT;
    for (int i = 0; i < u->ngroups; i++) drv_buf_printf(&groups, "%s\"%s\"", i ? " " : "", u->groups[i]);
    why = drv_asprintf("user \"%s\" (groups=[%s]) is attempting to grant RBAC permissions not currently held:%s",
                       u->name, groups.data ? groups.data : "", b.data);
  }
  drv_buf_free(&b);
  return why;
}
