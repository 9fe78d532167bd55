#define BOOST_TEST_DYN_LINK
#include "edge/fcgi_params.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "test_support.h"

using namespace webhookd;

namespace {

// The params, written "NAME=value".
RequestHead from(const std::vector<std::string>& params) {
  std::vector<FcgiParam> decoded;
  for (const auto& p : params) {
    const std::string_view kv(p);
    const size_t eq = kv.find('=');
    decoded.push_back({kv.substr(0, eq), eq == std::string_view::npos ? "" : kv.substr(eq + 1)});
  }
  return request_from_params(decoded);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fcgi_params)

BOOST_AUTO_TEST_CASE(host_scheme_and_port) {
  struct Case {
    const char* name;
    std::vector<std::string> params;
    std::string scheme, host;
  } cases[] = {
      {"Host with port", {"HTTP_HOST=h:8080", "SERVER_PORT=8080"}, "http", "h:8080"},
      {"Host without port, nginx on 8080 (Debian's $host)", {"HTTP_HOST=h", "SERVER_PORT=8080"}, "http", "h:8080"},
      {"Host without port, default port", {"HTTP_HOST=h", "SERVER_PORT=80"}, "http", "h"},
      {"https default port", {"HTTPS=on", "HTTP_HOST=h", "SERVER_PORT=443"}, "https", "h"},
      {"https other port", {"HTTPS=on", "HTTP_HOST=h", "SERVER_PORT=8443"}, "https", "h:8443"},
      {"REQUEST_SCHEME wins", {"REQUEST_SCHEME=https", "HTTP_HOST=h", "SERVER_PORT=443"}, "https", "h"},
      {"IPv6 literal", {"HTTP_HOST=[::1]", "SERVER_PORT=8080"}, "http", "[::1]:8080"},
      {"IPv6 with port", {"HTTP_HOST=[::1]:8080", "SERVER_PORT=8080"}, "http", "[::1]:8080"},
      {"no Host: SERVER_NAME", {"SERVER_NAME=example.com", "SERVER_PORT=80"}, "http", "example.com"},
      {"first of duplicates", {"HTTP_HOST=a", "HTTP_HOST=b", "SERVER_PORT=80"}, "http", "a"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      RequestHead head = from(c.params);
      BOOST_TEST(head.request.scheme == c.scheme);
      BOOST_TEST(head.request.host == c.host);
    }
  }
}

BOOST_AUTO_TEST_CASE(content_length_decides_what_is_read) {
  struct Case {
    const char* name;
    std::vector<std::string> params;
    size_t body_length;
    bool too_large;
  } cases[] = {
      {"missing (python's bodiless POST)", {}, 0, false},
      {"empty (nginx on GET)", {"CONTENT_LENGTH="}, 0, false},
      {"zero", {"CONTENT_LENGTH=0"}, 0, false},
      {"small", {"CONTENT_LENGTH=12"}, 12, false},
      {"exactly the limit", {"CONTENT_LENGTH=65536"}, 65536, false},
      {"one over the limit", {"CONTENT_LENGTH=65537"}, 0, true},
      {"huge", {"CONTENT_LENGTH=99999999999999999999999999"}, 0, true},
      {"negative", {"CONTENT_LENGTH=-1"}, 0, false},
      {"non-numeric", {"CONTENT_LENGTH=abc"}, 0, false},
      {"trailing junk", {"CONTENT_LENGTH=12abc"}, 0, false},
      {"leading space", {"CONTENT_LENGTH= 12"}, 0, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      RequestHead head = from(c.params);
      BOOST_TEST(head.body_length == c.body_length);
      BOOST_TEST(head.request.body_too_large == c.too_large);
    }
  }
}

BOOST_AUTO_TEST_CASE(raw_and_normalized_paths_and_headers) {
  RequestHead head = from({"REQUEST_METHOD=POST", "DOCUMENT_URI=/v1/Services/ISa/Configuration/Webhooks",
                           "REQUEST_URI=/x/../v1/Services/%49Sa/Configuration/Webhooks?x=1", "HTTP_AUTHORIZATION=Basic dTpw",
                           "CONTENT_TYPE=application/x-www-form-urlencoded", "HTTP_IF_MATCH=\"a\"",
                           "HTTP_IF_NONE_MATCH=W/\"b\"", "NOT_A_PARAM", "HTTP_X_OTHER=ignored", "REQUEST_METHOD=GET"});
  const HttpRequest& r = head.request;
  BOOST_TEST(r.method == "POST");  // the first of two
  BOOST_TEST(r.path == "/v1/Services/ISa/Configuration/Webhooks");
  BOOST_TEST(r.raw_path == "/x/../v1/Services/%49Sa/Configuration/Webhooks");  // without the query
  BOOST_TEST(r.authorization == "Basic dTpw");
  BOOST_TEST(r.content_type == "application/x-www-form-urlencoded");
  BOOST_TEST(r.if_match == "\"a\"");
  BOOST_TEST(r.if_none_match == "W/\"b\"");
  // Not behind nginx (no DOCUMENT_URI): the raw path routes.
  BOOST_TEST(from({"REQUEST_URI=/v1/x?y"}).request.path == "/v1/x");
}

BOOST_AUTO_TEST_SUITE_END()
