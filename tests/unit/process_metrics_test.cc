#define BOOST_TEST_DYN_LINK
#include "edge/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(process_metrics)

// proc(5): utime 14, stime 15, starttime 22, rss 24, counted from the last ')'.
BOOST_AUTO_TEST_CASE(proc_stat_lines) {
  const std::string tail = " S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 16 0 5000 123456789 300 18446744073709551615";
  struct Case {
    std::string line;
    bool ok;
  } cases[] = {
      {"4242 (webhookd)" + tail, true},
      {"4242 (web hookd)" + tail, true},           // a space in the name
      {"4242 (web) (hook) S)" + tail, true},        // parentheses in the name: the last ')' counts
      {"4242 (webhookd) S 1 2 3", false},           // cut short
      {"4242 webhookd" + tail, false},              // no name at all
      {"4242 (webhookd) S 1 2 3 4 5 6 7 8 9 10 x 150 0 0 20 0 16 0 5000 1 300", false},  // not a number
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.line) {
      ProcessSample s;
      BOOST_TEST(parse_proc_stat(c.line, 100, 4096, 1000000, &s) == c.ok);
      if (c.ok) {
        BOOST_TEST(s.cpu_seconds == 4.0);                  // (250 + 150) / 100
        BOOST_TEST(s.resident_bytes == 300.0 * 4096);
        BOOST_TEST(s.start_time_seconds == 1000000 + 50.0);  // boot + 5000 / 100
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(this_process) {
  ProcessSample s;
  BOOST_TEST_REQUIRE(sample_process(&s));
  struct rlimit files;
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  BOOST_TEST(s.max_fds == static_cast<double>(files.rlim_cur));
  BOOST_TEST(s.open_fds >= 3);  // stdin, stdout, stderr at least
  BOOST_TEST(s.open_fds <= s.max_fds);
  BOOST_TEST(s.resident_bytes > 1e6);
  const double now = static_cast<double>(::time(nullptr));
  BOOST_TEST(s.start_time_seconds <= now + 1);
  BOOST_TEST(s.start_time_seconds > now - 24 * 3600);
}

BOOST_AUTO_TEST_SUITE_END()
