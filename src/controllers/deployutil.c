/* Deployment arithmetic (see deployutil.h). */
#include "controllers/deployutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

int drv_deploy_scaled_value(const json_t *v, long long total, bool round_up, long long dflt,
                            long long *out, drv_err *err)
{
  if (!v || json_is_null(v)) {
    *out = dflt;
    return 0;
  }
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  const char *s = json_string_value(v);
  if (!s) return drv_error(err, 0, "invalid value for IntOrString: invalid type: neither int nor string");
  size_t n = strlen(s);
  char *end;
  if (n >= 2 && s[n - 1] == '%') {
    errno = 0;
    long long pct = strtoll(s, &end, 10);
    if (end != s + n - 1 || errno) return drv_error(err, 0, "invalid value for IntOrString: invalid value %s", s);
    /* Kubernetes: ceil / floor of percent * total / 100, in exact integer math */
    long long num = pct * total;
    *out = round_up ? (num + 99) / 100 : num / 100;
    return 0;
  }
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (*s && !*end && !errno) {
    *out = x;
    return 0;
  }
  return drv_error(err, 0, "invalid value for IntOrString: invalid value %s", s);
}

int drv_deploy_fenceposts(const json_t *max_surge, const json_t *max_unavailable, long long desired,
                          long long *surge, long long *unavailable, drv_err *err)
{
  json_t *d25 = json_string("25%");
  int r = drv_deploy_scaled_value(max_surge ? max_surge : d25, desired, true, 0, surge, err);
  if (r == 0) r = drv_deploy_scaled_value(max_unavailable ? max_unavailable : d25, desired, false, 0, unavailable, err);
  json_decref(d25);
  if (r < 0) return r;
  if (*surge == 0 && *unavailable == 0) *unavailable = 1;
  return 0;
}

long long drv_deploy_new_rs_replicas(long long replicas, long long surge, long long all_rs_replicas,
                                     long long new_rs_replicas)
{
  long long max_total = replicas + surge;
  if (all_rs_replicas >= max_total) return new_rs_replicas;
  long long up = max_total - all_rs_replicas;
  if (up > replicas - new_rs_replicas) up = replicas - new_rs_replicas;
  if (up < 0) up = 0;
  return new_rs_replicas + up;
}

long long drv_deploy_max_scaled_down(long long replicas, long long max_unavailable,
                                     long long all_rs_replicas, long long new_rs_replicas,
                                     long long new_rs_available)
{
  long long min_available = replicas - max_unavailable;
  long long new_unavailable = new_rs_replicas - new_rs_available;
  if (new_unavailable < 0) new_unavailable = 0;
  return all_rs_replicas - min_available - new_unavailable;
}

void drv_deploy_proportions(size_t n, const long long *sizes, const long long *annotated,
                            long long replicas, long long surge, long long status_replicas,
                            long long *out)
{
  long long allowed = replicas > 0 ? replicas + surge : 0, total = 0, added = 0;
  for (size_t i = 0; i < n; i++) total += sizes[i];
  long long add = allowed - total;
  for (size_t i = 0; i < n; i++) {
    long long s = sizes[i], prop = 0;
    if (s != 0 && add != 0 && add != added) {
      long long frac;
      if (replicas == 0)
        frac = -s;
      else {
        long long a = annotated[i] > 0 ? annotated[i] : status_replicas;
        if (a <= 0) a = 1;
        frac = llround((double)s * (double)(replicas + surge) / (double)a) - s;
      }
      long long allow = add - added;
      prop = add > 0 ? (frac < allow ? frac : allow) : (frac > allow ? frac : allow);
    }
    out[i] = s + prop;
    added += prop;
  }
  if (n && add != 0) {
    out[0] += add - added;
    if (out[0] < 0) out[0] = 0;
  }
}

static json_t *strip_hash(const json_t *t)
{
  json_t *c = json_deep_copy(t);
  json_t *labels = drv_json_get(c, "metadata.labels");
  if (labels) {
    json_object_del(labels, "pod-template-hash");
    if (!json_object_size(labels)) json_object_del(json_object_get(c, "metadata"), "labels");
  }
  json_t *meta = json_object_get(c, "metadata");
  if (meta && !json_object_size(meta)) json_object_del(c, "metadata");
  return c;
}

char *drv_deploy_template_hash(const json_t *tpl, long long collision_count)
{
  json_t *c = strip_hash(tpl);
  char *s = drv_json_dump_canonical(c);
  json_decref(c);
  uint32_t h = 2166136261u;
  for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  if (collision_count > 0) {
    char cc[32];
    snprintf(cc, sizeof cc, "%lld", collision_count);
    for (const char *p = cc; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  }
  free(s);
  /* rand.SafeEncodeString(fmt.Sprint(hash)): each decimal digit mapped into an alphabet
   * without vowels, so names never spell words */
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  char dec[16];
  snprintf(dec, sizeof dec, "%u", h);
  char *out = drv_strdup(dec);
  for (char *p = out; *p; p++) *p = alphabet[(unsigned char)*p % (sizeof alphabet - 1)];
  return out;
}

bool drv_deploy_templates_equal(const json_t *a, const json_t *b)
{
  json_t *x = strip_hash(a), *y = strip_hash(b);
  bool eq = json_equal(x, y);
  json_decref(x);
  json_decref(y);
  return eq;
}
