// Sharded LRU. Entries are shared_ptr<const>: a reader keeps its state alive
// even if another thread evicts or replaces the entry meanwhile.
#include "store/parse_cache.h"

#include <functional>

namespace webhookd {

ParseCache::ParseCache(size_t capacity, size_t bytes)
    : per_shard_(capacity / kShards > 0 ? capacity / kShards : 1), bytes_per_shard_(bytes / kShards) {}

ParseCache::Shard& ParseCache::shard(const std::string& sid) {
  return shards_[std::hash<std::string>{}(sid) % kShards];
}

ServiceStatePtr ParseCache::find(const std::string& sid, const std::string& bytes) {
  Shard& s = shard(sid);
  MutexLock lock(&s.mu);
  auto it = s.index.find(sid);
  if (it == s.index.end() || it->second->bytes != bytes) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->state;
}

size_t ParseCache::cost_of(const std::string& sid, const std::string& bytes, const ServiceState& state) {
  // The list's node (its links and an Entry: three strings' objects, a
  // shared_ptr, the cost) and the index's (its key, the iterator, the
  // link, the cached hash) and bucket, each with glibc's header: 208.
  return 208 + 2 * heap_bytes(sid) + heap_bytes(bytes) + heap_bytes(state);
}

void ParseCache::put(const std::string& sid, const std::string& bytes, ServiceStatePtr state) {
  // The entry is made first, so that its cost is that of the very strings
  // it holds (a copy's capacity is its size; the caller's may be twice it).
  std::list<Entry> made;
  made.push_back(Entry{sid, bytes, std::move(state), 0});
  Entry& e = made.front();
  e.cost = cost_of(e.sid, e.bytes, *e.state);
  const size_t cost = e.cost;
  Shard& s = shard(sid);
  MutexLock lock(&s.mu);
  auto it = s.index.find(sid);
  if (it != s.index.end()) {
    s.bytes -= it->second->cost;
    s.lru.erase(it->second);
    s.index.erase(it);
  }
  // Too large for the shard's share: parsed again each time, the old entry gone.
  if (cost > bytes_per_shard_) return;
  while (!s.lru.empty() && (s.lru.size() >= per_shard_ || s.bytes + cost > bytes_per_shard_)) drop_last(s);
  s.lru.splice(s.lru.begin(), made);
  s.index.emplace(sid, s.lru.begin());
  s.bytes += cost;
}

void ParseCache::drop_last(Shard& s) {
  s.bytes -= s.lru.back().cost;
  s.index.erase(s.lru.back().sid);
  s.lru.pop_back();
}

size_t ParseCache::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    MutexLock lock(&s.mu);
    n += s.lru.size();
  }
  return n;
}

size_t ParseCache::bytes() {
  size_t n = 0;
  for (Shard& s : shards_) {
    MutexLock lock(&s.mu);
    n += s.bytes;
  }
  return n;
}

}  // namespace webhookd
