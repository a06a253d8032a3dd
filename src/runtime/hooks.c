/* OCI hooks: each is exec'ed with the container state JSON on stdin; a timeout kills it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "runtime/internal.h"

static int run_one(const drv_rt_hook *h, const char *kind, size_t idx, const char *state,
                   drv_err *err)
{
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) return drv_error(err, errno, "hooks.%s[%zu]: pipe", kind, idx);
  pid_t pid = fork();
  if (pid < 0) {
    close(in[0]);
    close(in[1]);
    return drv_error(err, errno, "hooks.%s[%zu]: fork", kind, idx);
  }
  if (pid == 0) {
    dup2(in[0], 0);
    /* stdout/stderr stay the runtime's (runc behaves the same). */
    char *argv0[] = {h->path, NULL};
    char *envp0[] = {NULL};
    execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : envp0);
    _exit(127);
  }
  close(in[0]);
  /* The hook may not read its stdin; a full pipe or EPIPE must not hang or kill us. */
  signal(SIGPIPE, SIG_IGN);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  ssize_t w = write(in[1], state, strlen(state));
  (void)w;
  close(in[1]);
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int status = 0;
  if (h->timeout > 0 && pfd >= 0) {
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    int r;
    do
      r = poll(&p, 1, h->timeout * 1000);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      close(pfd);
      return drv_error(err, ETIMEDOUT, "hooks.%s[%zu] `%s`: timed out after %d s", kind, idx,
                       h->path, h->timeout);
    }
  }
  if (pfd >= 0) close(pfd);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return drv_error(err, errno, "hooks.%s[%zu]: wait", kind, idx);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return drv_error(err, 0, "hooks.%s[%zu] `%s`: could not be executed (exit 127)", kind, idx,
                     h->path);
  if (WIFEXITED(status))
    return drv_error(err, 0, "hooks.%s[%zu] `%s`: exited with status %d", kind, idx, h->path,
                     WEXITSTATUS(status));
  return drv_error(err, 0, "hooks.%s[%zu] `%s`: killed by signal %d", kind, idx, h->path,
                   WTERMSIG(status));
}

int drv_rt_hooks_run(const drv_rt_hook *hooks, size_t n, const char *kind, const char *state,
                     drv_err *err)
{
  for (size_t i = 0; i < n; i++)
    if (run_one(&hooks[i], kind, i, state, err) < 0) return -1;
  return 0;
}
