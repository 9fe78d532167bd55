// CompactState: a state file in canonical form held in about half its
// bytes, in one allocation, so that the state of 100,000 services fits in
// webhookd's memory goal. It keeps enough to write those bytes again, which
// is how a file read later is proven to be the same (byte for byte, never by
// timestamps), and the ETag of those bytes, so that a proven file's SHA-256
// is not taken again. A hand-written file's state is held the same way,
// with 16 bytes of the file's SHA-256, which proves a later read the same
// (same_digest).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/sha256.h"
#include "model/state_file.h"
#include "model/webhook_config.h"

namespace webhookd {

class CompactState {
 public:
  // The view read_canonical_view gave for `canonical_bytes`, with their
  // canonical_etag; nullopt if it cannot be held compactly (a URL longer
  // than 65,534 bytes, an ETag not in canonical_etag's form) or would not
  // write those very bytes again.
  static std::optional<CompactState> of(const WebhookConfigView& view, std::string_view etag,
                                        std::string_view canonical_bytes);
  // A file not in canonical form (a hand edit), read by yaml-cpp into
  // `state`: held as its canonical form is (so same_bytes still answers
  // for those bytes), and with the first 16 bytes of the file's SHA-256
  // (`file_digest`), which same_digest compares. nullopt as of().
  static std::optional<CompactState> of_hand_written(const ServiceState& state, const Sha256Digest& file_digest);
  // Whether `bytes` are exactly the canonical bytes this was made from
  // (compared with what the emitter would write, without a copy); if so,
  // *in_bytes is their configuration as views into `bytes`.
  bool same_bytes(std::string_view bytes, WebhookConfigView* in_bytes) const;
  // For an entry of_hand_written: whether a file whose SHA-256 is
  // `file_digest` is the file it was made from (the first 16 bytes of the
  // digest, as much as an ETag trusts); if so, *state is its configuration
  // and ETag. Always false for the others.
  bool same_digest(const Sha256Digest& file_digest, ServiceState* state) const;
  // "\"" + 32 hex digits + "\"", as canonical_etag gave it.
  std::string etag() const;
  Scope scope() const;
  // Counts a read of these bytes; true, and the count back at 0, on the
  // `every`th read since it last was (1 <= every <= 255).
  bool count_read(unsigned every);
  // The bytes of its one allocation.
  size_t size() const;

 private:
  // [0, 16) the ETag's 32 hex digits as bytes; then the header (compact_state.cc: kScope to kPostLen);
  // then the filters as indexes into the tables of names (a service's, then
  // an account's own), then the text of account_sid, pre_webhook_url and
  // post_webhook_url one after the other; of_hand_written's, the digest's
  // 16 bytes last.
  static std::optional<CompactState> make(const WebhookConfigView& view, std::string_view etag,
                                          std::string_view canonical_bytes, const uint8_t* digest);
  // The configuration as views into this entry (account_sid into *account
  // when held as 16 bytes, the filters' names into *names); the end of the text.
  const uint8_t* view(WebhookConfigView* v, char (&account)[34], std::string_view (&names)[32]) const;
  std::unique_ptr<uint8_t[]> data_;
};

}  // namespace webhookd
