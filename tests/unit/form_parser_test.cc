#define BOOST_TEST_DYN_LINK
#include "api/form_parser.h"

#include "model/webhook_config.h"

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
      BOOST_TEST(got.error().kind == ApiErrorKind::kMalformedBody);
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

// parse_update: the form parameters of a POST as a model update.
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

BOOST_AUTO_TEST_SUITE(form_to_update)

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
      {"userinfo kept (Twilio's Basic auth for webhooks)", {{"PreWebhookUrl", "https://user:pass@new:65535/pre"}},
       "https://user:pass@new:65535/pre", "https://old/post", "POST", Strings{"onMessageAdded"}},
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
    ApiErrorKind kind;
    std::string arg;
  } cases[] = {
      {"pre not a url", {{"PreWebhookUrl", "not a url"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre ftp", {{"PreWebhookUrl", "ftp://x/y"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre javascript", {{"PreWebhookUrl", "javascript:alert(1)"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre no host", {{"PreWebhookUrl", "https:///x"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre with space", {{"PreWebhookUrl", "https://x/a b"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre with CRLF", {{"PreWebhookUrl", "https://x/\r\nSet-Cookie: a"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre too long", {{"PreWebhookUrl", "https://x/" + std::string(2040, 'a')}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"post relative", {{"PostWebhookUrl", "/post"}}, ApiErrorKind::kInvalidPostWebhookUrl, ""},
      {"post file", {{"PostWebhookUrl", "file:///etc/passwd"}}, ApiErrorKind::kInvalidPostWebhookUrl, ""},
      {"method PUT", {{"Method", "PUT"}}, ApiErrorKind::kInvalidMethod, ""},
      {"method empty", {{"Method", ""}}, ApiErrorKind::kInvalidMethod, ""},
      {"method with space", {{"Method", "POST "}}, ApiErrorKind::kInvalidMethod, ""},
      {"unknown filter", {{"Filters", "onNothing"}}, ApiErrorKind::kInvalidFilter, "onNothing"},
      {"filter wrong case", {{"Filters", "onmessageadded"}}, ApiErrorKind::kInvalidFilter, "onmessageadded"},
      {"second filter bad", {{"Filters", "onMessageAdded"}, {"Filters", "bogus"}}, ApiErrorKind::kInvalidFilter, "bogus"},
      {"empty among others", {{"Filters", "onMessageAdded"}, {"Filters", ""}}, ApiErrorKind::kInvalidFilter, ""},
      {"pre port 0", {{"PreWebhookUrl", "https://x:0/pre"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre port 65536", {{"PreWebhookUrl", "https://x:65536/pre"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"pre port empty", {{"PreWebhookUrl", "https://x:/pre"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
      {"post port 0", {{"PostWebhookUrl", "http://x:0"}}, ApiErrorKind::kInvalidPostWebhookUrl, ""},
      {"post port 70000", {{"PostWebhookUrl", "https://user:pw@x:70000/post"}}, ApiErrorKind::kInvalidPostWebhookUrl, ""},
      {"post port not a number", {{"PostWebhookUrl", "https://x:http/post"}}, ApiErrorKind::kInvalidPostWebhookUrl, ""},
      {"pre checked before method", {{"Method", "PUT"}, {"PreWebhookUrl", "x"}}, ApiErrorKind::kInvalidPreWebhookUrl, ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto update = parse_update(c.params);
      BOOST_TEST_REQUIRE(!update.ok());
      BOOST_TEST((update.error().kind == c.kind));
      if (c.kind == ApiErrorKind::kInvalidFilter) BOOST_TEST(update.error().args.at(0) == c.arg);
    }
  }
}

// The same parser by the resource's scope: an account's global webhooks take
// Target and the 23 filter names; a service keeps its 20, and Target there
// is an unknown parameter (ignored, as Twilio ignores unknown parameters).
BOOST_AUTO_TEST_CASE(target_and_filter_names_by_scope) {
  struct Case {
    const char* name;
    FormParams params;
    Scope scope;
    std::optional<ApiErrorKind> error;
    std::string arg;
    std::optional<std::string> target;
  } cases[] = {
      {"target webhook", {{"Target", "webhook"}}, Scope::kAccount, std::nullopt, "", "webhook"},
      {"target flex", {{"Target", "flex"}}, Scope::kAccount, std::nullopt, "", "flex"},
      {"last target wins", {{"Target", "bogus"}, {"Target", "flex"}}, Scope::kAccount, std::nullopt, "", "flex"},
      {"no target keeps it", {{"Method", "GET"}}, Scope::kAccount, std::nullopt, "", std::nullopt},
      {"target in another case", {{"Target", "Flex"}}, Scope::kAccount, ApiErrorKind::kInvalidTarget, "Flex", std::nullopt},
      {"target empty", {{"Target", ""}}, Scope::kAccount, ApiErrorKind::kInvalidTarget, "", std::nullopt},
      {"target unknown", {{"Target", "studio"}}, Scope::kAccount, ApiErrorKind::kInvalidTarget, "studio", std::nullopt},
      {"filters before target", {{"Target", "x"}, {"Filters", "onNothing"}}, Scope::kAccount,
       ApiErrorKind::kInvalidFilter, "onNothing", std::nullopt},
      {"user events on an account", {{"Filters", "onUserAdded"}, {"Filters", "onUserUpdate"}, {"Filters", "onUserUpdated"}},
       Scope::kAccount, std::nullopt, "", std::nullopt},
      {"onUserAdded on a service", {{"Filters", "onUserAdded"}}, Scope::kService, ApiErrorKind::kInvalidFilter,
       "onUserAdded", std::nullopt},
      {"target on a service is an unknown parameter", {{"Target", "studio"}}, Scope::kService, std::nullopt, "",
       std::nullopt},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto update = parse_update(c.params, c.scope);
      BOOST_TEST(update.ok() == !c.error.has_value());
      if (!update.ok()) {
        BOOST_TEST((update.error().kind == *c.error));
        BOOST_TEST(update.error().args.at(0) == c.arg);
        continue;
      }
      BOOST_TEST((update.value().target == c.target));
    }
  }
  FormParams all;
  for (auto n : kFilterNames) all.emplace_back("Filters", std::string(n));
  for (auto n : kAccountOnlyFilterNames) all.emplace_back("Filters", std::string(n));
  auto update = parse_update(all, Scope::kAccount);
  BOOST_TEST_REQUIRE(update.ok());
  BOOST_TEST(update.value().filters->size() == 23u);
  BOOST_TEST(!parse_update(all, Scope::kService).ok());
}

BOOST_AUTO_TEST_SUITE_END()
