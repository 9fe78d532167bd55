// ShardedMap: a bounded map that any number of threads use at once, split
// into shards each under its own mutex, so that workers rarely wait on one
// another. A full shard drops an arbitrary entry to make room: the caches
// built on it (the compact states, the rendered JSON) only ever cost one
// recomputation for a miss, so an LRU's bookkeeping would not pay.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <unordered_map>
#include <utility>

#include "base/mutex.h"

namespace webhookd {

template <typename Key, typename Value, typename Hash = std::hash<Key>, size_t kShards = 16>
class ShardedMap {
 public:
  explicit ShardedMap(size_t capacity) : per_shard_(capacity / kShards > 0 ? capacity / kShards : 1) {}

  // fn(Value*) under the shard's lock: the entry of `key`, or nullptr.
  template <typename Fn>
  auto with(const Key& key, Fn fn) {
    Shard& s = shard(key);
    MutexLock lock(&s.mu);
    auto it = s.entries.find(key);
    return fn(it == s.entries.end() ? nullptr : &it->second);
  }

  // Sets the entry of `key`, first making room in a full shard.
  void put(const Key& key, Value value) {
    Shard& s = shard(key);
    MutexLock lock(&s.mu);
    auto it = s.entries.find(key);
    if (it != s.entries.end()) {
      it->second = std::move(value);
      return;
    }
    if (s.entries.size() >= per_shard_) s.entries.erase(s.entries.begin());
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

 private:
  struct Shard {
    Mutex mu;
    std::unordered_map<Key, Value, Hash> entries GUARDED_BY(mu);
  };
  Shard& shard(const Key& key) { return shards_[Hash{}(key) % kShards]; }

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace webhookd
