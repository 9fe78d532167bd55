#define BOOST_TEST_DYN_LINK
#include "model/effective_hooks.h"

#include <boost/test/unit_test.hpp>

#include "test_support.h"

namespace webhookd {
// So that BOOST_TEST prints both sides of a failed comparison.
std::ostream& operator<<(std::ostream& out, const EffectiveHooks& e) {
  out << hook_source_name(e.source) << " " << e.target << " " << e.pre_webhook_url.value_or("null") << " "
      << e.post_webhook_url.value_or("null") << " " << e.method << " [";
  for (const auto& f : e.filters) out << f << " ";
  return out << "]";
}

}  // namespace webhookd

using namespace webhookd;

namespace {

using Strings = std::vector<std::string>;
const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::optional<std::string> kNull;

WebhookConfig service(std::optional<std::string> pre, std::optional<std::string> post,
                      std::optional<Strings> filters = std::nullopt, std::optional<std::string> method = std::nullopt) {
  WebhookConfig c;
  c.account_sid = kAccount;
  c.pre_webhook_url = std::move(pre);
  c.post_webhook_url = std::move(post);
  c.filters = std::move(filters);
  c.method = std::move(method);
  return c;
}

WebhookConfig account(std::optional<std::string> pre, std::optional<std::string> post, Strings filters = {},
                      std::string method = "POST", std::string target = "webhook") {
  WebhookConfig c = account_defaults();
  c.pre_webhook_url = std::move(pre);
  c.post_webhook_url = std::move(post);
  c.filters = std::move(filters);
  c.method = std::move(method);
  c.target = std::move(target);
  return c;
}

EffectiveHooks expect(HookSource source, std::string target, std::optional<std::string> pre,
                      std::optional<std::string> post, std::string method, Strings filters) {
  EffectiveHooks e;
  e.source = source;
  e.target = std::move(target);
  e.pre_webhook_url = std::move(pre);
  e.post_webhook_url = std::move(post);
  e.method = std::move(method);
  e.filters = std::move(filters);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(effective_hooks_rule)

// (service settings, account settings) -> which hooks fire, from where.
BOOST_AUTO_TEST_CASE(which_hooks_fire) {
  const std::string sp = "https://svc/pre", so = "https://svc/post", ap = "https://acct/pre", ao = "https://acct/post";
  struct Case {
    const char* name;
    WebhookConfig service, account;
    EffectiveHooks want;
  } cases[] = {
      {"both levels set: the service's only", service(sp, so, Strings{"onMessageAdd"}, "GET"),
       account(ap, ao, {"onMessageAdded"}, "POST"),
       expect(HookSource::kService, "webhook", sp, so, "GET", {"onMessageAdd"})},
      {"the service's post URL alone overrides the account's pre URL too", service(kNull, so, Strings{"onMessageAdded"}),
       account(ap, ao, {"onMessageAdd"}), expect(HookSource::kService, "webhook", kNull, so, "POST", {"onMessageAdded"})},
      {"the service's pre URL alone", service(sp, kNull, Strings{"onMessageAdd"}, "POST"), account(kNull, kNull),
       expect(HookSource::kService, "webhook", sp, kNull, "POST", {"onMessageAdd"})},
      {"a service URL with null filters and method: none fire, POST", service(kNull, so), account(ap, ao, {"onMessageAdded"}),
       expect(HookSource::kService, "webhook", kNull, so, "POST", {})},
      {"a service with URLs overrides an account routed to Flex", service(sp, so, Strings{"onMessageAdd"}),
       account(ap, ao, {"onMessageAdd"}, "POST", "flex"),
       expect(HookSource::kService, "webhook", sp, so, "POST", {"onMessageAdd"})},
      {"no service URL: the account's", service(kNull, kNull), account(ap, ao, {"onMessageAdded", "onUserAdded"}, "GET"),
       expect(HookSource::kAccount, "webhook", ap, ao, "GET", {"onMessageAdded", "onUserAdded"})},
      {"service filters and method without a URL are not hooks", service(kNull, kNull, Strings{"onMessageAdd"}, "GET"),
       account(kNull, ao, {"onMessageAdded"}), expect(HookSource::kAccount, "webhook", kNull, ao, "POST", {"onMessageAdded"})},
      {"the account's, routed to Flex", service(kNull, kNull), account(ap, kNull, {"onMessageAdd"}, "POST", "flex"),
       expect(HookSource::kAccount, "flex", ap, kNull, "POST", {"onMessageAdd"})},
      {"no URL anywhere", service(kNull, kNull), account_defaults(),
       expect(HookSource::kNone, "webhook", kNull, kNull, "POST", {})},
      {"no URL anywhere, Flex", service(kNull, kNull, Strings{"onMessageAdd"}), account(kNull, kNull, {}, "GET", "flex"),
       expect(HookSource::kNone, "flex", kNull, kNull, "GET", {})},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(validate_config(c.service).ok());
      BOOST_TEST(validate_config(c.account).ok());
      BOOST_TEST(effective_hooks(c.service, c.account) == c.want);
    }
  }
}

BOOST_AUTO_TEST_CASE(why_an_event_is_not_sent) {
  const std::string ap = "https://acct/pre", ao = "https://acct/post";
  struct Case {
    const char* name;
    EffectiveHooks hooks;
    const char* event;
    bool ignore_filters;
    const char* says;  // "" : sent
  } cases[] = {
      {"sent", effective_hooks(service(kNull, kNull), account(ap, ao, {"onMessageAdded"})), "onMessageAdded", false, ""},
      {"flex", effective_hooks(service(kNull, kNull), account(ap, ao, {"onMessageAdded"}, "POST", "flex")),
       "onMessageAdded", false, "the account's target is flex"},
      {"flex even when every filter is ignored",
       effective_hooks(service(kNull, kNull), account(ap, ao, {}, "POST", "flex")), "onMessageAdded", true, "flex"},
      {"no URL anywhere", effective_hooks(service(kNull, kNull), account_defaults()), "onMessageAdded", false,
       "no webhook URL is set, neither on the service nor on the account"},
      {"no URL for the phase", effective_hooks(service(kNull, kNull), account(kNull, ao, {"onMessageAdd"})),
       "onMessageAdd", false, "pre_webhook_url is not set at the account level"},
      {"not in the filters", effective_hooks(service(kNull, "https://svc/post", Strings{"onMessageAdded"}), account_defaults()),
       "onMessageUpdated", false, "onMessageUpdated is not in the service's filters"},
      {"not in the filters, ignored", effective_hooks(service(kNull, "https://svc/post"), account_defaults()),
       "onMessageUpdated", true, ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string why = why_not_sent(c.hooks, c.event, c.ignore_filters);
      if (*c.says) {
        BOOST_TEST(why.find(c.says) != std::string::npos, why);
      } else {
        BOOST_TEST(why.empty(), why);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
