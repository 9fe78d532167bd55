// HTTP Basic authentication against SHA-256 digests of auth tokens and API
// key secrets. The user is an Account SID (AC...) or an API key SID (SK...);
// a key acts for the account it belongs to.
#pragma once

#include <string>
#include <string_view>

#include "api/api_error.h"
#include "model/config.h"

namespace webhookd {

// The decoded "user:password"; user() and password() are views into it.
struct BasicCredentials {
  std::string decoded;
  size_t colon = 0;
  std::string_view user() const { return std::string_view(decoded).substr(0, colon); }
  std::string_view password() const { return std::string_view(decoded).substr(colon + 1); }
};

// "Basic base64(user:password)"; scheme in any case. kInvalidArgument when
// the header is absent, not Basic, not base64, or has no colon.
Result<BasicCredentials> parse_basic_auth(std::string_view header);

// The Account SID the request acts for, or kUnauthenticated.
ApiResult<std::string> authenticate(std::string_view authorization, const Credentials& credentials);

}  // namespace webhookd
