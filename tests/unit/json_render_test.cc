#define BOOST_TEST_DYN_LINK
#include "api/json_render.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/test/unit_test.hpp>

#include "model/state_file.h"
#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(json_render)

BOOST_AUTO_TEST_CASE(renders_resources_in_twilio_order) {
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string url = "https://h/v1/Services/" + sid + "/Configuration/Webhooks";
  WebhookConfig full;
  full.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  full.pre_webhook_url = "https://www.example.com/pre";
  full.post_webhook_url = "https://www.example.com/post";
  full.filters = std::vector<std::string>{"onMessageRemove", "onParticipantAdd"};
  full.method = "POST";
  WebhookConfig empty;
  empty.account_sid = full.account_sid;
  WebhookConfig no_filters = full;
  no_filters.filters = std::vector<std::string>{};
  WebhookConfig escapes = empty;
  escapes.pre_webhook_url = "https://h/\"q\"\\caf\xC3\xA9";

  struct Case {
    const char* name;
    WebhookConfig config;
    std::string want;
  } cases[] = {
      {"full", full,
       R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","chat_service_sid":"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
       R"("pre_webhook_url":"https://www.example.com/pre","post_webhook_url":"https://www.example.com/post",)"
       R"("filters":["onMessageRemove","onParticipantAdd"],"method":"POST",)"
       R"("url":"https://h/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"})"},
      {"never configured: nulls", empty,
       R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","chat_service_sid":"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
       R"("pre_webhook_url":null,"post_webhook_url":null,"filters":null,"method":null,)"
       R"("url":"https://h/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"})"},
      {"empty filter list", no_filters,
       R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","chat_service_sid":"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
       R"("pre_webhook_url":"https://www.example.com/pre","post_webhook_url":"https://www.example.com/post",)"
       R"("filters":[],"method":"POST",)"
       R"("url":"https://h/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"})"},
      {"escaping", escapes,
       R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","chat_service_sid":"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
       R"("pre_webhook_url":"https://h/\"q\"\\caf)" "\xC3\xA9" R"(","post_webhook_url":null,"filters":null,"method":null,)"
       R"("url":"https://h/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"})"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto got = render_config(c.config, sid, url);
      BOOST_TEST_REQUIRE(got.ok());
      BOOST_TEST(got.value() == c.want);
    }
  }
}

// An account's global webhooks: the keys of Twilio's example, in its order;
// the account SID is the key, not a field of the value.
BOOST_AUTO_TEST_CASE(renders_an_accounts_global_webhooks_in_twilio_order) {
  const std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string url = "https://conversations.twilio.com/v1/Configuration/Webhooks";
  WebhookConfig example = account_defaults();
  example.pre_webhook_url = "https://example.com/pre";
  example.post_webhook_url = "http://example.com/post";
  example.method = "GET";
  example.filters = std::vector<std::string>{"onConversationUpdated"};
  auto got = render_config(example, account, url);
  BOOST_TEST_REQUIRE(got.ok());
  // Twilio's own "update" example, compact.
  BOOST_TEST(got.value() ==
             R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","pre_webhook_url":"https://example.com/pre",)"
             R"("post_webhook_url":"http://example.com/post","method":"GET","filters":["onConversationUpdated"],)"
             R"("target":"webhook","url":"https://conversations.twilio.com/v1/Configuration/Webhooks"})");
  auto defaults = render_config(account_defaults(), account, url);
  BOOST_TEST_REQUIRE(defaults.ok());
  BOOST_TEST(defaults.value() ==
             R"({"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","pre_webhook_url":null,"post_webhook_url":null,)"
             R"("method":"POST","filters":[],"target":"webhook","url":"https://conversations.twilio.com/v1/Configuration/Webhooks"})");
}

BOOST_AUTO_TEST_CASE(the_url_tail_is_escaped_when_it_must_be) {
  struct Case {
    std::string url, want;
  } cases[] = {
      {"http://h:8080/v1/x", R"("http://h:8080/v1/x"})"},
      {"http://h\"x/", R"("http://h\"x/"})"},
      {"http://h\\x/", R"("http://h\\x/"})"},
      {"http://caf\xC3\xA9/", "\"http://caf\xC3\xA9/\"}"},
      {"http://h\xFF/", "\"http://h\xEF\xBF\xBD/\"}"},  // not UTF-8: replaced
      {"http://h\x01/", R"("http://h\u0001/"})"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.url) {
      WebhookConfig empty;
      empty.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
      auto got = render_config(empty, "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", c.url);
      BOOST_TEST_REQUIRE(got.ok());
      const std::string& body = got.value();
      BOOST_TEST_REQUIRE(body.size() > c.want.size());
      BOOST_TEST(body.substr(body.size() - c.want.size()) == c.want);
      BOOST_TEST(body.substr(0, body.size() - c.want.size()).back() == ':');
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_an_internal_error_not_broken_json) {
  WebhookConfig bad;
  bad.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  bad.pre_webhook_url = "https://h/\xFF";
  auto got = render_config(bad, "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "u");
  BOOST_TEST_REQUIRE(!got.ok());
  BOOST_TEST((got.error().kind == ApiErrorKind::kInternal));
}

// The resources' JSON is written without RapidJSON: each value must come out
// escaped byte for byte as RapidJSON's Writer escapes it, for every ASCII
// byte and for UTF-8 beyond it, in every field that holds text.
BOOST_AUTO_TEST_CASE(escapes_every_value_as_rapidjson_does) {
  std::vector<std::string> values;
  for (int c = 0; c < 0x80; ++c) values.push_back(std::string("a") + static_cast<char>(c) + "b");
  values.push_back("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  values.push_back("");
  values.push_back("\"\\\x01\x1F\x7F");
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  for (const std::string& v : values) {
    for (Scope scope : {Scope::kService, Scope::kAccount}) {
      BOOST_TEST_CONTEXT("value of " << v.size() << " bytes, scope " << static_cast<int>(scope)) {
        WebhookConfig c = scope == Scope::kService ? WebhookConfig{} : account_defaults();
        c.account_sid = scope == Scope::kService ? "AC" + v : "";
        c.pre_webhook_url = v;
        c.post_webhook_url = v + v;
        c.filters = std::vector<std::string>{v, "x" + v};
        c.method = v;
        if (scope == Scope::kAccount) c.target = v;
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        auto str = [&](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
        w.StartObject();
        w.Key("account_sid");
        str(scope == Scope::kService ? c.account_sid : sid);
        if (scope == Scope::kService) {
          w.Key("chat_service_sid");
          str(sid);
        }
        w.Key("pre_webhook_url");
        str(*c.pre_webhook_url);
        w.Key("post_webhook_url");
        str(*c.post_webhook_url);
        auto filters = [&] {
          w.Key("filters");
          w.StartArray();
          for (const auto& f : *c.filters) str(f);
          w.EndArray();
        };
        if (scope == Scope::kService) filters();
        w.Key("method");
        str(*c.method);
        if (scope == Scope::kAccount) {
          filters();
          w.Key("target");
          str(*c.target);
        }
        w.Key("url");
        w.String("u");
        w.EndObject();
        auto got = render_config(c, sid, "u");
        BOOST_TEST_REQUIRE(got.ok());
        BOOST_TEST(got.value() == std::string(buf.GetString(), buf.GetSize()));
      }
    }
  }
}

// A GET of a canonical file writes its view with no escaping (kPlain): for
// every view read_canonical_view accepts, that must be exactly the escaped
// output. Each ASCII byte in each URL, both scopes, every filter name.
BOOST_AUTO_TEST_CASE(a_canonical_views_plain_text_is_its_escaped_text) {
  const std::string service_sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", account = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  std::vector<WebhookConfig> configs;
  for (Scope scope : {Scope::kService, Scope::kAccount}) {
    WebhookConfig base = scope == Scope::kService ? WebhookConfig{} : account_defaults();
    if (scope == Scope::kService) base.account_sid = account;
    configs.push_back(base);  // nulls, and an account's defaults
    WebhookConfig all = base;
    all.method = "GET";
    std::vector<std::string> filters(kFilterNames.begin(), kFilterNames.end());
    if (scope == Scope::kAccount) filters.insert(filters.end(), kAccountOnlyFilterNames.begin(), kAccountOnlyFilterNames.end());
    all.filters = filters;
    if (scope == Scope::kAccount) all.target = "flex";
    for (int c = 0x20; c < 0x7F; ++c) {
      all.pre_webhook_url = std::string("https://example.com/a") + static_cast<char>(c) + "b";
      all.post_webhook_url = "http://example.com/" + std::string(1, static_cast<char>(c)) + "?q=%20&r=[1]";
      configs.push_back(all);
    }
  }
  size_t accepted = 0;
  for (const WebhookConfig& c : configs) {
    const std::string bytes = emit_state_file(c);
    BOOST_TEST_CONTEXT(bytes) {
      std::optional<WebhookConfigView> view = read_canonical_view(bytes, c.scope);
      if (!view) continue;  // quoted, or a URL the rules refuse: never read as a view
      ++accepted;
      const std::string key = c.scope == Scope::kService ? service_sid : account;
      std::string plain, escaped;
      append_config_head(&plain, *view, key, JsonText::kPlain);
      append_config_head(&escaped, *view, key, JsonText::kEscape);
      BOOST_TEST(plain == escaped);
    }
  }
  // Most of them are views (every byte plain_safe lets stand unquoted), so
  // the comparison above is not vacuous.
  BOOST_TEST(accepted >= 2u * 60u);
}

BOOST_AUTO_TEST_CASE(renders_errors) {
  struct Case {
    ApiError error;
    std::string want;
  } cases[] = {
      {{ApiErrorKind::kUnauthenticated, {}, {}},
       R"({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})"},
      {ApiError::internal("secret detail"),
       R"({"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500})"},
      {{ApiErrorKind::kInvalidFilter, {"on\"x\"\n"}, {}},
       R"({"code":50365,"message":"Invalid filter: on\"x\"\n","more_info":"https://www.twilio.com/docs/errors/50365","status":400})"},
      {{ApiErrorKind::kNotFound, {"/Services/IS\xFF/Configuration/Webhooks"}, {}},
       "{\"code\":20404,\"message\":\"The requested resource /Services/IS\xEF\xBF\xBD/Configuration/Webhooks was not found\","
       "\"more_info\":\"https://www.twilio.com/docs/errors/20404\",\"status\":404}"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.want) {
      std::string got = render_error(c.error);
      BOOST_TEST(got == c.want);
      BOOST_TEST(got.find("\"type\"") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
