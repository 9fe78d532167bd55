// ShardedMap: a bounded map that any number of threads use at once, split
// into shards each under its own mutex, so that workers rarely wait on one
// another. Bounded twice: in entries, and in bytes as Cost counts them
// (an entry's own allocations and the map's), for a count alone let a few
// long URLs or a large file grow a cache far past the memory goal. A full
// shard drops an arbitrary entry to make room: the caches built on it only
// ever cost one recomputation for a miss, so an LRU's bookkeeping would not
// pay. An entry costing more than a shard's share of the bytes is not kept.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include "base/mutex.h"

namespace webhookd {

template <typename Key, typename Value, typename Hash, typename Cost, size_t kShards = 16>
class ShardedMap {
 public:
  ShardedMap(size_t capacity, size_t byte_budget)
      : per_shard_(capacity / kShards > 0 ? capacity / kShards : 1), bytes_per_shard_(byte_budget / kShards) {}

  // fn(Value*) under the shard's lock: the entry of `key`, or nullptr.
  template <typename Fn>
  auto with(const Key& key, Fn fn) {
    Shard& s = shard(key);
    MutexLock lock(&s.mu);
    auto it = s.entries.find(key);
    return fn(it == s.entries.end() ? nullptr : &it->second);
  }

  // Sets the entry of `key`, first making room in a full shard; one that
  // could never fit only takes the old entry away.
  void put(const Key& key, Value value) {
    const size_t cost = Cost{}(value);
    Shard& s = shard(key);
    MutexLock lock(&s.mu);
    auto it = s.entries.find(key);
    if (it != s.entries.end()) {
      s.bytes -= Cost{}(it->second);
      s.entries.erase(it);
    }
    if (cost > bytes_per_shard_) return;
    while (!s.entries.empty() && (s.entries.size() >= per_shard_ || s.bytes + cost > bytes_per_shard_)) {
      s.bytes -= Cost{}(s.entries.begin()->second);
      s.entries.erase(s.entries.begin());
    }
    s.bytes += cost;
    s.entries.emplace(key, std::move(value));
  }

  size_t size() {
    size_t n = 0;
    for (Shard& s : shards_) {
      MutexLock lock(&s.mu);
      n += s.entries.size();
    }
    return n;
  }

  // What Cost counts for the entries held.
  size_t bytes() {
    size_t n = 0;
    for (Shard& s : shards_) {
      MutexLock lock(&s.mu);
      n += s.bytes;
    }
    return n;
  }

 private:
  struct Shard {
    Mutex mu;
    std::unordered_map<Key, Value, Hash> entries GUARDED_BY(mu);
    size_t bytes GUARDED_BY(mu) = 0;
  };
  Shard& shard(const Key& key) { return shards_[Hash{}(key) % kShards]; }

  const size_t per_shard_, bytes_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace webhookd
