// The FastCGI edge: worker threads that accept nginx's connections, turn each
// FastCGI request into an HttpRequest, call the handler and write the
// HttpResponse back. The only file that includes <fcgiapp.h>.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/http.h"
#include "base/mutex.h"
#include "base/result.h"
#include "edge/request_log.h"

// libfcgi's request, declared here so that only fcgi_server.cc includes <fcgiapp.h>.
struct FCGX_Request;

namespace webhookd {

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// "unix:/path" or "host:port" / ":port"; returns the listening descriptor.
Result<int> open_listener(const std::string& spec);

struct FcgiServerOptions {
  int workers = 16;
  // Open connections at most; past it a new connection is closed at once
  // (nginx then answers 502, which its error page makes a JSON 503) and a
  // line says so in the log.
  int max_connections = 4096;
  // The most a worker waits for the rest of a request, or for nginx to take
  // an answer: a stalled connection is dropped, and frees its worker.
  std::chrono::milliseconds io_timeout{5000};
};

// Serves nginx's connections, kept or not, with a fixed set of worker
// threads and no thread per connection. Every connection waits in one epoll
// set, registered EPOLLONESHOT; idle workers wait in epoll_wait on it, so the
// kernel hands each readable connection to exactly one of them. That worker
// serves one request through libfcgi and gives the connection back (re-arms
// it), or closes it. An idle kept connection holds no worker.
class FcgiServer {
 public:
  FcgiServer(int listen_fd, FcgiServerOptions options, RequestHandler handler);
  ~FcgiServer();
  // Starts the worker threads.
  Status start();
  // Stops taking new requests, lets every request in flight finish, closes
  // the idle connections, joins the workers.
  void stop();

 private:
  void worker_loop();
  // Accepts what is waiting; returns the first connection (-1 if none), not
  // yet in the epoll set, for the caller to serve at once.
  int accept_connections();
  // Serves one request (or management record) on fd and says what became
  // of the connection: kept for the next request, to be closed, or closed
  // already (by libfcgi, or because nginx did not keep it).
  enum class Outcome { kKeep, kClose, kClosed };
  Outcome serve_one(int fd, ::FCGX_Request& req);
  // One request through libfcgi on io_fd (the connection, or a socket pair).
  Outcome serve_request(int io_fd, ::FCGX_Request& req);
  // A request that arrived in pieces and was gathered in memory.
  Outcome serve_buffered_request(int fd, std::string_view request, ::FCGX_Request& req);
  // The part of a split request taken so far: only the worker holding the
  // connection touches it (EPOLLONESHOT); the lock orders the hand-over.
  std::string take_pending(int fd);
  void store_pending(int fd, std::string bytes);
  void close_connection(int fd);
  bool park(int fd);  // back into the epoll set for its next request

  const int listen_fd_;
  const FcgiServerOptions options_;
  RequestHandler handler_;
  int epoll_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::atomic<long long> stop_deadline_ms_{0};  // steady clock: the most a stop waits for partial requests
  std::atomic<int> partial_requests_{0};        // connections holding part of a request (pending_)
  std::atomic<int> open_connections_{0};
  std::atomic<long long> last_cap_log_{0};
  // parked_[fd] is 1 while connection fd waits in the epoll set (owned by no
  // worker): what stop() closes once the workers are gone. Indexed by fd,
  // sized to the descriptor limit; set before re-arming, cleared by the
  // worker that takes the event.
  std::unique_ptr<std::atomic<unsigned char>[]> parked_;
  size_t parked_size_ = 0;
  std::unique_ptr<std::atomic<unsigned char>[]> has_pending_;  // pending_[fd] is not empty
  Mutex pending_mu_;
  std::unordered_map<int, std::string> pending_ GUARDED_BY(pending_mu_);
  std::vector<std::thread> threads_;
  RequestLog log_;  // one line per request on stderr
};

}  // namespace webhookd
