#define BOOST_TEST_DYN_LINK
#include "base/hmac.h"

#include <boost/test/unit_test.hpp>

#include "base/sha256.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(hmac)

BOOST_AUTO_TEST_CASE(hmac_sha1_rfc2202) {
  // RFC 2202, test case 1.
  BOOST_TEST(to_hex(hmac_sha1(std::string(20, '\x0b'), "Hi There")) == "b617318655057264e28bc0b6fb378c8ef146be00");
}

BOOST_AUTO_TEST_CASE(base64_rfc4648) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& c : cases) BOOST_TEST(base64_encode(c.in) == c.out, c.in);
}

BOOST_AUTO_TEST_SUITE_END()
