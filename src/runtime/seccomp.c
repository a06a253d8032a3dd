/* OCI linux.seccomp → BPF with libseccomp, compiled in the parent; loaded in the child with a
 * bare seccomp(2) call on the prebuilt program. */
#include "runtime/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/filter.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"

#define P "linux.seccomp"
#define MAX_ARGS 6

/* An error whose message says it all (no "Invalid argument" appended). */
static int __attribute__((format(printf, 3, 4)))
fail(drv_err *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  drv_verror(err, 0, fmt, ap);
  va_end(ap);
  if (err) err->errnum = errnum;
  return -1;
}

struct drv_seccomp_filter {
  struct sock_filter *insns;
  size_t len;
  unsigned flags;
  bool notify;
  char *listener_path;
  char *listener_metadata;
};

void drv_seccomp_free(drv_seccomp_filter *f)
{
  if (!f) return;
  free(f->insns);
  free(f->listener_path);
  free(f->listener_metadata);
  free(f);
}

size_t drv_seccomp_filter_len(const drv_seccomp_filter *f)
{
  return f->len;
}
const void *drv_seccomp_filter_program(const drv_seccomp_filter *f)
{
  return f->insns;
}
unsigned drv_seccomp_filter_flags(const drv_seccomp_filter *f)
{
  return f->flags;
}
bool drv_seccomp_uses_notify(const drv_seccomp_filter *f)
{
  return f->notify;
}
const char *drv_seccomp_listener_path(const drv_seccomp_filter *f)
{
  return f->listener_path;
}
const char *drv_seccomp_listener_metadata(const drv_seccomp_filter *f)
{
  return f->listener_metadata;
}

static void ctx_release(scmp_filter_ctx *c)
{
  if (*c) seccomp_release(*c);
}

/* "SCMP_ACT_ERRNO" + errnoRet → libseccomp action. where names the field for errors. */
static int parse_action(const char *name, const json_t *errno_ret, uint32_t *out, bool *notify,
                        const char *where, drv_err *err)
{
  uint32_t ret = EPERM;
  if (errno_ret && !json_is_null(errno_ret)) {
    if (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
        json_integer_value(errno_ret) > 0xffff)
      return fail(err, EINVAL, "%s: errnoRet must be an integer in 0..65535", where);
    ret = (uint32_t)json_integer_value(errno_ret);
  }
  if (!name) return fail(err, EINVAL, "%s: missing", where);
  if (strcmp(name, "SCMP_ACT_KILL") == 0)
    *out = SCMP_ACT_KILL;
  else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO(ret);
  else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE(ret);
  else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp(name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0) {
    *out = SCMP_ACT_NOTIFY;
    *notify = true;
  } else {
    return fail(err, EINVAL, "%s: unknown action `%s`", where, name);
  }
  return 0;
}

static int parse_op(const char *name, enum scmp_compare *out)
{
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; name && i < DRV_ARRAY_LEN(ops); i++)
    if (strcmp(name, ops[i].name) == 0) {
      *out = ops[i].op;
      return 0;
    }
  return -1;
}

/* "SCMP_ARCH_X86_64" → libseccomp's "x86_64". */
static uint32_t parse_arch(const char *name)
{
  if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0) return 0;
  char low[32];
  size_t n = 0;
  for (const char *p = name + 10; *p && n + 1 < sizeof low; p++)
    low[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
  low[n] = '\0';
  if (strcmp(low, "native") == 0) return seccomp_arch_native();
  return seccomp_arch_resolve_name(low);
}

static int parse_flag(const char *name, unsigned *flags)
{
  if (!name) return -1;
  if (strcmp(name, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
    *flags |= SECCOMP_FILTER_FLAG_TSYNC;
  else if (strcmp(name, "SECCOMP_FILTER_FLAG_LOG") == 0)
    *flags |= SECCOMP_FILTER_FLAG_LOG;
  else if (strcmp(name, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
    *flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  else if (strcmp(name, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
    *flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  else
    return -1;
  return 0;
}

static int parse_args(const json_t *args, struct scmp_arg_cmp *cmp, size_t *n, const char *where,
                      drv_err *err)
{
  *n = 0;
  if (!args || json_is_null(args)) return 0;
  if (!json_is_array(args)) return fail(err, EINVAL, "%s.args: expected an array", where);
  if (json_array_size(args) > MAX_ARGS * 4)
    return fail(err, EINVAL, "%s.args: %zu conditions are more than a syscall can use", where,
                json_array_size(args));
  size_t i;
  json_t *a;
  json_array_foreach(args, i, a)
  {
    if (!json_is_object(a)) return fail(err, EINVAL, "%s.args[%zu]: expected an object", where, i);
    json_t *idx = json_object_get(a, "index"), *val = json_object_get(a, "value");
    json_t *val2 = json_object_get(a, "valueTwo"), *op = json_object_get(a, "op");
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) >= MAX_ARGS)
      return fail(err, EINVAL, "%s.args[%zu].index: expected 0..5", where, i);
    if (!json_is_integer(val))
      return fail(err, EINVAL, "%s.args[%zu].value: expected an integer", where, i);
    if (val2 && !json_is_null(val2) && !json_is_integer(val2))
      return fail(err, EINVAL, "%s.args[%zu].valueTwo: expected an integer", where, i);
    enum scmp_compare o;
    if (!json_is_string(op) || parse_op(json_string_value(op), &o) < 0)
      return fail(err, EINVAL, "%s.args[%zu].op: unknown operator `%s`", where, i,
                  json_is_string(op) ? json_string_value(op) : "?");
    cmp[*n].arg = (unsigned)json_integer_value(idx);
    cmp[*n].op = o;
    cmp[*n].datum_a = (scmp_datum_t)json_integer_value(val);
    cmp[*n].datum_b = val2 && json_is_integer(val2) ? (scmp_datum_t)json_integer_value(val2) : 0;
    (*n)++;
  }
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
                    const struct scmp_arg_cmp *cmp, size_t n, const char *where, drv_err *err)
{
  /* Conditions on the same argument can only be meant as alternatives (libseccomp would AND
   * them into something never true): one rule each, as runc does. */
  bool repeated = false;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (cmp[i].arg == cmp[j].arg) repeated = true;
  int r;
  if (!repeated) {
    r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, cmp);
    if (r < 0) return drv_error(err, -r, "%s: add rule for `%s`", where, name);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
    if (r < 0) return drv_error(err, -r, "%s: add rule for `%s`", where, name);
  }
  return 0;
}

static int add_syscalls(scmp_filter_ctx ctx, const json_t *syscalls, uint32_t def_action,
                        bool *notify, drv_err *err)
{
  if (!syscalls || json_is_null(syscalls)) return 0;
  if (!json_is_array(syscalls)) return fail(err, EINVAL, P ".syscalls: expected an array");
  size_t i;
  json_t *s;
  json_array_foreach(syscalls, i, s)
  {
    char where[64];
    snprintf(where, sizeof where, P ".syscalls[%zu]", i);
    if (!json_is_object(s)) return fail(err, EINVAL, "%s: expected an object", where);
    char awhere[80];
    snprintf(awhere, sizeof awhere, "%s.action", where);
    json_t *act = json_object_get(s, "action");
    if (!json_is_string(act)) return fail(err, EINVAL, "%s: expected a string", awhere);
    json_t *eret = json_object_get(s, "errnoRet");
    uint32_t action;
    if (parse_action(json_string_value(act), eret && !json_is_null(eret) ? eret : NULL, &action,
                     notify, awhere, err) < 0)
      return -1;
    struct scmp_arg_cmp cmp[MAX_ARGS * 4];
    size_t ncmp;
    if (parse_args(json_object_get(s, "args"), cmp, &ncmp, where, err) < 0) return -1;
    json_t *names = json_object_get(s, "names"), *single = json_object_get(s, "name");
    if (names && !json_is_null(names) && !json_is_array(names))
      return fail(err, EINVAL, "%s.names: expected an array of strings", where);
    size_t n_names = json_is_array(names) ? json_array_size(names) : 0;
    if (!n_names && !json_is_string(single))
      return fail(err, EINVAL, "%s.names: at least one syscall name is required", where);
    for (size_t k = 0; k < n_names + (json_is_string(single) ? 1 : 0); k++) {
      json_t *nm = k < n_names ? json_array_get(names, k) : single;
      if (!json_is_string(nm))
        return fail(err, EINVAL, "%s.names[%zu]: expected a string", where, k);
      const char *name = json_string_value(nm);
      int nr = seccomp_syscall_resolve_name(name);
      if (nr == __NR_SCMP_ERROR) {
        /* Profiles list syscalls of newer kernels or other arches: skipped, like runc. */
        drv_log_debug("seccomp: unknown syscall `%s` skipped", name);
        continue;
      }
      if (action == def_action) continue; /* libseccomp refuses rules equal to the default */
      if (add_rule(ctx, action, nr, name, cmp, ncmp, where, err) < 0) return -1;
    }
  }
  return 0;
}

/* libseccomp writes the program to an fd: a memfd keeps it in memory. */
static int export_bpf(scmp_filter_ctx ctx, drv_seccomp_filter *f, drv_err *err)
{
  _cleanup_close_ int fd = memfd_create("drover-seccomp", MFD_CLOEXEC);
  if (fd < 0) return drv_error(err, errno, "seccomp: memfd_create");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0) return drv_error(err, -r, "seccomp: export the BPF program");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter))
    return fail(err, EINVAL, "seccomp: exported program has a bad size %lld", (long long)size);
  f->insns = drv_malloc((size_t)size);
  if (pread(fd, f->insns, (size_t)size, 0) != size)
    return drv_error(err, errno ? errno : EIO, "seccomp: read the exported program");
  f->len = (size_t)size / sizeof(struct sock_filter);
  if (f->len > BPF_MAXINSNS)
    return fail(err, E2BIG,
                "seccomp: the program has %zu instructions, above the kernel's "
                "limit of %d",
                f->len, BPF_MAXINSNS);
  return 0;
}

/* ---- ENOSYS for syscalls newer than the profile ------------------------------------------------
 * * An allowlist answers EPERM for everything it does not name, including syscalls added to the
 * kernel after the profile was written; libc then fails instead of falling back to the older
 * call, which it does on ENOSYS. So, as runc does, syscall numbers above the highest one the
 * profile names (per architecture) get ENOSYS from a short prologue in front of the program. */

#define X32_BIT 0x40000000u

static bool wants_enosys(uint32_t def_action)
{
  uint32_t a = def_action & SECCOMP_RET_ACTION_FULL;
  return a == SECCOMP_RET_ERRNO || a == SECCOMP_RET_KILL_PROCESS || a == SECCOMP_RET_KILL_THREAD ||
         a == SECCOMP_RET_TRAP;
}

static bool profile_max(const json_t *syscalls, uint32_t arch, uint32_t *max)
{
  bool any = false;
  size_t i;
  json_t *s;
  *max = 0;
  json_array_foreach(syscalls, i, s)
  {
    json_t *names = json_object_get(s, "names"), *single = json_object_get(s, "name");
    size_t n = json_is_array(names) ? json_array_size(names) : 0;
    for (size_t k = 0; k < n + (json_is_string(single) ? 1 : 0); k++) {
      const char *name = json_string_value(k < n ? json_array_get(names, k) : single);
      int nr = name ? seccomp_syscall_resolve_name_arch(arch, name) : -1;
      if (nr < 0) continue; /* unknown here, or a multiplexed pseudo-syscall */
      if (!any || (uint32_t)nr > *max) *max = (uint32_t)nr;
      any = true;
    }
  }
  return any;
}

/* Jump targets while assembling: absolute indexes, or one of these. */
#define T_MAIN 0xfffffff0u
#define T_ENOSYS 0xfffffff1u

static int prepend_enosys(drv_seccomp_filter *f, const uint32_t *arches, size_t n_arches,
                          const json_t *syscalls, drv_err *err)
{
  if (!json_is_array(syscalls)) return 0;
  struct {
    uint32_t audit, max, max32;
    bool has, has32;
  } e[24];
  size_t ne = 0;
  for (size_t i = 0; i < n_arches; i++) {
    uint32_t max;
    if (!profile_max(syscalls, arches[i], &max)) continue;
    /* x32 syscalls arrive as x86_64 ones with bit 30 set. */
    uint32_t audit = arches[i] == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : arches[i];
    size_t k = 0;
    while (k < ne && e[k].audit != audit)
      k++;
    if (k == ne) {
      memset(&e[ne], 0, sizeof e[ne]);
      e[ne++].audit = audit;
    }
    if (arches[i] == SCMP_ARCH_X32) {
      e[k].has32 = true;
      e[k].max32 = max;
    } else {
      e[k].has = true;
      e[k].max = max;
    }
  }
  if (!ne) return 0;
  struct sock_filter st[24 * 6 + 4];
  uint32_t jt[DRV_ARRAY_LEN(st)], jf[DRV_ARRAY_LEN(st)];
  size_t k = 0;
#define EMIT(c, kk, t, fl)                                                                         \
  (st[k] = (struct sock_filter)BPF_STMT(c, kk), jt[k] = (t), jf[k] = (fl), k++)
  EMIT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
  for (size_t i = 0; i < ne; i++) {
    size_t jeq = k;
    EMIT(BPF_JMP | BPF_JEQ | BPF_K, e[i].audit, jeq + 1, 0);
    EMIT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
    if (e[i].audit == SCMP_ARCH_X86_64) {
      size_t jset = k;
      EMIT(BPF_JMP | BPF_JSET | BPF_K, X32_BIT, T_MAIN, T_MAIN);
      if (e[i].has) {
        jf[jset] = (uint32_t)k;
        EMIT(BPF_JMP | BPF_JGT | BPF_K, e[i].max, T_ENOSYS, T_MAIN);
      }
      if (e[i].has32) {
        jt[jset] = (uint32_t)k;
        EMIT(BPF_JMP | BPF_JGT | BPF_K, e[i].max32, T_ENOSYS, T_MAIN);
      }
    } else {
      EMIT(BPF_JMP | BPF_JGT | BPF_K, e[i].max, T_ENOSYS, T_MAIN);
    }
    jf[jeq] = (uint32_t)k; /* another arch: next block */
  }
  size_t ja = k;
  EMIT(BPF_JMP | BPF_JA, 0, 0, 0); /* no arch matched: the program decides */
  size_t enosys = k;
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
#undef EMIT
  size_t main_at = k;
  st[ja].k = (uint32_t)(main_at - ja - 1);
  for (size_t i = 0; i < k; i++) {
    if (BPF_CLASS(st[i].code) != BPF_JMP || BPF_OP(st[i].code) == BPF_JA) continue;
    uint32_t t = jt[i] == T_MAIN ? main_at : jt[i] == T_ENOSYS ? enosys : jt[i];
    uint32_t fl = jf[i] == T_MAIN ? main_at : jf[i] == T_ENOSYS ? enosys : jf[i];
    st[i].jt = (uint8_t)(t - i - 1);
    st[i].jf = (uint8_t)(fl - i - 1);
  }
  if (f->len + k > BPF_MAXINSNS)
    return fail(err, E2BIG,
                "seccomp: the program has %zu instructions, above the kernel's "
                "limit of %d",
                f->len + k, BPF_MAXINSNS);
  struct sock_filter *all = drv_malloc((f->len + k) * sizeof *all);
  memcpy(all, st, k * sizeof *all);
  memcpy(all + k, f->insns, f->len * sizeof *all);
  free(f->insns);
  f->insns = all;
  f->len += k;
  return 0;
}

int drv_seccomp_compile(const json_t *sc, drv_seccomp_filter **out, drv_err *err)
{
  if (!json_is_object(sc)) return fail(err, EINVAL, P ": expected an object");
  drv_seccomp_filter *f = drv_calloc(1, sizeof *f);
  __attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = NULL;

  json_t *da = json_object_get(sc, "defaultAction");
  uint32_t def_action;
  if (!json_is_string(da)) {
    fail(err, EINVAL, P ".defaultAction: required, a string like SCMP_ACT_ERRNO");
    goto fail;
  }
  json_t *der = json_object_get(sc, "defaultErrnoRet");
  if (parse_action(json_string_value(da), der, &def_action, &f->notify, P ".defaultAction", err) <
      0)
    goto fail;
  if (f->notify) {
    fail(err, EINVAL, P ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    goto fail;
  }
  ctx = seccomp_init(def_action);
  if (!ctx) {
    fail(err, EINVAL, P ".defaultAction: libseccomp refused `%s`", json_string_value(da));
    goto fail;
  }
  /* drover sets no_new_privs itself when the spec says so. (The binary-tree optimizer makes
   * compiling a Docker-sized profile twice as slow: not worth it per container start.) */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);

  uint32_t arch_list[24] = {seccomp_arch_native()};
  size_t n_arches = 1;
  json_t *arches = json_object_get(sc, "architectures");
  if (arches && !json_is_null(arches)) {
    if (!json_is_array(arches)) {
      fail(err, EINVAL, P ".architectures: expected an array");
      goto fail;
    }
    size_t i;
    json_t *a;
    json_array_foreach(arches, i, a)
    {
      uint32_t arch = parse_arch(json_string_value(a));
      if (!arch) {
        fail(err, EINVAL, P ".architectures[%zu]: unknown architecture `%s`", i,
             json_is_string(a) ? json_string_value(a) : "?");
        goto fail;
      }
      if (n_arches < DRV_ARRAY_LEN(arch_list)) arch_list[n_arches++] = arch;
      int r = seccomp_arch_add(ctx, arch);
      if (r < 0 && r != -EEXIST) {
        drv_error(err, -r, P ".architectures[%zu]: add `%s`", i, json_string_value(a));
        goto fail;
      }
    }
  }

  json_t *flags = json_object_get(sc, "flags");
  if (flags && !json_is_null(flags)) {
    if (!json_is_array(flags)) {
      fail(err, EINVAL, P ".flags: expected an array");
      goto fail;
    }
    size_t i;
    json_t *fl;
    json_array_foreach(flags, i, fl)
    {
      if (parse_flag(json_string_value(fl), &f->flags) < 0) {
        fail(err, EINVAL, P ".flags[%zu]: unknown flag `%s`", i,
             json_is_string(fl) ? json_string_value(fl) : "?");
        goto fail;
      }
    }
  }

  if (add_syscalls(ctx, json_object_get(sc, "syscalls"), def_action, &f->notify, err) < 0)
    goto fail;

  json_t *lp = json_object_get(sc, "listenerPath"), *lm = json_object_get(sc, "listenerMetadata");
  if (lp && !json_is_null(lp)) {
    if (!json_is_string(lp) || json_string_value(lp)[0] != '/') {
      fail(err, EINVAL, P ".listenerPath: expected an absolute path");
      goto fail;
    }
    f->listener_path = drv_strdup(json_string_value(lp));
  }
  if (lm && !json_is_null(lm)) {
    if (!json_is_string(lm)) {
      fail(err, EINVAL, P ".listenerMetadata: expected a string");
      goto fail;
    }
    f->listener_metadata = drv_strdup(json_string_value(lm));
  }
  if (f->notify && !f->listener_path) {
    fail(err, EINVAL, P ".listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
    goto fail;
  }
  if (f->notify) {
    f->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* With TSYNC the kernel reports a failed sync as a thread id, which would read like the
     * listener fd: ask for ESRCH instead. */
    if (f->flags & SECCOMP_FILTER_FLAG_TSYNC) f->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  if (export_bpf(ctx, f, err) < 0) goto fail;
  if (wants_enosys(def_action) &&
      prepend_enosys(f, arch_list, n_arches, json_object_get(sc, "syscalls"), err) < 0)
    goto fail;
  *out = f;
  return 0;
fail:
  drv_seccomp_free(f);
  return -1;
}

int drv_seccomp_compile_text(const char *text, size_t len, drv_seccomp_filter **out, drv_err *err)
{
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!j) return fail(err, EINVAL, P ": line %d: %s", je.line, je.text);
  int r = drv_seccomp_compile(j, out, err);
  json_decref(j);
  return r;
}

/* ---- cache ------------------------------------------------------------------------------------
 */

#define CACHE_SLOTS 8
#define CACHE_MAGIC "DRVSCMP1"

struct cache_hdr {
  char magic[8];
  uint32_t flags, notify, len, pad;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  unsigned char key[32];
  drv_seccomp_filter *f;
  unsigned long long used;
} cache[CACHE_SLOTS];
static unsigned long long cache_tick;

static drv_seccomp_filter *filter_dup(const drv_seccomp_filter *f)
{
  drv_seccomp_filter *c = drv_calloc(1, sizeof *c);
  c->insns = drv_malloc(f->len * sizeof *f->insns);
  memcpy(c->insns, f->insns, f->len * sizeof *f->insns);
  c->len = f->len;
  c->flags = f->flags;
  c->notify = f->notify;
  c->listener_path = f->listener_path ? drv_strdup(f->listener_path) : NULL;
  c->listener_metadata = f->listener_metadata ? drv_strdup(f->listener_metadata) : NULL;
  return c;
}

/* The key covers the profile (canonical JSON), the libseccomp version and the native arch:
 * the same profile compiles differently elsewhere. */
static int profile_key(const json_t *sc, unsigned char key[32])
{
  _cleanup_free_ char *text = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) return -1;
  const struct scmp_version *v = seccomp_version();
  _cleanup_free_ char *salted = drv_asprintf("drover-seccomp-3 %u.%u.%u %u %s", v->major, v->minor,
                                             v->micro, seccomp_arch_native(), text);
  unsigned int n = 0;
  if (!EVP_Digest(salted, strlen(salted), key, &n, EVP_sha256(), NULL) || n != 32) return -1;
  return 0;
}

static char *cache_file(const char *dir, const unsigned char key[32])
{
  char hex[65];
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", key[i]);
  return drv_asprintf("%s/%s.bpf", dir, hex);
}

/* A cached program is trusted only from files this user owns that nobody else can write. */
static drv_seccomp_filter *cache_read(const char *dir, const unsigned char key[32])
{
  _cleanup_free_ char *path = cache_file(dir, key);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  struct stat st, dst;
  if (fstat(fd, &st) < 0 || stat(dir, &dst) < 0) return NULL;
  if (st.st_uid != geteuid() || (st.st_mode & 022) || dst.st_uid != geteuid() ||
      (dst.st_mode & 022))
    return NULL;
  struct cache_hdr h;
  if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.magic, CACHE_MAGIC, 8) != 0 ||
      h.len == 0 || h.len > BPF_MAXINSNS ||
      st.st_size != (off_t)(sizeof h + h.len * sizeof(struct sock_filter)))
    return NULL;
  drv_seccomp_filter *f = drv_calloc(1, sizeof *f);
  f->len = h.len;
  f->flags = h.flags;
  f->notify = h.notify != 0;
  f->insns = drv_malloc(f->len * sizeof *f->insns);
  size_t bytes = f->len * sizeof *f->insns;
  if (pread(fd, f->insns, bytes, sizeof h) != (ssize_t)bytes) {
    drv_seccomp_free(f);
    return NULL;
  }
  return f;
}

static void cache_write(const char *dir, const unsigned char key[32], const drv_seccomp_filter *f)
{
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return;
  _cleanup_free_ char *path = cache_file(dir, key);
  _cleanup_free_ char *tmp = drv_asprintf("%s.%d.tmp", path, (int)getpid());
  struct cache_hdr h = {.flags = f->flags, .notify = f->notify, .len = (uint32_t)f->len};
  memcpy(h.magic, CACHE_MAGIC, 8);
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  /* No fsync: a torn file fails the size check and is compiled again. */
  if (drv_write_all(fd, &h, sizeof h) < 0 ||
      drv_write_all(fd, f->insns, f->len * sizeof *f->insns) < 0 || rename(tmp, path) < 0) {
    unlink(tmp);
    return;
  }
}

static void cache_put(const unsigned char key[32], const drv_seccomp_filter *f)
{
  pthread_mutex_lock(&cache_lock);
  size_t victim = 0;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    if (!cache[i].f) {
      victim = i;
      break;
    }
    if (cache[i].used < cache[victim].used) victim = i;
  }
  drv_seccomp_free(cache[victim].f);
  memcpy(cache[victim].key, key, 32);
  cache[victim].f = filter_dup(f);
  cache[victim].used = ++cache_tick;
  pthread_mutex_unlock(&cache_lock);
}

void drv_seccomp_cache_clear(void)
{
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    drv_seccomp_free(cache[i].f);
    cache[i].f = NULL;
  }
  pthread_mutex_unlock(&cache_lock);
}

static drv_seccomp_filter *cache_get(const unsigned char key[32])
{
  drv_seccomp_filter *f = NULL;
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    if (cache[i].f && memcmp(cache[i].key, key, 32) == 0) {
      cache[i].used = ++cache_tick;
      f = filter_dup(cache[i].f);
      break;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return f;
}

int drv_seccomp_compile_cached(const json_t *sc, const char *cache_dir, drv_seccomp_filter **out,
                               drv_err *err)
{
  unsigned char key[32];
  if (!json_is_object(sc) || profile_key(sc, key) < 0) return drv_seccomp_compile(sc, out, err);
  drv_seccomp_filter *f = cache_get(key);
  if (!f && cache_dir) {
    f = cache_read(cache_dir, key);
    if (f) {
      /* The listener settings are not part of the program: take them from the profile. */
      json_t *lp = json_object_get(sc, "listenerPath"),
             *lm = json_object_get(sc, "listenerMetadata");
      if (json_is_string(lp)) f->listener_path = drv_strdup(json_string_value(lp));
      if (json_is_string(lm)) f->listener_metadata = drv_strdup(json_string_value(lm));
      cache_put(key, f);
    }
  }
  if (!f) {
    if (drv_seccomp_compile(sc, &f, err) < 0) return -1;
    cache_put(key, f);
    if (cache_dir) cache_write(cache_dir, key, f);
  }
  *out = f;
  return 0;
}

int drv_seccomp_load(const drv_seccomp_filter *f, int *listener_fd)
{
  if (listener_fd) *listener_fd = -1;
  struct sock_fprog prog = {.len = (unsigned short)f->len, .filter = f->insns};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog);
  if (r < 0 && errno == ENOSYS && f->flags == 0)
    r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0); /* kernels before 3.17 */
  if (r < 0) return -errno;
  /* TSYNC without a listener reports a thread it could not sync by its id. */
  if (r > 0 && !(f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return -ESRCH;
  if (f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
    if (listener_fd)
      *listener_fd = (int)r;
    else
      close((int)r);
  }
  return 0;
}

int drv_seccomp_send_listener(const drv_seccomp_filter *f, int listener_fd, const json_t *state,
                              drv_err *err)
{
  if (!f->listener_path) return fail(err, EINVAL, P ".listenerPath: not set");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(f->listener_path) >= sizeof sa.sun_path)
    return drv_error(err, ENAMETOOLONG, P ".listenerPath `%s`", f->listener_path);
  strcpy(sa.sun_path, f->listener_path);
  _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return drv_error(err, errno, "seccomp listener: socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
    return drv_error(err, errno, P ".listenerPath: connect to `%s`", f->listener_path);

  /* The runtime spec's containerProcessState. */
  json_t *msg = json_object();
  json_object_set_new(msg, "ociVersion", json_string("1.0.2"));
  json_object_set_new(msg, "fds", json_pack("[s]", "seccompFd"));
  json_t *pid = state ? json_object_get(state, "pid") : NULL;
  json_object_set_new(msg, "pid", json_integer(json_is_integer(pid) ? json_integer_value(pid) : 0));
  if (f->listener_metadata) json_object_set_new(msg, "metadata", json_string(f->listener_metadata));
  json_object_set_new(msg, "state", state ? json_deep_copy(state) : json_object());
  _cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);

  struct iovec iov = {.iov_base = text, .iov_len = strlen(text)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &listener_fd, sizeof(int));
  ssize_t w;
  do
    w = sendmsg(s, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w < 0) return drv_error(err, errno, P ".listenerPath: send to `%s`", f->listener_path);
  return 0;
}
