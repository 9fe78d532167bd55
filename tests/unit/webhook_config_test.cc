#define BOOST_TEST_DYN_LINK
#include "model/webhook_config.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

namespace {
using Strings = std::vector<std::string>;

WebhookConfig valid() {
  WebhookConfig c;
  c.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  c.pre_webhook_url = "https://old/pre";
  c.post_webhook_url = "https://old/post";
  c.filters = Strings{"onMessageAdded"};
  c.method = "POST";
  return c;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_config)

BOOST_AUTO_TEST_CASE(the_twenty_filter_names_and_which_are_pre_events) {
  struct Case {
    const char* name;
    bool pre;
  } cases[] = {
      {"onParticipantAdd", true},       {"onParticipantAdded", false},  {"onDeliveryUpdated", false},
      {"onConversationUpdated", false}, {"onConversationRemove", true}, {"onParticipantRemove", true},
      {"onConversationUpdate", true},   {"onMessageAdd", true},         {"onMessageRemoved", false},
      {"onParticipantUpdated", false},  {"onConversationAdded", false}, {"onMessageAdded", false},
      {"onConversationAdd", true},      {"onConversationRemoved", false}, {"onParticipantUpdate", true},
      {"onMessageRemove", true},        {"onMessageUpdated", false},    {"onParticipantRemoved", false},
      {"onMessageUpdate", true},        {"onConversationStateUpdated", false},
  };
  BOOST_TEST(kFilterNames.size() == 20u);
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(is_filter_name(c.name));
      BOOST_TEST(is_pre_event(c.name) == c.pre);
    }
  }
  for (const char* bad : {"", "onmessageadded", "onMessage", "onMessageAdded ", "onNothing"}) {
    BOOST_TEST(!is_filter_name(bad), bad);
    BOOST_TEST(!is_pre_event(bad), bad);
  }
}

BOOST_AUTO_TEST_CASE(methods_normalize_to_upper_case) {
  struct Case {
    const char* in;
    std::optional<std::string> out;
  } cases[] = {{"GET", "GET"}, {"get", "GET"}, {"PoSt", "POST"}, {"PUT", std::nullopt}, {"", std::nullopt},
               {"POST ", std::nullopt}};
  for (const auto& c : cases) BOOST_TEST((normalize_method(c.in) == c.out), c.in);
}

BOOST_AUTO_TEST_CASE(dedupe_keeps_first_order) {
  BOOST_TEST((dedupe_filters({"b", "a", "b", "c", "a"}) == Strings{"b", "a", "c"}));
  BOOST_TEST(dedupe_filters({}).empty());
}

BOOST_AUTO_TEST_CASE(validate_names_the_broken_rule) {
  struct Case {
    const char* name;
    void (*change)(WebhookConfig&);
    const char* says;  // "" = valid
  } cases[] = {
      {"valid", [](WebhookConfig&) {}, ""},
      {"nulls are valid",
       [](WebhookConfig& c) {
         c.pre_webhook_url.reset();
         c.post_webhook_url.reset();
         c.filters.reset();
         c.method.reset();
       },
       ""},
      {"empty filters valid", [](WebhookConfig& c) { c.filters = Strings{}; }, ""},
      {"account not AC", [](WebhookConfig& c) { c.account_sid = "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; }, "account_sid"},
      {"pre url with newline", [](WebhookConfig& c) { c.pre_webhook_url = "https://x/\nmethod: GET"; }, "pre_webhook_url"},
      {"post url relative", [](WebhookConfig& c) { c.post_webhook_url = "/post"; }, "post_webhook_url"},
      {"method lower case", [](WebhookConfig& c) { c.method = "get"; }, "method"},
      {"unknown filter", [](WebhookConfig& c) { c.filters = Strings{"onNothing"}; }, "unknown filter 'onNothing'"},
      {"repeated filter", [](WebhookConfig& c) { c.filters = Strings{"onMessageAdd", "onMessageAdd"}; }, "repeated"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      WebhookConfig config = valid();
      c.change(config);
      Status s = validate_config(config);
      BOOST_TEST(s.ok() == (std::string(c.says).empty()));
      if (!s.ok()) {
        BOOST_TEST((s.error().code == ErrorCode::kInvalidArgument));
        BOOST_TEST(s.error().message.find(c.says) != std::string::npos, s.error().message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(apply_sets_only_what_the_update_names) {
  WebhookUpdate clear_pre;
  clear_pre.pre_webhook_url = std::optional<std::string>{};
  WebhookConfig next = apply(valid(), clear_pre);
  BOOST_TEST(!next.pre_webhook_url.has_value());
  BOOST_TEST(next.post_webhook_url.value() == "https://old/post");
  BOOST_TEST(next.method.value() == "POST");
  BOOST_TEST((next.filters.value() == Strings{"onMessageAdded"}));
  BOOST_TEST((apply(valid(), WebhookUpdate{}) == valid()));
}

BOOST_AUTO_TEST_SUITE_END()
