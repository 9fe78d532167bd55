// RequestLog: the one line per request, written to stderr by a thread of its
// own, in batches. A write(2) per request was a measurable part of a GET's
// CPU; batched, a worker only appends to a buffer, and a line reaches stderr
// whole within kFlushDelay (stop() flushes everything before it returns).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

  // One line, ending in '\n'. Blocks only when the sink has fallen far
  // behind (a stalled stderr), as a write(2) of its own would.
  void append(std::string_view line);
  // Hands everything appended so far to the sink and stops the thread.
  void stop();

 private:
  void run();

  Sink sink_;
  std::mutex mu_;
  std::condition_variable wake_, drained_;
  std::string pending_;
  bool stopping_ = false;
  std::thread thread_;
};

// Splits text made of whole lines into chunks of at most `limit` bytes that
// end at a line's end (a longer line is a chunk of its own): each chunk is
// one write(2), and a write of at most PIPE_BUF bytes is never interleaved
// with another process's or thread's on a pipe, so no line is ever cut.
std::vector<std::string_view> split_at_lines(std::string_view text, size_t limit);

// The production sink: writes the lines to fd, PIPE_BUF bytes at most a call.
void write_lines(int fd, std::string_view lines);

}  // namespace webhookd
