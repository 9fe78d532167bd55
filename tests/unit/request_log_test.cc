#define BOOST_TEST_DYN_LINK
#include "edge/request_log.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(request_log, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(lines_from_many_threads_arrive_whole_once_in_order_and_batched) {
  std::mutex mu;
  std::string written;
  int writes = 0;
  const int kThreads = 8, kLines = 2000;
  {
    RequestLog log([&](std::string_view lines) {
      std::lock_guard<std::mutex> lk(mu);
      BOOST_TEST((!lines.empty() && lines.back() == '\n'));  // whole lines only
      written.append(lines);
      ++writes;
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kLines; ++i) log.append("GET t" + std::to_string(t) + " n" + std::to_string(i) + "\n");
      });
    }
    for (auto& th : threads) th.join();
  }  // the destructor flushes
  std::map<int, int> next;  // thread -> next line number expected
  std::istringstream in(written);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    int t = -1, n = -1;
    BOOST_TEST_REQUIRE(std::sscanf(line.c_str(), "GET t%d n%d", &t, &n) == 2);
    BOOST_TEST(n == next[t]);
    next[t] = n + 1;
    ++count;
  }
  BOOST_TEST(count == kThreads * kLines);
  BOOST_TEST(writes < count / 10);  // one write carries many requests
}

BOOST_AUTO_TEST_CASE(a_line_reaches_the_sink_soon_without_more_traffic_and_stop_flushes) {
  std::mutex mu;
  std::string written;
  RequestLog log([&](std::string_view lines) {
    std::lock_guard<std::mutex> lk(mu);
    written.append(lines);
  });
  log.append("one\n");
  for (int i = 0; i < 2000; ++i) {  // up to 2 s; kFlushDelay is 2 ms
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!written.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    BOOST_TEST(written == "one\n");
  }
  log.append("two\n");
  log.stop();
  BOOST_TEST(written == "one\ntwo\n");
}

BOOST_AUTO_TEST_CASE(chunks_end_at_line_ends_and_fit_the_limit) {
  struct Case {
    std::string text;
    size_t limit;
    std::vector<std::string> chunks;
  } cases[] = {
      {"", 10, {}},
      {"a\n", 10, {"a\n"}},
      {"aaa\nbbb\n", 10, {"aaa\nbbb\n"}},
      {"aaa\nbbb\nccc\n", 10, {"aaa\nbbb\n", "ccc\n"}},
      {"aaaaaaaaa\n", 10, {"aaaaaaaaa\n"}},          // exactly the limit
      {"aaaaaaaaaaaa\nb\n", 10, {"aaaaaaaaaaaa\n", "b\n"}},  // a line longer than the limit stands alone
      {"a\nbbbbbbbbbbbb\n", 10, {"a\n", "bbbbbbbbbbbb\n"}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto got = split_at_lines(c.text, c.limit);
      std::vector<std::string> strings(got.begin(), got.end());
      BOOST_TEST(strings == c.chunks, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(write_lines_writes_everything_to_the_fd) {
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += "GET /v1/Services/x 200 request_id=" + std::to_string(i) + "\n";
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  });
  write_lines(fds[1], lines);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  BOOST_TEST(got == lines);
}

// A sink that stops taking lines (journald fallen behind) must never hold
// requests up: past the backlog limit an append drops its line at once, and
// the count of dropped lines is reported once the sink moves again.
BOOST_AUTO_TEST_CASE(a_stalled_sink_never_blocks_appenders_for_long) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::string written;
  RequestLog log([&](std::string_view lines) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait_for(lk, std::chrono::seconds(30), [&] { return release; });  // bounded, as every wait in a test
    written.append(lines);
  });
  const std::string line(1000, 'x');
  const auto started = std::chrono::steady_clock::now();
  int appended = 0;
  // Over 3 MiB while the sink is stuck: one batch taken, a backlog filled, the rest dropped.
  for (; appended < 3000; ++appended) {
    log.append(line + "\n");
    if (appended == 100) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the writer takes a batch and sticks
  }
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2000);  // never waited on the sink
  {
    std::lock_guard<std::mutex> lk(mu);
    release = true;
  }
  cv.notify_all();
  log.stop();
  BOOST_TEST(written.find("request log line(s) dropped: stderr (journald) too slow") != std::string::npos);
  BOOST_TEST(written.size() < 3000u * 1001u);  // some were dropped
  // webhookd_log_lines_dropped_total: every line that was not written, counted.
  const size_t lines_written = static_cast<size_t>(std::count(written.begin(), written.end(), 'x')) / 1000;
  BOOST_TEST(log.dropped_total() > 0u);
  BOOST_TEST(log.dropped_total() + lines_written == 3000u);
}

BOOST_AUTO_TEST_CASE(write_lines_gives_up_on_a_reader_that_stopped) {
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  const std::string lots((1 << 20) + 1, '\n');  // more than a pipe holds, nobody reading
  const auto started = std::chrono::steady_clock::now();
  write_lines(fds[1], lots);
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() >= kWriteStallMillis - 100);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < kWriteStallMillis + 3000);
  ::close(fds[0]);
  ::close(fds[1]);
}

// The journal line of one request: its fields, one line whatever the
// input, and never a credential or a body.
BOOST_AUTO_TEST_CASE(format_request_line_fields_and_secrets) {
  struct Case {
    const char* name;
    std::string method, path;
    int status;
    std::string account, detail;
    long long ns;
    std::string want;
  } cases[] = {
      {"ok", "GET", "/v1/Services/ISa/Configuration/Webhooks", 200, "ACa", "", 1234567,
       "GET /v1/Services/ISa/Configuration/Webhooks 200 account=ACa request_id=RQ1 duration=1.235ms\n"},
      {"unauthenticated", "POST", "/p", 401, "", "", 999, "POST /p 401 account=- request_id=RQ1 duration=0.001ms\n"},
      {"internal error detail", "GET", "/p", 500, "ACa", "f.yaml:2:1: duplicate key", 0,
       "GET /p 500 account=ACa request_id=RQ1 duration=0.000ms error=\"f.yaml:2:1: duplicate key\"\n"},
      {"control characters", "GET", "/p\r\nX-Injected: 1", 404, "ACa", "a\nb", 2000000000,
       "GET /p  X-Injected: 1 404 account=ACa request_id=RQ1 duration=2000.000ms error=\"a b\"\n"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      HttpRequest req;
      req.method = c.method;
      req.path = c.path;
      req.authorization = "Basic QUNhOnNlY3JldC10b2tlbg==";  // ACa:secret-token
      req.body = "PreWebhookUrl=https%3A%2F%2Fsecret";
      HttpResponse resp;
      resp.status = c.status;
      resp.account_sid = c.account;
      resp.log_detail = c.detail;
      resp.set_header("Twilio-Request-Id", "RQ1");
      std::string line = "left over from the last request";
      format_request_line(&line, req, resp, std::chrono::nanoseconds(c.ns));
      BOOST_TEST(line == c.want);
      BOOST_TEST(line.find("QUNh") == std::string::npos);
      BOOST_TEST(line.find("secret") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
