#define BOOST_TEST_DYN_LINK
#include "base/sha256.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(sha256)

BOOST_AUTO_TEST_CASE(known_digests) {
  struct Case {
    const char* in;
    const char* hex;
  } cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"token123", "b13ae34b9231f95675ff502761b64aedd0c278f5b6e8730ce99b72f35b2ddfb0"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.in) {
      BOOST_TEST(sha256_hex(c.in) == c.hex);
      BOOST_TEST(sha256_raw(c.in).size() == 32u);
    }
  }
}

BOOST_AUTO_TEST_CASE(hex_round_trip_and_rejects) {
  auto raw = from_hex("00ffA0");
  BOOST_TEST_REQUIRE(raw.ok());
  BOOST_TEST(to_hex(raw.value()) == "00ffa0");
  for (const char* bad : {"abc", "zz", "0g"}) {  // odd length, not hex
    auto refused = from_hex(bad);
    BOOST_TEST_REQUIRE(!refused.ok(), bad);
    BOOST_TEST((refused.error().code == ErrorCode::kInvalidArgument));
  }
}

BOOST_AUTO_TEST_SUITE_END()
