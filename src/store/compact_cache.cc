// A ShardedMap by SID; the comparison runs under the shard's lock (a few
// thousand instructions), the SHA-256 of a miss outside it. Eviction drops
// an arbitrary entry of a full shard: a miss costs one check and one digest
// (a hand-written file's, a parse).
#include "store/compact_cache.h"

#include "base/text.h"

namespace webhookd {

CompactCache::CompactCache(size_t capacity, size_t bytes) : entries_(capacity, bytes) {}

std::optional<CompactCache::Key> CompactCache::key_of(std::string_view sid) {
  if (sid.size() != 34) return std::nullopt;
  Key k;
  k.account = sid[0] == 'A';
  for (size_t i = 2; i < 34; ++i) {
    const int d = hex_digit_value(sid[i]);
    if (d < 0) return std::nullopt;
    uint64_t& half = i < 18 ? k.hi : k.lo;
    half = half << 4 | static_cast<uint64_t>(d);
  }
  return k;
}

template <typename T, typename Prove>
std::optional<T> CompactCache::find(std::string_view sid, unsigned hot_every, bool* hot, Prove prove) {
  const std::optional<Key> key = key_of(sid);
  if (!key) return std::nullopt;
  const Scope scope = key->account ? Scope::kAccount : Scope::kService;
  return entries_.with(*key, [&](CompactState* entry) -> std::optional<T> {
    if (!entry || entry->scope() != scope) return std::nullopt;
    std::optional<T> found = prove(*entry);
    if (found) *hot = entry->count_read(hot_every);
    return found;
  });
}

std::optional<std::string> CompactCache::etag_if_same(std::string_view sid, std::string_view bytes,
                                                      WebhookConfigView* in_bytes, unsigned hot_every,
                                                      bool* hot) {
  return find<std::string>(sid, hot_every, hot, [&](const CompactState& entry) -> std::optional<std::string> {
    if (!entry.same_bytes(bytes, in_bytes)) return std::nullopt;
    return entry.etag();
  });
}

std::optional<ServiceState> CompactCache::state_if_same_digest(std::string_view sid, const Sha256Digest& file_digest,
                                                               unsigned hot_every, bool* hot) {
  return find<ServiceState>(sid, hot_every, hot, [&](const CompactState& entry) -> std::optional<ServiceState> {
    ServiceState state;
    if (!entry.same_digest(file_digest, &state)) return std::nullopt;
    return state;
  });
}

void CompactCache::put(std::string_view sid, CompactState state) {
  if (const std::optional<Key> key = key_of(sid)) entries_.put(*key, std::move(state));
}

size_t CompactCache::size() { return entries_.size(); }

size_t CompactCache::bytes() { return entries_.bytes(); }

}  // namespace webhookd
