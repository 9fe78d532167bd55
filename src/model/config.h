// webhookd.yaml: where state lives, the public base URL, and the accounts and
// API keys (SHA-256 digests only, never secrets). Loaded at start and on
// SIGHUP; a bad file is refused with its name, line and problem.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace webhookd {

// Who may call the API: digests only, never a secret.
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

struct Config {
  std::string source;           // the file it came from
  std::string state_dir;        // relative paths are taken from the config file's directory
  std::string public_base_url;  // no trailing '/'; empty: built from the request
  Credentials credentials;
  // api_writes: allow (true, the default) or deny: the state is managed in
  // git and a POST answers 403.
  bool api_writes = true;
};

// Failure: kCorruption, message "<source>:<line>:<column>: <problem>".
// Reading the file is the store's (store/config_file.h).
Result<Config> parse_config(std::string_view text, const std::string& source);

}  // namespace webhookd
