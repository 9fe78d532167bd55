// RequestLog: the one line per request, written to stderr by a thread of its
// own, in batches. A write(2) per request was a measurable part of a GET's
// CPU; batched, a worker only appends to a buffer, and a line reaches stderr
// whole within kFlushDelay (stop() flushes everything before it returns).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/http.h"
#include "base/mutex.h"

namespace webhookd {

class RequestLog {
 public:
  // Receives batches of whole lines, from the log's own thread.
  using Sink = std::function<void(std::string_view lines)>;
  static constexpr std::chrono::milliseconds kFlushDelay{2};

  explicit RequestLog(Sink sink);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // One line, ending in '\n'. Any thread; never waits on the sink. When the
  // sink has fallen far behind (journald slower than the requests), the line
  // is dropped and counted: requests are never held up by their log, and a
  // stop never waits on journald.
  void append(std::string_view line) EXCLUDES(mu_);
  // Hands everything appended so far to the sink and stops the thread.
  void stop() EXCLUDES(mu_);
  // Lines dropped since the start, for webhookd_log_lines_dropped_total.
  unsigned long long dropped_total() const { return dropped_total_.load(std::memory_order_relaxed); }

 private:
  void run() EXCLUDES(mu_);

  const Sink sink_;
  Mutex mu_;
  std::condition_variable wake_;
  std::string pending_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  unsigned long long dropped_ GUARDED_BY(mu_) = 0;  // lines dropped since the last report
  std::atomic<unsigned long long> dropped_total_{0};
  std::thread thread_;
};

// The request's log line, ending in '\n', into *line (cleared first):
//   METHOD PATH STATUS account=AC… request_id=RQ… duration=1.234ms [error="…"]
// One line whatever the input (control characters become spaces). Never the
// Authorization header or a body: nothing secret reaches the journal.
void format_request_line(std::string* line, const HttpRequest& request, const HttpResponse& response,
                         std::chrono::nanoseconds took);

// Splits text made of whole lines into chunks of at most `limit` bytes that
// end at a line's end (a longer line is a chunk of its own): each chunk is
// one write(2), and a write of at most PIPE_BUF bytes is never interleaved
// with another process's or thread's on a pipe, so no line is ever cut.
std::vector<std::string_view> split_at_lines(std::string_view text, size_t limit);

// The production sink: writes the lines to fd, PIPE_BUF bytes at most a
// call. Gives up on the rest after kWriteStallMillis without progress (a journald
// that stopped reading): the log may lose lines, never stall the server.
void write_lines(int fd, std::string_view lines);
constexpr int kWriteStallMillis = 2000;

}  // namespace webhookd
