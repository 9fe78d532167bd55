// The state file of one service: strict YAML -> WebhookConfig (every problem
// with its line and column), and the canonical bytes webhookd writes.
// Shared by the daemon and the tests; the same bytes always mean the same
// configuration, so the ETag is a digest of them.
#pragma once

#include <string>
#include <string_view>

#include "base/errors.h"
#include "resource/webhook_config.h"

namespace webhookd {

// On failure: kInternal with detail "<source>:<line>:<column>: <problem>".
// `canonical`, if given, tells whether `text` is exactly emit_state_file of
// the result (then its ETag is etag_of_canonical(text), no second emit).
Result<WebhookConfig> parse_state_file(std::string_view text, const std::string& source, bool* canonical = nullptr);

// Canonical form: all five keys in the contract's order, nulls written out.
std::string emit_state_file(const WebhookConfig& config);

// Strong validator: "\"" + 32 hex digits of SHA-256(canonical bytes) + "\"".
std::string config_etag(const WebhookConfig& config);
std::string etag_of_canonical(std::string_view canonical_bytes);

}  // namespace webhookd
