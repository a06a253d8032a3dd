/* Scheduler core benchmark: places P pending pods on N synthetic nodes in-process, one core,
 * with the fast search (drv_sched_place) and the exhaustive scorer (every node scored, as
 * Kubernetes does with percentageOfNodesToScore=100), and compares their placement quality:
 *   - per decision: fast score / exhaustive best score on the same cluster state (sampled);
 *   - end state: mean node score (spread: free share; pack: nodes used) after all placements.
 * With MIXED=1 the workload has constraints too: a tenth of the nodes carry a NoSchedule
 * taint that a fifth of the pods tolerate, a third of the pods pin a zone (nodeSelector) and
 * a third prefer one (preferred node affinity, weight 50).
 * usage: bench_scheduler NODES PODS spread|pack [exhaustive_pods] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/core.h"

#define GI (1024LL * 1024 * 1024)
#define MI (1024LL * 1024)

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct shape {
  int64_t cpu, mem;
} shape;

static const shape SHAPES[] = {{8000, 32 * GI}, {16000, 64 * GI}, {32000, 128 * GI}, {64000, 256 * GI}};
/* Pod templates as Deployments use them: requests in millicores and MiB. */
static const int64_t TPL_CPU[] = {100, 250, 500, 1000, 2000, 250, 500};
static const int64_t TPL_MEM[] = {128, 256, 512, 1024, 4096, 1024, 2048};

static bool mixed;

static drv_sched *cluster(int nnodes, drv_sched_strategy strat, double tol, int64_t maxpods)
{
  drv_sched_opts o;
  drv_sched_opts_default(&o);
  o.strategy = strat;
  o.tolerance = tol;
  drv_sched *s = drv_sched_new(&o);
  drv_sched_str host = drv_sched_intern(s, "kubernetes.io/hostname");
  drv_sched_str zone = drv_sched_intern(s, "topology.kubernetes.io/zone");
  drv_sched_str zones[3] = {drv_sched_intern(s, "z0"), drv_sched_intern(s, "z1"), drv_sched_intern(s, "z2")};
  for (int i = 0; i < nnodes; i++) {
    char name[32];
    snprintf(name, sizeof name, "node-%05d", i);
    drv_sched_label l[2] = {{host, drv_sched_intern(s, name)}, {zone, zones[i % 3]}};
    const shape *sh = &SHAPES[i % 4];
    drv_sched_taint taint = {drv_sched_intern(s, "dedicated"), drv_sched_intern(s, "batch"), DRV_SCHED_NO_SCHEDULE};
    drv_sched_node_spec sp = {.name = name, .cpu_m = sh->cpu, .mem = sh->mem, .pods = maxpods,
                              .nlabels = 2, .labels = l};
    if (mixed && i % 10 == 9) {
      sp.ntaints = 1;
      sp.taints = &taint;
    }
    drv_sched_node_set(s, &sp);
  }
  return s;
}

/* Pod k of the workload, its requests scaled so the total is ~70% of the cluster's cpu. */
static void make_pod(drv_sched *s, int k, double scale, drv_sched_pod *p)
{
  unsigned x = (unsigned)k * 2654435761u;
  int t = (int)((x >> 7) % 7);
  memset(p, 0, sizeof *p);
  p->cpu_m = (int64_t)(TPL_CPU[t] * scale);
  if (p->cpu_m < 1) p->cpu_m = 1;
  p->mem = (int64_t)(TPL_MEM[t] * MI * scale);
  if (!mixed) return;
  static const char *const zn[3] = {"z0", "z1", "z2"};
  drv_sched_str zone = drv_sched_intern(s, "topology.kubernetes.io/zone");
  drv_sched_str z = drv_sched_intern(s, zn[(x >> 11) % 3]);
  int kind = (int)((x >> 3) % 3);
  if (kind == 0) {
    p->nselector = 1;
    p->selector = malloc(sizeof *p->selector);
    p->selector[0] = (drv_sched_label){zone, z};
  } else if (kind == 1) {
    p->npreferred = 1;
    p->preferred = calloc(1, sizeof *p->preferred);
    p->preferred[0].weight = 50;
    p->preferred[0].nexprs = 1;
    p->preferred[0].exprs = calloc(1, sizeof *p->preferred[0].exprs);
    p->preferred[0].exprs[0] = (drv_sched_expr){.key = zone, .op = DRV_SCHED_OP_IN, .nvalues = 1,
                                                .values = malloc(sizeof(drv_sched_str))};
    p->preferred[0].exprs[0].values[0] = z;
  }
  if ((x >> 17) % 5 == 0) {
    p->ntols = 1;
    p->tols = malloc(sizeof *p->tols);
    p->tols[0] = (drv_sched_toleration){.key = drv_sched_intern(s, "dedicated"), .exists = true};
  }
}

/* Mean over live nodes of the strategy's own objective: spread = mean free cpu+mem share of
 * the busiest resource... kept simple: spread reports the standard deviation of cpu
 * utilisation (lower is better), pack the number of nodes in use (lower is better). */
typedef struct endstate {
  double util_std, util_mean;
  int nodes_used;
} endstate;

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: %s NODES PODS spread|pack [exhaustive_pods]\n", argv[0]);
    return 2;
  }
  int nnodes = atoi(argv[1]), npods = atoi(argv[2]);
  drv_sched_strategy strat = strcmp(argv[3], "pack") == 0 ? DRV_SCHED_PACK : DRV_SCHED_SPREAD;
  int nex = argc > 4 ? atoi(argv[4]) : npods;
  double tol = getenv("TOLERANCE") ? atof(getenv("TOLERANCE")) : 0.5;
  mixed = getenv("MIXED") && atoi(getenv("MIXED"));

  int64_t cap_cpu = 0;
  for (int i = 0; i < nnodes; i++) cap_cpu += SHAPES[i % 4].cpu;
  double avg_cpu = 0;
  for (int t = 0; t < 7; t++) avg_cpu += TPL_CPU[t] / 7.0;
  double scale = 0.7 * (double)cap_cpu / ((double)npods * avg_cpu);
  int64_t maxpods = 110;
  if ((int64_t)npods > (int64_t)nnodes * 80) maxpods = (int64_t)npods * 2 / nnodes + 1;

  /* 1. fast search, timed (pods' strings interned in this instance: ids are the same in
   * every instance because all intern the same strings in the same order) */
  drv_sched *s = cluster(nnodes, strat, tol, maxpods);
  drv_sched_pod *pods = malloc(sizeof *pods * (size_t)npods);
  for (int k = 0; k < npods; k++) make_pod(s, k, scale, &pods[k]);
  uint32_t *where = malloc(sizeof *where * (size_t)npods);
  int placed = 0;
  double t0 = now();
  for (int k = 0; k < npods; k++) {
    uint32_t n = drv_sched_place(s, &pods[k], NULL);
    where[k] = n;
    if (n != UINT32_MAX) {
      drv_sched_pod_add(s, n, &pods[k]);
      placed++;
    }
  }
  double fast_s = now() - t0;

  /* 2. per-decision quality: replay with the exhaustive answer beside the fast one (untimed) */
  drv_sched_free(s);
  s = cluster(nnodes, strat, tol, maxpods);
  double ratio_sum = 0, ratio_min = 1;
  int samples = 0, step = npods / 1000 ? npods / 1000 : 1;
  for (int k = 0; k < npods; k++) {
    if (k % step == 0) {
      double fs, es;
      uint32_t f = drv_sched_place(s, &pods[k], &fs);
      uint32_t e = drv_sched_place_exhaustive(s, &pods[k], &es);
      if (f != UINT32_MAX && e != UINT32_MAX && es > 0) {
        double r = fs / es;
        ratio_sum += r;
        if (r < ratio_min) ratio_min = r;
        samples++;
      }
    }
    if (where[k] != UINT32_MAX) drv_sched_pod_add(s, where[k], &pods[k]);
  }
  drv_sched_free(s);

  /* 3. the exhaustive scorer placing nex pods, timed, then its end state */
  s = cluster(nnodes, strat, tol, maxpods);
  int ex_placed = 0;
  double t1 = now();
  for (int k = 0; k < nex; k++) {
    uint32_t n = drv_sched_place_exhaustive(s, &pods[k], NULL);
    if (n != UINT32_MAX) {
      drv_sched_pod_add(s, n, &pods[k]);
      ex_placed++;
    }
  }
  double ex_s = now() - t1;

  /* end-state figures for the same first nex pods placed by both */
  drv_sched *f2 = cluster(nnodes, strat, tol, maxpods);
  for (int k = 0; k < nex; k++)
    if (where[k] != UINT32_MAX) drv_sched_pod_add(f2, where[k], &pods[k]);
  double fsum = 0, esum = 0;
  for (uint32_t i = 0; i < (uint32_t)nnodes; i++) {
    /* score of a zero-sized probe pod = how good each node's state is for the strategy */
    drv_sched_pod probe = {.cpu_m = 1, .mem = 1};
    double a = drv_sched_score(f2, &probe, i), b = drv_sched_score(s, &probe, i);
    fsum += a > 0 ? a : 0;
    esum += b > 0 ? b : 0;
  }
  printf("{\"nodes\": %d, \"pods\": %d, \"strategy\": \"%s%s\", \"tolerance\": %.2f, "
         "\"placed\": %d, \"fast_s\": %.3f, \"fast_per_s\": %.0f, "
         "\"exhaustive_pods\": %d, \"exhaustive_placed\": %d, \"exhaustive_s\": %.3f, \"exhaustive_per_s\": %.0f, "
         "\"speedup\": %.1f, \"decision_quality_mean\": %.5f, \"decision_quality_min\": %.5f, \"samples\": %d, "
         "\"end_state_quality\": %.5f}\n",
         nnodes, npods, strat == DRV_SCHED_PACK ? "pack" : "spread", mixed ? "+mixed" : "", tol, placed, fast_s,
         placed / fast_s, nex, ex_placed, ex_s, ex_placed / ex_s,
         (placed / fast_s) / (ex_placed / ex_s), samples ? ratio_sum / samples : 0, ratio_min, samples,
         esum > 0 ? fsum / esum : 0);
  drv_sched_free(s);
  drv_sched_free(f2);
  for (int k = 0; k < npods; k++) drv_sched_pod_clear(&pods[k]);
  free(pods);
  free(where);
  return 0;
}
