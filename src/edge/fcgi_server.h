// The FastCGI edge: worker threads that accept nginx's connections, turn each
// FastCGI request into an HttpRequest, call the handler and write the
// HttpResponse back. The only file that includes <fcgiapp.h>.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "api/http.h"
#include "base/result.h"
#include "edge/request_log.h"

namespace webhookd {

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// "unix:/path" or "host:port" / ":port"; returns the listening descriptor.
Result<int> open_listener(const std::string& spec);

class FcgiServer {
 public:
  FcgiServer(int listen_fd, int workers, RequestHandler handler);
  ~FcgiServer();
  // Starts the worker threads.
  Status start();
  // Stops accepting, lets every request in flight finish, joins the workers.
  void stop();

 private:
  void worker_loop();

  // How long an idle worker waits in accept() before it looks at the stop
  // flag: the most a stop waits for idle workers.
  static constexpr long kStopCheckMicros = 200 * 1000;

  int listen_fd_;
  int workers_;
  RequestHandler handler_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  RequestLog log_;  // one line per request on stderr
};

}  // namespace webhookd
