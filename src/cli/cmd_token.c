/* `drover token create|list|revoke`: the API's bearer tokens in DATA-DIR/tokens. A running
 * server picks changes up within a second. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/fs.h"
#include "common/util.h"
#include "server/auth.h"

static void usage(FILE *out)
{
  fprintf(out, "usage: drover token [create [--user] USER [--group G]... | create --node NAME |\n"
               "                    create --serviceaccount NS:NAME | list | revoke USER|TOKEN]\n"
               "                    [--data-dir DIR]\n"
               "  with no subcommand: prints the admin token (creating it when missing)\n"
               "  --group system:masters makes an administrator; other identities get what RBAC\n"
               "  bindings grant them; --node NAME is a node agent's identity (system:node:NAME\n"
               "  in group system:nodes); --serviceaccount NS:NAME is system:serviceaccount:NS:NAME\n"
               "  in system:serviceaccounts and system:serviceaccounts:NS\n");
}

int drv_cmd_token(int argc, char **argv)
{
  static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                       {"user", required_argument, NULL, 'u'},
                                       {"group", required_argument, NULL, 'g'},
                                       {"node", required_argument, NULL, 'n'},
                                       {"serviceaccount", required_argument, NULL, 's'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *flag_user = NULL, *node = NULL, *sa = NULL;
  const char *groups[DRV_AUTH_MAX_GROUPS + 1] = {NULL};
  size_t ngroups = 0;
  const char *dir = "/var/lib/drover";
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (c == 'd') {
      dir = optarg;
    } else if (c == 'u') {
      flag_user = optarg;
    } else if (c == 'n') {
      node = optarg;
    } else if (c == 's') {
      sa = optarg;
    } else if (c == 'g') {
      if (ngroups + 1 >= DRV_AUTH_MAX_GROUPS) {
        fprintf(stderr, "drover token: at most %d groups\n", DRV_AUTH_MAX_GROUPS - 1);
        return 2;
      }
      groups[ngroups++] = optarg;
    } else if (c == 'h') {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "drover token: bad flag `%s`\n", argv[optind - 1]);
      usage(stderr);
      return 2;
    }
  }
  const char *sub = optind < argc ? argv[optind] : NULL;
  drv_err err = {0};
  if (sub && strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke")) {
    fprintf(stderr, "drover token: unknown subcommand `%s`\n", sub);
    usage(stderr);
    return 2;
  }
  if (sub && !strcmp(sub, "create") && !flag_user && optind + 1 >= argc && !node && !sa) {
    /* an "admin" without groups would be made: not the administrator, only a look-alike */
    fprintf(stderr, "drover token create: name the identity (USER, --user USER, --node NAME or "
                    "--serviceaccount NS:NAME)\n");
    return 2;
  }
  /* Only printing or creating a token makes the data dir; a list or revoke of a dir that is
   * not there (a typo in --data-dir) says so instead of answering for an empty one. */
  if (sub && strcmp(sub, "create") && !drv_path_exists(dir)) {
    fprintf(stderr, "drover token %s: data dir `%s` does not exist\n", sub, dir);
    return 1;
  }
  if ((!sub || !strcmp(sub, "create")) && drv_mkdir_p(dir, 0700, &err) < 0) {
    fprintf(stderr, "drover token: %s\n", err.msg);
    return 1;
  }
  if ((flag_user || node || sa || ngroups) && (!sub || strcmp(sub, "create"))) {
    fprintf(stderr, "drover token: --user, --group, --node and --serviceaccount go with `create`\n");
    return 2;
  }
  if (!sub || strcmp(sub, "create") == 0) {
    const char *pos = sub && optind + 1 < argc ? argv[optind + 1] : NULL;
    if ((flag_user && pos && strcmp(flag_user, pos)) || ((node || sa) && (flag_user || pos || ngroups)) ||
        (node && sa)) {
      fprintf(stderr, "drover token create: name the identity once (--user USER, --node NAME or "
                      "--serviceaccount NS:NAME)\n");
      return 2;
    }
    const char *colon = sa ? strchr(sa, ':') : NULL;
    if (sa && (!colon || colon == sa || !colon[1] || strchr(colon + 1, ':'))) {
      fprintf(stderr, "drover token create: --serviceaccount `%s`: want NAMESPACE:NAME\n", sa);
      return 2;
    }
    _cleanup_free_ char *node_user = node ? drv_asprintf("system:node:%s", node) : NULL;
    if (node) groups[ngroups++] = "system:nodes";
    _cleanup_free_ char *sa_user = sa ? drv_asprintf("system:serviceaccount:%s", sa) : NULL;
    _cleanup_free_ char *sa_group = sa ? drv_asprintf("system:serviceaccounts:%.*s", (int)(colon - sa), sa) : NULL;
    if (sa) {
      groups[ngroups++] = "system:serviceaccounts";
      groups[ngroups++] = sa_group;
    }
    const char *user = node_user ? node_user : sa_user ? sa_user : flag_user ? flag_user : pos ? pos : "admin";
    /* the default admin token is an administrator; others get what RBAC grants them */
    if (!sub) groups[ngroups++] = DRV_AUTH_MASTERS;
    _cleanup_free_ char *tok = sub ? NULL : drv_token_find(dir, user);
    if (!tok && drv_token_create(dir, user, groups, &tok, &err) < 0) {
      fprintf(stderr, "drover token: %s\n", err.msg);
      return 1;
    }
    printf("%s\n", tok);
    return 0;
  }
  if (strcmp(sub, "list") == 0) {
    _cleanup_free_ char *out = NULL;
    if (drv_token_list(dir, &out, &err) < 0) {
      fprintf(stderr, "drover token: %s\n", err.msg);
      return 1;
    }
    fputs(out, stdout);
    return 0;
  }
  if (strcmp(sub, "revoke") == 0) {
    if (optind + 1 >= argc) {
      fprintf(stderr, "drover token revoke: name a USER or TOKEN\n");
      return 2;
    }
    int n = drv_token_revoke(dir, argv[optind + 1], &err);
    if (n < 0) {
      fprintf(stderr, "drover token: %s\n", err.msg);
      return 1;
    }
    if (n == 0) {
      fprintf(stderr, "drover token revoke: no token matches `%s`\n", argv[optind + 1]);
      return 1;
    }
    printf("revoked %d token%s\n", n, n == 1 ? "" : "s");
    return 0;
  }
  fprintf(stderr, "drover token: unknown subcommand `%s`\n", sub);
  usage(stderr);
  return 2;
}
