#define BOOST_TEST_DYN_LINK
#include "store/parse_cache.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "test_support.h"

using namespace webhookd;

namespace {

ServiceStatePtr state(const std::string& method) {
  auto s = std::make_shared<ServiceState>();
  s->config.method = method;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parse_cache)

BOOST_AUTO_TEST_CASE(hits_only_on_the_exact_bytes) {
  ParseCache cache(64);
  cache.put(numbered_sid("IS", 1), "method: GET\n", state("GET"));
  struct Case {
    std::string sid, bytes;
    bool hit;
  } cases[] = {
      {numbered_sid("IS", 1), "method: GET\n", true},
      {numbered_sid("IS", 1), "method: GET \n", false},  // one byte more
      {numbered_sid("IS", 1), "method: PUT\n", false},   // same size
      {numbered_sid("IS", 1), "", false},
      {numbered_sid("IS", 2), "method: GET\n", false},   // another service
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sid << " " << c.bytes) { BOOST_TEST((cache.find(c.sid, c.bytes) != nullptr) == c.hit); }
  }
  cache.put(numbered_sid("IS", 1), "method: POST\n", state("POST"));  // replaced, not added
  BOOST_TEST(cache.size() == 1u);
  BOOST_TEST(cache.find(numbered_sid("IS", 1), "method: POST\n")->config.method.value() == "POST");
  BOOST_TEST(cache.find(numbered_sid("IS", 1), "method: GET\n") == nullptr);
}

BOOST_AUTO_TEST_CASE(is_bounded_and_evicts_the_least_recently_used) {
  ParseCache cache(64);  // 8 shards of 8
  for (int i = 0; i < 10000; ++i) cache.put(numbered_sid("IS", i), "x", state("GET"));
  BOOST_TEST(cache.size() <= 64u);
  BOOST_TEST(cache.find(numbered_sid("IS", 9999), "x") != nullptr);  // the newest stays
  BOOST_TEST(cache.find(numbered_sid("IS", 0), "x") == nullptr);     // the oldest went
}

// Bounded in bytes too: large files (a hand edit may hold up to 1 MiB)
// never make the cache hold more than its budget; a file too large for a
// shard's share is not kept, and takes its old entry away.
BOOST_AUTO_TEST_CASE(is_bounded_in_bytes_whatever_the_files) {
  const std::string big(10000, '#');
  std::string file = big + "100";
  file.shrink_to_fit();  // as the entry's copy: capacity is what is counted
  const size_t each = ParseCache::cost_of(numbered_sid("IS", 100), file, *state("GET"));
  const size_t budget = 8 * each;  // one such file a shard
  ParseCache cache(1024, budget);
  for (int i = 100; i < 300; ++i) cache.put(numbered_sid("IS", i), big + std::to_string(i), state("GET"));
  BOOST_TEST(cache.bytes() <= budget);
  BOOST_TEST(cache.size() <= 8u);
  BOOST_TEST(cache.find(numbered_sid("IS", 299), big + "299") != nullptr);  // the newest stays
  cache.put(numbered_sid("IS", 1), "x", state("GET"));
  BOOST_TEST(cache.find(numbered_sid("IS", 1), "x") != nullptr);
  cache.put(numbered_sid("IS", 1), std::string(20000, '#'), state("POST"));  // more than a shard's share
  BOOST_TEST(cache.find(numbered_sid("IS", 1), std::string(20000, '#')) == nullptr);
  BOOST_TEST(cache.find(numbered_sid("IS", 1), "x") == nullptr);
  BOOST_TEST(cache.bytes() <= budget);
  size_t held = 0;  // bytes() is what the entries held cost, no more
  for (int i = 100; i < 300; ++i) {
    if (cache.find(numbered_sid("IS", i), big + std::to_string(i))) held += each;
  }
  BOOST_TEST(cache.bytes() == held);
}

// The budget bounds real memory, not only the cache's own count: states of
// many filters and long URLs, from large files, measured with malloc's
// own figures.
BOOST_AUTO_TEST_CASE(holds_no_more_memory_than_its_budget) {
  const std::optional<size_t> before = heap_in_use();
  if (!before) return;  // a sanitizer's allocator: not measurable here
  const size_t budget = 512 * 1024;
  auto cache = std::make_unique<ParseCache>(100000, budget);
  const size_t base = *heap_in_use();
  for (int i = 0; i < 3000; ++i) {
    cache->put(numbered_sid("IS", i), std::string(3000 + i % 7, '#'), large_state(i));
  }
  const size_t held = *heap_in_use() - base;
  BOOST_TEST_MESSAGE("parse cache: " << cache->size() << " entries, " << cache->bytes() << " bytes by cost_of, "
                                     << held << " in malloc's count");
  BOOST_TEST(cache->size() > 20u);
  BOOST_TEST(held <= budget + budget / 10);
  BOOST_TEST(cache->bytes() >= held * 9 / 10);  // the count is about the memory, not far below it
}

BOOST_AUTO_TEST_CASE(a_reader_keeps_its_state_after_eviction) {
  ParseCache cache(8);
  cache.put(numbered_sid("IS", 1), "x", state("GET"));
  ServiceStatePtr held = cache.find(numbered_sid("IS", 1), "x");
  for (int i = 2; i < 100; ++i) cache.put(numbered_sid("IS", i), "x", state("POST"));
  BOOST_TEST(held->config.method.value() == "GET");
}

// Workers find and put at once, on few SIDs (the same shards) and past the
// capacity (evictions under readers). Run under TSan by make test: any data
// race in the cache fails it. Here: every hit is the state put for exactly
// those bytes, never another's.
BOOST_AUTO_TEST_CASE(concurrent_finds_and_puts_see_only_matching_states,
                     *boost::unit_test::timeout(120)) {
  ParseCache cache(64);  // 8 a shard: 40 SIDs fill some shards past it
  constexpr int kThreads = 6, kRounds = 4000, kSids = 40;
  std::atomic<int> wrong{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const int n = (i * 7 + t) % kSids;
        const std::string method = (i / 64) % 2 ? "GET" : "POST";  // phases: threads agree most of the time
        const std::string bytes = numbered_sid("IS", n) + method;  // the bytes name the state they hold
        if ((i + t) % 3 == 0) {
          auto s = std::make_shared<ServiceState>();
          s->config.method = method;
          s->etag = bytes;
          cache.put(numbered_sid("IS", n), bytes, s);
        } else if (ServiceStatePtr found = cache.find(numbered_sid("IS", n), bytes)) {
          ++hits;
          if (found->etag != bytes || found->config.method != method) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(hits.load() > 0);
  BOOST_TEST(cache.size() <= 64u);
}

BOOST_AUTO_TEST_SUITE_END()
