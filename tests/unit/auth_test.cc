#define BOOST_TEST_DYN_LINK
#include "api/auth.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

#include "base/sha256.h"

using namespace webhookd;

namespace {

const char kAccount[] = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const char kOther[] = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const char kKey[] = "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

std::string basic(const std::string& user_pass) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    unsigned v = (unsigned char)user_pass[i] << 16 | (unsigned char)user_pass[i + 1] << 8 | (unsigned char)user_pass[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (user_pass.size() - i == 1) {
    unsigned v = (unsigned char)user_pass[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (user_pass.size() - i == 2) {
    unsigned v = (unsigned char)user_pass[i] << 16 | (unsigned char)user_pass[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += "=";
  }
  return "Basic " + out;
}

Credentials credentials() {
  Credentials c;
  c.account_token_digest[kAccount] = sha256_raw("token123");
  c.account_token_digest[kOther] = sha256_raw("other-token");
  c.api_keys[kKey] = Credentials::ApiKey{kAccount, sha256_raw("key-secret")};
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(parses_basic_headers) {
  struct Case {
    std::string header;
    bool ok;
    const char* user;
    const char* password;
  } cases[] = {
      // The exact header python's client sends in the capture.
      {"Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp0b2tlbjEyMw==", true, kAccount, "token123"},
      {basic("u:p"), true, "u", "p"},
      {"basic " + basic("u:p").substr(6), true, "u", "p"},
      {basic("u:p:with:colons"), true, "u", "p:with:colons"},
      {basic(":p"), true, "", "p"},
      {basic("u:"), true, "u", ""},
      {"Basic dTpw", true, "u", "p"},  // no padding
      {"", false, "", ""},
      {"Basic", false, "", ""},
      {"Basic ", false, "", ""},
      {"Bearer dTpw", false, "", ""},
      {"Basic !!!!", false, "", ""},
      {basic("no-colon"), false, "", ""},
      {"Basic dTpw\x01", false, "", ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.header) {
      auto got = parse_basic_auth(c.header);
      BOOST_TEST(got.ok() == c.ok);
      if (got.ok() && c.ok) {
        BOOST_TEST(std::string(got.value().user()) == c.user);
        BOOST_TEST(std::string(got.value().password()) == c.password);
      } else if (!got.ok()) {
        BOOST_TEST((got.error().code == ErrorCode::kInvalidArgument));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(authenticates_accounts_and_keys) {
  const Credentials creds = credentials();
  struct Case {
    std::string header;
    const char* account;  // nullptr: 401
  } cases[] = {
      {basic(std::string(kAccount) + ":token123"), kAccount},
      {basic(std::string(kOther) + ":other-token"), kOther},
      {basic(std::string(kKey) + ":key-secret"), kAccount},  // a key acts for its account
      {basic(std::string(kAccount) + ":wrong"), nullptr},
      {basic(std::string(kAccount) + ":other-token"), nullptr},  // another account's token
      {basic(std::string(kOther) + ":token123"), nullptr},
      {basic(std::string(kKey) + ":token123"), nullptr},
      {basic("ACcccccccccccccccccccccccccccccccc:token123"), nullptr},  // unknown account
      {basic("SKcccccccccccccccccccccccccccccccc:key-secret"), nullptr},
      {basic(":token123"), nullptr},
      {basic(std::string(kAccount) + ":"), nullptr},
      {basic(std::string(kAccount) + ":" + std::string(10000, 't')), nullptr},
      {basic("nobody:token123"), nullptr},
      {"", nullptr},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.header.substr(0, 80)) {
      auto got = authenticate(c.header, creds);
      if (c.account) {
        BOOST_TEST_REQUIRE(got.ok());
        BOOST_TEST(got.value() == c.account);
      } else {
        BOOST_TEST_REQUIRE(!got.ok());
        BOOST_TEST(got.error().kind == ApiErrorKind::kUnauthenticated);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
