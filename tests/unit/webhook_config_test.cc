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

// An account's global filters take Twilio's 23 names: the 20 of a service
// and three user events; a service still takes only the 20.
BOOST_AUTO_TEST_CASE(filter_names_by_scope) {
  struct Case {
    const char* name;
    bool service, account;
  } cases[] = {
      {"onMessageAdded", true, true},       {"onConversationStateUpdated", true, true},
      {"onUserAdded", false, true},         {"onUserUpdate", false, true},
      {"onUserUpdated", false, true},       {"onUserRemoved", false, false},
      {"onuseradded", false, false},        {"", false, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(is_filter_name(c.name) == c.service);
      BOOST_TEST(is_filter_name(c.name, Scope::kService) == c.service);
      BOOST_TEST(is_filter_name(c.name, Scope::kAccount) == c.account);
    }
  }
  BOOST_TEST(kFilterNames.size() + kAccountOnlyFilterNames.size() == 23u);
  BOOST_TEST(is_pre_event("onUserUpdate"));
  BOOST_TEST(!is_pre_event("onUserUpdated"));
}

BOOST_AUTO_TEST_CASE(targets_scopes_and_account_defaults) {
  BOOST_TEST(is_target("webhook"));
  BOOST_TEST(is_target("flex"));
  for (const char* bad : {"Flex", "WEBHOOK", "", "studio", "flex "}) BOOST_TEST(!is_target(bad), bad);
  BOOST_TEST((scope_of_sid("ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == Scope::kService));
  BOOST_TEST((scope_of_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == Scope::kAccount));
  BOOST_TEST(!scope_of_sid("SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").has_value());
  BOOST_TEST(!scope_of_sid("../ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").has_value());
  const WebhookConfig d = account_defaults();
  BOOST_TEST((d.scope == Scope::kAccount));
  BOOST_TEST(d.account_sid.empty());
  BOOST_TEST(!d.pre_webhook_url.has_value());
  BOOST_TEST(!d.post_webhook_url.has_value());
  BOOST_TEST(d.method.value() == "POST");
  BOOST_TEST(d.filters.value().empty());
  BOOST_TEST(d.target.value() == "webhook");
  BOOST_TEST(validate_config(d).ok());
  WebhookUpdate to_flex;
  to_flex.target = "flex";
  BOOST_TEST(apply(d, to_flex).target.value() == "flex");
}

BOOST_AUTO_TEST_CASE(validate_an_accounts_settings) {
  struct Case {
    const char* name;
    void (*change)(WebhookConfig&);
    const char* says;  // "" = valid
  } cases[] = {
      {"defaults", [](WebhookConfig&) {}, ""},
      {"user events", [](WebhookConfig& c) { c.filters = Strings{"onUserAdded", "onUserUpdate"}; }, ""},
      {"flex", [](WebhookConfig& c) { c.target = "flex"; }, ""},
      {"bad target", [](WebhookConfig& c) { c.target = "studio"; }, "target must be webhook or flex"},
      {"null target", [](WebhookConfig& c) { c.target.reset(); }, "never null"},
      {"null method", [](WebhookConfig& c) { c.method.reset(); }, "never null"},
      {"null filters", [](WebhookConfig& c) { c.filters.reset(); }, "never null"},
      {"an account_sid", [](WebhookConfig& c) { c.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; }, "no account_sid"},
      {"unknown filter", [](WebhookConfig& c) { c.filters = Strings{"onUserRemoved"}; }, "unknown filter"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      WebhookConfig config = account_defaults();
      c.change(config);
      Status s = validate_config(config);
      BOOST_TEST(s.ok() == (std::string(c.says).empty()));
      if (!s.ok()) BOOST_TEST(s.error().message.find(c.says) != std::string::npos, s.error().message);
    }
  }
  WebhookConfig service = valid();
  service.target = "webhook";
  BOOST_TEST(!validate_config(service).ok());  // a service has no target
  service = valid();
  service.filters = Strings{"onUserAdded"};
  BOOST_TEST(!validate_config(service).ok());  // nor the user events
}

BOOST_AUTO_TEST_SUITE_END()
