// Rendering happens outside the shard's lock; two workers that miss at once
// both render and the second put wins, which is harmless (same bytes).
// Eviction drops an arbitrary entry of a full shard: a miss costs one render.
#include "api/rendered_json_cache.h"

#include "api/json_render.h"

namespace webhookd {

RenderedJsonCache::RenderedJsonCache(size_t capacity, size_t bytes) : entries_(capacity, bytes) {}

ApiResult<std::shared_ptr<const std::string>> RenderedJsonCache::head(const std::string& sid,
                                                                      const ServiceStatePtr& state) {
  std::shared_ptr<const std::string> cached =
      entries_.with(sid, [&](Entry* e) { return e && e->state == state ? e->head : nullptr; });
  if (cached) return cached;
  auto rendered = render_config_head(state->config, sid);
  if (!rendered.ok()) return rendered.error();
  auto head = std::make_shared<const std::string>(std::move(rendered.value()));
  entries_.put(sid, Entry{state, head});
  return head;
}

size_t RenderedJsonCache::Cost::operator()(const Entry& e) const {
  // The node (key, Entry, link, cached hash: 96 with glibc's header), the
  // key's 34 characters (48), the bucket (8), make_shared's block of the
  // head (48).
  return 200 + heap_bytes(*e.head) + heap_bytes(*e.state);
}

size_t RenderedJsonCache::size() { return entries_.size(); }

size_t RenderedJsonCache::bytes() { return entries_.bytes(); }

}  // namespace webhookd
