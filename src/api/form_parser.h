// The POST body: application/x-www-form-urlencoded decoding: '+' is a space, %XX decoded,
// repeated keys kept in order (the official clients repeat Filters), and
// the form's parameter names turned into a model WebhookUpdate.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_error.h"
#include "model/webhook_config.h"

namespace webhookd {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// Fails with kMalformedBody on a bad % escape or on keys/values that are not
// UTF-8 after decoding.
ApiResult<FormParams> parse_form(std::string_view body);

// True for "application/x-www-form-urlencoded", any case, with parameters.
bool is_form_content_type(std::string_view content_type);

// The form parameters of a POST as a WebhookUpdate of the resource's scope,
// validated in the order PreWebhookUrl, PostWebhookUrl, Method, Filters,
// Target; the first problem is a 400 with Twilio's code. Filters are the 20
// names of a service or the 23 of an account; Target (webhook or flex) is an
// account's parameter only: on a service it is an unknown parameter. An
// empty URL clears it, a single empty Filters= sets []. Unknown parameters
// are ignored; a scalar parameter sent twice takes its last value.
ApiResult<WebhookUpdate> parse_update(const FormParams& params, Scope scope = Scope::kService);

}  // namespace webhookd
