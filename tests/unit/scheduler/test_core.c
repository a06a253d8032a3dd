/* Scheduler core: each filter, each score, the fast search against the exhaustive one, and
 * Kubernetes' unschedulable message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/core.h"

#define GI (1024LL * 1024 * 1024)
#define NONE UINT32_MAX

static uint32_t add_node(drv_sched *s, const char *name, int64_t cpu_m, int64_t mem,
                         const char *const *labels, const drv_sched_taint *taints, int ntaints,
                         bool unsched)
{
  drv_sched_label l[16];
  uint16_t nl = 0;
  l[nl++] = (drv_sched_label){drv_sched_intern(s, "kubernetes.io/hostname"), drv_sched_intern(s, name)};
  for (int i = 0; labels && labels[i]; i += 2)
    l[nl++] = (drv_sched_label){drv_sched_intern(s, labels[i]), drv_sched_intern(s, labels[i + 1])};
  drv_sched_node_spec sp = {.name = name, .cpu_m = cpu_m, .mem = mem, .pods = 110,
                            .unschedulable = unsched, .nlabels = nl, .labels = l,
                            .ntaints = (uint16_t)ntaints, .taints = taints};
  return drv_sched_node_set(s, &sp);
}

static void test_insufficient_cpu_message(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  for (int i = 0; i < 3; i++) {
    char n[16];
    snprintf(n, sizeof n, "n%d", i);
    add_node(s, n, 1000, 4 * GI, NULL, NULL, 0, false);
  }
  drv_sched_pod p = {.cpu_m = 2000, .mem = GI};
  assert_int_equal(drv_sched_place(s, &p, NULL), NONE);
  assert_int_equal(drv_sched_place_exhaustive(s, &p, NULL), NONE);
  char *m = drv_sched_explain(s, &p);
  assert_string_equal(m, "0/3 nodes are available: 3 Insufficient cpu.");
  free(m);
  drv_sched_free(s);
}

static void test_mixed_reasons_sorted(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  drv_sched_taint t = {drv_sched_intern(s, "dedicated"), drv_sched_intern(s, "gpu"), DRV_SCHED_NO_SCHEDULE};
  add_node(s, "a", 1000, 4 * GI, NULL, &t, 1, false);
  add_node(s, "b", 4000, 1 * GI, NULL, NULL, 0, false);
  add_node(s, "c", 4000, 8 * GI, NULL, NULL, 0, true);
  add_node(s, "d", 500, GI / 2, NULL, NULL, 0, false);
  drv_sched_pod p = {.cpu_m = 2000, .mem = 2 * GI};
  char *m = drv_sched_explain(s, &p);
  assert_string_equal(m, "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated "
                         "taint {dedicated: gpu}, 1 node(s) were unschedulable, 2 Insufficient memory.");
  free(m);
  /* tolerating the taint and fitting node a */
  drv_sched_toleration tol = {.key = t.key, .value = t.value, .exists = false, .effect = 0};
  drv_sched_pod q = {.cpu_m = 500, .mem = GI, .ntols = 1, .tols = &tol};
  uint32_t n = drv_sched_place(s, &q, NULL);
  assert_true(n != NONE);
  drv_sched_free(s);
}

static void test_node_selector_and_affinity(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  const char *ssd[] = {"disk", "ssd", "zone", "z1", NULL};
  const char *hdd[] = {"disk", "hdd", "zone", "z2", NULL};
  add_node(s, "hdd1", 4000, 8 * GI, hdd, NULL, 0, false);
  uint32_t ssd1 = add_node(s, "ssd1", 4000, 8 * GI, ssd, NULL, 0, false);
  drv_sched_label sel = {drv_sched_intern(s, "disk"), drv_sched_intern(s, "ssd")};
  drv_sched_pod p = {.cpu_m = 100, .nselector = 1, .selector = &sel};
  assert_int_equal(drv_sched_place(s, &p, NULL), ssd1);

  /* required affinity: zone NotIn (z1) → hdd1 only */
  drv_sched_str z1 = drv_sched_intern(s, "z1");
  drv_sched_expr e = {.key = drv_sched_intern(s, "zone"), .op = DRV_SCHED_OP_NOTIN, .nvalues = 1, .values = &z1};
  drv_sched_term term = {.nexprs = 1, .exprs = &e};
  drv_sched_pod q = {.cpu_m = 100, .nrequired = 1, .required = &term};
  assert_int_equal(drv_sched_place(s, &q, NULL), drv_sched_node_find(s, "hdd1"));

  /* hostname affinity: deferred to the node */
  drv_sched_str h = drv_sched_intern(s, "ssd1");
  drv_sched_expr eh = {.key = drv_sched_intern(s, "kubernetes.io/hostname"), .op = DRV_SCHED_OP_IN, .nvalues = 1, .values = &h};
  drv_sched_term th = {.nexprs = 1, .exprs = &eh};
  drv_sched_pod r = {.cpu_m = 100, .nrequired = 1, .required = &th};
  assert_int_equal(drv_sched_place(s, &r, NULL), ssd1);
  assert_int_equal(drv_sched_place_exhaustive(s, &r, NULL), ssd1);

  /* preferred affinity wins over a slightly better resource score */
  drv_sched_pod filler = {.cpu_m = 1000, .mem = GI};
  drv_sched_pod_add(s, ssd1, &filler);
  drv_sched_term pref = {.nexprs = 1, .exprs = &e, .weight = 50}; /* zone NotIn z1 → hdd1 */
  drv_sched_pod t = {.cpu_m = 100, .npreferred = 1, .preferred = &pref};
  assert_int_equal(drv_sched_place(s, &t, NULL), drv_sched_node_find(s, "hdd1"));
  e.values = &h; /* reuse: zone NotIn (ssd1) matches both */
  drv_sched_expr gt = {.key = drv_sched_intern(s, "cores"), .op = DRV_SCHED_OP_GT, .num = 8};
  drv_sched_term tg = {.nexprs = 1, .exprs = &gt};
  drv_sched_pod u = {.cpu_m = 100, .nrequired = 1, .required = &tg};
  char *m = drv_sched_explain(s, &u);
  assert_string_equal(m, "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
  free(m);
  drv_sched_free(s);
}

static void test_spread_vs_pack(void **st)
{
  for (int mode = 0; mode < 2; mode++) {
    drv_sched_opts o;
    drv_sched_opts_default(&o);
    o.strategy = mode ? DRV_SCHED_PACK : DRV_SCHED_SPREAD;
    o.tolerance = 0;
    drv_sched *s = drv_sched_new(&o);
    uint32_t a = add_node(s, "a", 4000, 16 * GI, NULL, NULL, 0, false);
    uint32_t b = add_node(s, "b", 4000, 16 * GI, NULL, NULL, 0, false);
    drv_sched_pod used = {.cpu_m = 2000, .mem = 8 * GI};
    drv_sched_pod_add(s, a, &used);
    drv_sched_pod p = {.cpu_m = 500, .mem = 2 * GI};
    assert_int_equal(drv_sched_place(s, &p, NULL), mode ? a : b);
    double sa = drv_sched_score(s, &p, a), sb = drv_sched_score(s, &p, b);
    if (mode)
      assert_true(sa > sb);
    else
      assert_true(sb > sa);
    drv_sched_free(s);
  }
}

static void test_balanced(void **st)
{
  drv_sched_opts o;
  drv_sched_opts_default(&o);
  o.w_fit = 0; /* balanced allocation alone */
  o.tolerance = 0;
  drv_sched *s = drv_sched_new(&o);
  uint32_t a = add_node(s, "a", 4000, 4 * GI, NULL, NULL, 0, false);
  uint32_t b = add_node(s, "b", 4000, 4 * GI, NULL, NULL, 0, false);
  drv_sched_pod cpuheavy = {.cpu_m = 2000, .mem = GI / 4};
  drv_sched_pod_add(s, a, &cpuheavy);
  /* a memory-heavy pod balances node a */
  drv_sched_pod p = {.cpu_m = 100, .mem = 2 * GI};
  assert_int_equal(drv_sched_place(s, &p, NULL), a);
  (void)b;
  drv_sched_free(s);
}

static void test_ports_and_pods(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  uint32_t a = add_node(s, "a", 4000, 4 * GI, NULL, NULL, 0, false);
  drv_sched_port port = {.port = 8080, .proto = 0};
  drv_sched_pod p = {.cpu_m = 100, .nports = 1, .ports = &port};
  assert_int_equal(drv_sched_place(s, &p, NULL), a);
  uint32_t h = drv_sched_pod_add(s, a, &p);
  assert_int_equal(drv_sched_place(s, &p, NULL), NONE);
  char *m = drv_sched_explain(s, &p);
  assert_string_equal(m, "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.");
  free(m);
  drv_sched_pod_remove(s, h);
  assert_int_equal(drv_sched_place(s, &p, NULL), a);
  drv_sched_pod tiny = {0};
  for (int i = 0; i < 110; i++) drv_sched_pod_add(s, a, &tiny);
  m = drv_sched_explain(s, &tiny);
  assert_string_equal(m, "0/1 nodes are available: 1 Too many pods.");
  free(m);
  drv_sched_free(s);
}

static void test_pod_anti_affinity(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  for (int i = 0; i < 3; i++) {
    char n[16];
    snprintf(n, sizeof n, "n%d", i);
    add_node(s, n, 4000, 8 * GI, NULL, NULL, 0, false);
  }
  drv_sched_label app = {drv_sched_intern(s, "app"), drv_sched_intern(s, "web")};
  drv_sched_str web = app.value;
  drv_sched_expr e = {.key = app.key, .op = DRV_SCHED_OP_IN, .nvalues = 1, .values = &web};
  drv_sched_pod_term anti = {.sel = {.nexprs = 1, .exprs = &e},
                             .topology_key = drv_sched_intern(s, "kubernetes.io/hostname")};
  drv_sched_pod p = {.cpu_m = 100, .ns = drv_sched_intern(s, "default"), .nlabels = 1,
                     .labels = &app, .nanti = 1, .anti = &anti};
  bool used[3] = {false};
  for (int i = 0; i < 3; i++) {
    uint32_t n = drv_sched_place(s, &p, NULL);
    assert_true(n != NONE);
    assert_false(used[n]);
    used[n] = true;
    drv_sched_pod_add(s, n, &p);
  }
  assert_int_equal(drv_sched_place(s, &p, NULL), NONE);
  char *m = drv_sched_explain(s, &p);
  assert_string_equal(m, "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
  free(m);
  /* a pod without the anti term but with the label is kept out by the existing pods' terms */
  drv_sched_pod q = {.cpu_m = 100, .ns = p.ns, .nlabels = 1, .labels = &app};
  assert_int_equal(drv_sched_place(s, &q, NULL), NONE);
  m = drv_sched_explain(s, &q);
  assert_string_equal(m, "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.");
  free(m);
  /* affinity: goes where web runs */
  drv_sched_pod_term aff = anti;
  drv_sched_pod r = {.cpu_m = 100, .ns = p.ns, .naff = 1, .aff = &aff};
  assert_true(drv_sched_place(s, &r, NULL) != NONE);
  drv_sched_free(s);
}

static void test_topology_spread(void **st)
{
  drv_sched_opts o;
  drv_sched_opts_default(&o);
  o.tolerance = 0;
  drv_sched *s = drv_sched_new(&o);
  /* zone a: one big node; zone b: one small node. Resources alone would put everything on
   * the big one; maxSkew 1 by zone alternates. */
  const char *za[] = {"zone", "a", NULL}, *zb[] = {"zone", "b", NULL};
  uint32_t big = add_node(s, "big", 64000, 256 * GI, za, NULL, 0, false);
  uint32_t small = add_node(s, "small", 8000, 32 * GI, zb, NULL, 0, false);
  add_node(s, "nozone", 64000, 256 * GI, NULL, NULL, 0, false);
  drv_sched_label app = {drv_sched_intern(s, "app"), drv_sched_intern(s, "web")};
  drv_sched_str web = app.value;
  drv_sched_expr e = {.key = app.key, .op = DRV_SCHED_OP_IN, .nvalues = 1, .values = &web};
  drv_sched_spread c = {.sel = {.nexprs = 1, .exprs = &e}, .topology_key = drv_sched_intern(s, "zone"),
                        .max_skew = 1, .hard = true};
  drv_sched_pod p = {.cpu_m = 500, .mem = GI, .ns = drv_sched_intern(s, "default"), .nlabels = 1,
                     .labels = &app, .nspread = 1, .spread = &c};
  int in_a = 0, in_b = 0;
  for (int i = 0; i < 6; i++) {
    double fs, es;
    uint32_t n = drv_sched_place(s, &p, &fs);
    assert_int_equal(n, drv_sched_place_exhaustive(s, &p, &es));
    assert_true(n == big || n == small);
    if (n == big) in_a++; else in_b++;
    assert_true(abs(in_a - in_b) <= 1);
    drv_sched_pod_add(s, n, &p);
  }
  /* the small node full: zone b cannot take more, zone a may hold one more only */
  drv_sched_pod filler = {.cpu_m = 8000 - 3 * 500};
  drv_sched_pod_add(s, small, &filler);
  assert_int_equal(drv_sched_place(s, &p, NULL), big);
  drv_sched_pod_add(s, big, &p);
  assert_int_equal(drv_sched_place(s, &p, NULL), UINT32_MAX);
  char *m = drv_sched_explain(s, &p);
  assert_string_equal(m, "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match pod topology "
                         "spread constraints, 1 node(s) didn't match pod topology spread constraints (missing "
                         "required label).");
  free(m);
  /* ScheduleAnyway: a preference, never a refusal, and the fast search agrees with the
   * exhaustive one */
  c.hard = false;
  double fs, es;
  uint32_t f = drv_sched_place(s, &p, &fs), x = drv_sched_place_exhaustive(s, &p, &es);
  assert_true(f != UINT32_MAX);
  assert_true(fs >= es - 1e-9 && fs <= es + 1e-9);
  (void)x;
  drv_sched_free(s);
}

static void test_preferred_pod_affinity(void **st)
{
  drv_sched_opts o;
  drv_sched_opts_default(&o);
  o.tolerance = 0;
  drv_sched *s = drv_sched_new(&o);
  uint32_t a = add_node(s, "a", 16000, 64 * GI, NULL, NULL, 0, false);
  uint32_t b = add_node(s, "b", 16000, 64 * GI, NULL, NULL, 0, false);
  drv_sched_str ns = drv_sched_intern(s, "default");
  drv_sched_label db = {drv_sched_intern(s, "app"), drv_sched_intern(s, "db")};
  drv_sched_pod dbpod = {.cpu_m = 4000, .mem = 8 * GI, .ns = ns, .nlabels = 1, .labels = &db};
  drv_sched_pod_add(s, a, &dbpod); /* node a is busier: spread alone would pick b */
  drv_sched_str dbv = db.value;
  drv_sched_expr e = {.key = db.key, .op = DRV_SCHED_OP_IN, .nvalues = 1, .values = &dbv};
  drv_sched_pod_term t = {.sel = {.nexprs = 1, .exprs = &e, .weight = 100},
                          .topology_key = drv_sched_intern(s, "kubernetes.io/hostname")};
  drv_sched_pod near = {.cpu_m = 100, .ns = ns, .npaff = 1, .paff = &t};
  double fs, es;
  assert_int_equal(drv_sched_place(s, &near, &fs), a);
  assert_int_equal(drv_sched_place_exhaustive(s, &near, &es), a);
  assert_true(fs >= es - 1e-9 && fs <= es + 1e-9);
  drv_sched_pod away = {.cpu_m = 100, .ns = ns, .npanti = 1, .panti = &t};
  assert_int_equal(drv_sched_place(s, &away, NULL), b);
  drv_sched_pod plain = {.cpu_m = 100, .ns = ns};
  assert_int_equal(drv_sched_place(s, &plain, NULL), b);
  drv_sched_free(s);
}

static void test_fast_matches_exhaustive(void **st)
{
  for (int mode = 0; mode < 2; mode++) {
    drv_sched_opts o;
    drv_sched_opts_default(&o);
    o.strategy = mode ? DRV_SCHED_PACK : DRV_SCHED_SPREAD;
    o.tolerance = 0;
    drv_sched *s = drv_sched_new(&o);
    unsigned seed = 42;
    for (int i = 0; i < 200; i++) {
      char n[16];
      snprintf(n, sizeof n, "n%d", i);
      const char *z[] = {"zone", i % 3 ? "z1" : "z2", NULL};
      add_node(s, n, (i % 4 + 1) * 4000, (i % 3 + 1) * 8 * GI, z, NULL, 0, false);
    }
    for (int k = 0; k < 3000; k++) {
      drv_sched_pod p = {.cpu_m = 100 + rand_r(&seed) % 900, .mem = (128 + rand_r(&seed) % 2048) * 1024LL * 1024};
      double fs, es;
      uint32_t f = drv_sched_place(s, &p, &fs);
      uint32_t e = drv_sched_place_exhaustive(s, &p, &es);
      assert_true((f == NONE) == (e == NONE));
      if (f == NONE) break;
      assert_true(fs >= es - 1e-9);
      assert_true(fs <= es + 1e-9);
      drv_sched_pod_add(s, f, &p);
    }
    drv_sched_free(s);
  }
}

static void test_node_update_and_remove(void **st)
{
  drv_sched *s = drv_sched_new(NULL);
  uint32_t a = add_node(s, "a", 4000, 4 * GI, NULL, NULL, 0, false);
  drv_sched_pod p = {.cpu_m = 1000};
  drv_sched_pod_add(s, a, &p);
  /* cordon: same id, pods kept */
  assert_int_equal(add_node(s, "a", 4000, 4 * GI, NULL, NULL, 0, true), a);
  assert_int_equal(drv_sched_place(s, &p, NULL), NONE);
  add_node(s, "a", 4000, 4 * GI, NULL, NULL, 0, false);
  drv_sched_pod big = {.cpu_m = 3500};
  assert_int_equal(drv_sched_place(s, &big, NULL), NONE); /* 1000m still used */
  drv_sched_node_remove(s, "a");
  assert_int_equal(drv_sched_node_find(s, "a"), NONE);
  assert_int_equal(drv_sched_node_count(s), 0);
  char *m = drv_sched_explain(s, &p);
  assert_string_equal(m, "no nodes available to schedule pods");
  free(m);
  drv_sched_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_insufficient_cpu_message),
      cmocka_unit_test(test_mixed_reasons_sorted),
      cmocka_unit_test(test_node_selector_and_affinity),
      cmocka_unit_test(test_spread_vs_pack),
      cmocka_unit_test(test_balanced),
      cmocka_unit_test(test_ports_and_pods),
      cmocka_unit_test(test_pod_anti_affinity),
      cmocka_unit_test(test_topology_spread),
      cmocka_unit_test(test_preferred_pod_affinity),
      cmocka_unit_test(test_fast_matches_exhaustive),
      cmocka_unit_test(test_node_update_and_remove),
  };
  return cmocka_run_group_tests_name("scheduler_core", tests, NULL, NULL);
}
