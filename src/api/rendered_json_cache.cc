// Rendering happens outside the shard's lock; two workers that miss at once
// both render and the second put wins, which is harmless (same bytes).
// Eviction drops an arbitrary entry of a full shard: a miss costs one render.
#include "api/rendered_json_cache.h"

#include <functional>

#include "api/json_render.h"

namespace webhookd {

RenderedJsonCache::RenderedJsonCache(size_t capacity)
    : per_shard_(capacity / kShards > 0 ? capacity / kShards : 1) {}

ApiResult<std::shared_ptr<const std::string>> RenderedJsonCache::head(const std::string& sid,
                                                                      const ServiceStatePtr& state) {
  Shard& s = shards_[std::hash<std::string>{}(sid) % kShards];
  {
    MutexLock lock(&s.mu);
    auto it = s.entries.find(sid);
    if (it != s.entries.end() && it->second.state == state) return it->second.head;
  }
  auto rendered = render_config_head(state->config, sid);
  if (!rendered.ok()) return rendered.error();
  auto head = std::make_shared<const std::string>(std::move(rendered.value()));
  MutexLock lock(&s.mu);
  auto it = s.entries.find(sid);
  if (it == s.entries.end() && s.entries.size() >= per_shard_) s.entries.erase(s.entries.begin());
  s.entries[sid] = Entry{state, head};
  return head;
}

size_t RenderedJsonCache::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    MutexLock lock(&s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace webhookd
