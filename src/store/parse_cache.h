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
  // About 1.3 KB an entry (measured). Only the hot services are kept here
  // (StateStore::snapshot), the others compact (CompactCache): 1,024 of
  // these beside 100,000 compact ones keep webhookd within its 32 MB memory
  // goal even when every service has been hot once (measured).
  static constexpr size_t kDefaultCapacity = 1024;
  // 1,024 entries of 1 KiB files cost 3 MiB by cost_of.
  static constexpr size_t kDefaultBytes = 4u << 20;
  explicit ParseCache(size_t capacity = kDefaultCapacity, size_t bytes = kDefaultBytes);
  // The cached state if `bytes` are exactly the bytes it was parsed from.
  ServiceStatePtr find(const std::string& sid, const std::string& bytes);
  void put(const std::string& sid, const std::string& bytes, ServiceStatePtr state);
  size_t size();
  size_t bytes();
  // What an entry for a file of `file_bytes` bytes is counted as: the
  // file's bytes, its parsed state (whose strings come from those bytes: at
  // most as many again) and the objects around them (about 1 KiB: strings,
  // the filters' vector, the list's and the index's nodes, measured 1.3 KB
  // an entry in all for the bench's 200-byte files).
  static size_t cost_of(size_t file_bytes) { return 2 * file_bytes + 1024; }

 private:
  struct Entry {
    std::string sid;
    std::string bytes;
    ServiceStatePtr state;
  };
  // Sharded by SID so that worker threads rarely wait on one another.
  struct Shard {
    Mutex mu;
    std::list<Entry> lru GUARDED_BY(mu);  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index GUARDED_BY(mu);
    size_t bytes GUARDED_BY(mu) = 0;  // cost_of each entry
  };
  static constexpr size_t kShards = 8;
  Shard& shard(const std::string& sid);

  void drop_last(Shard& s) REQUIRES(s.mu);

  const size_t per_shard_, bytes_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace webhookd
