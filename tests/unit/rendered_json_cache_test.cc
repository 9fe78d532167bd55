#define BOOST_TEST_DYN_LINK
#include "api/rendered_json_cache.h"

#include <boost/test/unit_test.hpp>

#include <memory>

#include "api/json_render.h"
#include "test_support.h"

using namespace webhookd;

namespace {

ServiceStatePtr state(const std::string& method) {
  auto s = std::make_shared<ServiceState>();
  s->config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  s->config.method = method;
  s->etag = config_etag(s->config);
  return s;
}

const std::string kSid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

}  // namespace

BOOST_AUTO_TEST_SUITE(rendered_json_cache)

BOOST_AUTO_TEST_CASE(one_render_per_parsed_state) {
  RenderedJsonCache cache(64);
  ServiceStatePtr get = state("GET");
  auto first = cache.head(kSid, get);
  BOOST_TEST_REQUIRE(first.ok());
  BOOST_TEST(*first.value() == render_config_head(get->config, kSid).value());
  auto again = cache.head(kSid, get);
  BOOST_TEST(again.value().get() == first.value().get());  // the very same rendering
  // Another state object, even with equal contents, is rendered anew: the
  // object's identity is the check, never a comparison that could be wrong.
  ServiceStatePtr post = state("POST");
  auto changed = cache.head(kSid, post);
  BOOST_TEST(changed.value().get() != first.value().get());
  BOOST_TEST(changed.value()->find("\"method\":\"POST\"") != std::string::npos);
  BOOST_TEST(cache.head(kSid, get).value()->find("\"method\":\"GET\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(is_bounded) {
  RenderedJsonCache cache(16);
  ServiceStatePtr s = state("GET");
  for (int i = 0; i < 1000; ++i) {
    BOOST_TEST_REQUIRE(cache.head(numbered_sid("IS", i), s).ok());
  }
  BOOST_TEST(cache.size() <= 16u);
}

// Bounded in bytes too: long URLs make fewer entries, never more bytes.
BOOST_AUTO_TEST_CASE(is_bounded_in_bytes) {
  const size_t budget = 256 * 1024;
  RenderedJsonCache cache(1024, budget);
  auto long_urls = std::make_shared<ServiceState>();
  long_urls->config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  long_urls->config.pre_webhook_url = "https://x/" + std::string(4000, 'u');
  long_urls->config.post_webhook_url = "https://y/" + std::string(4000, 'u');
  long_urls->etag = config_etag(long_urls->config);
  for (int i = 0; i < 1000; ++i) {
    BOOST_TEST_REQUIRE(cache.head(numbered_sid("IS", i), long_urls).ok());
  }
  BOOST_TEST(cache.bytes() <= budget);
  BOOST_TEST(cache.size() > 0u);
  BOOST_TEST(cache.size() < 40u);  // about 10 KB each by its Cost
}

// The budget bounds real memory (malloc's figures): heads and the states
// they hold, of many filters and long URLs, the states nowhere else.
BOOST_AUTO_TEST_CASE(holds_no_more_memory_than_its_budget) {
  if (!heap_in_use()) return;  // a sanitizer's allocator: not measurable here
  const size_t budget = 512 * 1024;
  auto cache = std::make_unique<RenderedJsonCache>(100000, budget);
  const size_t base = *heap_in_use();
  for (int i = 0; i < 2000; ++i) {
    BOOST_TEST_REQUIRE(cache->head(numbered_sid("IS", i), large_state(i)).ok());
  }
  const size_t held = *heap_in_use() - base;
  BOOST_TEST_MESSAGE("rendered JSON: " << cache->size() << " entries, " << cache->bytes() << " bytes by Cost, " << held
                                       << " in malloc's count");
  BOOST_TEST(cache->size() > 20u);
  BOOST_TEST(held <= budget + budget / 10);
  BOOST_TEST(cache->bytes() >= held * 9 / 10);
}

BOOST_AUTO_TEST_CASE(a_value_that_is_not_utf8_is_an_error_not_cached) {
  RenderedJsonCache cache(16);
  auto bad = std::make_shared<ServiceState>();
  bad->config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  bad->config.pre_webhook_url = "https://x/\xFF";
  auto got = cache.head(kSid, bad);
  BOOST_TEST_REQUIRE(!got.ok());
  BOOST_TEST((got.error().kind == ApiErrorKind::kInternal));
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
