#define BOOST_TEST_DYN_LINK
#include "resource/webhook_config.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

using namespace webhookd;

namespace {

using Strings = std::vector<std::string>;

WebhookConfig stored() {
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

// Every row of the contract's update table, valid side: params -> stored result.
BOOST_AUTO_TEST_CASE(valid_updates_apply) {
  struct Case {
    const char* name;
    FormParams params;
    std::optional<std::string> pre, post, method;
    std::optional<Strings> filters;
  } cases[] = {
      {"nothing sent keeps all", {}, "https://old/pre", "https://old/post", "POST", Strings{"onMessageAdded"}},
      {"unknown params ignored", {{"FriendlyName", "x"}, {"LogEnabled", "true"}}, "https://old/pre", "https://old/post", "POST", Strings{"onMessageAdded"}},
      {"pre url set", {{"PreWebhookUrl", "https://new/pre"}}, "https://new/pre", "https://old/post", "POST", Strings{"onMessageAdded"}},
      {"post url set", {{"PostWebhookUrl", "http://new:8080/post?x=1"}}, "https://old/pre", "http://new:8080/post?x=1", "POST", Strings{"onMessageAdded"}},
      {"empty pre clears", {{"PreWebhookUrl", ""}}, std::nullopt, "https://old/post", "POST", Strings{"onMessageAdded"}},
      {"empty post clears", {{"PostWebhookUrl", ""}}, "https://old/pre", std::nullopt, "POST", Strings{"onMessageAdded"}},
      {"method lower case", {{"Method", "get"}}, "https://old/pre", "https://old/post", "GET", Strings{"onMessageAdded"}},
      {"method mixed case", {{"Method", "PoSt"}}, "https://old/pre", "https://old/post", "POST", Strings{"onMessageAdded"}},
      {"repeated filters", {{"Filters", "onMessageAdd"}, {"Filters", "onParticipantAdded"}}, "https://old/pre", "https://old/post", "POST", Strings{"onMessageAdd", "onParticipantAdded"}},
      {"duplicate filters dropped, first order kept",
       {{"Filters", "onMessageUpdated"}, {"Filters", "onMessageAdd"}, {"Filters", "onMessageUpdated"}},
       "https://old/pre", "https://old/post", "POST", Strings{"onMessageUpdated", "onMessageAdd"}},
      {"single empty Filters sets []", {{"Filters", ""}}, "https://old/pre", "https://old/post", "POST", Strings{}},
      {"last scalar wins", {{"Method", "GET"}, {"Method", "post"}}, "https://old/pre", "https://old/post", "POST", Strings{"onMessageAdded"}},
      {"all at once",
       {{"PreWebhookUrl", "https://example.com/filtering-and-permissions"},
        {"PostWebhookUrl", "https://example.com/archive-every-action"},
        {"Filters", "onConversationUpdated"}, {"Filters", "onMessageRemoved"}, {"Method", "POST"}},
       "https://example.com/filtering-and-permissions", "https://example.com/archive-every-action", "POST",
       Strings{"onConversationUpdated", "onMessageRemoved"}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto update = parse_update(c.params);
      BOOST_TEST_REQUIRE(update.ok());
      WebhookConfig next = apply(stored(), update.value());
      BOOST_TEST(next.account_sid == stored().account_sid);
      BOOST_TEST((next.pre_webhook_url == c.pre));
      BOOST_TEST((next.post_webhook_url == c.post));
      BOOST_TEST((next.method == c.method));
      BOOST_TEST((next.filters == c.filters));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_filter_name_of_the_contract_is_accepted) {
  const char* names[] = {"onParticipantAdd", "onParticipantAdded", "onDeliveryUpdated", "onConversationUpdated",
                         "onConversationRemove", "onParticipantRemove", "onConversationUpdate", "onMessageAdd",
                         "onMessageRemoved", "onParticipantUpdated", "onConversationAdded", "onMessageAdded",
                         "onConversationAdd", "onConversationRemoved", "onParticipantUpdate", "onMessageRemove",
                         "onMessageUpdated", "onParticipantRemoved", "onMessageUpdate", "onConversationStateUpdated"};
  FormParams all;
  for (const char* n : names) {
    BOOST_TEST(is_filter_name(n), n);
    all.emplace_back("Filters", n);
  }
  auto update = parse_update(all);
  BOOST_TEST_REQUIRE(update.ok());
  BOOST_TEST(update.value().filters->size() == 20u);
}

// Every row of the contract's update table, invalid side.
BOOST_AUTO_TEST_CASE(invalid_updates_fail_with_twilio_codes) {
  struct Case {
    const char* name;
    FormParams params;
    ErrorKind kind;
    std::string arg;
  } cases[] = {
      {"pre not a url", {{"PreWebhookUrl", "not a url"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre ftp", {{"PreWebhookUrl", "ftp://x/y"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre javascript", {{"PreWebhookUrl", "javascript:alert(1)"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre no host", {{"PreWebhookUrl", "https:///x"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre with space", {{"PreWebhookUrl", "https://x/a b"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre with CRLF", {{"PreWebhookUrl", "https://x/\r\nSet-Cookie: a"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre too long", {{"PreWebhookUrl", "https://x/" + std::string(2040, 'a')}}, ErrorKind::kInvalidPreWebhookUrl, ""},
      {"post relative", {{"PostWebhookUrl", "/post"}}, ErrorKind::kInvalidPostWebhookUrl, ""},
      {"post file", {{"PostWebhookUrl", "file:///etc/passwd"}}, ErrorKind::kInvalidPostWebhookUrl, ""},
      {"method PUT", {{"Method", "PUT"}}, ErrorKind::kInvalidMethod, ""},
      {"method empty", {{"Method", ""}}, ErrorKind::kInvalidMethod, ""},
      {"method with space", {{"Method", "POST "}}, ErrorKind::kInvalidMethod, ""},
      {"unknown filter", {{"Filters", "onNothing"}}, ErrorKind::kInvalidFilter, "onNothing"},
      {"filter wrong case", {{"Filters", "onmessageadded"}}, ErrorKind::kInvalidFilter, "onmessageadded"},
      {"second filter bad", {{"Filters", "onMessageAdded"}, {"Filters", "bogus"}}, ErrorKind::kInvalidFilter, "bogus"},
      {"empty among others", {{"Filters", "onMessageAdded"}, {"Filters", ""}}, ErrorKind::kInvalidFilter, ""},
      {"pre checked before method", {{"Method", "PUT"}, {"PreWebhookUrl", "x"}}, ErrorKind::kInvalidPreWebhookUrl, ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto update = parse_update(c.params);
      BOOST_TEST_REQUIRE(!update.ok());
      BOOST_TEST((update.error().kind == c.kind));
      if (c.kind == ErrorKind::kInvalidFilter) BOOST_TEST(update.error().args.at(0) == c.arg);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
