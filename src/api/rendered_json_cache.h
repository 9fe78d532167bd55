// The stored part of each resource's JSON, rendered once per parsed state and
// not once per request. The store hands out the same ServiceState object for
// as long as a file's bytes stay the same, so that object's identity is the
// check: an entry holds its state (which keeps the address from being reused)
// and is used only for the very same object. A bounded ShardedMap, as the
// compact cache is; it lives in the API because the JSON is the API's.
#pragma once

#include <memory>
#include <string>

#include "api/api_error.h"
#include "base/sharded_map.h"
#include "store/parse_cache.h"

namespace webhookd {

// Thread-safe: any number of workers at once.
class RenderedJsonCache {
 public:
  // The hot services only, about as many as the parse cache keeps: every
  // entry repeats a parsed state's JSON (see ParseCache::kDefaultBytes for
  // the three caches' budgets together).
  static constexpr size_t kDefaultCapacity = 1024;
  // About 950 entries of the bench's services (1.1 KB each by Cost).
  static constexpr size_t kDefaultBytes = 1u << 20;
  explicit RenderedJsonCache(size_t capacity = kDefaultCapacity, size_t bytes = kDefaultBytes);
  // render_config_head of this state of this service.
  ApiResult<std::shared_ptr<const std::string>> head(const std::string& sid, const ServiceStatePtr& state);
  size_t size();
  size_t bytes();

 private:
  struct Entry {
    ServiceStatePtr state;
    std::shared_ptr<const std::string> head;
  };
  // The head (its capacity, and make_shared's block around it), the state
  // it holds (which the parse cache may have dropped: heap_bytes), the key
  // and the map's node and bucket.
  struct Cost {
    size_t operator()(const Entry& e) const;
  };
  ShardedMap<std::string, Entry, std::hash<std::string>, Cost, 8> entries_;
};

}  // namespace webhookd
