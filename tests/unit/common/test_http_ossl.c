/* The HTTP client tests of tests/unit/image/test_http.c against http_client_ossl.c, the
 * implementation build/drover-agent links instead of the libcurl one. */
#define HTTP_TEST_GROUP "common_http_ossl"
#include "../image/test_http.c"
