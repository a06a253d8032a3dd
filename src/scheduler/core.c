/* The scheduler core: see core.h for the design (classes of alike nodes, tournament trees,
 * best-first branch-and-bound with a tolerance). */
#include "scheduler/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"

#define NONE UINT32_MAX
#define MAX_SPREAD 8
#define DEFAULT_CPU_M 100                   /* Kubernetes' non-zero request for scoring */
#define DEFAULT_MEM (200LL * 1024 * 1024)

/* ---- string interning ---- */

typedef struct strtab {
  char **strs;      /* id → string, strs[0] unused */
  uint32_t n, cap;
  uint32_t *slots;  /* open addressing: id or 0 */
  uint32_t nslots;
} strtab;

static uint64_t hash_bytes(const char *p, size_t n)
{
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

static void strtab_grow(strtab *t)
{
  uint32_t ns = t->nslots ? t->nslots * 2 : 1024;
  uint32_t *slots = drv_calloc(ns, sizeof *slots);
  for (uint32_t id = 1; id < t->n; id++) {
    uint64_t h = hash_bytes(t->strs[id], strlen(t->strs[id]));
    uint32_t i = (uint32_t)h & (ns - 1);
    while (slots[i]) i = (i + 1) & (ns - 1);
    slots[i] = id;
  }
  free(t->slots);
  t->slots = slots;
  t->nslots = ns;
}

static drv_sched_str strtab_intern(strtab *t, const char *s, size_t len)
{
  if (!t->n) t->n = 1;
  if ((t->n + 1) * 2 > t->nslots) strtab_grow(t);
  uint64_t h = hash_bytes(s, len);
  uint32_t i = (uint32_t)h & (t->nslots - 1);
  while (t->slots[i]) {
    const char *c = t->strs[t->slots[i]];
    if (strncmp(c, s, len) == 0 && c[len] == '\0') return t->slots[i];
    i = (i + 1) & (t->nslots - 1);
  }
  if (t->n >= t->cap) {
    t->cap = t->cap ? t->cap * 2 : 1024;
    t->strs = drv_realloc(t->strs, t->cap * sizeof *t->strs);
  }
  uint32_t id = t->n++;
  t->strs[id] = drv_strndup(s, len);
  t->slots[i] = id;
  return id;
}

/* ---- structures ---- */

typedef struct tnode {
  int64_t fcpu, fmem, feph; /* largest free in the subtree (-1 = empty) */
  int32_t fpods;
  int64_t lo_c, hi_c, lo_m, hi_m; /* range of scoring requests */
  /* Joint statistics of the requested fractions (c = cpu, m = memory) that keep the bound
   * tight when the cpu minimum and the memory minimum sit on different nodes. */
  double kmin; /* min over nodes of max(c, m) */
  double umin; /* min of c + m */
  double kmax; /* max of min(c, m) */
  double umax; /* max of c + m */
} tnode;

typedef struct cls {
  uint64_t hash;
  int64_t cpu, mem, eph, pods;
  bool unsched;
  uint16_t nlabels, ntaints;
  drv_sched_label *labels; /* sorted by key, no hostname */
  drv_sched_taint *taints;
  uint32_t cap, used;      /* tree leaves; slots [0, used) ever handed out */
  uint32_t *slot_node;
  tnode *tree;             /* 2*cap entries, root at 1 */
  uint32_t *free_slots;
  uint32_t nfree;
  uint32_t live;
  /* per-placement scratch */
  int8_t ok;               /* class-level filters pass */
  int8_t elig;             /* node selector/affinity pass (topology spread counts these) */
  uint8_t reason;          /* first failing class-level filter */
  uint16_t taint_idx;
  double bonus;            /* preferred affinity + taint scores (upper bound if deferred) */
} cls;

typedef struct port_use {
  drv_sched_port p;
  uint32_t count;
} port_use;

typedef struct node {
  char *name;
  uint32_t cls, slot;
  bool live;
  drv_sched_str hostname;
  int64_t rc, rm, re, sc, sm;
  int32_t np;
  uint32_t nports, cports;
  port_use *ports;
} node;

typedef struct placed {
  uint32_t node;
  bool live;
  int64_t rc, rm, re, sc, sm;
  drv_sched_pod pod; /* ns, labels, ports, anti terms (the rest is not copied) */
} placed;

typedef struct dom_key {
  uint32_t tag, key, value;
} dom_key;

/* A small set of (tag, topology key, value): domains holding matching pods. */
typedef struct domset {
  dom_key *slots;
  uint32_t n, cap;
} domset;

struct drv_sched {
  drv_sched_opts o;
  strtab st;
  drv_sched_str host_key, unsched_key;
  node *nodes;
  uint32_t nnodes, cnodes, live_nodes;
  cls *classes;
  uint32_t nclasses, cclasses;
  uint32_t *cls_slots; /* hash → class id + 1 */
  uint32_t ncls_slots;
  uint32_t *name_slots; /* node name hash → node id + 1 */
  uint32_t nname_slots;
  placed *pods;
  uint32_t npods, cpods;
  uint32_t *free_pods;
  uint32_t nfree_pods, cfree_pods;
  uint32_t n_anti_pods;
  /* search heap */
  struct hent {
    double ub;
    uint32_t cls, idx;
  } *heap;
  uint32_t nheap, cheap;
  domset dom;
  bool aff_any[64];  /* per required affinity term: some pod matches anywhere */
  drv_sched_str existing_keys[16]; /* topology keys of existing anti terms that hit the pod */
  uint32_t nexisting_keys;
  /* topology spread: matching pods per domain value (indexed by interned id) per constraint */
  int32_t *spread_cnt[MAX_SPREAD];
  uint32_t spread_cap;
  int32_t spread_min[MAX_SPREAD], spread_max[MAX_SPREAD];
  int32_t spread_self[MAX_SPREAD];
  double spread_ub;  /* the score bound added to every class's bonus */
  double paff_ub;    /* the same for preferred pod (anti-)affinity */
};

enum {
  RS_OK = 0,
  RS_UNSCHED,
  RS_TAINT,
  RS_AFFINITY,
  RS_PORTS,
  RS_FIT,
  RS_SPREAD_MISSING,
  RS_SPREAD,
  RS_EXISTING_ANTI,
  RS_POD_AFF,
  RS_POD_ANTI,
};
enum { FIT_CPU = 1, FIT_MEM = 2, FIT_EPH = 4, FIT_PODS = 8 };

void drv_sched_opts_default(drv_sched_opts *o)
{
  *o = (drv_sched_opts){.strategy = DRV_SCHED_SPREAD, .w_fit = 1, .w_balanced = 1,
                        .w_node_affinity = 2, .w_taint = 3, .w_spread = 2, .w_pod_affinity = 2,
                        .tolerance = 0.5};
}

drv_sched *drv_sched_new(const drv_sched_opts *opts)
{
  drv_sched *s = drv_calloc(1, sizeof *s);
  if (opts)
    s->o = *opts;
  else
    drv_sched_opts_default(&s->o);
  s->host_key = drv_sched_intern(s, "kubernetes.io/hostname");
  s->unsched_key = drv_sched_intern(s, "node.kubernetes.io/unschedulable");
  return s;
}

static void pod_copy_for_core(drv_sched_pod *dst, const drv_sched_pod *src);

void drv_sched_pod_clear(drv_sched_pod *p)
{
  for (uint16_t i = 0; i < p->nrequired; i++) {
    for (uint16_t j = 0; j < p->required[i].nexprs; j++) free(p->required[i].exprs[j].values);
    free(p->required[i].exprs);
  }
  for (uint16_t i = 0; i < p->npreferred; i++) {
    for (uint16_t j = 0; j < p->preferred[i].nexprs; j++) free(p->preferred[i].exprs[j].values);
    free(p->preferred[i].exprs);
  }
  drv_sched_pod_term *sets[4] = {p->aff, p->anti, p->paff, p->panti};
  uint16_t ns[4] = {p->naff, p->nanti, p->npaff, p->npanti};
  for (int k = 0; k < 4; k++) {
    for (uint16_t i = 0; i < ns[k]; i++) {
      drv_sched_term *t = &sets[k][i].sel;
      for (uint16_t j = 0; j < t->nexprs; j++) free(t->exprs[j].values);
      free(t->exprs);
      free(sets[k][i].namespaces);
    }
    free(sets[k]);
  }
  for (uint16_t i = 0; i < p->nspread; i++) {
    for (uint16_t j = 0; j < p->spread[i].sel.nexprs; j++) free(p->spread[i].sel.exprs[j].values);
    free(p->spread[i].sel.exprs);
  }
  free(p->spread);
  free(p->labels);
  free(p->selector);
  free(p->required);
  free(p->preferred);
  free(p->tols);
  free(p->ports);
  memset(p, 0, sizeof *p);
}

void drv_sched_free(drv_sched *s)
{
  if (!s) return;
  for (uint32_t i = 1; i < s->st.n; i++) free(s->st.strs[i]);
  free(s->st.strs);
  free(s->st.slots);
  for (uint32_t i = 0; i < s->nnodes; i++) {
    free(s->nodes[i].name);
    free(s->nodes[i].ports);
  }
  free(s->nodes);
  for (uint32_t i = 0; i < s->nclasses; i++) {
    cls *c = &s->classes[i];
    free(c->labels);
    free(c->taints);
    free(c->slot_node);
    free(c->tree);
    free(c->free_slots);
  }
  free(s->classes);
  free(s->cls_slots);
  free(s->name_slots);
  for (uint32_t i = 0; i < s->npods; i++) drv_sched_pod_clear(&s->pods[i].pod);
  free(s->pods);
  free(s->free_pods);
  free(s->heap);
  free(s->dom.slots);
  for (int i = 0; i < MAX_SPREAD; i++) free(s->spread_cnt[i]);
  free(s);
}

drv_sched_str drv_sched_intern(drv_sched *s, const char *str)
{
  return strtab_intern(&s->st, str, strlen(str));
}

drv_sched_str drv_sched_intern_n(drv_sched *s, const char *str, size_t len)
{
  return strtab_intern(&s->st, str, len);
}

const char *drv_sched_string(drv_sched *s, drv_sched_str id)
{
  return id && id < s->st.n ? s->st.strs[id] : "";
}

/* ---- node name index ---- */

static void names_rehash(drv_sched *s, uint32_t ns)
{
  uint32_t *slots = drv_calloc(ns, sizeof *slots);
  for (uint32_t id = 0; id < s->nnodes; id++) {
    if (!s->nodes[id].live) continue;
    uint32_t i = (uint32_t)hash_bytes(s->nodes[id].name, strlen(s->nodes[id].name)) & (ns - 1);
    while (slots[i]) i = (i + 1) & (ns - 1);
    slots[i] = id + 1;
  }
  free(s->name_slots);
  s->name_slots = slots;
  s->nname_slots = ns;
}

uint32_t drv_sched_node_find(drv_sched *s, const char *name)
{
  if (!s->nname_slots) return NONE;
  uint32_t i = (uint32_t)hash_bytes(name, strlen(name)) & (s->nname_slots - 1);
  while (s->name_slots[i]) {
    uint32_t id = s->name_slots[i] - 1;
    if (s->nodes[id].live && strcmp(s->nodes[id].name, name) == 0) return id;
    i = (i + 1) & (s->nname_slots - 1);
  }
  return NONE;
}

const char *drv_sched_node_name(drv_sched *s, uint32_t n)
{
  return n < s->nnodes ? s->nodes[n].name : NULL;
}

size_t drv_sched_node_count(drv_sched *s)
{
  return s->live_nodes;
}

/* ---- classes and trees ---- */

static int label_cmp(const void *a, const void *b)
{
  const drv_sched_label *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key;
}

static uint64_t class_hash(const drv_sched_node_spec *sp, const drv_sched_label *labels,
                           uint16_t nlabels)
{
  uint64_t h = 1469598103934665603ULL;
#define MIX(v) h = (h ^ (uint64_t)(v)) * 1099511628211ULL
  MIX(sp->cpu_m);
  MIX(sp->mem);
  MIX(sp->eph);
  MIX(sp->pods);
  MIX(sp->unschedulable);
  for (uint16_t i = 0; i < nlabels; i++) {
    MIX(labels[i].key);
    MIX(labels[i].value);
  }
  for (uint16_t i = 0; i < sp->ntaints; i++) {
    MIX(sp->taints[i].key);
    MIX(sp->taints[i].value);
    MIX(sp->taints[i].effect);
  }
#undef MIX
  return h;
}

static bool class_equal(const cls *c, const drv_sched_node_spec *sp, const drv_sched_label *labels,
                        uint16_t nlabels)
{
  if (c->cpu != sp->cpu_m || c->mem != sp->mem || c->eph != sp->eph || c->pods != sp->pods ||
      c->unsched != sp->unschedulable || c->nlabels != nlabels || c->ntaints != sp->ntaints)
    return false;
  if (nlabels && memcmp(c->labels, labels, nlabels * sizeof *labels)) return false;
  if (sp->ntaints && memcmp(c->taints, sp->taints, sp->ntaints * sizeof *sp->taints)) return false;
  return true;
}

static void cls_rehash(drv_sched *s)
{
  uint32_t ns = s->ncls_slots ? s->ncls_slots * 2 : 64;
  uint32_t *slots = drv_calloc(ns, sizeof *slots);
  for (uint32_t id = 0; id < s->nclasses; id++) {
    uint32_t i = (uint32_t)s->classes[id].hash & (ns - 1);
    while (slots[i]) i = (i + 1) & (ns - 1);
    slots[i] = id + 1;
  }
  free(s->cls_slots);
  s->cls_slots = slots;
  s->ncls_slots = ns;
}

static uint32_t class_get(drv_sched *s, const drv_sched_node_spec *sp)
{
  drv_sched_label lab[sp->nlabels ? sp->nlabels : 1];
  uint16_t nl = 0;
  for (uint16_t i = 0; i < sp->nlabels; i++)
    if (sp->labels[i].key != s->host_key) lab[nl++] = sp->labels[i];
  qsort(lab, nl, sizeof *lab, label_cmp);
  uint64_t h = class_hash(sp, lab, nl);
  if (s->ncls_slots) {
    uint32_t i = (uint32_t)h & (s->ncls_slots - 1);
    while (s->cls_slots[i]) {
      cls *c = &s->classes[s->cls_slots[i] - 1];
      if (c->hash == h && class_equal(c, sp, lab, nl)) return s->cls_slots[i] - 1;
      i = (i + 1) & (s->ncls_slots - 1);
    }
  }
  if (s->nclasses >= s->cclasses) {
    s->cclasses = s->cclasses ? s->cclasses * 2 : 16;
    s->classes = drv_realloc(s->classes, s->cclasses * sizeof *s->classes);
  }
  uint32_t id = s->nclasses++;
  cls *c = &s->classes[id];
  memset(c, 0, sizeof *c);
  c->hash = h;
  c->cpu = sp->cpu_m;
  c->mem = sp->mem;
  c->eph = sp->eph;
  c->pods = sp->pods;
  c->unsched = sp->unschedulable;
  c->nlabels = nl;
  c->labels = drv_malloc((nl ? nl : 1) * sizeof *c->labels);
  memcpy(c->labels, lab, nl * sizeof *lab);
  c->ntaints = sp->ntaints;
  c->taints = drv_malloc((sp->ntaints ? sp->ntaints : 1) * sizeof *c->taints);
  if (sp->ntaints) memcpy(c->taints, sp->taints, sp->ntaints * sizeof *sp->taints);
  if ((s->nclasses * 2) > s->ncls_slots)
    cls_rehash(s);
  else {
    uint32_t i = (uint32_t)h & (s->ncls_slots - 1);
    while (s->cls_slots[i]) i = (i + 1) & (s->ncls_slots - 1);
    s->cls_slots[i] = id + 1;
  }
  return id;
}

static const tnode EMPTY_T = {-1, -1, -1, -1, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN,
                              1e300, 1e300, -1e300, -1e300};

static inline void t_combine(tnode *d, const tnode *a, const tnode *b)
{
  d->fcpu = a->fcpu > b->fcpu ? a->fcpu : b->fcpu;
  d->fmem = a->fmem > b->fmem ? a->fmem : b->fmem;
  d->feph = a->feph > b->feph ? a->feph : b->feph;
  d->fpods = a->fpods > b->fpods ? a->fpods : b->fpods;
  d->lo_c = a->lo_c < b->lo_c ? a->lo_c : b->lo_c;
  d->hi_c = a->hi_c > b->hi_c ? a->hi_c : b->hi_c;
  d->lo_m = a->lo_m < b->lo_m ? a->lo_m : b->lo_m;
  d->hi_m = a->hi_m > b->hi_m ? a->hi_m : b->hi_m;
  d->kmin = a->kmin < b->kmin ? a->kmin : b->kmin;
  d->umin = a->umin < b->umin ? a->umin : b->umin;
  d->kmax = a->kmax > b->kmax ? a->kmax : b->kmax;
  d->umax = a->umax > b->umax ? a->umax : b->umax;
}

static void leaf_fill(drv_sched *s, cls *c, uint32_t slot)
{
  tnode *t = &c->tree[c->cap + slot];
  uint32_t id = c->slot_node[slot];
  if (id == NONE) {
    *t = EMPTY_T;
    return;
  }
  node *n = &s->nodes[id];
  t->fcpu = c->cpu - n->rc;
  t->fmem = c->mem - n->rm;
  t->feph = c->eph - n->re;
  t->fpods = (int32_t)(c->pods - n->np);
  t->lo_c = t->hi_c = n->sc;
  t->lo_m = t->hi_m = n->sm;
  double fc = c->cpu > 0 ? (double)n->sc / (double)c->cpu : 1.0;
  double fm = c->mem > 0 ? (double)n->sm / (double)c->mem : 1.0;
  t->kmin = fc > fm ? fc : fm;
  t->kmax = fc < fm ? fc : fm;
  t->umin = t->umax = fc + fm;
}

static void tree_update(drv_sched *s, cls *c, uint32_t slot)
{
  leaf_fill(s, c, slot);
  for (uint32_t i = (c->cap + slot) >> 1; i >= 1; i >>= 1)
    t_combine(&c->tree[i], &c->tree[2 * i], &c->tree[2 * i + 1]);
}

static void tree_rebuild(drv_sched *s, cls *c, uint32_t newcap)
{
  c->slot_node = drv_realloc(c->slot_node, newcap * sizeof *c->slot_node);
  for (uint32_t i = c->cap; i < newcap; i++) c->slot_node[i] = NONE;
  free(c->tree);
  c->cap = newcap;
  c->tree = drv_malloc(2 * newcap * sizeof *c->tree);
  for (uint32_t i = 0; i < newcap; i++) leaf_fill(s, c, i);
  for (uint32_t i = newcap - 1; i >= 1; i--)
    t_combine(&c->tree[i], &c->tree[2 * i], &c->tree[2 * i + 1]);
}

static void class_insert(drv_sched *s, uint32_t cid, uint32_t nid)
{
  cls *c = &s->classes[cid];
  uint32_t slot;
  if (c->nfree)
    slot = c->free_slots[--c->nfree];
  else {
    if (c->used >= c->cap) tree_rebuild(s, c, c->cap ? c->cap * 2 : 4);
    slot = c->used++;
  }
  c->slot_node[slot] = nid;
  s->nodes[nid].cls = cid;
  s->nodes[nid].slot = slot;
  c->live++;
  tree_update(s, c, slot);
}

static void class_erase(drv_sched *s, uint32_t nid)
{
  node *n = &s->nodes[nid];
  cls *c = &s->classes[n->cls];
  c->slot_node[n->slot] = NONE;
  c->free_slots = drv_realloc(c->free_slots, (c->nfree + 1) * sizeof *c->free_slots);
  c->free_slots[c->nfree++] = n->slot;
  c->live--;
  tree_update(s, c, n->slot);
}

uint32_t drv_sched_node_set(drv_sched *s, const drv_sched_node_spec *sp)
{
  uint32_t id = drv_sched_node_find(s, sp->name);
  uint32_t cid = class_get(s, sp);
  drv_sched_str host = 0;
  for (uint16_t i = 0; i < sp->nlabels; i++)
    if (sp->labels[i].key == s->host_key) host = sp->labels[i].value;
  if (id != NONE) {
    node *n = &s->nodes[id];
    n->hostname = host;
    if (n->cls == cid) return id;
    class_erase(s, id);
    class_insert(s, cid, id);
    return id;
  }
  if (s->nnodes >= s->cnodes) {
    s->cnodes = s->cnodes ? s->cnodes * 2 : 64;
    s->nodes = drv_realloc(s->nodes, s->cnodes * sizeof *s->nodes);
  }
  id = s->nnodes++;
  node *n = &s->nodes[id];
  memset(n, 0, sizeof *n);
  n->name = drv_strdup(sp->name);
  n->live = true;
  n->hostname = host;
  s->live_nodes++;
  class_insert(s, cid, id);
  if (s->live_nodes * 2 > s->nname_slots)
    names_rehash(s, s->nname_slots ? s->nname_slots * 2 : 1024);
  else {
    uint32_t i = (uint32_t)hash_bytes(n->name, strlen(n->name)) & (s->nname_slots - 1);
    while (s->name_slots[i]) i = (i + 1) & (s->nname_slots - 1);
    s->name_slots[i] = id + 1;
  }
  return id;
}

void drv_sched_node_remove(drv_sched *s, const char *name)
{
  uint32_t id = drv_sched_node_find(s, name);
  if (id == NONE) return;
  class_erase(s, id);
  s->nodes[id].live = false;
  s->live_nodes--;
  names_rehash(s, s->nname_slots); /* drop the dead entry from the probe chains */
}

/* ---- pods on nodes ---- */

static inline int64_t score_cpu(const drv_sched_pod *p)
{
  return p->cpu_m ? p->cpu_m : DEFAULT_CPU_M;
}

static inline int64_t score_mem(const drv_sched_pod *p)
{
  return p->mem ? p->mem : DEFAULT_MEM;
}

static void node_ports_add(node *n, const drv_sched_port *p)
{
  for (uint32_t i = 0; i < n->nports; i++)
    if (!memcmp(&n->ports[i].p, p, sizeof *p)) {
      n->ports[i].count++;
      return;
    }
  if (n->nports >= n->cports) {
    n->cports = n->cports ? n->cports * 2 : 4;
    n->ports = drv_realloc(n->ports, n->cports * sizeof *n->ports);
  }
  n->ports[n->nports].p = *p;
  n->ports[n->nports++].count = 1;
}

static void node_ports_del(node *n, const drv_sched_port *p)
{
  for (uint32_t i = 0; i < n->nports; i++)
    if (!memcmp(&n->ports[i].p, p, sizeof *p)) {
      if (--n->ports[i].count == 0) n->ports[i] = n->ports[--n->nports];
      return;
    }
}

static void *dup_arr(const void *p, size_t n, size_t sz)
{
  if (!n) return NULL;
  void *d = drv_malloc(n * sz);
  memcpy(d, p, n * sz);
  return d;
}

static void term_copy(drv_sched_term *d, const drv_sched_term *s)
{
  *d = *s;
  d->exprs = dup_arr(s->exprs, s->nexprs, sizeof *s->exprs);
  for (uint16_t j = 0; j < s->nexprs; j++)
    d->exprs[j].values = dup_arr(s->exprs[j].values, s->exprs[j].nvalues, sizeof(drv_sched_str));
}

static void pod_copy_for_core(drv_sched_pod *d, const drv_sched_pod *p)
{
  memset(d, 0, sizeof *d);
  d->cpu_m = p->cpu_m;
  d->mem = p->mem;
  d->eph = p->eph;
  d->ns = p->ns;
  d->nlabels = p->nlabels;
  d->labels = dup_arr(p->labels, p->nlabels, sizeof *p->labels);
  d->nports = p->nports;
  d->ports = dup_arr(p->ports, p->nports, sizeof *p->ports);
  d->nanti = p->nanti;
  d->anti = dup_arr(p->anti, p->nanti, sizeof *p->anti);
  for (uint16_t i = 0; i < p->nanti; i++) {
    term_copy(&d->anti[i].sel, &p->anti[i].sel);
    d->anti[i].namespaces = dup_arr(p->anti[i].namespaces, p->anti[i].nns, sizeof(drv_sched_str));
  }
}

uint32_t drv_sched_pod_add(drv_sched *s, uint32_t nid, const drv_sched_pod *pod)
{
  uint32_t h;
  if (s->nfree_pods)
    h = s->free_pods[--s->nfree_pods];
  else {
    if (s->npods >= s->cpods) {
      s->cpods = s->cpods ? s->cpods * 2 : 1024;
      s->pods = drv_realloc(s->pods, s->cpods * sizeof *s->pods);
    }
    h = s->npods++;
  }
  placed *pl = &s->pods[h];
  pl->node = nid;
  pl->live = true;
  pl->rc = pod->cpu_m;
  pl->rm = pod->mem;
  pl->re = pod->eph;
  pl->sc = score_cpu(pod);
  pl->sm = score_mem(pod);
  pod_copy_for_core(&pl->pod, pod);
  if (pod->nanti) s->n_anti_pods++;
  if (nid < s->nnodes) {
    node *n = &s->nodes[nid];
    n->rc += pl->rc;
    n->rm += pl->rm;
    n->re += pl->re;
    n->sc += pl->sc;
    n->sm += pl->sm;
    n->np++;
    for (uint16_t i = 0; i < pod->nports; i++) node_ports_add(n, &pod->ports[i]);
    if (n->live) tree_update(s, &s->classes[n->cls], n->slot);
  }
  return h;
}

void drv_sched_pod_remove(drv_sched *s, uint32_t h)
{
  if (h >= s->npods || !s->pods[h].live) return;
  placed *pl = &s->pods[h];
  if (pl->node < s->nnodes) {
    node *n = &s->nodes[pl->node];
    n->rc -= pl->rc;
    n->rm -= pl->rm;
    n->re -= pl->re;
    n->sc -= pl->sc;
    n->sm -= pl->sm;
    n->np--;
    for (uint16_t i = 0; i < pl->pod.nports; i++) node_ports_del(n, &pl->pod.ports[i]);
    if (n->live) tree_update(s, &s->classes[n->cls], n->slot);
  }
  if (pl->pod.nanti) s->n_anti_pods--;
  drv_sched_pod_clear(&pl->pod);
  pl->live = false;
  if (s->nfree_pods >= s->cfree_pods) {
    s->cfree_pods = s->cfree_pods ? s->cfree_pods * 2 : 256;
    s->free_pods = drv_realloc(s->free_pods, s->cfree_pods * sizeof *s->free_pods);
  }
  s->free_pods[s->nfree_pods++] = h;
}

/* ---- label logic ---- */

static drv_sched_str lab_lookup(const drv_sched_label *l, uint16_t n, drv_sched_str key)
{
  for (uint16_t i = 0; i < n; i++)
    if (l[i].key == key) return l[i].value;
  return 0;
}

/* A node's value for key: hostname from the node, the rest from its class. */
static drv_sched_str node_label(drv_sched *s, uint32_t nid, drv_sched_str key)
{
  node *n = &s->nodes[nid];
  if (key == s->host_key) return n->hostname;
  cls *c = &s->classes[n->cls];
  return lab_lookup(c->labels, c->nlabels, key);
}

static bool parse_ll(const char *s, long long *out)
{
  char *end;
  if (!*s) return false;
  *out = strtoll(s, &end, 10);
  return *end == '\0';
}

static bool expr_match(drv_sched *s, const drv_sched_expr *e, drv_sched_str v)
{
  switch (e->op) {
  case DRV_SCHED_OP_IN:
    for (uint16_t i = 0; i < e->nvalues; i++)
      if (v && e->values[i] == v) return true;
    return false;
  case DRV_SCHED_OP_NOTIN:
    for (uint16_t i = 0; i < e->nvalues; i++)
      if (v && e->values[i] == v) return false;
    return true;
  case DRV_SCHED_OP_EXISTS: return v != 0;
  case DRV_SCHED_OP_DOES_NOT_EXIST: return v == 0;
  case DRV_SCHED_OP_GT:
  case DRV_SCHED_OP_LT: {
    long long x;
    if (!v || !parse_ll(drv_sched_string(s, v), &x)) return false;
    return e->op == DRV_SCHED_OP_GT ? x > e->num : x < e->num;
  }
  }
  return false;
}

/* Node-selector term against a node (nid) or a class (nid NONE: hostname expressions pass,
 * *deferred set). */
static bool term_match_node(drv_sched *s, const drv_sched_term *t, const cls *c, uint32_t nid,
                            bool *deferred)
{
  if (!t->nexprs) return false; /* an empty NodeSelectorTerm matches nothing */
  for (uint16_t i = 0; i < t->nexprs; i++) {
    const drv_sched_expr *e = &t->exprs[i];
    drv_sched_str v;
    if (e->key == s->host_key) {
      if (nid == NONE) {
        *deferred = true;
        continue;
      }
      v = s->nodes[nid].hostname;
    } else
      v = lab_lookup(c->labels, c->nlabels, e->key);
    if (!expr_match(s, e, v)) return false;
  }
  return true;
}

/* Label selector (as a term) against a pod's labels; an empty selector matches everything. */
static bool sel_match_labels(drv_sched *s, const drv_sched_term *t, const drv_sched_label *l,
                             uint16_t n)
{
  for (uint16_t i = 0; i < t->nexprs; i++)
    if (!expr_match(s, &t->exprs[i], lab_lookup(l, n, t->exprs[i].key))) return false;
  return true;
}

static bool tolerated(const drv_sched_pod *p, const drv_sched_taint *t)
{
  for (uint16_t i = 0; i < p->ntols; i++) {
    const drv_sched_toleration *o = &p->tols[i];
    if (o->effect && o->effect != t->effect) continue;
    if (o->key == 0 && o->exists) return true;
    if (o->key != t->key) continue;
    if (o->exists || o->value == t->value) return true;
  }
  return false;
}

/* Class-level filters in Kubernetes' order (NodeUnschedulable, TaintToleration, NodeAffinity)
 * and the class's preferred scores. nid NONE evaluates for the class (hostname deferred). */
static uint8_t class_filter(drv_sched *s, const drv_sched_pod *p, cls *c, uint32_t nid,
                            uint16_t *taint_idx, double *bonus, bool *deferred)
{
  if (c->unsched) {
    drv_sched_taint t = {s->unsched_key, 0, DRV_SCHED_NO_SCHEDULE};
    if (!tolerated(p, &t)) return RS_UNSCHED;
  }
  int prefer_bad = 0;
  for (uint16_t i = 0; i < c->ntaints; i++) {
    const drv_sched_taint *t = &c->taints[i];
    if (t->effect == DRV_SCHED_PREFER_NO_SCHEDULE) {
      if (!tolerated(p, t)) prefer_bad++;
      continue;
    }
    if (!tolerated(p, t)) {
      *taint_idx = i;
      return RS_TAINT;
    }
  }
  for (uint16_t i = 0; i < p->nselector; i++) {
    drv_sched_str key = p->selector[i].key, v;
    if (key == s->host_key) {
      if (nid == NONE) {
        *deferred = true;
        continue;
      }
      v = s->nodes[nid].hostname;
    } else
      v = lab_lookup(c->labels, c->nlabels, key);
    if (v != p->selector[i].value) return RS_AFFINITY;
  }
  if (p->nrequired) {
    bool any = false;
    for (uint16_t i = 0; i < p->nrequired && !any; i++)
      any = term_match_node(s, &p->required[i], c, nid, deferred);
    if (!any) return RS_AFFINITY;
  }
  double b = 0;
  if (p->npreferred) {
    int64_t tot = 0, got = 0;
    for (uint16_t i = 0; i < p->npreferred; i++) {
      tot += p->preferred[i].weight;
      if (term_match_node(s, &p->preferred[i], c, nid, deferred)) got += p->preferred[i].weight;
    }
    if (tot > 0) b += s->o.w_node_affinity * 100.0 * (double)got / (double)tot;
  }
  /* TaintToleration: fewer intolerable PreferNoSchedule taints score higher. */
  b += s->o.w_taint * (prefer_bad ? 100.0 / (1 + prefer_bad) : 100.0);
  *bonus = b;
  return RS_OK;
}

/* ---- pod affinity: the domains where matching pods run ---- */

static uint64_t dk_hash(dom_key k)
{
  return ((uint64_t)k.tag * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)k.key << 32 | k.value) * 0xC2B2AE3D27D4EB4FULL;
}

static void dom_reset(domset *d)
{
  if (d->cap) memset(d->slots, 0, d->cap * sizeof *d->slots);
  d->n = 0;
}

static void dom_add(domset *d, uint32_t tag, uint32_t key, uint32_t value)
{
  if ((d->n + 1) * 2 > d->cap) {
    uint32_t nc = d->cap ? d->cap * 2 : 256;
    dom_key *ns = drv_calloc(nc, sizeof *ns);
    for (uint32_t i = 0; i < d->cap; i++) {
      if (!d->slots[i].key) continue;
      uint32_t j = (uint32_t)dk_hash(d->slots[i]) & (nc - 1);
      while (ns[j].key) j = (j + 1) & (nc - 1);
      ns[j] = d->slots[i];
    }
    free(d->slots);
    d->slots = ns;
    d->cap = nc;
  }
  dom_key k = {tag, key, value};
  uint32_t j = (uint32_t)dk_hash(k) & (d->cap - 1);
  while (d->slots[j].key) {
    if (!memcmp(&d->slots[j], &k, sizeof k)) return;
    j = (j + 1) & (d->cap - 1);
  }
  d->slots[j] = k;
  d->n++;
}

static bool dom_has(const domset *d, uint32_t tag, uint32_t key, uint32_t value)
{
  if (!d->cap) return false;
  dom_key k = {tag, key, value};
  uint32_t j = (uint32_t)dk_hash(k) & (d->cap - 1);
  while (d->slots[j].key) {
    if (!memcmp(&d->slots[j], &k, sizeof k)) return true;
    j = (j + 1) & (d->cap - 1);
  }
  return false;
}

static bool ns_in_term(const drv_sched_pod_term *t, drv_sched_str owner_ns, drv_sched_str ns)
{
  if (!t->nns) return ns == owner_ns;
  for (uint16_t i = 0; i < t->nns; i++)
    if (t->namespaces[i] == ns) return true;
  return false;
}

#define TAG_AFF 1
#define TAG_ANTI 1001
#define TAG_EXISTING 2001
#define TAG_PAFF 3001
#define TAG_PANTI 4001

static bool pod_needs_affinity(drv_sched *s, const drv_sched_pod *p)
{
  return p->naff || p->nanti || p->npaff || p->npanti || s->n_anti_pods;
}

/* Fills s->dom for pod p: (TAG_AFF+i, key, value) for domains with pods matching affinity term
 * i, the same for anti terms, and (TAG_EXISTING, key, value) for domains an existing pod's
 * anti-affinity closes to p. */
static void affinity_prepare(drv_sched *s, const drv_sched_pod *p)
{
  dom_reset(&s->dom);
  s->nexisting_keys = 0;
  for (uint16_t i = 0; i < p->naff && i < 64; i++) s->aff_any[i] = false;
  for (uint32_t h = 0; h < s->npods; h++) {
    placed *pl = &s->pods[h];
    if (!pl->live || pl->node >= s->nnodes) continue;
    for (uint16_t i = 0; i < p->naff; i++) {
      const drv_sched_pod_term *t = &p->aff[i];
      if (!ns_in_term(t, p->ns, pl->pod.ns) ||
          !sel_match_labels(s, &t->sel, pl->pod.labels, pl->pod.nlabels))
        continue;
      if (i < 64) s->aff_any[i] = true;
      drv_sched_str v = node_label(s, pl->node, t->topology_key);
      if (v) dom_add(&s->dom, TAG_AFF + i, t->topology_key, v);
    }
    for (uint16_t i = 0; i < p->nanti; i++) {
      const drv_sched_pod_term *t = &p->anti[i];
      if (!ns_in_term(t, p->ns, pl->pod.ns) ||
          !sel_match_labels(s, &t->sel, pl->pod.labels, pl->pod.nlabels))
        continue;
      drv_sched_str v = node_label(s, pl->node, t->topology_key);
      if (v) dom_add(&s->dom, TAG_ANTI + i, t->topology_key, v);
    }
    const drv_sched_pod_term *pref[2] = {p->paff, p->panti};
    uint16_t npref[2] = {p->npaff, p->npanti};
    for (int k = 0; k < 2; k++)
      for (uint16_t i = 0; i < npref[k]; i++) {
        const drv_sched_pod_term *t = &pref[k][i];
        if (!ns_in_term(t, p->ns, pl->pod.ns) || !sel_match_labels(s, &t->sel, pl->pod.labels, pl->pod.nlabels))
          continue;
        drv_sched_str v = node_label(s, pl->node, t->topology_key);
        if (v) dom_add(&s->dom, (k ? TAG_PANTI : TAG_PAFF) + i, t->topology_key, v);
      }
    for (uint16_t i = 0; i < pl->pod.nanti; i++) {
      const drv_sched_pod_term *t = &pl->pod.anti[i];
      if (!ns_in_term(t, pl->pod.ns, p->ns) || !sel_match_labels(s, &t->sel, p->labels, p->nlabels))
        continue;
      drv_sched_str v = node_label(s, pl->node, t->topology_key);
      if (!v) continue;
      dom_add(&s->dom, TAG_EXISTING, t->topology_key, v);
      uint32_t k = 0;
      while (k < s->nexisting_keys && s->existing_keys[k] != t->topology_key) k++;
      if (k == s->nexisting_keys && k < DRV_ARRAY_LEN(s->existing_keys))
        s->existing_keys[s->nexisting_keys++] = t->topology_key;
    }
  }
}

/* Kubernetes' order: the pod's affinity, its anti-affinity, then existing pods' anti-affinity. */
static uint8_t affinity_filter(drv_sched *s, const drv_sched_pod *p, uint32_t nid)
{
  for (uint16_t i = 0; i < p->naff; i++) {
    const drv_sched_pod_term *t = &p->aff[i];
    drv_sched_str v = node_label(s, nid, t->topology_key);
    if (v && dom_has(&s->dom, TAG_AFF + i, t->topology_key, v)) continue;
    /* The first pod of a group that selects itself may go anywhere. */
    bool self = true;
    for (uint16_t j = 0; j < p->naff && self; j++)
      self = (j >= 64 || !s->aff_any[j]) && ns_in_term(&p->aff[j], p->ns, p->ns) &&
             sel_match_labels(s, &p->aff[j].sel, p->labels, p->nlabels);
    if (self) continue;
    return RS_POD_AFF;
  }
  for (uint16_t i = 0; i < p->nanti; i++) {
    const drv_sched_pod_term *t = &p->anti[i];
    drv_sched_str v = node_label(s, nid, t->topology_key);
    if (v && dom_has(&s->dom, TAG_ANTI + i, t->topology_key, v)) return RS_POD_ANTI;
  }
  for (uint32_t j = 0; j < s->nexisting_keys; j++) {
    drv_sched_str v = node_label(s, nid, s->existing_keys[j]);
    if (v && dom_has(&s->dom, TAG_EXISTING, s->existing_keys[j], v)) return RS_EXISTING_ANTI;
  }
  return RS_OK;
}

static bool ports_conflict(const node *n, const drv_sched_pod *p)
{
  for (uint16_t i = 0; i < p->nports; i++)
    for (uint32_t j = 0; j < n->nports; j++) {
      const drv_sched_port *a = &p->ports[i], *b = &n->ports[j].p;
      if (a->port == b->port && a->proto == b->proto && (!a->ip || !b->ip || a->ip == b->ip))
        return true;
    }
  return false;
}

static unsigned fit_bits(const cls *c, const node *n, const drv_sched_pod *p)
{
  unsigned r = 0;
  if (n->np + 1 > c->pods) r |= FIT_PODS;
  if (p->cpu_m && n->rc + p->cpu_m > c->cpu) r |= FIT_CPU;
  if (p->mem && n->rm + p->mem > c->mem) r |= FIT_MEM;
  if (p->eph && n->re + p->eph > c->eph) r |= FIT_EPH;
  return r;
}

/* ---- scores ---- */

static inline double frac(int64_t used, int64_t alloc)
{
  if (alloc <= 0) return 1.0;
  double f = (double)used / (double)alloc;
  return f > 1.0 ? 1.0 : (f < 0 ? 0 : f);
}

static inline double res_score(const drv_sched_opts *o, double fc, double fm)
{
  double fit = o->strategy == DRV_SCHED_PACK ? (fc + fm) * 50.0 : (2.0 - fc - fm) * 50.0;
  double bal = 100.0 - 50.0 * fabs(fc - fm);
  return o->w_fit * fit + o->w_balanced * bal;
}

static inline double clamp01(double f)
{
  return f > 1.0 ? 1.0 : (f < 0 ? 0 : f);
}

/* Upper bound of res_score over a subtree. res_score is concave in (c, m) (a linear fit term
 * plus -|c - m|), so its maximum over the box of the subtree's fraction ranges lies on a corner
 * or where the diagonal c = m crosses the box: evaluate those. With equal fit and balance
 * weights the score is a function of max(c, m) (spread: 200 - 100 max) or min(c, m) (pack:
 * 100 + 100 min), which the joint statistics bound more tightly; the smaller bound wins. */
static inline double res_bound(const drv_sched_opts *o, const cls *c, const tnode *t, int64_t pc,
                               int64_t pm)
{
  double clo = frac(t->lo_c + pc, c->cpu), chi = frac(t->hi_c + pc, c->cpu);
  double mlo = frac(t->lo_m + pm, c->mem), mhi = frac(t->hi_m + pm, c->mem);
  double cand[8][2] = {{clo, mlo}, {clo, mhi}, {chi, mlo}, {chi, mhi}};
  int n = 4;
  if (mlo <= clo && clo <= mhi) cand[n][0] = cand[n][1] = clo, n++;
  if (mlo <= chi && chi <= mhi) cand[n][0] = cand[n][1] = chi, n++;
  if (clo <= mlo && mlo <= chi) cand[n][0] = cand[n][1] = mlo, n++;
  if (clo <= mhi && mhi <= chi) cand[n][0] = cand[n][1] = mhi, n++;
  double ub = -1e300;
  for (int i = 0; i < n; i++) {
    double v = res_score(o, cand[i][0], cand[i][1]);
    if (v > ub) ub = v;
  }
  if (o->w_fit == o->w_balanced && c->cpu > 0 && c->mem > 0) {
    double dc = (double)pc / (double)c->cpu, dm = (double)pm / (double)c->mem;
    double w = o->w_fit;
    if (o->strategy == DRV_SCHED_PACK) {
      double hi = t->kmax + (dc > dm ? dc : dm), h2 = (t->umax + dc + dm) / 2;
      if (h2 < hi) hi = h2;
      if (chi < hi) hi = chi;
      if (mhi < hi) hi = mhi;
      double b = w * (100.0 + 100.0 * clamp01(hi));
      if (b < ub) ub = b;
    } else {
      double lo = t->kmin + (dc < dm ? dc : dm), l2 = (t->umin + dc + dm) / 2;
      if (l2 > lo) lo = l2;
      if (clo > lo) lo = clo;
      if (mlo > lo) lo = mlo;
      double b = w * (200.0 - 100.0 * clamp01(lo));
      if (b < ub) ub = b;
    }
  }
  return ub;
}

static inline bool t_feasible(const tnode *t, const drv_sched_pod *p)
{
  return t->fpods >= 1 && t->fcpu >= p->cpu_m && t->fmem >= p->mem && (!p->eph || t->feph >= p->eph);
}

/* Preferred pod (anti-)affinity, 0..100: the weights of the affinity terms whose domain on
 * this node holds matching pods, minus those of such anti-affinity terms, scaled. */
static double paff_score(drv_sched *s, const drv_sched_pod *p, uint32_t nid)
{
  double raw = 0, wa = 0, wn = 0;
  for (uint16_t i = 0; i < p->npaff; i++) {
    const drv_sched_pod_term *t = &p->paff[i];
    wa += t->sel.weight;
    drv_sched_str v = node_label(s, nid, t->topology_key);
    if (v && dom_has(&s->dom, TAG_PAFF + i, t->topology_key, v)) raw += t->sel.weight;
  }
  for (uint16_t i = 0; i < p->npanti; i++) {
    const drv_sched_pod_term *t = &p->panti[i];
    wn += t->sel.weight;
    drv_sched_str v = node_label(s, nid, t->topology_key);
    if (v && dom_has(&s->dom, TAG_PANTI + i, t->topology_key, v)) raw -= t->sel.weight;
  }
  return wa + wn > 0 ? 100.0 * (raw + wn) / (wa + wn) : 0;
}

/* ---- topology spread ---- */

/* nodeSelector and required node affinity only (taints do not make a domain ineligible). */
static bool class_affinity_ok(drv_sched *s, const drv_sched_pod *p, const cls *c)
{
  bool deferred = false;
  for (uint16_t i = 0; i < p->nselector; i++)
    if (p->selector[i].key != s->host_key && lab_lookup(c->labels, c->nlabels, p->selector[i].key) != p->selector[i].value)
      return false;
  if (!p->nrequired) return true;
  for (uint16_t i = 0; i < p->nrequired; i++)
    if (term_match_node(s, &p->required[i], c, NONE, &deferred)) return true;
  return false;
}

static int nspread(const drv_sched_pod *p)
{
  return p->nspread < MAX_SPREAD ? p->nspread : MAX_SPREAD;
}

static void spread_prepare(drv_sched *s, const drv_sched_pod *p)
{
  int n = nspread(p);
  if (s->spread_cap < s->st.n) {
    for (int i = 0; i < MAX_SPREAD; i++) {
      free(s->spread_cnt[i]);
      s->spread_cnt[i] = NULL;
    }
    s->spread_cap = s->st.n * 2;
  }
  for (int i = 0; i < n; i++) {
    if (!s->spread_cnt[i]) s->spread_cnt[i] = drv_malloc(s->spread_cap * sizeof(int32_t));
    memset(s->spread_cnt[i], 0, s->spread_cap * sizeof(int32_t));
    s->spread_self[i] = sel_match_labels(s, &p->spread[i].sel, p->labels, p->nlabels) ? 1 : 0;
  }
  for (uint32_t h = 0; h < s->npods; h++) {
    placed *pl = &s->pods[h];
    if (!pl->live || pl->node >= s->nnodes || !s->nodes[pl->node].live || pl->pod.ns != p->ns) continue;
    if (!s->classes[s->nodes[pl->node].cls].elig) continue;
    for (int i = 0; i < n; i++) {
      if (!sel_match_labels(s, &p->spread[i].sel, pl->pod.labels, pl->pod.nlabels)) continue;
      drv_sched_str v = node_label(s, pl->node, p->spread[i].topology_key);
      if (v && v < s->spread_cap) s->spread_cnt[i][v]++;
    }
  }
  for (int i = 0; i < n; i++) {
    int32_t mn = INT32_MAX, mx = 0;
    for (uint32_t id = 0; id < s->nnodes; id++) {
      if (!s->nodes[id].live || !s->classes[s->nodes[id].cls].elig) continue;
      drv_sched_str v = node_label(s, id, p->spread[i].topology_key);
      if (!v) continue;
      int32_t c = s->spread_cnt[i][v];
      if (c < mn) mn = c;
      if (c > mx) mx = c;
    }
    s->spread_min[i] = mn == INT32_MAX ? 0 : mn;
    s->spread_max[i] = mx;
  }
}

static uint8_t spread_filter(drv_sched *s, const drv_sched_pod *p, uint32_t nid)
{
  for (int i = 0; i < nspread(p); i++) {
    if (!p->spread[i].hard) continue;
    drv_sched_str v = node_label(s, nid, p->spread[i].topology_key);
    if (!v) return RS_SPREAD_MISSING;
    if (s->spread_cnt[i][v] + s->spread_self[i] - s->spread_min[i] > p->spread[i].max_skew) return RS_SPREAD;
  }
  return RS_OK;
}

/* 0..100 per soft constraint, averaged: the emptier the node's domain, the higher. */
static double spread_score(drv_sched *s, const drv_sched_pod *p, uint32_t nid)
{
  double sum = 0;
  int soft = 0;
  for (int i = 0; i < nspread(p); i++) {
    if (p->spread[i].hard) continue;
    soft++;
    drv_sched_str v = node_label(s, nid, p->spread[i].topology_key);
    if (!v) continue;
    int32_t range = s->spread_max[i] - s->spread_min[i];
    sum += 100.0 * (double)(s->spread_max[i] - s->spread_cnt[i][v]) / (double)(range > 0 ? range : 1);
  }
  return soft ? sum / soft : 0;
}

/* Exact verdict and score of pod on node (the class's scratch must be prepared). */
static uint8_t node_eval(drv_sched *s, const drv_sched_pod *p, uint32_t nid, bool need_host,
                         bool need_aff, double *score, unsigned *fitb, uint16_t *taint_idx)
{
  node *n = &s->nodes[nid];
  cls *c = &s->classes[n->cls];
  double bonus = c->bonus;
  if (need_host) {
    bool deferred = false;
    uint8_t r = class_filter(s, p, c, nid, taint_idx, &bonus, &deferred);
    if (r) return r;
    bonus += s->spread_ub;
    bonus += s->paff_ub;
  } else if (!c->ok) {
    *taint_idx = c->taint_idx;
    return c->reason;
  }
  if (p->nports && ports_conflict(n, p)) return RS_PORTS;
  unsigned fb = fit_bits(c, n, p);
  if (fb) {
    if (fitb) *fitb = fb;
    return RS_FIT;
  }
  if (p->nspread) {
    uint8_t r = spread_filter(s, p, nid);
    if (r) return r;
    /* the class bonus holds the spread score's upper bound: put the node's own in */
    bonus += spread_score(s, p, nid) * s->o.w_spread - s->spread_ub;
  }
  if (need_aff) {
    uint8_t r = affinity_filter(s, p, nid);
    if (r) return r;
    if (s->paff_ub > 0) bonus += paff_score(s, p, nid) * s->o.w_pod_affinity - s->paff_ub;
  }
  *score = bonus + res_score(&s->o, frac(n->sc + score_cpu(p), c->cpu), frac(n->sm + score_mem(p), c->mem));
  return RS_OK;
}

/* Per-placement preparation: class-level filters and bonuses, affinity domains. */
static void prepare(drv_sched *s, const drv_sched_pod *p, bool *need_host, bool *need_aff)
{
  *need_host = false;
  bool soft = false;
  for (int i = 0; i < nspread(p); i++) soft |= !p->spread[i].hard;
  s->spread_ub = soft ? 100.0 * s->o.w_spread : 0;
  s->paff_ub = p->npaff || p->npanti ? 100.0 * s->o.w_pod_affinity : 0;
  for (uint32_t i = 0; i < s->nclasses; i++) {
    cls *c = &s->classes[i];
    bool deferred = false;
    c->taint_idx = 0;
    c->bonus = 0;
    c->reason = c->live ? class_filter(s, p, c, NONE, &c->taint_idx, &c->bonus, &deferred) : RS_UNSCHED;
    c->ok = c->reason == RS_OK;
    c->bonus += s->spread_ub + s->paff_ub;
    c->elig = p->nspread ? class_affinity_ok(s, p, c) : 1;
    if (deferred) *need_host = true;
  }
  if (p->nspread) spread_prepare(s, p);
  *need_aff = pod_needs_affinity(s, p);
  if (*need_aff) affinity_prepare(s, p);
}

static void heap_push(drv_sched *s, double ub, uint32_t c, uint32_t idx)
{
  if (s->nheap >= s->cheap) {
    s->cheap = s->cheap ? s->cheap * 2 : 256;
    s->heap = drv_realloc(s->heap, s->cheap * sizeof *s->heap);
  }
  uint32_t i = s->nheap++;
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (s->heap[parent].ub >= ub) break;
    s->heap[i] = s->heap[parent];
    i = parent;
  }
  s->heap[i] = (struct hent){ub, c, idx};
}

static struct hent heap_pop(drv_sched *s)
{
  struct hent top = s->heap[0], last = s->heap[--s->nheap];
  uint32_t i = 0, n = s->nheap;
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    double mv = last.ub;
    if (l < n && s->heap[l].ub > mv) {
      m = l;
      mv = s->heap[l].ub;
    }
    if (r < n && s->heap[r].ub > mv) m = r;
    if (m == i) break;
    s->heap[i] = s->heap[m];
    i = m;
  }
  if (n) s->heap[i] = last;
  return top;
}

uint32_t drv_sched_place(drv_sched *s, const drv_sched_pod *p, double *score)
{
  bool need_host, need_aff;
  prepare(s, p, &need_host, &need_aff);
  int64_t pc = score_cpu(p), pm = score_mem(p);
  s->nheap = 0;
  for (uint32_t i = 0; i < s->nclasses; i++) {
    cls *c = &s->classes[i];
    if (!c->ok || !c->cap || !t_feasible(&c->tree[1], p)) continue;
    heap_push(s, c->bonus + res_bound(&s->o, c, &c->tree[1], pc, pm), i, 1);
  }
  uint32_t best = NONE;
  double bests = -1;
  while (s->nheap) {
    struct hent e = heap_pop(s);
    if (best != NONE && e.ub <= bests + s->o.tolerance) break;
    cls *c = &s->classes[e.cls];
    if (e.idx >= c->cap) {
      uint32_t nid = c->slot_node[e.idx - c->cap];
      double sc;
      uint16_t ti;
      if (nid != NONE && node_eval(s, p, nid, need_host, need_aff, &sc, NULL, &ti) == RS_OK &&
          sc > bests) {
        bests = sc;
        best = nid;
      }
      continue;
    }
    for (uint32_t k = 2 * e.idx; k <= 2 * e.idx + 1; k++) {
      const tnode *t = &c->tree[k];
      if (t_feasible(t, p)) heap_push(s, c->bonus + res_bound(&s->o, c, t, pc, pm), e.cls, k);
    }
  }
  if (score) *score = bests;
  return best;
}

uint32_t drv_sched_place_exhaustive(drv_sched *s, const drv_sched_pod *p, double *score)
{
  bool need_host, need_aff;
  prepare(s, p, &need_host, &need_aff);
  uint32_t best = NONE;
  double bests = -1;
  for (uint32_t i = 0; i < s->nnodes; i++) {
    if (!s->nodes[i].live) continue;
    double sc;
    uint16_t ti;
    if (node_eval(s, p, i, need_host, need_aff, &sc, NULL, &ti) == RS_OK && sc > bests) {
      bests = sc;
      best = i;
    }
  }
  if (score) *score = bests;
  return best;
}

double drv_sched_score(drv_sched *s, const drv_sched_pod *p, uint32_t nid)
{
  if (nid >= s->nnodes || !s->nodes[nid].live) return -1;
  bool need_host, need_aff;
  prepare(s, p, &need_host, &need_aff);
  double sc;
  uint16_t ti;
  return node_eval(s, p, nid, need_host, need_aff, &sc, NULL, &ti) == RS_OK ? sc : -1;
}

/* ---- the FitError message ---- */

typedef struct reason_count {
  char *text;
  uint32_t count;
} reason_count;

static void reason_add(reason_count **v, size_t *n, char *text)
{
  for (size_t i = 0; i < *n; i++)
    if (!strcmp((*v)[i].text, text)) {
      (*v)[i].count++;
      free(text);
      return;
    }
  *v = drv_realloc(*v, (*n + 1) * sizeof **v);
  (*v)[*n].text = text;
  (*v)[(*n)++].count = 1;
}

static int strp_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *drv_sched_explain(drv_sched *s, const drv_sched_pod *p)
{
  if (!s->live_nodes) return drv_strdup("no nodes available to schedule pods");
  bool need_host, need_aff;
  prepare(s, p, &need_host, &need_aff);
  reason_count *rc = NULL;
  size_t nrc = 0, avail = 0;
  for (uint32_t i = 0; i < s->nnodes; i++) {
    if (!s->nodes[i].live) continue;
    double sc;
    unsigned fb = 0;
    uint16_t ti = 0;
    uint8_t r = node_eval(s, p, i, true, need_aff, &sc, &fb, &ti);
    cls *c = &s->classes[s->nodes[i].cls];
    switch (r) {
    case RS_OK: avail++; break;
    case RS_UNSCHED: reason_add(&rc, &nrc, drv_strdup("node(s) were unschedulable")); break;
    case RS_TAINT:
      reason_add(&rc, &nrc, drv_asprintf("node(s) had untolerated taint {%s: %s}",
                                         drv_sched_string(s, c->taints[ti].key),
                                         drv_sched_string(s, c->taints[ti].value)));
      break;
    case RS_AFFINITY:
      reason_add(&rc, &nrc, drv_strdup("node(s) didn't match Pod's node affinity/selector"));
      break;
    case RS_PORTS:
      reason_add(&rc, &nrc, drv_strdup("node(s) didn't have free ports for the requested pod ports"));
      break;
    case RS_FIT:
      if (fb & FIT_PODS) reason_add(&rc, &nrc, drv_strdup("Too many pods"));
      if (fb & FIT_CPU) reason_add(&rc, &nrc, drv_strdup("Insufficient cpu"));
      if (fb & FIT_MEM) reason_add(&rc, &nrc, drv_strdup("Insufficient memory"));
      if (fb & FIT_EPH) reason_add(&rc, &nrc, drv_strdup("Insufficient ephemeral-storage"));
      break;
    case RS_SPREAD_MISSING:
      reason_add(&rc, &nrc, drv_strdup("node(s) didn't match pod topology spread constraints (missing required label)"));
      break;
    case RS_SPREAD:
      reason_add(&rc, &nrc, drv_strdup("node(s) didn't match pod topology spread constraints"));
      break;
    case RS_EXISTING_ANTI:
      reason_add(&rc, &nrc, drv_strdup("node(s) didn't satisfy existing pods anti-affinity rules"));
      break;
    case RS_POD_AFF: reason_add(&rc, &nrc, drv_strdup("node(s) didn't match pod affinity rules")); break;
    case RS_POD_ANTI:
      reason_add(&rc, &nrc, drv_strdup("node(s) didn't match pod anti-affinity rules"));
      break;
    }
  }
  char **parts = drv_calloc(nrc + 1, sizeof *parts);
  for (size_t i = 0; i < nrc; i++) {
    parts[i] = drv_asprintf("%u %s", rc[i].count, rc[i].text);
    free(rc[i].text);
  }
  free(rc);
  qsort(parts, nrc, sizeof *parts, strp_cmp);
  drv_buf b = DRV_BUF_INIT;
  drv_buf_printf(&b, "%zu/%zu nodes are available: ", avail, (size_t)s->live_nodes);
  for (size_t i = 0; i < nrc; i++) {
    drv_buf_printf(&b, "%s%s", i ? ", " : "", parts[i]);
    free(parts[i]);
  }
  drv_buf_putc(&b, '.');
  free(parts);
  return drv_buf_steal(&b);
}
