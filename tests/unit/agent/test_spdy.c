/* SPDY/3.1 framing for port-forward: frames round-trip, header blocks through the shared zlib
 * contexts (with the spec's dictionary), malformed input refused, window arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent/spdy.h"
#include "common/buf.h"

static void test_dictionary(void **state)
{
  (void)state;
  size_t n;
  const uint8_t *d = drv_spdy_dictionary(&n);
  assert_int_equal(n, 1423);
  assert_memory_equal(d, "\0\0\0\7options\0\0\0\4head", 19);
  assert_memory_equal(d + n - 6, "enq=0.", 6);
}

static void test_data_round_trip(void **state)
{
  (void)state;
  drv_buf b = DRV_BUF_INIT;
  drv_spdy_put_data(&b, 5, DRV_SPDY_FLAG_FIN, "hello", 5);
  drv_spdy_put_data(&b, 7, 0, NULL, 0);
  drv_spdy_frame f;
  drv_err err;
  for (size_t i = 0; i < 13; i++) assert_int_equal(drv_spdy_parse((uint8_t *)b.data, i, &f, &err), 0);
  ssize_t k = drv_spdy_parse((uint8_t *)b.data, b.len, &f, &err);
  assert_int_equal(k, 13);
  assert_false(f.control);
  assert_int_equal(f.stream_id, 5);
  assert_int_equal(f.flags, DRV_SPDY_FLAG_FIN);
  assert_int_equal(f.len, 5);
  assert_memory_equal(f.data, "hello", 5);
  assert_int_equal(drv_spdy_parse((uint8_t *)b.data + 13, b.len - 13, &f, &err), 8);
  assert_int_equal(f.stream_id, 7);
  assert_int_equal(f.len, 0);
  drv_buf_free(&b);
}

static void test_control_round_trip(void **state)
{
  (void)state;
  drv_buf b = DRV_BUF_INIT;
  drv_spdy_put_rst(&b, 3, DRV_SPDY_CANCEL);
  drv_spdy_put_window_update(&b, 0, 40000);
  drv_spdy_put_ping(&b, 9);
  drv_spdy_put_goaway(&b, 11, 0);
  drv_spdy_put_settings(&b, DRV_SPDY_SETTINGS_INITIAL_WINDOW, 131072);
  drv_spdy_frame f;
  drv_err err;
  size_t off = 0;
  ssize_t k = drv_spdy_parse((uint8_t *)b.data, b.len, &f, &err);
  assert_int_equal(k, 16);
  assert_true(f.control);
  assert_int_equal(f.type, DRV_SPDY_RST_STREAM);
  assert_int_equal(f.stream_id, 3);
  assert_int_equal(f.value, DRV_SPDY_CANCEL);
  off += (size_t)k;
  k = drv_spdy_parse((uint8_t *)b.data + off, b.len - off, &f, &err);
  assert_int_equal(f.type, DRV_SPDY_WINDOW_UPDATE);
  assert_int_equal(f.stream_id, 0);
  assert_int_equal(f.value, 40000);
  off += (size_t)k;
  k = drv_spdy_parse((uint8_t *)b.data + off, b.len - off, &f, &err);
  assert_int_equal(f.type, DRV_SPDY_PING);
  assert_int_equal(f.value, 9);
  off += (size_t)k;
  k = drv_spdy_parse((uint8_t *)b.data + off, b.len - off, &f, &err);
  assert_int_equal(f.type, DRV_SPDY_GOAWAY);
  assert_int_equal(f.stream_id, 11);
  off += (size_t)k;
  k = drv_spdy_parse((uint8_t *)b.data + off, b.len - off, &f, &err);
  assert_int_equal(f.type, DRV_SPDY_SETTINGS);
  uint32_t v = 0;
  assert_int_equal(drv_spdy_settings_get(&f, DRV_SPDY_SETTINGS_INITIAL_WINDOW, &v), 0);
  assert_int_equal(v, 131072);
  assert_int_equal(drv_spdy_settings_get(&f, 4, &v), -1);
  off += (size_t)k;
  assert_int_equal(off, b.len);
  drv_buf_free(&b);
}

/* A client context and a server context: what one compresses the other reads, block after
 * block (the zlib streams carry over between frames). */
static void test_headers_round_trip(void **state)
{
  (void)state;
  drv_spdy_zctx cli, srv;
  drv_err err;
  assert_int_equal(drv_spdy_zinit(&cli, &err), 0);
  assert_int_equal(drv_spdy_zinit(&srv, &err), 0);
  for (int round = 0; round < 3; round++) {
    char req[16];
    snprintf(req, sizeof req, "%d", round);
    drv_spdy_hdr h[] = {{"streamtype", "data", 0}, {"port", "8080", 0}, {"requestid", req, 0}};
    drv_buf b = DRV_BUF_INIT;
    assert_int_equal(drv_spdy_put_syn_stream(&b, &cli, 2 * (uint32_t)round + 1, 0, h, 3, &err), 0);
    drv_spdy_frame f;
    assert_int_equal(drv_spdy_parse((uint8_t *)b.data, b.len, &f, &err), (ssize_t)b.len);
    assert_int_equal(f.type, DRV_SPDY_SYN_STREAM);
    assert_int_equal(f.stream_id, 2 * round + 1);
    drv_spdy_hdr *got;
    size_t n;
    assert_int_equal(drv_spdy_headers_decode(&srv, f.hblock, f.hlen, &got, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(drv_spdy_header(got, n, "streamtype"), "data");
    assert_string_equal(drv_spdy_header(got, n, "port"), "8080");
    assert_string_equal(drv_spdy_header(got, n, "requestid"), req);
    assert_null(drv_spdy_header(got, n, "other"));
    drv_spdy_headers_free(got, n);
    drv_buf_free(&b);
    /* the reply (no headers) back the other way */
    assert_int_equal(drv_spdy_put_syn_reply(&b, &srv, 2 * (uint32_t)round + 1, 0, NULL, 0, &err), 0);
    assert_int_equal(drv_spdy_parse((uint8_t *)b.data, b.len, &f, &err), (ssize_t)b.len);
    assert_int_equal(f.type, DRV_SPDY_SYN_REPLY);
    assert_int_equal(drv_spdy_headers_decode(&cli, f.hblock, f.hlen, &got, &n, &err), 0);
    assert_int_equal(n, 0);
    drv_spdy_headers_free(got, n);
    drv_buf_free(&b);
  }
  drv_spdy_zfree(&cli);
  drv_spdy_zfree(&srv);
}

/* A block compressed with another dictionary is refused with a message, not misread. */
static void test_headers_wrong_dictionary(void **state)
{
  (void)state;
  z_stream z = {0};
  assert_int_equal(deflateInit(&z, 6), Z_OK);
  deflateSetDictionary(&z, (const Bytef *)"not the spdy dictionary", 23);
  uint8_t raw[4] = {0, 0, 0, 0}, out[128];
  z.next_in = raw, z.avail_in = 4, z.next_out = out, z.avail_out = sizeof out;
  assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  size_t len = sizeof out - z.avail_out;
  deflateEnd(&z);
  drv_spdy_zctx srv;
  drv_err err;
  assert_int_equal(drv_spdy_zinit(&srv, &err), 0);
  drv_spdy_hdr *got;
  size_t n;
  assert_true(drv_spdy_headers_decode(&srv, out, len, &got, &n, &err) < 0);
  assert_non_null(strstr(err.msg, "dictionary"));
  drv_spdy_zfree(&srv);
}

static void test_malformed(void **state)
{
  (void)state;
  drv_spdy_frame f;
  drv_err err;
  /* version 2 */
  uint8_t v2[] = {0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
  assert_true(drv_spdy_parse(v2, sizeof v2, &f, &err) < 0);
  assert_non_null(strstr(err.msg, "version 2"));
  /* RST_STREAM too short */
  uint8_t rst[] = {0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1};
  assert_true(drv_spdy_parse(rst, sizeof rst, &f, &err) < 0);
  /* data on stream 0 */
  uint8_t d0[] = {0, 0, 0, 0, 0, 0, 0, 0};
  assert_true(drv_spdy_parse(d0, sizeof d0, &f, &err) < 0);
  /* over the size limit: refused before the payload arrives */
  uint8_t big[] = {0, 0, 0, 1, 0, 0xff, 0xff, 0xff};
  assert_true(drv_spdy_parse(big, sizeof big, &f, &err) < 0);
  /* SETTINGS claiming more entries than it holds */
  uint8_t st[] = {0x80, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0, 9};
  assert_true(drv_spdy_parse(st, sizeof st, &f, &err) < 0);
  /* WINDOW_UPDATE of 0 */
  uint8_t wu[] = {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0};
  assert_true(drv_spdy_parse(wu, sizeof wu, &f, &err) < 0);
  /* an unknown control type is skipped whole */
  uint8_t unk[] = {0x80, 3, 0, 42, 0, 0, 0, 2, 7, 7};
  assert_int_equal(drv_spdy_parse(unk, sizeof unk, &f, &err), 10);
  /* a header block whose value runs past its end */
  drv_spdy_zctx cli, srv;
  assert_int_equal(drv_spdy_zinit(&cli, &err), 0);
  assert_int_equal(drv_spdy_zinit(&srv, &err), 0);
  uint8_t raw[] = {0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0, 50, 'b'};
  uint8_t out[256];
  cli.def.next_in = raw, cli.def.avail_in = sizeof raw, cli.def.next_out = out, cli.def.avail_out = sizeof out;
  assert_int_equal(deflate(&cli.def, Z_SYNC_FLUSH), Z_OK);
  drv_spdy_hdr *got;
  size_t n;
  assert_true(drv_spdy_headers_decode(&srv, out, sizeof out - cli.def.avail_out, &got, &n, &err) < 0);
  assert_non_null(strstr(err.msg, "past its end"));
  drv_spdy_zfree(&cli);
  drv_spdy_zfree(&srv);
}

static void test_flow_control(void **state)
{
  (void)state;
  uint32_t unacked = 0;
  /* consumed bytes are announced once half the 64 KiB window is used, all at once */
  assert_int_equal(drv_spdy_recv_consumed(&unacked, 16384), 0);
  assert_int_equal(drv_spdy_recv_consumed(&unacked, 16383), 0);
  assert_int_equal(drv_spdy_recv_consumed(&unacked, 1), 32768);
  assert_int_equal(unacked, 0);
  /* sending: the smaller of the stream's and the session's windows */
  assert_int_equal(drv_spdy_send_allowed(65536, 65536, 32768), 32768);
  assert_int_equal(drv_spdy_send_allowed(1000, 65536, 32768), 1000);
  assert_int_equal(drv_spdy_send_allowed(65536, 10, 32768), 10);
  assert_int_equal(drv_spdy_send_allowed(0, 65536, 32768), 0);
  /* a SETTINGS that shrinks the initial window can leave a window negative */
  assert_int_equal(drv_spdy_send_allowed(-5, 65536, 32768), 0);
  int64_t w = 0;
  assert_int_equal(drv_spdy_window_add(&w, 65536), 0);
  assert_int_equal(w, 65536);
  assert_int_equal(drv_spdy_window_add(&w, 0x7fffffff), -1);
  assert_int_equal(w, 65536);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dictionary),       cmocka_unit_test(test_data_round_trip),
      cmocka_unit_test(test_control_round_trip), cmocka_unit_test(test_headers_round_trip),
      cmocka_unit_test(test_headers_wrong_dictionary), cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_flow_control),
  };
  return cmocka_run_group_tests_name("agent_spdy", tests, NULL, NULL);
}
