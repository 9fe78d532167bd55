#define BOOST_TEST_DYN_LINK
#include "edge/metrics.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/state_store.h"
#include "test_support.h"

using namespace webhookd;
using webhookd_test::TempDir;
using webhookd_test::write_file;

namespace {

const std::string kSid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

// The value of the sample line that starts with `series` (name and labels
// exactly as the text format writes them), or -1 when there is none.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

// The real file system, where someone acts once in the window between the
// store's unlocked read and its lock: another writer, a person, git.
class RacedFileSystem : public webhookd_test::FaultyFileSystem {
 public:
  std::function<void()> before_lock;
  Result<std::unique_ptr<FileLock>> lock(const std::string& p, LockFile make) override {
    if (before_lock) {
      auto act = std::move(before_lock);
      before_lock = nullptr;
      act();
    }
    return FaultyFileSystem::lock(p, make);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(requests_by_method_and_status_and_their_durations) {
  Metrics m("9.9.9");
  struct Case {
    const char* method;
    int status;
    int times;
  } cases[] = {{"GET", 200, 3}, {"HEAD", 304, 1}, {"POST", 412, 2}, {"DELETE", 405, 1}, {"PATCH", 405, 1},
               {"GET", 418, 2}};  // 418: never resolved at start, resolved on first use
  for (const auto& c : cases) {
    for (int i = 0; i < c.times; ++i) m.count_request(c.method, c.status, std::chrono::microseconds(120));
  }
  const std::string text = m.exposition(ServerStats{});
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="GET",status="200"})") == 3);
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="HEAD",status="304"})") == 1);
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="POST",status="412"})") == 2);
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="OTHER",status="405"})") == 2);
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="GET",status="418"})") == 2);
  // The usual ones read 0 before their first request.
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="POST",status="500"})") == 0);
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_count{method="GET"})") == 5);
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_count{method="OTHER"})") == 2);
  // 120 µs lands above the 100 µs bucket and within the 250 µs one.
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_bucket{method="GET",le="0.0001"})") == 0);
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_bucket{method="GET",le="0.00025"})") == 5);
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_bucket{method="GET",le="1"})") == 5);
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_bucket{method="GET",le="+Inf"})") == 5);
  BOOST_TEST(sample(text, R"(webhookd_build_info{version="9.9.9"})") == 1);
  BOOST_TEST(text.find("# TYPE webhookd_requests_total counter") != std::string::npos);
  BOOST_TEST(text.find("# TYPE webhookd_request_duration_seconds histogram") != std::string::npos);
}

// Counted from many workers at once, nothing is lost (the TSan run of make
// test runs this suite too).
BOOST_AUTO_TEST_CASE(counting_from_many_threads_loses_nothing) {
  Metrics m("x");
  const int kThreads = 8, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kEach; ++i) {
        // Half on a status resolved at start, half on ones resolved as they come.
        m.count_request(t % 2 ? "GET" : "POST", i % 2 ? 200 : 520 + t, std::chrono::microseconds(i % 3000));
        m.parse_cache_lookup(i % 3 == 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string text = m.exposition(ServerStats{});
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="GET",status="200"})") == kThreads / 2 * kEach / 2);
  BOOST_TEST(sample(text, R"(webhookd_requests_total{method="POST",status="200"})") == kThreads / 2 * kEach / 2);
  for (int t = 0; t < kThreads; ++t) {
    const std::string series = std::string(R"(webhookd_requests_total{method=")") + (t % 2 ? "GET" : "POST") +
                               R"(",status=")" + std::to_string(520 + t) + R"("})";
    BOOST_TEST(sample(text, series) == kEach / 2, series);
  }
  BOOST_TEST(sample(text, R"(webhookd_request_duration_seconds_count{method="GET"})") == kThreads / 2 * kEach);
  const double lookups = sample(text, R"(webhookd_parse_cache_lookups_total{result="hit"})") +
                         sample(text, R"(webhookd_parse_cache_lookups_total{result="miss"})");
  BOOST_TEST(lookups == kThreads * kEach);
}

// The store reports through StoreObserver; the metrics count what it says.
BOOST_AUTO_TEST_CASE(the_store_reports_lookups_errors_and_group_commits) {
  TempDir dir;
  webhookd_test::FaultyFileSystem fs;
  Metrics m("x");
  StateStore store(fs, dir.path(), ParseCache::kDefaultCapacity, &m);
  write_file(dir.file(kSid + ".yaml"), "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
  BOOST_TEST_REQUIRE(store.load(kSid).ok());  // miss
  BOOST_TEST_REQUIRE(store.load(kSid).ok());  // hit
  auto set_get = [](const ServiceState& s) -> Result<WebhookConfig> {
    WebhookConfig next = s.config;
    next.method = "GET";
    return next;
  };
  BOOST_TEST_REQUIRE(store.update(kSid, set_get).ok());  // one group commit of one update
  write_file(dir.file(kSid + ".yaml"), "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbogus: 1\n");
  BOOST_TEST(!store.load(kSid).ok());  // invalid
  write_file(dir.file(kSid + ".yaml"), "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
  fs.fail = webhookd_test::Op::kSync;  // a failed write: an I/O error and a failed commit
  BOOST_TEST(!store.update(kSid, set_get).ok());
  fs.fail = webhookd_test::Op::kNone;
  fs.read_errno = ENOTCONN;  // the directory fails: an I/O error too
  fs.dir_errno = ENOTCONN;
  BOOST_TEST(!store.load(kSid).ok());
  const std::string text = m.exposition(ServerStats{});
  BOOST_TEST(sample(text, R"(webhookd_state_writes_total{result="ok"})") == 1);
  BOOST_TEST(sample(text, R"(webhookd_state_writes_total{result="error"})") == 1);
  BOOST_TEST(sample(text, "webhookd_state_write_duration_seconds_count") == 2);
  BOOST_TEST(sample(text, "webhookd_group_commit_updates_sum") == 2);
  BOOST_TEST(sample(text, R"(webhookd_group_commit_updates_bucket{le="1"})") == 2);
  BOOST_TEST(sample(text, R"(webhookd_state_errors_total{kind="invalid"})") == 1);
  BOOST_TEST(sample(text, R"(webhookd_state_errors_total{kind="io"})") == 2);
  BOOST_TEST(sample(text, R"(webhookd_parse_cache_lookups_total{result="hit"})") >= 1);
  BOOST_TEST(sample(text, R"(webhookd_parse_cache_lookups_total{result="miss"})") >= 1);
}

// webhookd_state_writes_total and the write histograms count writes: a
// group that wrote nothing (its change a no-op by the time the lock was
// taken, a 412 under the lock, the file removed or made invalid in that
// window) is no write, neither ok nor error; only a failed lock, temp file,
// rename or directory fsync is a write error (what the clients then hear is
// a 500 or 503, as WebhookdStateWriteErrors says).
BOOST_AUTO_TEST_CASE(only_attempted_writes_are_counted_as_writes) {
  const std::string plain = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
  const std::string kRemoved = "<removed>";
  auto set_get = [](const ServiceState& s) -> Result<WebhookConfig> {
    WebhookConfig next = s.config;
    next.method = "GET";
    return next;
  };
  struct Case {
    const char* name;
    std::string in_the_window;  // the file as the lock is taken; "": left alone
    webhookd_test::Op fail;
    bool if_match;  // the mutation refuses (412) unless the ETag is the one first read
    std::optional<ErrorCode> want;  // none: the update succeeds
    double ok, error, timed, updates, invalid;
  } cases[] = {
      {"a write", "", webhookd_test::Op::kNone, false, std::nullopt, 1, 0, 1, 1, 0},
      {"a no-op by the time of the lock", plain + "method: GET\n", webhookd_test::Op::kNone, false, std::nullopt,
       0, 0, 0, 0, 0},
      {"a 412 under the lock", plain + "method: POST\n", webhookd_test::Op::kNone, true, ErrorCode::kConflict, 0, 0,
       0, 0, 0},
      {"the service removed before the lock", kRemoved, webhookd_test::Op::kNone, false, ErrorCode::kNotFound, 0, 0,
       0, 0, 0},
      {"an invalid edit before the lock", plain + "bogus: 1\n", webhookd_test::Op::kNone, false,
       ErrorCode::kCorruption, 0, 0, 0, 0, 1},
      {"the lock fails", "", webhookd_test::Op::kLock, false, ErrorCode::kIOError, 0, 1, 1, 1, 0},
      {"the rename fails", "", webhookd_test::Op::kRename, false, ErrorCode::kIOError, 0, 1, 1, 1, 0},
      {"the directory fsync fails", "", webhookd_test::Op::kSyncDir, false, ErrorCode::kIOError, 0, 1, 1, 1, 0},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir dir;
      RacedFileSystem fs;
      Metrics m("x");
      StateStore store(fs, dir.path(), ParseCache::kDefaultCapacity, &m);
      const std::string path = dir.file(kSid + ".yaml");
      write_file(path, plain);
      const std::string first_etag = store.load(kSid).value()->etag;
      fs.fail = c.fail;
      if (c.in_the_window == kRemoved) {
        fs.before_lock = [&] { ::unlink(path.c_str()); };
      } else if (!c.in_the_window.empty()) {
        fs.before_lock = [&] { write_file(path, c.in_the_window); };
      }
      auto updated = store.update(kSid, [&](const ServiceState& s) -> Result<WebhookConfig> {
        if (c.if_match && s.etag != first_etag) return Error::conflict("precondition failed");
        return set_get(s);
      });
      BOOST_TEST(updated.ok() == !c.want.has_value());
      if (!updated.ok() && c.want) BOOST_TEST(updated.error().code == *c.want);
      const std::string text = m.exposition(ServerStats{});
      BOOST_TEST(sample(text, R"(webhookd_state_writes_total{result="ok"})") == c.ok);
      BOOST_TEST(sample(text, R"(webhookd_state_writes_total{result="error"})") == c.error);
      BOOST_TEST(sample(text, "webhookd_state_write_duration_seconds_count") == c.timed);
      BOOST_TEST(sample(text, "webhookd_group_commit_updates_count") == c.timed);
      BOOST_TEST(sample(text, "webhookd_group_commit_updates_sum") == c.updates);
      BOOST_TEST(sample(text, R"(webhookd_state_errors_total{kind="invalid"})") == c.invalid);
    }
  }
}

BOOST_AUTO_TEST_CASE(server_figures_reloads_and_the_process) {
  Metrics m("x");
  const std::string at_start = m.exposition(ServerStats{});
  const double loaded = sample(at_start, "webhookd_config_last_reload_success_timestamp_seconds");
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  BOOST_TEST(loaded <= now);
  BOOST_TEST(loaded > now - 60);
  m.config_reload(false);
  m.config_reload(true);
  m.config_reload(true);
  ServerStats s;
  s.connections_open = 7;
  s.workers_busy = 3;
  s.connections_refused = 11;
  s.requests_timed_out = 2;
  s.log_lines_dropped = 5;
  const std::string text = m.exposition(s);
  BOOST_TEST(sample(text, R"(webhookd_config_reloads_total{result="ok"})") == 2);
  BOOST_TEST(sample(text, R"(webhookd_config_reloads_total{result="refused"})") == 1);
  BOOST_TEST(sample(text, "webhookd_config_last_reload_success_timestamp_seconds") >= loaded);
  BOOST_TEST(sample(text, "webhookd_connections_open") == 7);
  BOOST_TEST(sample(text, "webhookd_workers_busy") == 3);
  BOOST_TEST(sample(text, "webhookd_connections_refused_total") == 11);
  BOOST_TEST(sample(text, "webhookd_requests_timed_out_total") == 2);
  BOOST_TEST(sample(text, "webhookd_log_lines_dropped_total") == 5);
  BOOST_TEST(text.find("# TYPE webhookd_connections_refused_total counter") != std::string::npos);
  BOOST_TEST(text.find("# TYPE webhookd_workers_busy gauge") != std::string::npos);
  BOOST_TEST(sample(text, "process_open_fds") > 0);
  BOOST_TEST(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
  BOOST_TEST(sample(text, "process_resident_memory_bytes") > 1e6);
  BOOST_TEST(sample(text, "process_cpu_seconds_total") >= 0);
  BOOST_TEST(sample(text, "process_start_time_seconds") <= now);
  BOOST_TEST(sample(text, "process_start_time_seconds") > now - 3600);
}

BOOST_AUTO_TEST_SUITE_END()
