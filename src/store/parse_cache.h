// ParseCache: the parsed form of state files webhookd has seen, keyed by SID
// and checked against the file's exact bytes. A hit skips the YAML parse and
// the ETag digest; any change to the bytes (a hand edit, another host's
// write) is a miss. Timestamps are never trusted: two same-size edits within
// the clock's granularity would look alike. Bounded (LRU) in entries and in
// bytes, so memory grows neither with the number of services nor with the
// size of their files (a hand-written file may hold up to 1 MiB).
#pragma once

#include <array>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "model/state_file.h"

namespace webhookd {

using ServiceStatePtr = std::shared_ptr<const ServiceState>;

// Thread-safe: any number of threads may find and put at once.
class ParseCache {
 public:
  // About 1.1 KB an entry of the bench's files (cost_of). Only the hot
  // services are kept here (StateStore::snapshot), the others compact
  // (CompactCache).
  static constexpr size_t kDefaultCapacity = 1024;
  // About 950 entries of the bench's files, fewer of larger ones. The three
  // caches' budgets (19 + 1 + 1 MiB) are what keeps webhookd near its 32 MB
  // when every cache is full of the longest URLs (tests/bench/README.md).
  static constexpr size_t kDefaultBytes = 1u << 20;
  explicit ParseCache(size_t capacity = kDefaultCapacity, size_t bytes = kDefaultBytes);
  // The cached state if `bytes` are exactly the bytes it was parsed from.
  ServiceStatePtr find(const std::string& sid, const std::string& bytes);
  void put(const std::string& sid, const std::string& bytes, ServiceStatePtr state);
  size_t size();
  size_t bytes();
  // What an entry is counted as: the file's bytes, its SID (twice: the
  // entry's and the index's), its state (heap_bytes) and the list's and the
  // index's nodes.
  static size_t cost_of(const std::string& sid, const std::string& bytes, const ServiceState& state);

 private:
  struct Entry {
    std::string sid;
    std::string bytes;
    ServiceStatePtr state;
    size_t cost;  // cost_of, when it was put
  };
  // Sharded by SID so that worker threads rarely wait on one another.
  struct Shard {
    Mutex mu;
    std::list<Entry> lru GUARDED_BY(mu);  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index GUARDED_BY(mu);
    size_t bytes GUARDED_BY(mu) = 0;  // the entries' cost
  };
  static constexpr size_t kShards = 8;
  Shard& shard(const std::string& sid);

  void drop_last(Shard& s) REQUIRES(s.mu);

  const size_t per_shard_, bytes_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace webhookd
