/* Real netlink and iptables, in network namespaces this test creates: the test process moves
 * into a fresh one (the "node") and forks a child holding another (the "pod"). Nothing of the
 * host's network is touched. Skipped when namespaces cannot be created (not root). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "net/netlink.h"
#include "net/podnet.h"
#include "net/service.h"

static bool have_netns;

static struct in_addr addr(const char *s)
{
  struct in_addr a;
  inet_pton(AF_INET, s, &a);
  return a;
}

/* A child sitting in its own network namespace until killed. */
static pid_t spawn_netns(int *nsfd)
{
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
    if (unshare(CLONE_NEWNET) < 0) _exit(1);
    (void)!write(p[1], "x", 1);
    for (;;) pause();
  }
  close(p[1]);
  char c;
  assert_int_equal(read(p[0], &c, 1), 1);
  close(p[0]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
  *nsfd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(*nsfd >= 0);
  return pid;
}

static void reap(pid_t pid)
{
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* A socket created inside the namespace of nsfd. */
static int socket_in(int nsfd, int type)
{
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  assert_int_equal(setns(nsfd, CLONE_NEWNET), 0);
  int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  assert_int_equal(setns(self, CLONE_NEWNET), 0);
  close(self);
  assert_true(s >= 0);
  return s;
}

static void links_addresses_routes(void **state)
{
  (void)state;
  if (!have_netns) skip();
  drv_err err;
  drv_nl *nl = NULL;
  assert_int_equal(drv_nl_open(&nl, &err), 0);
  assert_int_equal(drv_nl_link_index(nl, "nosuch0", &err), -1);
  assert_int_equal(err.errnum, ENODEV);
  assert_non_null(strstr(err.msg, "nosuch0"));
  assert_int_equal(drv_nl_bridge_add(nl, "tbr0", &err), 0);
  assert_int_equal(drv_nl_bridge_add(nl, "tbr0", &err), 0); /* idempotent */
  assert_true(drv_nl_link_index(nl, "tbr0", &err) > 0);
  assert_int_equal(drv_nl_veth_add(nl, "tv0", "tv1", -1, &err), 0);
  assert_int_equal(drv_nl_veth_add(nl, "tv0", "tv1", -1, &err), -1);
  assert_int_equal(err.errnum, EEXIST);
  assert_int_equal(drv_nl_link_set_master(nl, "tv0", "tbr0", &err), 0);
  assert_int_equal(drv_nl_link_up(nl, "tv0", &err), 0);
  assert_int_equal(drv_nl_link_rename(nl, "tv1", "tv2", &err), 0);
  assert_false(drv_nl_link_exists(nl, "tv1"));
  assert_int_equal(drv_nl_addr_add(nl, "tv2", addr("10.123.50.1"), 24, &err), 0);
  assert_int_equal(drv_nl_addr_add(nl, "tv2", addr("10.123.50.1"), 24, &err), 0);
  assert_int_equal(drv_nl_link_up(nl, "tv2", &err), 0);
  assert_int_equal(drv_nl_route_replace(nl, addr("10.123.60.0"), 24, addr("10.123.50.9"), NULL, &err), 0);
  assert_int_equal(drv_nl_route_replace(nl, addr("10.123.60.0"), 24, addr("10.123.50.8"), NULL, &err), 0);
  assert_int_equal(drv_nl_route_del(nl, addr("10.123.60.0"), 24, &err), 0);
  assert_int_equal(drv_nl_route_del(nl, addr("10.123.60.0"), 24, &err), 0);
  assert_int_equal(drv_nl_link_del(nl, "tv0", &err), 0);
  assert_false(drv_nl_link_exists(nl, "tv2")); /* the peer went with it */
  assert_int_equal(drv_nl_link_del(nl, "tv0", &err), 0);
  assert_int_equal(drv_nl_link_del(nl, "tbr0", &err), 0);
  drv_nl_close(nl);
}

static void pod_attach_reaches_gateway_and_service(void **state)
{
  (void)state;
  if (!have_netns) skip();
  drv_err err;
  int nsfd;
  pid_t pod = spawn_netns(&nsfd);
  struct in_addr gw = addr("10.123.70.1"), pip = addr("10.123.70.2");
  assert_int_equal(drv_podnet_bridge_setup("tbr1", gw, 24, &err), 0);
  assert_int_equal(drv_podnet_bridge_setup("tbr1", gw, 24, &err), 0);
  char ifname[16];
  drv_podnet_ifname("uid-1234", ifname);
  assert_int_equal(strlen(ifname), 15);
  if (drv_podnet_attach("tbr1", ifname, nsfd, pip, 24, gw, &err) < 0) fail_msg("%s", err.msg);
  /* Again after a crash mid-way: replaces what was there. */
  if (drv_podnet_attach("tbr1", ifname, nsfd, pip, 24, gw, &err) < 0) fail_msg("%s", err.msg);

  /* A TCP listener in the pod; the host connects to it directly, then through a ClusterIP. */
  int ls = socket_in(nsfd, SOCK_STREAM);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080), .sin_addr = pip};
  assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(ls, 8), 0);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
  int a = accept(ls, NULL, NULL);
  assert_true(a >= 0);
  close(a);
  close(c);

  drv_svc_ep ep = {pip, 8080};
  drv_svc_rule rule = {"default/web:80", "tcp", addr("10.123.96.10"), 80, 30080, &ep, 1};
  drv_svc_table t = {.owner = "0000AAAA", .rules = &rule, .n = 1};
  if (drv_svc_sync(&t, &err) < 0) fail_msg("%s", err.msg);
  /* A second agent in the same namespace: its own chains, with a hostPort to the same pod. */
  drv_hostport hp = {"default/web/c:8080", "tcp", {0}, 18080, pip, 8080};
  drv_svc_table t2 = {.owner = "0000BBBB", .hps = &hp, .n_hps = 1};
  if (drv_svc_sync(&t2, &err) < 0) fail_msg("%s", err.msg);
  if (drv_svc_sync(&t, &err) < 0) fail_msg("%s", err.msg); /* must leave t2's rules alone */
  /* Local traffic needs a route to the VIP before NAT (nodes have a default route). */
  drv_nl *nl = NULL;
  assert_int_equal(drv_nl_open(&nl, &err), 0);
  assert_int_equal(drv_nl_route_replace(nl, addr("10.123.96.0"), 24, (struct in_addr){0}, "tbr1", &err), 0);
  drv_nl_close(nl);
  struct sockaddr_in targets[3] = {
      {.sin_family = AF_INET, .sin_port = htons(80), .sin_addr = rule.vip},     /* ClusterIP */
      {.sin_family = AF_INET, .sin_port = htons(18080), .sin_addr = gw},        /* hostPort, node address */
      {.sin_family = AF_INET, .sin_port = htons(18080), .sin_addr = addr("127.0.0.1")}, /* localhost */
  };
  for (int i = 0; i < 3; i++) {
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(c, (struct sockaddr *)&targets[i], sizeof targets[i]) != 0) fail_msg("target %d: %m", i);
    a = accept(ls, NULL, NULL);
    assert_true(a >= 0);
    assert_int_equal(write(c, "hi", 2), 2);
    char buf[4] = "";
    assert_int_equal(read(a, buf, 2), 2);
    assert_memory_equal(buf, "hi", 2);
    close(a);
    close(c);
  }
  /* No endpoints: the chain goes, the VIP stops answering on that port. */
  rule.n_eps = 0;
  assert_int_equal(drv_svc_sync(&t, &err), 0);
  assert_int_equal(drv_svc_cleanup("0000AAAA", &err), 0);
  FILE *f = popen("iptables-save -t nat", "r");
  assert_non_null(f);
  char line[512];
  bool a_left = false, b_hook = false;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "DRV-0000AAAA")) a_left = true;
    if (strstr(line, "-A PREROUTING -j DRV-0000BBBB-SERVICES")) b_hook = true;
  }
  pclose(f);
  assert_false(a_left);
  assert_true(b_hook);
  assert_int_equal(drv_svc_cleanup("0000BBBB", &err), 0);

  close(ls);
  assert_int_equal(drv_podnet_detach(ifname, &err), 0);
  assert_int_equal(drv_podnet_detach(ifname, &err), 0);
  reap(pod);
  close(nsfd);
}

int main(void)
{
  have_netns = unshare(CLONE_NEWNET) == 0;
  if (have_netns) {
    drv_err err;
    drv_nl *nl = NULL;
    if (drv_nl_open(&nl, &err) == 0) {
      drv_nl_link_up(nl, "lo", &err);
      drv_nl_close(nl);
    }
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(links_addresses_routes),
      cmocka_unit_test(pod_attach_reaches_gateway_and_service),
  };
  return cmocka_run_group_tests_name("net_netlink", tests, NULL, NULL);
}
