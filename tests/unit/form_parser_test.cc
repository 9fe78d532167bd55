#define BOOST_TEST_DYN_LINK
#include "edge/form_parser.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(form_parser)

BOOST_AUTO_TEST_CASE(decodes_fields_in_order) {
  struct Case {
    std::string body;
    FormParams want;
  } cases[] = {
      {"", {}},
      {"a=1", {{"a", "1"}}},
      {"a=1&b=2", {{"a", "1"}, {"b", "2"}}},
      {"Filters=onMessageAdded&Filters=onParticipantAdded",
       {{"Filters", "onMessageAdded"}, {"Filters", "onParticipantAdded"}}},
      {"PreWebhookUrl=https%3A%2F%2Fx%2Fpre", {{"PreWebhookUrl", "https://x/pre"}}},
      {"a=hello+world", {{"a", "hello world"}}},
      {"a=%2B", {{"a", "+"}}},
      {"a=%e2%82%ac", {{"a", "\xE2\x82\xAC"}}},
      {"a=", {{"a", ""}}},
      {"a", {{"a", ""}}},
      {"a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"a=x=y", {{"a", "x=y"}}},
      {"%41%42=c", {{"AB", "c"}}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.body) {
      auto got = parse_form(c.body);
      BOOST_TEST_REQUIRE(got.ok());
      BOOST_TEST((got.value() == c.want));
    }
  }
}

BOOST_AUTO_TEST_CASE(refuses_malformed_bodies) {
  struct Case {
    std::string body;
    const char* why;
  } cases[] = {
      {"a=%", "bad percent escape"},
      {"a=%4", "bad percent escape"},
      {"a=%zz", "bad percent escape"},
      {"a=%4g", "bad percent escape"},
      {"%=1", "bad percent escape"},
      {"a=%ff", "not UTF-8"},
      {"a=%c3", "not UTF-8"},
      {"a=\xff", "not UTF-8"},
      {"%ff=1", "not UTF-8"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.body) {
      auto got = parse_form(c.body);
      BOOST_TEST_REQUIRE(!got.ok());
      BOOST_TEST(got.error().kind == ErrorKind::kMalformedBody);
      BOOST_TEST(got.error().args.at(0) == c.why);
    }
  }
}

BOOST_AUTO_TEST_CASE(content_type) {
  struct Case {
    const char* type;
    bool form;
  } cases[] = {
      {"application/x-www-form-urlencoded", true},
      {"application/x-www-form-urlencoded; charset=utf-8", true},
      {"Application/X-WWW-Form-Urlencoded", true},
      {" application/x-www-form-urlencoded ;charset=UTF-8", true},
      {"application/json", false},
      {"multipart/form-data; boundary=x", false},
      {"text/plain", false},
      {"", false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.type) { BOOST_TEST(is_form_content_type(c.type) == c.form); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
