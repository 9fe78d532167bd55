// Validation rules of the update and the 20 event names Twilio accepts.
#include "resource/webhook_config.h"

#include <algorithm>

#include "base/text.h"

namespace webhookd {
namespace {

constexpr std::string_view kFilterNames[] = {
    "onParticipantAdd",      "onParticipantAdded",   "onDeliveryUpdated",   "onConversationUpdated",
    "onConversationRemove",  "onParticipantRemove",  "onConversationUpdate", "onMessageAdd",
    "onMessageRemoved",      "onParticipantUpdated", "onConversationAdded", "onMessageAdded",
    "onConversationAdd",     "onConversationRemoved", "onParticipantUpdate", "onMessageRemove",
    "onMessageUpdated",      "onParticipantRemoved", "onMessageUpdate",     "onConversationStateUpdated",
};

// Last value of a scalar parameter, if sent.
const std::string* last_value(const FormParams& params, std::string_view key) {
  const std::string* found = nullptr;
  for (const auto& p : params) {
    if (p.first == key) found = &p.second;
  }
  return found;
}

Result<std::optional<std::optional<std::string>>> parse_url(const FormParams& params, std::string_view key,
                                                           ErrorKind invalid) {
  const std::string* v = last_value(params, key);
  if (!v) return std::optional<std::optional<std::string>>{};
  if (v->empty()) return std::optional<std::optional<std::string>>{std::optional<std::string>{}};
  if (!is_webhook_url(*v)) return Error{invalid, {}, {}};
  return std::optional<std::optional<std::string>>{std::optional<std::string>{*v}};
}

}  // namespace

bool is_filter_name(std::string_view s) {
  return std::find(std::begin(kFilterNames), std::end(kFilterNames), s) != std::end(kFilterNames);
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

Result<WebhookUpdate> parse_update(const FormParams& params) {
  WebhookUpdate update;
  auto pre = parse_url(params, "PreWebhookUrl", ErrorKind::kInvalidPreWebhookUrl);
  if (!pre.ok()) return pre.error();
  update.pre_webhook_url = pre.value();
  auto post = parse_url(params, "PostWebhookUrl", ErrorKind::kInvalidPostWebhookUrl);
  if (!post.ok()) return post.error();
  update.post_webhook_url = post.value();

  if (const std::string* m = last_value(params, "Method")) {
    update.method = normalize_method(*m);
    if (!update.method) return Error{ErrorKind::kInvalidMethod, {}, {}};
  }

  std::vector<std::string> filters;
  size_t sent = 0;
  for (const auto& p : params) {
    if (p.first != "Filters") continue;
    ++sent;
    filters.push_back(p.second);
  }
  if (sent == 1 && filters[0].empty()) {
    update.filters = std::vector<std::string>{};  // a single empty Filters= sets []
  } else if (sent > 0) {
    for (const auto& f : filters) {
      if (!is_filter_name(f)) return Error{ErrorKind::kInvalidFilter, {f}, {}};
    }
    update.filters = dedupe_filters(filters);
  }
  return update;
}

WebhookConfig apply(const WebhookConfig& current, const WebhookUpdate& update) {
  WebhookConfig next = current;
  if (update.pre_webhook_url) next.pre_webhook_url = *update.pre_webhook_url;
  if (update.post_webhook_url) next.post_webhook_url = *update.post_webhook_url;
  if (update.filters) next.filters = *update.filters;
  if (update.method) next.method = *update.method;
  return next;
}

}  // namespace webhookd
