// The rules of a configuration value, the event names Twilio accepts (20 for
// a service, 23 for an account) and an account's defaults.
#include "model/webhook_config.h"

#include <algorithm>

#include "base/text.h"

namespace webhookd {

const std::vector<std::string_view> kFilterNames = {
    "onParticipantAdd",      "onParticipantAdded",   "onDeliveryUpdated",   "onConversationUpdated",
    "onConversationRemove",  "onParticipantRemove",  "onConversationUpdate", "onMessageAdd",
    "onMessageRemoved",      "onParticipantUpdated", "onConversationAdded", "onMessageAdded",
    "onConversationAdd",     "onConversationRemoved", "onParticipantUpdate", "onMessageRemove",
    "onMessageUpdated",      "onParticipantRemoved", "onMessageUpdate",     "onConversationStateUpdated",
};

const std::vector<std::string_view> kAccountOnlyFilterNames = {"onUserAdded", "onUserUpdate", "onUserUpdated"};

bool is_filter_name(std::string_view s, Scope scope) {
  if (std::find(kFilterNames.begin(), kFilterNames.end(), s) != kFilterNames.end()) return true;
  return scope == Scope::kAccount &&
         std::find(kAccountOnlyFilterNames.begin(), kAccountOnlyFilterNames.end(), s) != kAccountOnlyFilterNames.end();
}

std::optional<Scope> scope_of_sid(std::string_view sid) {
  if (is_service_sid(sid)) return Scope::kService;
  if (is_account_sid(sid)) return Scope::kAccount;
  return std::nullopt;
}

bool is_target(std::string_view s) { return s == "webhook" || s == "flex"; }

WebhookConfigView view_of(const WebhookConfig& c) {
  WebhookConfigView v;
  v.scope = c.scope;
  v.account_sid = c.account_sid;
  if (c.pre_webhook_url) v.pre_webhook_url = *c.pre_webhook_url;
  if (c.post_webhook_url) v.post_webhook_url = *c.post_webhook_url;
  if (c.filters) v.filters = FilterNamesView(&*c.filters);
  if (c.method) v.method = *c.method;
  if (c.target) v.target = *c.target;
  return v;
}

WebhookConfig config_of(const WebhookConfigView& v) {
  WebhookConfig c;
  c.scope = v.scope;
  c.account_sid = std::string(v.account_sid);
  if (v.pre_webhook_url) c.pre_webhook_url = std::string(*v.pre_webhook_url);
  if (v.post_webhook_url) c.post_webhook_url = std::string(*v.post_webhook_url);
  if (v.filters) {
    c.filters.emplace();
    v.filters->each([&](std::string_view name) { c.filters->emplace_back(name); });
  }
  if (v.method) c.method = std::string(*v.method);
  if (v.target) c.target = std::string(*v.target);
  return c;
}

WebhookConfig account_defaults() {
  WebhookConfig c;
  c.scope = Scope::kAccount;
  fill_account_defaults(&c);
  return c;
}

void fill_account_defaults(WebhookConfig* c) {
  if (!c->method) c->method = "POST";  // Twilio's default method, and the spec's enum has no null
  if (!c->filters) c->filters.emplace();
  if (!c->target) c->target = "webhook";
}

bool is_pre_event(std::string_view name) {
  // Pre-events are the present-tense names (onMessageAdd, onConversationUpdate,
  // onParticipantRemove, onUserUpdate); every post-event is past tense, ending in "ed".
  return is_filter_name(name, Scope::kAccount) && name.substr(name.size() - 2) != "ed";
}

std::optional<std::string> normalize_method(std::string_view s) {
  if (iequals(s, "GET")) return std::string("GET");
  if (iequals(s, "POST")) return std::string("POST");
  return std::nullopt;
}

std::vector<std::string> dedupe_filters(const std::vector<std::string>& filters) {
  std::vector<std::string> out;
  for (const auto& f : filters) {
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  }
  return out;
}

Status validate_config(const WebhookConfig& c) {
  const bool account = c.scope == Scope::kAccount;
  if (account) {
    if (!c.account_sid.empty()) {
      return Error::invalid_argument("an account's global settings hold no account_sid: the file's name is the account");
    }
    if (!c.method || !c.filters || !c.target) {
      return Error::invalid_argument("an account's method, filters and target are never null");
    }
    if (!is_target(*c.target)) return Error::invalid_argument("target must be webhook or flex");
  } else {
    if (!is_account_sid(c.account_sid)) return Error::invalid_argument("account_sid must be AC followed by 32 hex digits");
    if (c.target) return Error::invalid_argument("target is an account's setting, not a service's");
  }
  if (c.pre_webhook_url && !is_webhook_url(*c.pre_webhook_url)) {
    return Error::invalid_argument("pre_webhook_url is not an absolute http(s) URL");
  }
  if (c.post_webhook_url && !is_webhook_url(*c.post_webhook_url)) {
    return Error::invalid_argument("post_webhook_url is not an absolute http(s) URL");
  }
  if (c.method && *c.method != "GET" && *c.method != "POST") return Error::invalid_argument("method must be GET or POST");
  if (c.filters) {
    for (const auto& f : *c.filters) {
      if (!is_filter_name(f, c.scope)) return Error::invalid_argument("unknown filter '" + f + "'");
    }
    if (dedupe_filters(*c.filters).size() != c.filters->size()) return Error::invalid_argument("a filter is repeated");
  }
  return ok_status();
}

WebhookConfig apply(const WebhookConfig& current, const WebhookUpdate& update) {
  WebhookConfig next = current;
  if (update.pre_webhook_url) next.pre_webhook_url = *update.pre_webhook_url;
  if (update.post_webhook_url) next.post_webhook_url = *update.post_webhook_url;
  if (update.filters) next.filters = *update.filters;
  if (update.method) next.method = *update.method;
  if (update.target) next.target = *update.target;
  return next;
}

}  // namespace webhookd
