#define BOOST_TEST_DYN_LINK
#include "model/webhook_event.h"

#include <boost/test/unit_test.hpp>
#include <regex>

#include "model/webhook_config.h"
#include "test_support.h"

using namespace webhookd;

namespace {
const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", kService = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const std::string* find(const EventParams& params, const std::string& name) {
  for (const auto& p : params) {
    if (p.first == name) return &p.second;
  }
  return nullptr;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_event)

// Expected values from Python's hmac module over the same strings.
BOOST_AUTO_TEST_CASE(signature_as_twilio_computes_it) {
  const EventParams post = {{"EventType", "onMessageAdded"}, {"Body", "hi there & more"}, {"AccountSid", kAccount}};
  BOOST_TEST(twilio_signature("token123", "https://hooks.example.com:8443/post?tenant=a", post) ==
             "luLoUyiUmozh1vGZJAd1WlJ1w5Q=");
  BOOST_TEST(twilio_signature("token123", "https://x/pre?a=1&EventType=onMessageAdd", {}) ==
             "xReRUfOQHwDEXpmOaLOLjO3pjpY=");
  BOOST_TEST(twilio_signature("other", "https://x/pre?a=1&EventType=onMessageAdd", {}) !=
             "xReRUfOQHwDEXpmOaLOLjO3pjpY=");
}

// What is sent and signed is the URL a receiver sees: no #fragment (no HTTP
// client sends one), GET parameters in the query string before it. The
// signatures are the ones above, from Python's hmac over the URL without it.
BOOST_AUTO_TEST_CASE(events_are_sent_and_signed_without_the_fragment) {
  const EventParams post = {{"EventType", "onMessageAdded"}, {"Body", "hi there & more"}, {"AccountSid", kAccount}};
  const EventParams get = {{"EventType", "onMessageAdd"}};
  struct Case {
    const char* name;
    const char* method;
    std::string configured;
    EventParams params;
    std::string url, body, signature;
  } cases[] = {
      {"GET with a query", "GET", "https://x/pre?a=1", get, "https://x/pre?a=1&EventType=onMessageAdd", "",
       "xReRUfOQHwDEXpmOaLOLjO3pjpY="},
      {"GET with a query and a fragment", "GET", "https://x/pre?a=1#section", get,
       "https://x/pre?a=1&EventType=onMessageAdd", "", "xReRUfOQHwDEXpmOaLOLjO3pjpY="},
      {"GET, a '?' only in the fragment", "GET", "https://x/pre#a?b", get, "https://x/pre?EventType=onMessageAdd", "",
       twilio_signature("token123", "https://x/pre?EventType=onMessageAdd", {})},
      {"GET, an empty fragment", "GET", "https://x/pre?a=1#", get, "https://x/pre?a=1&EventType=onMessageAdd", "",
       "xReRUfOQHwDEXpmOaLOLjO3pjpY="},
      {"POST", "POST", "https://hooks.example.com:8443/post?tenant=a", post,
       "https://hooks.example.com:8443/post?tenant=a", form_encode(post), "luLoUyiUmozh1vGZJAd1WlJ1w5Q="},
      {"POST with a fragment", "POST", "https://hooks.example.com:8443/post?tenant=a#x?y=1", post,
       "https://hooks.example.com:8443/post?tenant=a", form_encode(post), "luLoUyiUmozh1vGZJAd1WlJ1w5Q="},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      SignedEvent e = sign_event(c.method, c.configured, "token123", c.params);
      BOOST_TEST(e.url == c.url);
      BOOST_TEST(e.body == c.body);
      BOOST_TEST(e.signature == c.signature);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_event_has_its_parameters_and_the_common_ones) {
  const std::regex sid_shape("^[A-Z]{2}[0-9a-f]{32}$");
  for (std::string_view event : kFilterNames) {
    BOOST_TEST_CONTEXT(event) {
      BOOST_TEST(!event_parameters(event).empty());
      auto params = sample_event(event, kAccount, kService, {});
      BOOST_TEST_REQUIRE(params.ok());
      BOOST_TEST(*find(params.value(), "EventType") == std::string(event));
      BOOST_TEST(*find(params.value(), "AccountSid") == kAccount);
      BOOST_TEST(*find(params.value(), "ChatServiceSid") == kService);
      BOOST_TEST(*find(params.value(), "Source") == "API");
      BOOST_TEST(params.value().size() == 4 + event_parameters(event).size());
      for (const auto& [name, value] : params.value()) {
        if (name.size() > 3 && name.compare(name.size() - 3, 3, "Sid") == 0) {
          BOOST_TEST(std::regex_match(value, sid_shape), name + "=" + value);
        }
      }
    }
  }
  struct Prefix {
    const char* name;
    const char* prefix;
  } prefixes[] = {{"ConversationSid", "CH"}, {"MessageSid", "IM"}, {"ParticipantSid", "MB"},
                  {"MessagingServiceSid", "MG"}};
  auto added = sample_event("onMessageAdded", kAccount, kService, {});
  for (const auto& p : prefixes) BOOST_TEST(find(added.value(), p.name)->rfind(p.prefix, 0) == 0u, p.name);
  BOOST_TEST(!sample_event("onNothing", kAccount, kService, {}).ok());
  BOOST_TEST(event_parameters("onNothing").empty());
}

BOOST_AUTO_TEST_CASE(overrides_replace_or_add) {
  auto params = sample_event("onMessageAdd", kAccount, kService, {{"Body", "mine"}, {"Media", "[]"}});
  BOOST_TEST_REQUIRE(params.ok());
  BOOST_TEST(*find(params.value(), "Body") == "mine");
  BOOST_TEST(*find(params.value(), "Media") == "[]");
}

BOOST_AUTO_TEST_CASE(form_encoding) {
  BOOST_TEST(form_encode({{"A", "b c"}, {"MessagingBinding.Address", "+1 (500)"}, {"x", "é&="}}) ==
             "A=b%20c&MessagingBinding.Address=%2B1%20%28500%29&x=%C3%A9%26%3D");
  BOOST_TEST(form_encode({}).empty());
}

BOOST_AUTO_TEST_SUITE_END()
