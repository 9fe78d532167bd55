// CompactCache: the state files webhookd has read, one CompactState per
// SID, so that a GET of a file that is the same as last time skips the
// checks and the SHA-256 of its ETag (a file in canonical form), or the
// YAML parse (a hand-written one). A file is the same only when its bytes
// are (CompactState::same_bytes), or, hand-written, when their SHA-256 is
// (CompactState::same_digest); never by timestamps: a hand edit is seen by
// the very next request. Bounded in entries and in bytes: about 200 bytes
// an entry of short URLs (measured, with the allocator's and the map's
// own), so 100,000 services fit in webhookd's 32 MB; long URLs make entries
// larger, and fewer are kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/sharded_map.h"
#include "model/compact_state.h"

namespace webhookd {

// Thread-safe: any number of workers at once.
class CompactCache {
 public:
  // Room for 100,000 services: 6,656 a shard, where 100,000 SIDs put 6,250
  // on average (a few hundred more on the fullest).
  static constexpr size_t kDefaultCapacity = 106496;
  // 100,000 entries of the bench's files cost 18.4 MB by Cost (18.9 MB in
  // malloc's count, the buckets included: unit test). Longer URLs make
  // fewer entries; what Cost counts never passes this, though the map's
  // buckets stay as many as its most entries, and after every file changed
  // the allocator may keep freed chunks it cannot give back.
  static constexpr size_t kDefaultBytes = 19u << 20;
  explicit CompactCache(size_t capacity = kDefaultCapacity, size_t bytes = kDefaultBytes);
  // The ETag of `bytes` if they are exactly the canonical bytes last put for
  // this SID (a service's or an account's), and *in_bytes their
  // configuration as views into them; nullopt otherwise. *hot: this is the
  // `hot_every`th time these bytes were found since they were put or last
  // found hot.
  std::optional<std::string> etag_if_same(std::string_view sid, std::string_view bytes, WebhookConfigView* in_bytes,
                                          unsigned hot_every, bool* hot);
  // The state of a hand-written file (CompactState::of_hand_written) if
  // `file_digest` is the SHA-256 of the file last put for this SID; *hot as
  // for etag_if_same.
  std::optional<ServiceState> state_if_same_digest(std::string_view sid, const Sha256Digest& file_digest,
                                                   unsigned hot_every, bool* hot);
  void put(std::string_view sid, CompactState state);
  size_t size();
  size_t bytes();

 private:
  // A SID's 32 hex digits as 16 bytes, and its kind. Two SIDs that differ
  // only in the case of their digits share a key: harmless, as an entry
  // answers only for its very bytes, whichever file they were read from.
  struct Key {
    uint64_t hi = 0, lo = 0;
    bool account = false;
    bool operator==(const Key& o) const { return hi == o.hi && lo == o.lo && account == o.account; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = (k.hi ^ (k.lo * 0x9E3779B97F4A7C15ull)) + k.account;
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  // glibc's chunk for the entry's allocation (its size and 8 bytes of
  // header, in steps of 16), the map's node (64) and its bucket (8).
  struct Cost {
    size_t operator()(const CompactState& c) const { return (c.size() + 8 + 15) / 16 * 16 + 72; }
  };
  static std::optional<Key> key_of(std::string_view sid);
  // The entry of `sid`, of its kind, under its shard's lock: what prove
  // makes of it (nullopt: not the same file), the read counted when found.
  template <typename T, typename Prove>
  std::optional<T> find(std::string_view sid, unsigned hot_every, bool* hot, Prove prove);
  ShardedMap<Key, CompactState, KeyHash, Cost> entries_;
};

}  // namespace webhookd
