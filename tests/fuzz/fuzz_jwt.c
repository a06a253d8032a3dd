/* Fuzzes service account token checks: any bytes as a bearer token must be refused cleanly,
 * and any JSON object signed as claims must be accepted or refused without a crash (the
 * claims' shapes: missing, wrong-typed or odd fields). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "server/jwt.h"
#include "server/satoken.h"

static int lookup(void *ud, const char *kind, const char *ns, const char *name, const char *uid)
{
  (void)ud, (void)kind, (void)ns;
  return !strcmp(name, "gone") ? -ENOENT : strcmp(uid, "uid-1") ? -ESTALE : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static drv_jwt_key *k;
  if (!k) k = drv_jwt_key_generate();
  char *tok = malloc(size + 1);
  memcpy(tok, data, size);
  tok[size] = 0;
  drv_auth_user u;
  drv_err err;
  if (drv_satoken_authenticate(k, DRV_SA_ISSUER, DRV_SA_ISSUER, 1800000000, tok, lookup, NULL, &u, &err) == 0)
    abort(); /* nobody forges a signature */
  json_t *claims = json_loadb((const char *)data, size, 0, NULL);
  if (json_is_object(claims)) {
    char *signed_tok = drv_jwt_sign(k, claims, &err);
    if (signed_tok && drv_satoken_authenticate(k, DRV_SA_ISSUER, DRV_SA_ISSUER, 1800000000, signed_tok, lookup, NULL,
                                               &u, &err) == 0 &&
        (strncmp(u.name, "system:serviceaccount:", 22) || u.ngroups != 3))
      abort();
    free(signed_tok);
  }
  json_decref(claims);
  free(tok);
  return 0;
}
