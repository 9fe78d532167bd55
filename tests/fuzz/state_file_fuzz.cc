// libFuzzer target: the state file loader for both kinds of file (a
// service's and an account's global webhooks), and the config loader, which
// shares its strict YAML reader. Invariants, for each kind: the fast path for
// canonical files agrees with the YAML reader; whatever loads re-emits to
// bytes that load again to the same configuration, and emit is stable; what
// the view reader accepts is exactly what the reader reads, and a compact
// entry made of it (or of a hand edit's state and digest) proves these bytes
// and no others.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/compact_state.h"
#include "model/config.h"
#include "model/state_file.h"

namespace {
webhookd::Result<webhookd::WebhookConfig> parse_state_file(std::string_view text, const std::string& source,
                                                           webhookd::Scope scope) {
  auto read = webhookd::read_state_file(text, source, scope);
  if (!read.ok()) return read.error();
  // The ETag always comes with the value, whichever reader made it.
  if (read.value().etag != webhookd::config_etag(read.value().config)) std::abort();
  return read.value().config;
}

// GET's path: the view reader, and the compact entry that proves a later
// read the same.
void check_view(std::string_view text, webhookd::Scope scope, const webhookd::Result<webhookd::WebhookConfig>& config) {
  std::optional<webhookd::WebhookConfigView> view = webhookd::read_canonical_view(text, scope);
  if (!view) return;
  if (!config.ok() || webhookd::config_of(*view) != config.value()) std::abort();
  if (webhookd::emit_state_file(config.value()) != text) std::abort();
  const std::string etag = webhookd::canonical_etag(text);
  auto compact = webhookd::CompactState::of(*view, etag, text);
  if (!compact || compact->etag() != etag) std::abort();
  webhookd::WebhookConfigView in_bytes;
  if (!compact->same_bytes(text, &in_bytes) || webhookd::config_of(in_bytes) != config.value()) std::abort();
  std::string other(text);
  other[other.size() / 2] ^= 1;
  if (compact->same_bytes(other, &in_bytes)) std::abort();
}

void check_kind(std::string_view text, webhookd::Scope scope) {
  auto config = parse_state_file(text, "fuzz.yaml", scope);
  check_view(text, scope, config);
  if (config.ok() && config.value().scope != scope) std::abort();
  // webhookctl check collects every problem with the same reader: it finds
  // one exactly when the reader refuses, and the first is the reader's.
  const std::vector<std::string> problems = webhookd::state_file_problems(text, "fuzz.yaml", scope);
  if (problems.empty() != config.ok()) std::abort();
  if (!config.ok() && problems.front() != config.error().message) std::abort();
  if (!config.ok()) return;
  // What the reader accepts, the writer accepts: the store can always write it back.
  if (!webhookd::encode_state(config.value()).ok()) std::abort();
  // A hand edit's compact entry gives back this very state for these very
  // bytes, and nothing for others.
  const webhookd::ServiceState state{config.value(), webhookd::config_etag(config.value())};
  if (auto hand = webhookd::CompactState::of_hand_written(state, webhookd::sha256_digest(text))) {
    webhookd::ServiceState got;
    if (!hand->same_digest(webhookd::sha256_digest(text), &got) || got.config != state.config ||
        got.etag != state.etag) {
      std::abort();
    }
    // Its bytes answer only for the canonical form of its state: these
    // very bytes exactly when they are that form.
    webhookd::WebhookConfigView in_bytes;
    const bool canonical = webhookd::emit_state_file(state.config) == text;
    if (hand->same_bytes(text, &in_bytes) != canonical) std::abort();
    if (!hand->same_bytes(webhookd::emit_state_file(state.config), &in_bytes)) std::abort();
  }
  if (webhookd::emit_state_file(config.value()) == text) {
    // Canonical bytes may have taken the fast path, which skips yaml-cpp; a
    // leading comment forces yaml-cpp, which must read the same.
    auto yaml = parse_state_file("#\n" + std::string(text), "fuzz.yaml", scope);
    if (!yaml.ok() || yaml.value() != config.value()) std::abort();
  }
  std::string bytes = webhookd::emit_state_file(config.value());
  auto again = parse_state_file(bytes, "emitted.yaml", scope);
  if (!again.ok() || again.value() != config.value()) std::abort();
  if (webhookd::emit_state_file(again.value()) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)webhookd::parse_config(text, "fuzz.yaml");
  check_kind(text, webhookd::Scope::kService);
  check_kind(text, webhookd::Scope::kAccount);
  return 0;
}
