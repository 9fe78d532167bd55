// /proc/self/stat (proc(5)): pid (comm) state ppid … utime(14) stime(15) …
// starttime(22) vsize(23) rss(24); /proc/self/fd for the open descriptors.
#include "edge/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace webhookd {
namespace {

// Field numbers of proc(5), counted from the state (field 3) after the last ')'.
constexpr int kState = 3, kUtime = 14, kStime = 15, kStartTime = 22, kRss = 24;

double seconds_of(clockid_t clock) {
  struct timespec ts;
  if (::clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool read_small_file(const char* path, char* buf, size_t size, size_t* length) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, buf, size);
  ::close(fd);
  if (n <= 0) return false;
  *length = static_cast<size_t>(n);
  return true;
}

// Open descriptors, without the one this count itself holds open.
bool count_open_fds(double* out) {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return false;
  const int own = ::dirfd(d);
  long n = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (std::atoi(e->d_name) == own) continue;
    ++n;
  }
  ::closedir(d);
  *out = static_cast<double>(n);
  return true;
}

}  // namespace

bool parse_proc_stat(std::string_view stat, double ticks_per_second, double page_size, double boot_time,
                     ProcessSample* out) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return false;
  std::string_view rest = stat.substr(close + 1);
  unsigned long long utime = 0, stime = 0, start = 0, rss = 0;
  int found = 0;
  for (int field = kState; field <= kRss; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t end = std::min(rest.find(' '), rest.size());
    const std::string_view token = rest.substr(0, end);
    if (token.empty()) return false;
    unsigned long long* into = field == kUtime ? &utime : field == kStime ? &stime : field == kStartTime ? &start
                               : field == kRss ? &rss : nullptr;
    if (into) {
      // rss may be negative in theory (proc(5) says long); then it is not a figure we can give.
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), *into);
      if (ec != std::errc() || p != token.data() + token.size()) return false;
      ++found;
    }
    rest.remove_prefix(end);
  }
  if (found != 4) return false;
  out->cpu_seconds = static_cast<double>(utime + stime) / ticks_per_second;
  out->resident_bytes = static_cast<double>(rss) * page_size;
  out->start_time_seconds = boot_time + static_cast<double>(start) / ticks_per_second;
  return true;
}

bool sample_process(ProcessSample* out) {
  char buf[1024];
  size_t length = 0;
  if (!read_small_file("/proc/self/stat", buf, sizeof buf, &length)) return false;
  const double boot_time = seconds_of(CLOCK_REALTIME) - seconds_of(CLOCK_BOOTTIME);
  if (!parse_proc_stat(std::string_view(buf, length), static_cast<double>(::sysconf(_SC_CLK_TCK)),
                       static_cast<double>(::sysconf(_SC_PAGESIZE)), boot_time, out)) {
    return false;
  }
  if (!count_open_fds(&out->open_fds)) return false;
  struct rlimit files;
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return false;
  out->max_fds = files.rlim_cur == RLIM_INFINITY ? 1.8446744073709552e19 : static_cast<double>(files.rlim_cur);
  return true;
}

}  // namespace webhookd
