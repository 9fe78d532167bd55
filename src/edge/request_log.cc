// The batching writer behind the request log. Workers append under a mutex
// and wake the writer only when the buffer was empty; the writer waits
// kFlushDelay for more lines, so under load one write carries many requests.
#include "edge/request_log.h"

#include "base/thread_name.h"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace webhookd {
namespace {
// Past this much unwritten log (about 5,000 lines: bursts fit), lines are
// dropped and counted instead of growing memory or holding up requests.
constexpr size_t kMaxPending = 1 << 20;
}  // namespace

RequestLog::RequestLog(Sink sink) : sink_(std::move(sink)), thread_([this] { run(); }) {}

RequestLog::~RequestLog() { stop(); }

void RequestLog::append(std::string_view line) {
  MutexLock lk(&mu_);
  if (pending_.size() >= kMaxPending && !stopping_) {
    ++dropped_;  // reported with the next batch
    dropped_total_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool was_empty = pending_.empty();
  pending_.append(line);
  lk.unlock();
  if (was_empty) wake_.notify_one();
}

void RequestLog::stop() {
  {
    MutexLock lk(&mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RequestLog::run() {
  name_this_thread("request-log");
  std::string batch;
  MutexLock lk(&mu_);
  for (;;) {
    mu_.wait(wake_, [&]() REQUIRES(mu_) { return !pending_.empty() || stopping_; });
    // Let the lines of the requests now in flight join this write.
    if (!stopping_) (void)mu_.wait_for(wake_, kFlushDelay, [&]() REQUIRES(mu_) { return stopping_; });
    batch.swap(pending_);
    if (dropped_ != 0) {
      batch += "webhookd: " + std::to_string(dropped_) + " request log line(s) dropped: stderr (journald) too slow\n";
      dropped_ = 0;
    }
    const bool last = stopping_;
    lk.unlock();
    if (!batch.empty()) sink_(batch);
    batch.clear();
    lk.lock();
    // Lines appended during the last write are written before stopping.
    if (last && pending_.empty()) return;
  }
}

std::vector<std::string_view> split_at_lines(std::string_view text, size_t limit) {
  std::vector<std::string_view> chunks;
  while (!text.empty()) {
    size_t end;
    if (text.size() <= limit) {
      end = text.size();
    } else {
      end = text.rfind('\n', limit - 1);
      if (end == std::string_view::npos) end = text.find('\n');  // one line longer than limit
      end = end == std::string_view::npos ? text.size() : end + 1;
    }
    chunks.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return chunks;
}

void write_lines(int fd, std::string_view lines) {
  for (std::string_view chunk : split_at_lines(lines, PIPE_BUF)) {
    while (!chunk.empty()) {
      // Only once fd can take more: a reader that stopped reading costs
      // this thread kWriteStallMillis, then the rest of the batch.
      struct pollfd p = {fd, POLLOUT, 0};
      int ready = ::poll(&p, 1, kWriteStallMillis);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return;
      ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return;  // stderr gone: the log cannot report its own failure
      }
      chunk.remove_prefix(static_cast<size_t>(n));
    }
  }
}

namespace {
void append_number(std::string& out, unsigned long long n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}
}  // namespace

void format_request_line(std::string* out, const HttpRequest& req, const HttpResponse& resp,
                         std::chrono::nanoseconds took) {
  std::string& line = *out;
  line.clear();
  const std::string* id = resp.header("Twilio-Request-Id");
  line.append(req.method).append(" ").append(req.path).append(" ");
  append_number(line, static_cast<unsigned>(resp.status));
  line.append(" account=").append(resp.account_sid.empty() ? "-" : resp.account_sid);
  line.append(" request_id=").append(id ? *id : "-");
  // duration=<ms>.<3 digits>ms, without printf's floating point.
  const long long ns = took.count() < 0 ? 0 : static_cast<long long>(took.count());
  const unsigned long long us = static_cast<unsigned long long>((ns + 500) / 1000);
  line.append(" duration=");
  append_number(line, us / 1000);
  const unsigned frac = static_cast<unsigned>(us % 1000);
  const char millis[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
  line.append(millis, 4).append("ms");
  if (!resp.log_detail.empty()) line.append(" error=\"").append(resp.log_detail).append("\"");
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';  // one request, one journal line
  }
  line += '\n';
}

}  // namespace webhookd
