// libFuzzer target: the state file loader (and the config loader, which
// shares its strict YAML reader). Invariants: the fast path for canonical
// files agrees with the YAML reader; whatever loads re-emits to bytes that
// load again to the same configuration, and emit is stable.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config.h"
#include "store/state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  webhookd::parse_config(text, "fuzz.yaml");
  auto config = webhookd::parse_state_file(text, "fuzz.yaml");
  if (!config.ok()) return 0;
  if (webhookd::emit_state_file(config.value()) == text) {
    // Canonical bytes may have taken the fast path, which skips yaml-cpp; a
    // leading comment forces yaml-cpp, which must read the same.
    auto yaml = webhookd::parse_state_file("#\n" + std::string(text), "fuzz.yaml");
    if (!yaml.ok() || yaml.value() != config.value()) std::abort();
  }
  std::string bytes = webhookd::emit_state_file(config.value());
  auto again = webhookd::parse_state_file(bytes, "emitted.yaml");
  if (!again.ok() || again.value() != config.value()) std::abort();
  if (webhookd::emit_state_file(again.value()) != bytes) std::abort();
  return 0;
}
