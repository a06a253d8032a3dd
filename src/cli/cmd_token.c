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
  fprintf(out, "usage: drover token [create [USER] | list | revoke USER|TOKEN] [--data-dir DIR]\n"
               "  with no subcommand: prints the admin token (creating it when missing)\n");
}

int drv_cmd_token(int argc, char **argv)
{
  static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = "/var/lib/drover";
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (c == 'd') {
      dir = optarg;
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
  if (drv_mkdir_p(dir, 0700, &err) < 0) {
    fprintf(stderr, "drover token: %s\n", err.msg);
    return 1;
  }
  if (!sub || strcmp(sub, "create") == 0) {
    const char *user = sub && optind + 1 < argc ? argv[optind + 1] : "admin";
    _cleanup_free_ char *tok = sub ? NULL : drv_token_find(dir, user);
    if (!tok && drv_token_create(dir, user, &tok, &err) < 0) {
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
