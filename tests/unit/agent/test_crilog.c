#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agent/crilog.h"
#include "common/fs.h"
#include "common/util.h"

#define T0 1764018356123456789LL /* 2025-11-24T21:05:56.123456789Z */

static char *tmpdir(void)
{
  char t[] = "/tmp/drv-test-crilog-XXXXXX";
  assert_non_null(mkdtemp(t));
  return drv_strdup(t);
}

static void time_roundtrip(void **state)
{
  (void)state;
  char ts[40];
  drv_crilog_format_time(T0, ts, sizeof ts);
  assert_string_equal(ts, "2025-11-24T21:05:56.123456789Z");
  assert_int_equal(drv_crilog_parse_time(ts, strlen(ts)), T0);
  const char *a = "2025-11-24T23:05:56.5+02:00";
  assert_int_equal(drv_crilog_parse_time(a, strlen(a)), 1764018356500000000LL);
  const char *b = "2025-11-24T21:05:56Z";
  assert_int_equal(drv_crilog_parse_time(b, strlen(b)), 1764018356000000000LL);
  const char *bad[] = {"2025-11-24", "2025-13-24T21:05:56Z", "2025-11-24T21:05:56", "2025-11-24T21:05:56.Z",
                       "2025-11-24T21:05:56Zx"};
  for (size_t i = 0; i < DRV_ARRAY_LEN(bad); i++)
    assert_int_equal(drv_crilog_parse_time(bad[i], strlen(bad[i])), -1);
}

static void parse_lines(void **state)
{
  (void)state;
  drv_crilog_record r;
  drv_err err;
  const char *l = "2025-11-24T21:05:56.123456789Z stderr P hello world";
  assert_int_equal(drv_crilog_parse(l, strlen(l), &r, &err), 0);
  assert_int_equal(r.stream, DRV_CRILOG_STDERR);
  assert_true(r.partial);
  assert_int_equal(r.msg_len, 11);
  assert_memory_equal(r.msg, "hello world", 11);
  const char *empty = "2025-11-24T21:05:56Z stdout F";
  assert_int_equal(drv_crilog_parse(empty, strlen(empty), &r, &err), 0);
  assert_int_equal(r.msg_len, 0);
  const char *bad1 = "garbage";
  assert_int_equal(drv_crilog_parse(bad1, strlen(bad1), &r, &err), -1);
  const char *bad2 = "2025-11-24T21:05:56Z stdin F x";
  assert_int_equal(drv_crilog_parse(bad2, strlen(bad2), &r, &err), -1);
  assert_non_null(strstr(err.msg, "stream"));
  const char *bad3 = "2025-11-24T21:05:56Z stdout X x";
  assert_int_equal(drv_crilog_parse(bad3, strlen(bad3), &r, &err), -1);
  assert_non_null(strstr(err.msg, "tag"));
}

static void write_read_tail_since(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = drv_asprintf("%s/0.log", dir);
  drv_err err;
  drv_crilog *l = NULL;
  assert_int_equal(drv_crilog_open(path, 0, 1, &l, &err), 0);
  assert_int_equal(drv_crilog_write(l, DRV_CRILOG_STDOUT, "one\ntw", 6, T0, &err), 0);
  assert_int_equal(drv_crilog_write(l, DRV_CRILOG_STDERR, "err\n", 4, T0 + 1000, &err), 0);
  assert_int_equal(drv_crilog_write(l, DRV_CRILOG_STDOUT, "o\nthree", 7, T0 + 2000000000LL, &err), 0);
  assert_int_equal(drv_crilog_flush(l, DRV_CRILOG_STDOUT, T0 + 3000000000LL, &err), 0);
  drv_crilog_close(l);

  char *raw = NULL;
  size_t len;
  assert_int_equal(drv_read_file(path, 0, &raw, &len, &err), 0);
  assert_string_equal(raw, "2025-11-24T21:05:56.123456789Z stdout F one\n"
                           "2025-11-24T21:05:56.123457789Z stderr F err\n"
                           "2025-11-24T21:05:58.123456789Z stdout F two\n"
                           "2025-11-24T21:05:59.123456789Z stdout F three\n");
  free(raw);

  drv_buf out = DRV_BUF_INIT;
  drv_crilog_read_opts all = {.tail = -1};
  off_t end;
  assert_int_equal(drv_crilog_read(path, 1, &all, &out, &end, &err), 0);
  assert_string_equal(out.data, "one\nerr\ntwo\nthree\n");
  assert_true(end > 0);
  drv_buf_reset(&out);
  drv_crilog_read_opts tail = {.tail = 2, .timestamps = true};
  assert_int_equal(drv_crilog_read(path, 1, &tail, &out, NULL, &err), 0);
  assert_string_equal(out.data, "2025-11-24T21:05:58.123456789Z two\n2025-11-24T21:05:59.123456789Z three\n");
  drv_buf_reset(&out);
  drv_crilog_read_opts since = {.tail = -1, .since_ns = T0 + 1000000000LL};
  assert_int_equal(drv_crilog_read(path, 1, &since, &out, NULL, &err), 0);
  assert_string_equal(out.data, "two\nthree\n");
  drv_buf_reset(&out);
  drv_crilog_read_opts none = {.tail = 0};
  assert_int_equal(drv_crilog_read(path, 1, &none, &out, NULL, &err), 0);
  assert_int_equal(out.len, 0);
  drv_buf_free(&out);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

static void long_lines_split_and_join(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = drv_asprintf("%s/0.log", dir);
  drv_err err;
  drv_crilog *l = NULL;
  assert_int_equal(drv_crilog_open(path, 0, 1, &l, &err), 0);
  size_t n = DRV_CRILOG_MAX_LINE * 2 + 100;
  char *big = drv_malloc(n + 1);
  memset(big, 'x', n);
  big[n] = '\n';
  assert_int_equal(drv_crilog_write(l, DRV_CRILOG_STDOUT, big, n + 1, T0, &err), 0);
  drv_crilog_close(l);
  char *raw = NULL;
  size_t len;
  assert_int_equal(drv_read_file(path, 0, &raw, &len, &err), 0);
  assert_non_null(strstr(raw, " stdout P "));
  free(raw);
  drv_buf out = DRV_BUF_INIT;
  drv_crilog_read_opts all = {.tail = -1};
  assert_int_equal(drv_crilog_read(path, 1, &all, &out, NULL, &err), 0);
  assert_int_equal(out.len, n + 1);
  assert_memory_equal(out.data, big, n + 1);
  free(big);
  drv_buf_free(&out);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

static void rotation_keeps_max_files(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = drv_asprintf("%s/0.log", dir);
  drv_err err;
  drv_crilog *l = NULL;
  /* Each record is 31 (time) + 9 + 5 ("lineN") = ~45 bytes: 2 per file. */
  assert_int_equal(drv_crilog_open(path, 100, 3, &l, &err), 0);
  for (int i = 0; i < 10; i++) {
    char line[16];
    int k = snprintf(line, sizeof line, "line%d\n", i);
    assert_int_equal(drv_crilog_write(l, DRV_CRILOG_STDOUT, line, (size_t)k, T0 + i, &err), 0);
  }
  drv_crilog_close(l);
  _cleanup_free_ char *p3 = drv_asprintf("%s.3", path);
  _cleanup_free_ char *p2 = drv_asprintf("%s.2", path);
  assert_false(drv_path_exists(p3));
  assert_true(drv_path_exists(p2));
  drv_buf out = DRV_BUF_INIT;
  drv_crilog_read_opts all = {.tail = -1};
  assert_int_equal(drv_crilog_read(path, 3, &all, &out, NULL, &err), 0);
  assert_string_equal(out.data, "line4\nline5\nline6\nline7\nline8\nline9\n");
  drv_buf_free(&out);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

static void render_keeps_unfinished(void **state)
{
  (void)state;
  const char *raw = "2025-11-24T21:05:56Z stdout F a\n2025-11-24T21:05:56Z stdout P b\n2025-11-24T21:05:5";
  drv_buf out = DRV_BUF_INIT;
  size_t used = drv_crilog_render(raw, strlen(raw), NULL, &out);
  assert_string_equal(out.data, "a\n");
  assert_int_equal(used, strlen("2025-11-24T21:05:56Z stdout F a\n"));
  drv_buf_free(&out);
}

/* kubectl logs --tail=N of a container that printed nothing yet: the log is empty or not
 * there; reading it once crashed on the output buffer that was never allocated. */
static void tail_of_empty_log(void **state)
{
  (void)state;
  _cleanup_free_ char *dir = tmpdir();
  _cleanup_free_ char *path = drv_asprintf("%s/0.log", dir);
  drv_err err;
  drv_crilog_read_opts tail = {.tail = 1, .limit_bytes = 10};
  drv_buf out = DRV_BUF_INIT;
  off_t end = -1;
  assert_int_equal(drv_crilog_read(path, 1, &tail, &out, &end, &err), 0);
  assert_int_equal(out.len, 0);
  assert_int_equal(end, 0);
  assert_int_equal(drv_write_file_atomic(path, "", 0, 0640, &err), 0);
  assert_int_equal(drv_crilog_read(path, 1, &tail, &out, &end, &err), 0);
  assert_int_equal(out.len, 0);
  drv_buf_free(&out);
  assert_int_equal(drv_rm_rf(dir, &err), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(time_roundtrip),
      cmocka_unit_test(parse_lines),
      cmocka_unit_test(write_read_tail_since),
      cmocka_unit_test(long_lines_split_and_join),
      cmocka_unit_test(rotation_keeps_max_files),
      cmocka_unit_test(render_keeps_unfinished),
      cmocka_unit_test(tail_of_empty_log),
  };
  return cmocka_run_group_tests_name("agent_crilog", tests, NULL, NULL);
}
