#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/volwrite.h"
#include "common/fs.h"
#include "common/util.h"

static char *tmp_dir(void)
{
  char *d = strdup("/tmp/drv-volwrite-XXXXXX");
  assert_non_null(mkdtemp(d));
  return d;
}

static char *slurp(const char *dir, const char *name)
{
  char *p = drv_asprintf("%s/%s", dir, name), *out = NULL;
  drv_err err;
  int r = drv_read_file(p, 0, &out, NULL, &err);
  free(p);
  return r == 0 ? out : NULL;
}

static void link_is(const char *dir, const char *name, const char *want)
{
  char *p = drv_asprintf("%s/%s", dir, name), buf[PATH_MAX];
  ssize_t n = readlink(p, buf, sizeof buf - 1);
  free(p);
  assert_true(n > 0);
  buf[n] = 0;
  assert_string_equal(buf, want);
}

/* Directories named `..<timestamp>` in dir. */
static int sets(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  while ((de = readdir(d)))
    if (!strncmp(de->d_name, "..", 2) && de->d_name[2] && strcmp(de->d_name, "..data")) n++;
  closedir(d);
  return n;
}

static void layout_updates_and_old_sets(void **state)
{
  (void)state;
  char *dir = tmp_dir();
  drv_err err;
  drv_vol_file v1[] = {{"a", "one", 3, 0644}, {"d/e/b", "two", 3, 0600}};
  assert_int_equal(drv_vol_write(dir, v1, 2, -1, &err), 0);
  link_is(dir, "a", "..data/a");
  link_is(dir, "d", "..data/d");
  char *s = slurp(dir, "a");
  assert_string_equal(s, "one");
  free(s);
  s = slurp(dir, "d/e/b");
  assert_string_equal(s, "two");
  free(s);
  struct stat st;
  char *p = drv_asprintf("%s/d/e/b", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  free(p);
  assert_int_equal(sets(dir), 1);
  /* A new set: changed value, a name gone, a new name; the replaced set stays once. */
  drv_vol_file v2[] = {{"a", "uno", 3, 0644}, {"c", "", 0, 0444}};
  assert_int_equal(drv_vol_write(dir, v2, 2, -1, &err), 0);
  s = slurp(dir, "a");
  assert_string_equal(s, "uno");
  free(s);
  p = drv_asprintf("%s/d", dir);
  assert_int_equal(lstat(p, &st), -1); /* the top-level link of the old name went */
  free(p);
  link_is(dir, "c", "..data/c");
  assert_int_equal(sets(dir), 2);
  assert_int_equal(drv_vol_write(dir, v2, 2, -1, &err), 0);
  assert_int_equal(sets(dir), 2); /* only the current and the one before */
  /* Paths that would leave the set are refused, and nothing changes. */
  drv_vol_file bad[] = {{"../../x", "no", 2, 0644}};
  assert_int_equal(drv_vol_write(dir, bad, 1, -1, &err), -1);
  assert_non_null(strstr(err.msg, "must not contain '..'"));
  drv_vol_file bad2[] = {{"..data2", "no", 2, 0644}};
  assert_int_equal(drv_vol_write(dir, bad2, 1, -1, &err), -1);
  s = slurp(dir, "a");
  assert_string_equal(s, "uno");
  free(s);
  assert_int_equal(sets(dir), 2);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
  free(dir);
}

static void fs_group_ownership(void **state)
{
  (void)state;
  if (geteuid() != 0) skip();
  char *dir = tmp_dir();
  drv_err err;
  drv_vol_file v[] = {{"k", "v", 1, 0400}, {"sub/k2", "v", 1, 0600}};
  assert_int_equal(drv_vol_write(dir, v, 2, 4321, &err), 0);
  struct stat st;
  char *p = drv_asprintf("%s/k", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_gid, 4321);
  assert_int_equal(st.st_mode & 07777, 0440); /* read-only volumes: group-readable */
  free(p);
  p = drv_asprintf("%s/sub", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_gid, 4321);
  assert_true(st.st_mode & S_ISGID);
  free(p);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
  free(dir);
}

static void labels_as_kubelet_writes_them(void **state)
{
  (void)state;
  json_t *m = json_pack("{s:s, s:s, s:s}", "tier", "front", "app", "web", "note", "say \"hi\"\n\\");
  char *s = drv_vol_format_map(m);
  assert_string_equal(s, "app=\"web\"\nnote=\"say \\\"hi\\\"\\n\\\\\"\ntier=\"front\"");
  free(s);
  json_decref(m);
  s = drv_vol_format_map(NULL);
  assert_string_equal(s, "");
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(layout_updates_and_old_sets),
      cmocka_unit_test(fs_group_ownership),
      cmocka_unit_test(labels_as_kubelet_writes_them),
  };
  return cmocka_run_group_tests_name("agent_volwrite", tests, NULL, NULL);
}
