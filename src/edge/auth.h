// HTTP Basic authentication against SHA-256 digests of auth tokens and API
// key secrets. The user is an Account SID (AC...) or an API key SID (SK...);
// a key acts for the account it belongs to.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <map>

#include "base/errors.h"

namespace webhookd {

struct Credentials {
  // Account SID -> raw 32-byte SHA-256 of its auth token.
  // std::less<>: looked up by the string_view of each request, without a copy.
  std::map<std::string, std::string, std::less<>> account_token_digest;
  struct ApiKey {
    std::string account_sid;
    std::string secret_digest;  // raw 32 bytes
  };
  std::map<std::string, ApiKey, std::less<>> api_keys;  // by SK... SID
};

// The decoded "user:password"; user() and password() are views into it.
struct BasicCredentials {
  std::string decoded;
  size_t colon = 0;
  std::string_view user() const { return std::string_view(decoded).substr(0, colon); }
  std::string_view password() const { return std::string_view(decoded).substr(colon + 1); }
};

// "Basic base64(user:password)"; scheme in any case. nullopt when the header
// is absent, not Basic, not base64, or has no colon.
std::optional<BasicCredentials> parse_basic_auth(std::string_view header);

// The Account SID the request acts for, or kUnauthenticated.
Result<std::string> authenticate(std::string_view authorization, const Credentials& credentials);

}  // namespace webhookd
