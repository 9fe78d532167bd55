// Sharded by key; the comparison runs under the shard's lock (a few
// thousand instructions), the SHA-256 of a miss outside it. Eviction drops
// an arbitrary entry of a full shard: a miss costs one check and one digest.
#include "store/compact_cache.h"

#include "base/text.h"

namespace webhookd {

CompactCache::CompactCache(size_t capacity) : per_shard_(capacity / kShards > 0 ? capacity / kShards : 1) {}

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

std::optional<std::string> CompactCache::etag_if_same(std::string_view sid, std::string_view bytes,
                                                      WebhookConfigView* in_bytes, unsigned* reads) {
  const std::optional<Key> key = key_of(sid);
  if (!key) return std::nullopt;
  Shard& s = shards_[KeyHash{}(*key) % kShards];
  MutexLock lock(&s.mu);
  auto it = s.entries.find(*key);
  if (it == s.entries.end() || it->second.scope() != (key->account ? Scope::kAccount : Scope::kService) ||
      !it->second.same_bytes(bytes, in_bytes)) {
    return std::nullopt;
  }
  *reads = it->second.count_read();
  return it->second.etag();
}

void CompactCache::put(std::string_view sid, CompactState state) {
  const std::optional<Key> key = key_of(sid);
  if (!key) return;
  Shard& s = shards_[KeyHash{}(*key) % kShards];
  MutexLock lock(&s.mu);
  auto it = s.entries.find(*key);
  if (it != s.entries.end()) {
    it->second = std::move(state);
    return;
  }
  if (s.entries.size() >= per_shard_) s.entries.erase(s.entries.begin());
  s.entries.emplace(*key, std::move(state));
}

size_t CompactCache::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    MutexLock lock(&s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace webhookd
