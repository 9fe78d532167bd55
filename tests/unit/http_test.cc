#define BOOST_TEST_DYN_LINK
#include "api/http.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_CASE(status_lines) {
  struct Case {
    int status;
    const char* line;
  } cases[] = {{200, "200 OK"}, {304, "304 Not Modified"}, {401, "401 Unauthorized"}, {404, "404 Not Found"},
               {405, "405 Method Not Allowed"}, {412, "412 Precondition Failed"}, {413, "413 Payload Too Large"},
               {415, "415 Unsupported Media Type"}, {500, "500 Internal Server Error"}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.status) { BOOST_TEST(status_line(c.status) == c.line); }
  }
}

BOOST_AUTO_TEST_CASE(headers_are_set_once_and_found_in_any_case) {
  HttpResponse r;
  r.set_header("ETag", "\"a\"");
  r.set_header("etag", "\"b\"");
  BOOST_TEST(r.headers.size() == 1u);
  BOOST_TEST(*r.header("ETAG") == "\"b\"");
  BOOST_TEST(r.header("Allow") == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
