/* resource.Quantity (see quantity.h): exact decimal arithmetic on a 128-bit mantissa. */
#include "api/quantity.h"

#include <stdio.h>
#include <string.h>

#define QTY_REGEX_MSG \
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

typedef struct {
  const char *s;
  int dec_exp;      /* power of ten */
  int bin_exp;      /* power of two */
  drv_qty_format f;
} suffix;

static const suffix suffixes[] = {
    {"Ki", 0, 10, DRV_QTY_BINARY_SI}, {"Mi", 0, 20, DRV_QTY_BINARY_SI},
    {"Gi", 0, 30, DRV_QTY_BINARY_SI}, {"Ti", 0, 40, DRV_QTY_BINARY_SI},
    {"Pi", 0, 50, DRV_QTY_BINARY_SI}, {"Ei", 0, 60, DRV_QTY_BINARY_SI},
    {"n", -9, 0, DRV_QTY_DECIMAL_SI}, {"u", -6, 0, DRV_QTY_DECIMAL_SI},
    {"m", -3, 0, DRV_QTY_DECIMAL_SI}, {"", 0, 0, DRV_QTY_DECIMAL_SI},
    {"k", 3, 0, DRV_QTY_DECIMAL_SI},  {"M", 6, 0, DRV_QTY_DECIMAL_SI},
    {"G", 9, 0, DRV_QTY_DECIMAL_SI},  {"T", 12, 0, DRV_QTY_DECIMAL_SI},
    {"P", 15, 0, DRV_QTY_DECIMAL_SI}, {"E", 18, 0, DRV_QTY_DECIMAL_SI},
};

int drv_quantity_parse(const char *s, drv_quantity *out, drv_err *err)
{
  if (!s || !*s) return drv_error(err, 0, "quantities must not be empty");
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  /* Mantissa digits with at most one '.', at least one digit. */
  __int128 mant = 0;
  int scale = 0, digits = 0, sig = 0;
  bool dot = false;
  for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
    if (*p == '.') {
      if (dot) return drv_error(err, 0, "%s", QTY_REGEX_MSG);
      dot = true;
      continue;
    }
    digits++;
    if (sig < 30) {
      mant = mant * 10 + (*p - '0');
      if (mant) sig++;
      if (dot) scale--;
    } else if (!dot) {
      scale++; /* drop excess precision of huge numbers; they overflow below anyway */
    }
  }
  if (!digits) return drv_error(err, 0, "%s", QTY_REGEX_MSG);
  const suffix *suf = NULL;
  int dec_exp = 0;
  drv_qty_format fmt = DRV_QTY_DECIMAL_SI;
  if ((*p == 'e' || *p == 'E') && p[1] && (p[1] == '-' || p[1] == '+' || (p[1] >= '0' && p[1] <= '9'))) {
    const char *q = p + 1;
    int sign = 1;
    if (*q == '+' || *q == '-') sign = *q++ == '-' ? -1 : 1;
    if (!(*q >= '0' && *q <= '9')) return drv_error(err, 0, "%s", QTY_REGEX_MSG);
    int e = 0;
    for (; *q >= '0' && *q <= '9'; q++) {
      e = e * 10 + (*q - '0');
      if (e > 100) return drv_error(err, 0, "quantity `%s` is too large", s);
    }
    if (*q) return drv_error(err, 0, "%s", QTY_REGEX_MSG);
    dec_exp = sign * e;
    fmt = DRV_QTY_DECIMAL_EXP;
  } else {
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
      if (strcmp(p, suffixes[i].s) == 0) {
        suf = &suffixes[i];
        break;
      }
    if (!suf) {
      if (strspn(p, "eEinumkKMGTP+-0123456789") == strlen(p))
        return drv_error(err, 0, "unable to parse quantity's suffix");
      return drv_error(err, 0, "%s", QTY_REGEX_MSG);
    }
    dec_exp = suf->dec_exp;
    fmt = suf->f;
  }
  /* milli = mant × 10^(scale + dec_exp + 3) × 2^bin_exp, rounded up. */
  int e10 = scale + dec_exp + 3;
  __int128 v = mant;
  const __int128 limit = (__int128)INT64_MAX;
  if (suf && suf->bin_exp) {
    for (int i = 0; i < suf->bin_exp && v; i++) {
      v *= 2;
      if (v > limit * 1000000000000LL) return drv_error(err, 0, "quantity `%s` is too large", s);
    }
  }
  for (; e10 > 0 && v; e10--) {
    v *= 10;
    if (v > limit * 1000000000000LL) return drv_error(err, 0, "quantity `%s` is too large", s);
  }
  bool rem = false;
  for (; e10 < 0; e10++) {
    if (v % 10) rem = true;
    v /= 10;
  }
  if (rem) v += 1; /* round away from zero toward the next milli, as MilliValue does */
  if (v > limit) return drv_error(err, 0, "quantity `%s` is too large", s);
  out->milli = neg ? -(int64_t)v : (int64_t)v;
  out->format = fmt;
  return 0;
}

int64_t drv_quantity_value(const drv_quantity *q)
{
  int64_t m = q->milli;
  if (m >= 0) return m / 1000 + (m % 1000 ? 1 : 0);
  return m / 1000;
}

const char *drv_quantity_format(const drv_quantity *q, char *buf, size_t size)
{
  int64_t m = q->milli;
  const char *sign = m < 0 ? "-" : "";
  uint64_t a = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
  if (a == 0) {
    snprintf(buf, size, "0");
    return buf;
  }
  if (a % 1000) {
    snprintf(buf, size, "%s%llum", sign, (unsigned long long)a);
    return buf;
  }
  uint64_t v = a / 1000;
  if (q->format == DRV_QTY_BINARY_SI && v >= 1024 && v % 1024 == 0) {
    static const char *const bs[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int i = 0;
    while (v % 1024 == 0 && i < 6) {
      v /= 1024;
      i++;
    }
    snprintf(buf, size, "%s%llu%s", sign, (unsigned long long)v, bs[i]);
    return buf;
  }
  int e = 0;
  while (v % 1000 == 0 && e < 18) {
    v /= 1000;
    e += 3;
  }
  if (q->format == DRV_QTY_DECIMAL_EXP) {
    if (e) snprintf(buf, size, "%s%llue%d", sign, (unsigned long long)v, e);
    else snprintf(buf, size, "%s%llu", sign, (unsigned long long)v);
    return buf;
  }
  static const char *const ds[] = {"", "k", "M", "G", "T", "P", "E"};
  snprintf(buf, size, "%s%llu%s", sign, (unsigned long long)v, ds[e / 3]);
  return buf;
}

int64_t drv_quantity_parse_milli(const char *s)
{
  drv_quantity q;
  drv_err err;
  if (drv_quantity_parse(s, &q, &err) < 0) return -1;
  return q.milli;
}

int64_t drv_quantity_parse_value(const char *s)
{
  drv_quantity q;
  drv_err err;
  if (drv_quantity_parse(s, &q, &err) < 0) return -1;
  return drv_quantity_value(&q);
}
