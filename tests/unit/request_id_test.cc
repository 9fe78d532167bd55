#define BOOST_TEST_DYN_LINK
#include "base/request_id.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"
#include <regex>
#include <set>

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(request_id)

BOOST_AUTO_TEST_CASE(shape_and_freshness) {
  const std::regex shape("^RQ[0-9a-f]{32}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_request_id();
    BOOST_TEST(std::regex_match(id, shape), id);
    seen.insert(id);
  }
  BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
