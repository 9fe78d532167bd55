// JSON bodies shaped exactly like Twilio's: the two resources (a service's
// webhooks, an account's global webhooks) with their keys in Twilio's order,
// and the error body {code, message, more_info, status}.
#pragma once

#include <string>
#include <string_view>

#include "api/api_error.h"
#include "model/webhook_config.h"

namespace webhookd {

// The resource's JSON, keys in Twilio's order: for a service (key: its SID)
// account_sid, chat_service_sid, pre_webhook_url, post_webhook_url, filters,
// method, url; for an account's global webhooks (key: the account SID)
// account_sid, pre_webhook_url, post_webhook_url, method, filters, target,
// url, as in Twilio's example. Fails (kInternal) only if a value is not
// valid UTF-8, which the state-file reader already refuses; the check stays
// so a bug cannot emit broken JSON.
ApiResult<std::string> render_config(const WebhookConfig& config, const std::string& key, std::string_view url);

// The same JSON in two parts, so that the part that depends only on the
// stored configuration is rendered once per parsed state (see
// RenderedJsonCache), not once per request: the head is everything up to
// and including `"url":`; append_config_url adds the URL and the `}`.
ApiResult<std::string> render_config_head(const WebhookConfig& config, const std::string& key);
void append_config_url(std::string* out, std::string_view url);
// The head of a configuration in view, appended to *out. Its values (and
// key) must be valid UTF-8, as they are not checked again; kPlain: they are
// printable ASCII without '"' or '\\' besides (a canonical state file's, as
// read_canonical_view accepts them, and a SID), written with no escaping.
enum class JsonText { kEscape, kPlain };
void append_config_head(std::string* out, const WebhookConfigView& config, std::string_view key, JsonText text);
std::string render_error(const ApiError& error);

}  // namespace webhookd
