// ParseCache: the parsed form of state files webhookd has seen, keyed by SID
// and checked against the file's exact bytes. A hit skips the YAML parse and
// the ETag digest; any change to the bytes (a hand edit, another host's
// write) is a miss. Timestamps are never trusted: two same-size edits within
// the clock's granularity would look alike. Bounded (LRU), so memory does not
// grow with the number of services.
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
  explicit ParseCache(size_t capacity = kDefaultCapacity);
  // The cached state if `bytes` are exactly the bytes it was parsed from.
  ServiceStatePtr find(const std::string& sid, const std::string& bytes);
  void put(const std::string& sid, const std::string& bytes, ServiceStatePtr state);
  size_t size();

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
  };
  static constexpr size_t kShards = 8;
  Shard& shard(const std::string& sid);

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace webhookd
