// HMAC-SHA1 and base64 through OpenSSL: what Twilio's X-Twilio-Signature is
// made of (webhookctl fire signs the events it sends).
#pragma once

#include <string>
#include <string_view>

namespace webhookd {

std::string hmac_sha1(std::string_view key, std::string_view data);  // the raw 20 bytes
std::string base64_encode(std::string_view bytes);                    // RFC 4648, padded

}  // namespace webhookd
