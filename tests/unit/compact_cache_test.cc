#define BOOST_TEST_DYN_LINK
#include "store/compact_cache.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <cstdio>
#include <thread>
#include <vector>

#include "model/state_file.h"
#include "test_support.h"

using namespace webhookd;

namespace {

std::string file(int i) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npre_webhook_url: https://x/%d\n"
                "post_webhook_url: null\nfilters: null\nmethod: POST\n",
                i);
  return buf;
}

CompactState compact(const std::string& bytes, Scope scope = Scope::kService) {
  auto view = read_canonical_view(bytes, scope);
  BOOST_TEST_REQUIRE(view.has_value());
  auto c = CompactState::of(*view, canonical_etag(bytes), bytes);
  BOOST_TEST_REQUIRE(c.has_value());
  return std::move(*c);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compact_cache)

BOOST_AUTO_TEST_CASE(answers_only_for_the_same_bytes_of_the_same_sid) {
  CompactCache cache(64);
  const std::string a = numbered_sid("IS", 1), b = numbered_sid("IS", 2);
  cache.put(a, compact(file(1)));
  WebhookConfigView v;
  bool hot = false;
  auto etag = cache.etag_if_same(a, file(1), &v, 8, &hot);
  BOOST_TEST_REQUIRE(etag.has_value());
  BOOST_TEST(*etag == canonical_etag(file(1)));
  BOOST_TEST(!hot);  // the first of 8
  BOOST_TEST(!cache.etag_if_same(a, file(2), &v, 8, &hot).has_value());  // a changed file
  BOOST_TEST(!cache.etag_if_same(b, file(1), &v, 8, &hot).has_value());  // another service
  BOOST_TEST(!cache.etag_if_same(numbered_sid("AC", 1), file(1), &v, 8, &hot).has_value());  // an account, same digits
  BOOST_TEST(!cache.etag_if_same("ISnothex", file(1), &v, 8, &hot).has_value());
  cache.put(a, compact(file(2)));  // replaced, not added
  BOOST_TEST(cache.etag_if_same(a, file(2), &v, 8, &hot).has_value());
  BOOST_TEST(!cache.etag_if_same(a, file(1), &v, 8, &hot).has_value());
  BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_account_file_has_its_own_entry) {
  CompactCache cache(64);
  const std::string bytes = "pre_webhook_url: null\npost_webhook_url: null\nfilters: []\nmethod: POST\ntarget: flex\n";
  cache.put(numbered_sid("AC", 7), compact(bytes, Scope::kAccount));
  WebhookConfigView v;
  bool hot = false;
  BOOST_TEST(cache.etag_if_same(numbered_sid("AC", 7), bytes, &v, 8, &hot).has_value());
  BOOST_TEST(!cache.etag_if_same(numbered_sid("IS", 7), bytes, &v, 8, &hot).has_value());
}

// Bounded: however many services are read, it keeps at most its capacity.
BOOST_AUTO_TEST_CASE(holds_its_bound) {
  CompactCache cache(160);
  for (int i = 0; i < 5000; ++i) cache.put(numbered_sid("IS", i), compact(file(i)));
  BOOST_TEST(cache.size() <= 160u);
  BOOST_TEST(cache.size() >= 100u);  // and does hold entries
  // What it holds still answers only for its own bytes.
  WebhookConfigView v;
  bool hot = false;
  int found = 0;
  for (int i = 0; i < 5000; ++i) {
    if (cache.etag_if_same(numbered_sid("IS", i), file(i), &v, 8, &hot)) ++found;
    BOOST_TEST(!cache.etag_if_same(numbered_sid("IS", i), file(i + 1), &v, 8, &hot).has_value());
  }
  BOOST_TEST(found == static_cast<int>(cache.size()));
}

// Bounded in bytes too: entries with long URLs are fewer, and never hold
// more than the budget, however many are put.
BOOST_AUTO_TEST_CASE(holds_its_byte_bound_whatever_the_urls) {
  auto long_file = [](int i) {
    return "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npre_webhook_url: https://x/" + std::to_string(i) + "/" +
           std::string(2000, 'u') + "\npost_webhook_url: null\nfilters: null\nmethod: POST\n";
  };
  const size_t budget = 1 << 20;
  CompactCache cache(100000, budget);
  for (int i = 0; i < 5000; ++i) cache.put(numbered_sid("IS", i), compact(long_file(i)));
  BOOST_TEST(cache.bytes() <= budget);
  BOOST_TEST(cache.bytes() > budget / 2);  // and does hold entries
  BOOST_TEST(cache.size() < 600u);        // about 2,100 bytes each
  WebhookConfigView v;
  bool hot = false;
  int found = 0;
  for (int i = 0; i < 5000; ++i) {
    if (cache.etag_if_same(numbered_sid("IS", i), long_file(i), &v, 8, &hot)) ++found;
  }
  BOOST_TEST(found == static_cast<int>(cache.size()));
  // One entry larger than a shard's share is not kept, and takes the old one away.
  CompactCache small(100, 16 * 1024);  // 1 KiB a shard
  small.put(numbered_sid("IS", 1), compact(file(1)));
  BOOST_TEST(small.etag_if_same(numbered_sid("IS", 1), file(1), &v, 8, &hot).has_value());
  small.put(numbered_sid("IS", 1), compact(long_file(1)));
  BOOST_TEST(!small.etag_if_same(numbered_sid("IS", 1), long_file(1), &v, 8, &hot).has_value());
  BOOST_TEST(!small.etag_if_same(numbered_sid("IS", 1), file(1), &v, 8, &hot).has_value());
  BOOST_TEST(small.bytes() == 0u);
}

// The budget bounds real memory (malloc's figures), the map's own
// included: 2,048-byte URLs, many filters.
BOOST_AUTO_TEST_CASE(holds_no_more_memory_than_its_budget) {
  if (!heap_in_use()) return;  // a sanitizer's allocator: not measurable here
  const size_t budget = 1 << 20;
  auto cache = std::make_unique<CompactCache>(1000000, budget);
  const size_t base = *heap_in_use();
  for (int i = 0; i < 3000; ++i) {
    const std::string url = "https://x/" + std::to_string(i) + "/" + std::string(2030, 'u');
    std::string text = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npre_webhook_url: " + url +
                       "\npost_webhook_url: " + url + "\nfilters:\n";
    for (const char* f : {"onMessageAdd", "onMessageAdded", "onMessageRemove", "onMessageRemoved", "onMessageUpdate",
                          "onMessageUpdated", "onConversationAdd", "onConversationAdded"}) {
      text += std::string("  - ") + f + "\n";
    }
    text += "method: POST\n";
    cache->put(numbered_sid("IS", i), compact(text));
  }
  const size_t held = *heap_in_use() - base;
  BOOST_TEST_MESSAGE("compact cache: " << cache->size() << " entries, " << cache->bytes() << " bytes by Cost, "
                                       << held << " in malloc's count");
  BOOST_TEST(cache->size() > 100u);
  BOOST_TEST(held <= budget + budget / 10);
  BOOST_TEST(cache->bytes() >= held * 9 / 10);
}

// The defaults hold 100,000 services of `make bench`'s file (what the
// memory goal is measured with) within the byte budget: every one kept.
BOOST_AUTO_TEST_CASE(the_defaults_hold_the_benchs_100000_services) {
  const std::string bench = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npre_webhook_url: https://www.example.com/pre\n"
                            "post_webhook_url: https://www.example.com/post\nfilters:\n  - onMessageRemove\n"
                            "  - onParticipantAdd\nmethod: POST\n";
  const CompactState one = compact(bench);
  const std::optional<size_t> before = heap_in_use();
  auto cache_ptr = std::make_unique<CompactCache>();
  CompactCache& cache = *cache_ptr;
  for (int i = 0; i < 100000; ++i) cache.put(numbered_sid("IS", i), compact(bench));
  BOOST_TEST(cache.size() == 100000u);
  BOOST_TEST(cache.bytes() <= CompactCache::kDefaultBytes);
  if (before) {  // and in real memory, the map's buckets included
    const size_t held = *heap_in_use() - *before;
    BOOST_TEST_MESSAGE("100,000 entries in malloc's count: " << held);
    BOOST_TEST(held <= CompactCache::kDefaultBytes);
  }
  BOOST_TEST_MESSAGE("100,000 entries: " << cache.bytes() << " bytes by Cost; one entry's allocation " << one.size());
}

// Hot on every 8th read of the same bytes, again after each.
BOOST_AUTO_TEST_CASE(says_hot_on_every_nth_read) {
  CompactCache cache(64);
  cache.put(numbered_sid("IS", 1), compact(file(1)));
  WebhookConfigView v;
  for (int i = 1; i <= 24; ++i) {
    bool hot = false;
    BOOST_TEST_REQUIRE(cache.etag_if_same(numbered_sid("IS", 1), file(1), &v, 8, &hot).has_value());
    BOOST_TEST(hot == (i % 8 == 0));
  }
}

// Workers read and replace entries at once: an answer is always the ETag of
// the very bytes asked about, never another file's.
BOOST_AUTO_TEST_CASE(threads_never_get_another_files_etag) {
  CompactCache cache(256);
  std::vector<std::string> files, etags;
  for (int i = 0; i < 8; ++i) {
    files.push_back(file(i));
    etags.push_back(canonical_etag(files.back()));
  }
  std::atomic<int> wrong{0}, found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      WebhookConfigView v;
      bool hot = false;
      for (int n = 0; n < 3000; ++n) {
        const int s = (n * 7 + t) % 300, f = (n + t) % 8;
        if (n % 3 == 0) {  // no Boost.Test assertion off the main thread
          auto view = read_canonical_view(files[f], Scope::kService);
          auto c = view ? CompactState::of(*view, etags[f], files[f]) : std::nullopt;
          if (c) cache.put(numbered_sid("IS", s), std::move(*c));
          else ++wrong;
        }
        if (auto etag = cache.etag_if_same(numbered_sid("IS", s), files[f], &v, 8, &hot)) {
          ++found;
          if (*etag != etags[f] || config_of(v).pre_webhook_url != "https://x/" + std::to_string(f)) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(found.load() > 0);
  BOOST_TEST(cache.size() <= 256u);
}

BOOST_AUTO_TEST_SUITE_END()
