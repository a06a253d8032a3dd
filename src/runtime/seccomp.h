/* Seccomp: OCI linux.seccomp → a BPF program, compiled BEFORE fork (libseccomp, allocations,
 * errors with field names) and loaded in the child with one syscall and no allocation, because
 * the child runs after its namespaces are set and must do little.
 *
 *   drv_seccomp_filter *f;
 *   drv_seccomp_compile(json_object_get(linux, "seccomp"), &f, &err);   // parent
 *   ... fork/clone ...
 *   int fd; if (drv_seccomp_load(f, &fd) < 0) _exit(...);                // child, last step
 *   if (fd >= 0) drv_seccomp_send_listener(f, fd, state_json, &err);     // SCMP_ACT_NOTIFY
 *
 * Loading needs no_new_privs or CAP_SYS_ADMIN: load it after prctl(PR_SET_NO_NEW_PRIVS) when
 * the spec asks for it, otherwise before the capabilities are dropped. */
#ifndef DRV_RUNTIME_SECCOMP_H
#define DRV_RUNTIME_SECCOMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct drv_seccomp_filter drv_seccomp_filter;

/* Same as drv_seccomp_compile, through a cache of compiled programs keyed by the SHA-256 of
 * the profile (compiling Docker's default profile for three arches takes ~8 ms here): an
 * in-process cache (the agent) and, when cache_dir is not NULL, files in cache_dir (created
 * 0700; files not owned by this user are ignored) so that one-shot CLI runs share it too. */
int drv_seccomp_compile_cached(const json_t *seccomp, const char *cache_dir,
                               drv_seccomp_filter **out, drv_err *err);
/* Drops the in-process cache (tests; memory pressure). */
void drv_seccomp_cache_clear(void);

/* Compiles OCI linux.seccomp (an object). Unknown syscall names are skipped (as runc does);
 * unknown actions, operators, architectures and flags are errors naming the field, e.g.
 * "linux.seccomp.syscalls[3].action: unknown action `SCMP_ACT_FOO`". */
int drv_seccomp_compile(const json_t *seccomp, drv_seccomp_filter **out, drv_err *err);
/* Same, from JSON text (fuzzing, `--seccomp file`). */
int drv_seccomp_compile_text(const char *json, size_t len, drv_seccomp_filter **out, drv_err *err);
void drv_seccomp_free(drv_seccomp_filter *f);

/* Loads the prebuilt program into the calling thread (TSYNC: every thread). Async-signal-safe
 * and allocation-free. Returns 0, or -errno. *listener_fd gets the notify fd when the filter
 * uses SCMP_ACT_NOTIFY, else -1 (listener_fd may be NULL when the filter has no NOTIFY). */
int drv_seccomp_load(const drv_seccomp_filter *f, int *listener_fd);

/* Number of BPF instructions (benchmarks, tests). */
size_t drv_seccomp_filter_len(const drv_seccomp_filter *f);
/* The program itself: drv_seccomp_filter_len() struct sock_filter entries (tests, dumps). */
const void *drv_seccomp_filter_program(const drv_seccomp_filter *f);
/* SECCOMP_FILTER_FLAG_* passed to seccomp(2). */
unsigned drv_seccomp_filter_flags(const drv_seccomp_filter *f);
/* True when some rule uses SCMP_ACT_NOTIFY (a listener fd will come out of load). */
bool drv_seccomp_uses_notify(const drv_seccomp_filter *f);
/* linux.seccomp.listenerPath / listenerMetadata, or NULL. */
const char *drv_seccomp_listener_path(const drv_seccomp_filter *f);
const char *drv_seccomp_listener_metadata(const drv_seccomp_filter *f);

/* Sends the notify fd to listenerPath over a unix socket with SCM_RIGHTS, together with the
 * OCI "containerProcessState" JSON built from state_json (the container's state object) and
 * the listener metadata, as the runtime spec describes. Closes nothing. */
int drv_seccomp_send_listener(const drv_seccomp_filter *f, int listener_fd, const json_t *state,
                              drv_err *err);

/* The default profile (Kubernetes RuntimeDefault / Docker's default in spirit): allow the
 * syscalls ordinary programs use, EPERM the rest; some extra syscalls are allowed when the
 * container holds the capability they need. caps: bit (1 << CAP_x) per capability held.
 * Returns a new OCI linux.seccomp object (caller json_decref's it). */
json_t *drv_seccomp_default_profile(uint64_t caps);

#endif
