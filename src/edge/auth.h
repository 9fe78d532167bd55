// HTTP Basic authentication against SHA-256 digests of auth tokens and API
// key secrets. The user is an Account SID (AC...) or an API key SID (SK...);
// a key acts for the account it belongs to.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/errors.h"

namespace webhookd {

struct Credentials {
  // Account SID -> raw 32-byte SHA-256 of its auth token.
  std::unordered_map<std::string, std::string> account_token_digest;
  struct ApiKey {
    std::string account_sid;
    std::string secret_digest;  // raw 32 bytes
  };
  std::unordered_map<std::string, ApiKey> api_keys;  // by SK... SID
};

struct BasicCredentials {
  std::string user;
  std::string password;
};

// "Basic base64(user:password)"; scheme in any case. nullopt when the header
// is absent, not Basic, not base64, or has no colon.
std::optional<BasicCredentials> parse_basic_auth(std::string_view header);

// The Account SID the request acts for, or kUnauthenticated.
Result<std::string> authenticate(std::string_view authorization, const Credentials& credentials);

}  // namespace webhookd
