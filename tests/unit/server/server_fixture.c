#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/fs.h"
#include "server_fixture.h"

int server_fixture_setup(void **state)
{
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/drv-unit-server-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  drv_server_opts o = {.data_dir = f->dir, .listen = "127.0.0.1:0"};
  drv_err err = {0};
  if (drv_server_start(&o, &f->srv, &err) < 0) fail_msg("start: %s", err.msg);
  f->c = drv_server_client(f->srv);
  *state = f;
  return 0;
}

int server_fixture_teardown(void **state)
{
  fixture *f = *state;
  drv_api_client_free(f->c);
  drv_server_stop(f->srv);
  drv_err err;
  drv_rm_rf(f->dir, &err);
  free(f);
  return 0;
}
