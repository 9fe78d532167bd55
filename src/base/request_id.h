// Twilio-Request-Id values: "RQ" + 32 lowercase hex digits, fresh per request.
#pragma once

#include <string>

namespace webhookd {

std::string new_request_id();

}  // namespace webhookd
