#define BOOST_TEST_DYN_LINK
#include "base/result.h"

#include <boost/test/unit_test.hpp>

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(result)

BOOST_AUTO_TEST_CASE(holds_value_or_error) {
  Result<int> v = 7;
  BOOST_TEST(v.ok());
  BOOST_TEST(v.value() == 7);
  Result<int> e = Error::io("read x: Input/output error", 5);
  BOOST_TEST(!e.ok());
  BOOST_TEST(e.error().message == "read x: Input/output error");
  BOOST_TEST(e.error().os_errno == 5);
  BOOST_TEST(!e.error().is_not_found());
  // A value type that is itself an error-like string is still a value.
  Result<std::string> s = std::string("x");
  BOOST_TEST(s.ok());
}

BOOST_AUTO_TEST_CASE(each_code_has_a_name) {
  struct Case {
    Error error;
    const char* name;
  } cases[] = {
      {Error::not_found(""), "not found"},   {Error::invalid_argument(""), "invalid argument"},
      {Error::corruption(""), "corruption"}, {Error::io("", 5), "I/O error"},
      {Error::conflict(""), "conflict"},     {Error::internal(""), "internal error"},
  };
  for (const auto& c : cases) BOOST_TEST(std::string(error_code_name(c.error.code)) == c.name);
  BOOST_TEST(Error::not_found("").is_not_found());
}

BOOST_AUTO_TEST_SUITE_END()
