// application/x-www-form-urlencoded decoding: '+' is a space, %XX decoded,
// repeated keys kept in order (the official clients repeat Filters).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/errors.h"

namespace webhookd {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// Fails with kMalformedBody on a bad % escape or on keys/values that are not
// UTF-8 after decoding.
Result<FormParams> parse_form(std::string_view body);

// True for "application/x-www-form-urlencoded", any case, with parameters.
bool is_form_content_type(std::string_view content_type);

}  // namespace webhookd
