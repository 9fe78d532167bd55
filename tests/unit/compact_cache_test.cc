#define BOOST_TEST_DYN_LINK
#include "store/compact_cache.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
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

std::string sid(const char* prefix, int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%032x", prefix, i);
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
  const std::string a = sid("IS", 1), b = sid("IS", 2);
  cache.put(a, compact(file(1)));
  WebhookConfigView v;
  unsigned reads = 0;
  auto etag = cache.etag_if_same(a, file(1), &v, &reads);
  BOOST_TEST_REQUIRE(etag.has_value());
  BOOST_TEST(*etag == canonical_etag(file(1)));
  BOOST_TEST(reads == 1u);
  BOOST_TEST(!cache.etag_if_same(a, file(2), &v, &reads).has_value());  // a changed file
  BOOST_TEST(!cache.etag_if_same(b, file(1), &v, &reads).has_value());  // another service
  BOOST_TEST(!cache.etag_if_same(sid("AC", 1), file(1), &v, &reads).has_value());  // an account, same digits
  BOOST_TEST(!cache.etag_if_same("ISnothex", file(1), &v, &reads).has_value());
  cache.put(a, compact(file(2)));  // replaced, not added
  BOOST_TEST(cache.etag_if_same(a, file(2), &v, &reads).has_value());
  BOOST_TEST(!cache.etag_if_same(a, file(1), &v, &reads).has_value());
  BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_account_file_has_its_own_entry) {
  CompactCache cache(64);
  const std::string bytes = "pre_webhook_url: null\npost_webhook_url: null\nfilters: []\nmethod: POST\ntarget: flex\n";
  cache.put(sid("AC", 7), compact(bytes, Scope::kAccount));
  WebhookConfigView v;
  unsigned reads = 0;
  BOOST_TEST(cache.etag_if_same(sid("AC", 7), bytes, &v, &reads).has_value());
  BOOST_TEST(!cache.etag_if_same(sid("IS", 7), bytes, &v, &reads).has_value());
}

// Bounded: however many services are read, it keeps at most its capacity.
BOOST_AUTO_TEST_CASE(holds_its_bound) {
  CompactCache cache(160);
  for (int i = 0; i < 5000; ++i) cache.put(sid("IS", i), compact(file(i)));
  BOOST_TEST(cache.size() <= 160u);
  BOOST_TEST(cache.size() >= 100u);  // and does hold entries
  // What it holds still answers only for its own bytes.
  WebhookConfigView v;
  unsigned reads = 0;
  int found = 0;
  for (int i = 0; i < 5000; ++i) {
    if (cache.etag_if_same(sid("IS", i), file(i), &v, &reads)) ++found;
    BOOST_TEST(!cache.etag_if_same(sid("IS", i), file(i + 1), &v, &reads).has_value());
  }
  BOOST_TEST(found == static_cast<int>(cache.size()));
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
      unsigned reads = 0;
      for (int n = 0; n < 3000; ++n) {
        const int s = (n * 7 + t) % 300, f = (n + t) % 8;
        if (n % 3 == 0) {  // no Boost.Test assertion off the main thread
          auto view = read_canonical_view(files[f], Scope::kService);
          auto c = view ? CompactState::of(*view, etags[f], files[f]) : std::nullopt;
          if (c) cache.put(sid("IS", s), std::move(*c));
          else ++wrong;
        }
        if (auto etag = cache.etag_if_same(sid("IS", s), files[f], &v, &reads)) {
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
