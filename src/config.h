// webhookd.yaml: where state lives, the public base URL, and the accounts and
// API keys (SHA-256 digests only, never secrets). Loaded at start and on
// SIGHUP; a bad file is refused with its name, line and problem.
#pragma once

#include <string>
#include <string_view>

#include "base/errors.h"
#include "edge/auth.h"

namespace webhookd {

struct Config {
  std::string source;           // the file it came from
  std::string state_dir;        // relative paths are taken from the config file's directory
  std::string public_base_url;  // no trailing '/'; empty: built from the request
  Credentials credentials;
};

// Failure: kInternal, detail "<source>:<line>:<column>: <problem>".
Result<Config> parse_config(std::string_view text, const std::string& source);
Result<Config> load_config(const std::string& path);

}  // namespace webhookd
