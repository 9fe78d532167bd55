// The batching writer behind the request log. Workers append under a mutex
// and wake the writer only when the buffer was empty; the writer waits
// kFlushDelay for more lines, so under load one write carries many requests.
#include "edge/request_log.h"

#include <limits.h>
#include <unistd.h>

#include <cerrno>

namespace webhookd {
namespace {
// Past this much unwritten log, appenders wait for the writer (backpressure
// instead of unbounded memory when stderr stalls).
constexpr size_t kMaxPending = 1 << 20;
}  // namespace

RequestLog::RequestLog(Sink sink) : sink_(std::move(sink)), thread_([this] { run(); }) {}

RequestLog::~RequestLog() { stop(); }

void RequestLog::append(std::string_view line) {
  std::unique_lock<std::mutex> lk(mu_);
  drained_.wait(lk, [&] { return pending_.size() < kMaxPending || stopping_; });
  const bool was_empty = pending_.empty();
  pending_.append(line);
  lk.unlock();
  if (was_empty) wake_.notify_one();
}

void RequestLog::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  drained_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RequestLog::run() {
  std::string batch;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    wake_.wait(lk, [&] { return !pending_.empty() || stopping_; });
    // Let the lines of the requests now in flight join this write.
    if (!stopping_) wake_.wait_for(lk, kFlushDelay, [&] { return stopping_; });
    batch.swap(pending_);
    const bool last = stopping_;
    lk.unlock();
    drained_.notify_all();
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
      ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // stderr gone: the log cannot report its own failure
      }
      chunk.remove_prefix(static_cast<size_t>(n));
    }
  }
}

}  // namespace webhookd
