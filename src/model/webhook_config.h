// The configuration of one service (WebhookConfig), a change to it
// (WebhookUpdate), and the rules every value must keep: SIDs, webhook URLs,
// the two methods and the 20 event names. No HTTP, no Twilio codes: the API
// and webhookctl both build on these.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace webhookd {

struct WebhookConfig {
  std::string account_sid;
  // nullopt is JSON null: never set, or cleared.
  std::optional<std::string> pre_webhook_url;
  std::optional<std::string> post_webhook_url;
  std::optional<std::vector<std::string>> filters;
  std::optional<std::string> method;  // "GET" or "POST"

  bool operator==(const WebhookConfig& o) const {
    return account_sid == o.account_sid && pre_webhook_url == o.pre_webhook_url &&
           post_webhook_url == o.post_webhook_url && filters == o.filters && method == o.method;
  }
  bool operator!=(const WebhookConfig& o) const { return !(*this == o); }
};

// Each field: not given (nullopt) keeps the stored value; given sets it.
// For the URLs the inner nullopt means "clear to null".
struct WebhookUpdate {
  std::optional<std::optional<std::string>> pre_webhook_url;
  std::optional<std::optional<std::string>> post_webhook_url;
  std::optional<std::vector<std::string>> filters;
  std::optional<std::string> method;
};

// The 20 event names, in Twilio's documentation order.
extern const std::vector<std::string_view> kFilterNames;
bool is_filter_name(std::string_view s);
// A pre-event (onMessageAdd, ...) is sent to pre_webhook_url before the
// action and may stop it; the others (onMessageAdded, ...) after it.
bool is_pre_event(std::string_view filter_name);
// "get"/"Post"... -> "GET"/"POST"; nullopt for anything else.
std::optional<std::string> normalize_method(std::string_view s);
// Drops repeats, keeping the first occurrence's order.
std::vector<std::string> dedupe_filters(const std::vector<std::string>& filters);

// Every rule of a stored configuration; kInvalidArgument naming the first
// one broken. What is written must pass it, so it can always be read back.
Status validate_config(const WebhookConfig& config);

WebhookConfig apply(const WebhookConfig& current, const WebhookUpdate& update);

}  // namespace webhookd
