// SHA-256 through OpenSSL: token digests for auth and the ETag of a stored
// configuration. Hex is lower case.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/result.h"

namespace webhookd {

using Sha256Digest = std::array<unsigned char, 32>;
Sha256Digest sha256_digest(std::string_view data);  // no allocation: for every request's credential check
std::string sha256_raw(std::string_view data);  // the same 32 bytes, as a string
std::string sha256_hex(std::string_view data);  // 64 hex digits
std::string to_hex(std::string_view bytes);
// Decodes exactly 2*n hex digits (either case); kInvalidArgument on anything else.
Result<std::string> from_hex(std::string_view hex);

}  // namespace webhookd
