// The resource's value (WebhookConfig), an update to it (WebhookUpdate) built
// from form parameters with every validation rule of the contract, and apply.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/errors.h"
#include "edge/form_parser.h"

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

// Each field: not sent (nullopt) keeps the stored value; sent sets it.
// For the URLs the inner nullopt means "sent empty": clear to null.
struct WebhookUpdate {
  std::optional<std::optional<std::string>> pre_webhook_url;
  std::optional<std::optional<std::string>> post_webhook_url;
  std::optional<std::vector<std::string>> filters;
  std::optional<std::string> method;
};

bool is_filter_name(std::string_view s);
// "get"/"Post"... -> "GET"/"POST"; nullopt for anything else.
std::optional<std::string> normalize_method(std::string_view s);
// Drops repeats, keeping the first occurrence's order.
std::vector<std::string> dedupe_filters(const std::vector<std::string>& filters);

// Validates in the order PreWebhookUrl, PostWebhookUrl, Method, Filters and
// fails with the first problem (400 with Twilio's code). Unknown parameters
// are ignored; a scalar parameter sent twice takes its last value.
Result<WebhookUpdate> parse_update(const FormParams& params);

WebhookConfig apply(const WebhookConfig& current, const WebhookUpdate& update);

}  // namespace webhookd
