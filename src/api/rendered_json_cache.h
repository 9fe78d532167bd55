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
  // The hot services only, as many as the parse cache keeps: every entry
  // repeats a parsed state's JSON, and webhookd must stay within 32 MB with
  // 100,000 services.
  static constexpr size_t kDefaultCapacity = 1024;
  // 1,024 entries of 512-byte heads cost 3 MiB by Cost.
  static constexpr size_t kDefaultBytes = 4u << 20;
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
  // The head, and the state it holds (which the parse cache may have
  // dropped): its strings are about the head's, the objects around them
  // and the entry's own about 1 KiB.
  struct Cost {
    size_t operator()(const Entry& e) const { return 2 * e.head->size() + 1024; }
  };
  ShardedMap<std::string, Entry, std::hash<std::string>, Cost, 8> entries_;
};

}  // namespace webhookd
