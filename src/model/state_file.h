// The state file of one service, in one place: the reader (a fast path for
// the canonical bytes webhookd writes, yaml-cpp for hand edits), the
// canonical emitter, and the ETag, which comes with every value read or
// encoded. The same configuration always gives the same bytes and ETag.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "model/webhook_config.h"

namespace webhookd {

// A service's configuration as stored, with its strong validator:
// "\"" + 32 hex digits of SHA-256(canonical bytes) + "\"".
struct ServiceState {
  WebhookConfig config;
  std::string etag;
};

// kCorruption "<source>:<line>:<column>: <problem>" for anything the rules
// refuse: YAML syntax, unknown or duplicate keys, aliases, wrong types, bad
// values, text that is not UTF-8.
Result<ServiceState> read_state_file(std::string_view bytes, const std::string& source);

// Every problem of a state file, each as "<source>:<line>:<column>: <problem>"
// (one for a file that is not YAML at all); empty when read_state_file
// would accept it. For webhookctl check: the same reader, collecting.
std::vector<std::string> state_file_problems(std::string_view bytes, const std::string& source);

// What a write puts on disk: the canonical bytes and the state they hold.
// kInvalidArgument when the configuration breaks a rule: the store never
// writes what read_state_file would refuse.
struct EncodedState {
  std::string bytes;
  ServiceState state;
};
Result<EncodedState> encode_state(WebhookConfig config);

// The canonical form (all five keys in the contract's order, nulls written
// out) of a configuration that passed validate_config.
std::string emit_state_file(const WebhookConfig& config);
std::string config_etag(const WebhookConfig& config);

}  // namespace webhookd
