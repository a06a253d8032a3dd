/* drover's default seccomp profile (Kubernetes RuntimeDefault): an allowlist of the syscalls
 * ordinary programs make; syscalls that change the kernel, the clock, modules, namespaces or
 * other processes' memory answer EPERM unless the container holds the capability they need. */
#include <linux/capability.h>
#include <stdint.h>

#include "common/util.h"
#include "runtime/seccomp.h"

static const char *const allowed[] = {
    /* files and directories */
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
    "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod",
    "mknodat", "newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "removexattr", "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64",
    "setxattr", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
    "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice",
    "write", "writev", "ioctl", "name_to_handle_at",
    /* events and polling */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "poll", "ppoll",
    "ppoll_time64", "pselect6", "pselect6_time64", "select", "_newselect", "signalfd",
    "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
    "io_uring_setup",
    /* memory */
    "brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2", "mlockall",
    "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages", "map_shadow_stack",
    /* processes, threads, signals */
    "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork",
    "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
    "get_robust_list", "get_thread_area", "getcpu", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getresgid", "getresgid32", "getresuid",
    "getresuid32", "getrlimit", "getrusage", "getsid", "gettid", "getuid", "getuid32",
    "ioprio_get", "ioprio_set", "kill", "modify_ldt", "pause", "pidfd_open",
    "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "set_robust_list", "set_thread_area",
    "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
    "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
    "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "setsid", "setuid", "setuid32", "sigaltstack", "sigprocmask",
    "sigreturn", "tgkill", "tkill", "ugetrlimit", "vfork", "wait4", "waitid", "waitpid",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
    /* time (reading it) */
    "alarm", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "gettimeofday", "nanosleep", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "times",
    /* sockets and IPC */
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
    "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg",
    "sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketcall", "socketpair", "ipc",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
    "shmget", "pipe", "pipe2",
    /* system information */
    "getrandom", "sysinfo", "uname",
};

/* Allowed when the container holds the capability. */
static const struct {
  int cap;
  const char *names[20];
} by_cap[] = {
    {CAP_SYS_ADMIN, {"bpf", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                     "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                     "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                     "setns", "umount2", "unshare"}},
    {CAP_SYS_BOOT, {"reboot"}},
    {CAP_SYS_CHROOT, {"chroot"}},
    {CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module"}},
    {CAP_SYS_PACCT, {"acct"}},
    {CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                      "process_vm_writev", "ptrace"}},
    {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
    {CAP_SYS_TIME, {"adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime",
                    "clock_settime64", "settimeofday", "stime"}},
    {CAP_SYS_TTY_CONFIG, {"vhangup"}},
    {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {CAP_SYSLOG, {"syslog"}},
    {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
    {CAP_BPF, {"bpf"}},
    {CAP_PERFMON, {"perf_event_open"}},
};

/* clone(2) flags that create namespaces: only with CAP_SYS_ADMIN. */
#define NS_FLAGS 0x7E020000LL

static json_t *names_array(const char *const *names, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n && names[i]; i++) json_array_append_new(a, json_string(names[i]));
  return a;
}

json_t *drv_seccomp_default_profile(uint64_t caps)
{
  json_t *sys = json_array();
  json_array_append_new(sys, json_pack("{s:o, s:s}", "names",
                                        names_array(allowed, DRV_ARRAY_LEN(allowed)), "action",
                                        "SCMP_ACT_ALLOW"));
  /* personality: only the harmless domains (Linux, 32-bit address space, query). */
  json_t *pargs = json_array();
  static const long long personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
  for (size_t i = 0; i < DRV_ARRAY_LEN(personas); i++)
    json_array_append_new(pargs, json_pack("{s:i, s:I, s:s}", "index", 0, "value", personas[i],
                                           "op", "SCMP_CMP_EQ"));
  json_array_append_new(sys, json_pack("{s:[s], s:s, s:o}", "names", "personality", "action",
                                        "SCMP_ACT_ALLOW", "args", pargs));
  bool admin = caps & (1ull << CAP_SYS_ADMIN);
  if (admin) {
    json_array_append_new(sys, json_pack("{s:[s], s:s}", "names", "clone", "action", "SCMP_ACT_ALLOW"));
  } else {
    json_array_append_new(sys, json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}", "names",
                                          "clone", "action", "SCMP_ACT_ALLOW", "args", "index", 0,
                                          "value", NS_FLAGS, "valueTwo", 0LL, "op",
                                          "SCMP_CMP_MASKED_EQ"));
    /* clone3 hides its flags in memory a filter cannot read: ENOSYS sends libc back to clone. */
    json_array_append_new(sys, json_pack("{s:[s], s:s, s:i}", "names", "clone3", "action",
                                          "SCMP_ACT_ERRNO", "errnoRet", 38));
  }
  for (size_t i = 0; i < DRV_ARRAY_LEN(by_cap); i++) {
    if (!(caps & (1ull << by_cap[i].cap))) continue;
    json_array_append_new(sys, json_pack("{s:o, s:s}", "names",
                                          names_array(by_cap[i].names, DRV_ARRAY_LEN(by_cap[i].names)),
                                          "action", "SCMP_ACT_ALLOW"));
  }
  json_t *arches;
#if defined(__x86_64__)
  arches = json_pack("[s,s,s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#elif defined(__aarch64__)
  arches = json_pack("[s,s]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
  arches = json_pack("[s]", "SCMP_ARCH_NATIVE");
#endif
  return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", 1,
                   "architectures", arches, "syscalls", sys);
}
