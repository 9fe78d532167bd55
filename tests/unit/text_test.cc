#define BOOST_TEST_DYN_LINK
#include "base/text.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(text)

BOOST_AUTO_TEST_CASE(utf8_validity) {
  struct Case {
    std::string s;
    bool valid;
  } cases[] = {
      {"", true},
      {"plain ascii", true},
      {"caf\xC3\xA9", true},
      {"\xE2\x82\xAC", true},            // euro sign
      {"\xF0\x9F\x98\x80", true},        // emoji
      {"\xC3", false},                   // truncated
      {"\xC0\xAF", false},               // overlong '/'
      {"\xE0\x80\xAF", false},           // overlong
      {"\xED\xA0\x80", false},           // surrogate
      {"\xF4\x90\x80\x80", false},       // above U+10FFFF
      {"\xFF", false},
      {"ok\x80", false},                 // stray continuation
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("bytes " << c.s.size()) { BOOST_TEST(is_valid_utf8(c.s) == c.valid); }
  }
}

BOOST_AUTO_TEST_CASE(sanitize_replaces_only_bad_bytes) {
  BOOST_TEST(sanitize_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  BOOST_TEST(sanitize_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
}

BOOST_AUTO_TEST_CASE(service_sid_validation) {
  struct Case {
    const char* s;
    bool valid;
  } cases[] = {
      {"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
      {"IS0123456789abcdefABCDEF0123456789", true},
      {"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},    // 31 digits
      {"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},  // 33 digits
      {"isaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},   // lower-case prefix
      {"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      {"ISgaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},   // not hex
      {"IS../aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      {"", false},
      {"ISXXXXXXXXXXXXXXXXXXXXXX", false},             // the docs' placeholder
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.s) { BOOST_TEST(is_service_sid(c.s) == c.valid); }
  }
  BOOST_TEST(is_account_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
  BOOST_TEST(is_api_key_sid("SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
  BOOST_TEST(!is_api_key_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

BOOST_AUTO_TEST_CASE(webhook_url_rule) {
  struct Case {
    std::string url;
    bool valid;
  } cases[] = {
      {"https://www.example.com/pre", true},
      {"http://example.com", true},
      {"HTTPS://EXAMPLE.COM/x?y=1#z", true},
      {"https://user:pw@example.com:8443/path", true},
      {"https://[::1]:8080/hook", true},
      {"https://example.com:65535/", true},
      {"https://caf\xC3\xA9.example/", true},
      {"", false},
      {"ftp://example.com", false},
      {"javascript:alert(1)", false},
      {"file:///etc/passwd", false},
      {"//example.com/x", false},
      {"example.com/x", false},
      {"https://", false},
      {"https:///path", false},
      {"https://:80/x", false},
      {"https://example.com:/x", false},
      {"https://example.com:65536/", false},
      {"https://example.com:80a/", false},
      {"https://exa mple.com/", false},
      {"https://example.com/a b", false},
      {"https://example.com/\r\nX: y", false},
      {"https://example.com/\t", false},
      {"https://example.com/\x7F", false},
      {"https://[::1/x", false},
      // The port: 1 to 65535 in decimal, never 0, never empty or more than a number.
      {"https://example.com:1/", true},
      {"http://example.com:80", true},
      {"https://example.com:0/", false},
      {"https://example.com:00000/", false},
      {"https://example.com:0", false},
      {"https://example.com:99999/", false},
      {"https://example.com:000080/", false},  // six digits
      {"https://example.com:-1/", false},
      {"https://example.com:+80/", false},
      {"https://example.com:0x50/", false},
      {"https://example.com:80:80/", false},   // a host has no ':'
      {"https://example.com:/?x=1", false},
      {"https://example.com:#f", false},
      {"https://[::1]:0/", false},
      {"https://[::1]:65536/", false},
      {"https://[::1]:/", false},
      {"https://[::1]:65535/", true},
      // Userinfo stays allowed (Twilio documents it for a webhook's Basic auth);
      // its ':' is not a port's, the port after the host still is checked.
      {"https://user:pass@example.com/hook", true},
      {"https://user:p%40ss:x@example.com/", true},
      {"https://user:pass@example.com:8443/", true},
      {"https://user@example.com/", true},
      {"https://user:pass@example.com:0/", false},
      {"https://user:pass@example.com:65536/", false},
      {"https://user:pass@/x", false},
      {"https://user:pass@:443/x", false},
      {"https://" + std::string(2040, 'a'), true},  // 2048 bytes
      {"https://" + std::string(2041, 'a'), false}, // 2049 bytes
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.url.substr(0, 60)) { BOOST_TEST(is_webhook_url(c.url) == c.valid); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
