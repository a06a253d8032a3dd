/* The v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the
 * group: built here instruction by instruction from the OCI device rules, loaded with bpf(2). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cgroup_internal.h"

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  struct bpf_insn i;
  memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU_K(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV_R(dst, src) insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JMP_K(op, dst, imm, off) insn(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define MOV64_K(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static unsigned access_bits(const char *access)
{
  unsigned a = 0;
  for (const char *p = access; *p; p++) {
    if (*p == 'r') a |= BPF_DEVCG_ACC_READ;
    if (*p == 'w') a |= BPF_DEVCG_ACC_WRITE;
    if (*p == 'm') a |= BPF_DEVCG_ACC_MKNOD;
  }
  return a;
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

struct bpf_insn *drv_cg_devices_bpf(const drv_cgroup_device_rule *rules, size_t n, size_t *len)
{
  /* At most 9 instructions per rule plus 8 around them. */
  struct bpf_insn *p = drv_calloc(n * 9 + 8, sizeof *p);
  size_t k = 0;
  /* r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx). */
  p[k++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
  p[k++] = ALU_K(BPF_AND, BPF_REG_2, 0xffff);
  p[k++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
  p[k++] = ALU_K(BPF_RSH, BPF_REG_3, 16);
  p[k++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
  p[k++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);
  for (size_t i = n; i-- > 0;) {
    const drv_cgroup_device_rule *r = &rules[i];
    unsigned acc = access_bits(r->access);
    bool type = r->type == 'c' || r->type == 'b';
    bool any_access = acc == ACC_ALL;
    bool major = type && r->major >= 0, minor = type && r->minor >= 0;
    size_t len_block =
        (type ? 1 : 0) + (any_access ? 0 : 3) + (major ? 1 : 0) + (minor ? 1 : 0) + 2;
    size_t at = 0; /* index within the block of the next instruction */
#define SKIP() ((int16_t)(len_block - at - 1))
    if (type) {
      p[k++] = JMP_K(BPF_JNE, BPF_REG_2, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK,
                     SKIP());
      at++;
    }
    if (!any_access) {
      p[k++] = MOV_R(BPF_REG_1, BPF_REG_3);
      at++;
      if (r->allow) {
        /* Allow only when every access asked is in the rule. */
        p[k++] = ALU_K(BPF_AND, BPF_REG_1, (int32_t)(~acc & ACC_ALL));
        at++;
        p[k++] = JMP_K(BPF_JNE, BPF_REG_1, 0, SKIP());
      } else {
        /* Deny as soon as one access asked is in the rule. */
        p[k++] = ALU_K(BPF_AND, BPF_REG_1, (int32_t)acc);
        at++;
        p[k++] = JMP_K(BPF_JEQ, BPF_REG_1, 0, SKIP());
      }
      at++;
    }
    if (major) {
      p[k++] = JMP_K(BPF_JNE, BPF_REG_4, (int32_t)r->major, SKIP());
      at++;
    }
    if (minor) {
      p[k++] = JMP_K(BPF_JNE, BPF_REG_5, (int32_t)r->minor, SKIP());
      at++;
    }
#undef SKIP
    p[k++] = MOV64_K(BPF_REG_0, r->allow ? 1 : 0);
    p[k++] = EXIT();
  }
  p[k++] = MOV64_K(BPF_REG_0, 1);
  p[k++] = EXIT();
  *len = k;
  return p;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
  return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int drv_cg_devices_bpf_apply(const char *dir, const struct bpf_insn *insns, size_t len,
                             drv_err *err)
{
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return drv_error(err, errno, "open cgroup `%s`", dir);

  /* What is attached now, to detach once the new program is in place (no gap). */
  uint32_t old_ids[64];
  union bpf_attr q;
  memset(&q, 0, sizeof q);
  q.query.target_fd = (uint32_t)dfd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
  q.query.prog_cnt = DRV_ARRAY_LEN(old_ids);
  uint32_t n_old = 0;
  if (sys_bpf(BPF_PROG_QUERY, &q) == 0) n_old = q.query.prog_cnt;

  char log[4096] = "";
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)len;
  a.license = (uint64_t)(uintptr_t) "Apache-2.0";
  a.log_buf = (uint64_t)(uintptr_t)log;
  a.log_size = sizeof log;
  a.log_level = 1;
  _cleanup_close_ int prog = sys_bpf(BPF_PROG_LOAD, &a);
  if (prog < 0) {
    /* A log too small for the verifier's story: load again without it. */
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = (uint32_t)len;
    a.license = (uint64_t)(uintptr_t) "Apache-2.0";
    prog = sys_bpf(BPF_PROG_LOAD, &a);
  }
  if (prog < 0)
    return drv_error(err, errno, "load device eBPF program for `%s`%s%s", dir, log[0] ? ": " : "",
                     log);

  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)dfd;
  a.attach_bpf_fd = (uint32_t)prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
    return drv_error(err, errno, "attach device eBPF program to `%s`", dir);

  for (uint32_t i = 0; i < n_old; i++) {
    union bpf_attr g;
    memset(&g, 0, sizeof g);
    g.prog_id = old_ids[i];
    _cleanup_close_ int ofd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
    if (ofd < 0) continue;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)dfd;
    a.attach_bpf_fd = (uint32_t)ofd;
    a.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT)
      return drv_error(err, errno, "detach the previous device eBPF program from `%s`", dir);
  }
  return 0;
}
