// JSON bodies shaped exactly like Twilio's: the resource with its keys in
// Twilio's order, and the error body {code, message, more_info, status}.
#pragma once

#include <string>
#include <string_view>

#include "base/errors.h"
#include "resource/webhook_config.h"

namespace webhookd {

// Fails (kInternal) only if a value is not valid UTF-8, which the loaders
// already refuse; the check stays so a bug cannot emit broken JSON.
Result<std::string> render_config(const WebhookConfig& config, const std::string& service_sid,
                                  const std::string& url);

// The same JSON in two parts, so that the part that depends only on the
// stored configuration is rendered once per parse, not once per request:
// the head is everything up to `"url":`, the tail the URL string and `}`.
Result<std::string> render_config_head(const WebhookConfig& config, const std::string& service_sid);
std::string render_config_tail(std::string_view url);
void append_config_tail(std::string* out, std::string_view url);  // the same, appended to *out
std::string render_error(const Error& error);

}  // namespace webhookd
