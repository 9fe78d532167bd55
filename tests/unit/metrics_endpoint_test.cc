#define BOOST_TEST_DYN_LINK
#include "edge/metrics_endpoint.h"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(metrics_endpoint)

BOOST_AUTO_TEST_CASE(routes_only_the_exact_path) {
  struct Case {
    const char* path;
    bool metrics;
  } cases[] = {{"/metrics", true}, {"/metrics/", false}, {"/Metrics", false}, {"/v1/metrics", false},
               {"/metrics/x", false}, {"", false}};
  for (const auto& c : cases) {
    HttpRequest r;
    r.method = "GET";
    r.path = c.path;
    BOOST_TEST(is_metrics_request(r) == c.metrics, c.path);
  }
}

BOOST_AUTO_TEST_CASE(get_head_and_other_methods) {
  Metrics m("1.2.3");
  m.count_request("GET", 200, std::chrono::microseconds(80));
  struct Case {
    const char* method;
    int status;
    const char* content_type;
    bool body;
  } cases[] = {{"GET", 200, "text/plain; version=0.0.4; charset=utf-8", true},
               {"HEAD", 200, "text/plain; version=0.0.4; charset=utf-8", false},
               {"POST", 405, "text/plain; charset=utf-8", true},
               {"DELETE", 405, "text/plain; charset=utf-8", true}};
  std::string get_length;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.method) {
      HttpRequest r;
      r.method = c.method;
      r.path = "/metrics";
      r.authorization = "Basic bm90OmNoZWNrZWQ=";  // never looked at
      HttpResponse a = metrics_response(r, m, ServerStats{});
      BOOST_TEST(a.status == c.status);
      BOOST_TEST(*a.header("Content-Type") == c.content_type);
      BOOST_TEST(a.body.empty() == !c.body);
      BOOST_TEST(a.header("Twilio-Request-Id") == nullptr);  // not Twilio's API
      if (c.status == 405) {
        BOOST_TEST(*a.header("Allow") == "GET, HEAD");
        BOOST_TEST(a.body == "Method Not Allowed: /metrics answers GET and HEAD\n");
      }
      if (c.status == 200) {
        if (c.body) {
          BOOST_TEST(a.body.find("webhookd_requests_total{method=\"GET\",status=\"200\"} 1\n") != std::string::npos);
          BOOST_TEST(*a.header("Content-Length") == std::to_string(a.body.size()));
          get_length = *a.header("Content-Length");
        } else {
          // HEAD: the length GET would have (the figures did not move in between).
          BOOST_TEST(std::stoul(*a.header("Content-Length")) > 1000u);
        }
      }
    }
  }
  BOOST_TEST(!get_length.empty());
}

BOOST_AUTO_TEST_SUITE_END()
