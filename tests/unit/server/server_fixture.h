/* A real drover server on a temporary data dir with its in-process client, for the unit tests
 * that drive the server through the API client (cmocka setup/teardown). */
#ifndef DRV_TEST_SERVER_FIXTURE_H
#define DRV_TEST_SERVER_FIXTURE_H

#include "api/client.h"
#include "server/server.h"

typedef struct {
  char dir[256];
  drv_server *srv;
  drv_api_client *c;
} fixture;

/* Starts the server (listening on a free loopback port) in a fresh /tmp/drv-unit-server-* dir. */
int server_fixture_setup(void **state);
/* Stops it and removes its data dir. */
int server_fixture_teardown(void **state);

#endif
