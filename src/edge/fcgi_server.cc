// Threads accept connections themselves (a blocking accept4 that gives up
// every kStopCheckMicros to look at the stop flag) and hand each connection
// to libfcgi. Why not FCGX_Accept_r's own accept: it blocks for good, a thread
// in accept() only wakes on a signal, and FCGX_ShutdownPending() makes every
// later libfcgi read fail with EINTR, cutting short the requests in flight.
#include "edge/fcgi_server.h"

#include "base/request_id.h"
#include "edge/fcgi_params.h"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace webhookd {
namespace {

// The request from libfcgi's params and stdin. The params are views into
// libfcgi's envp, which dies with the request: request_from_params copies.
HttpRequest read_request(FCGX_Request& req) {
  RequestHead head = request_from_params(req.envp);
  HttpRequest& r = head.request;
  if (head.body_length > 0) {
    r.body.resize(head.body_length);
    size_t got = 0;
    while (got < head.body_length) {
      int k = FCGX_GetStr(&r.body[got], static_cast<int>(head.body_length - got), req.in);
      if (k <= 0) break;  // less than asked: end of input
      got += static_cast<size_t>(k);
    }
    r.body.resize(got);
  }
  return std::move(head.request);
}

// Reads stdin to its end record. On a connection nginx keeps open, the next
// request's records follow this one's; an end-of-stdin record left unread
// would be taken for the start of the next request, a protocol error, and
// libfcgi would drop the connection (seen under load, when the end record
// arrives in a later packet than the params). A body too large to be worth
// reading closes the connection instead. True when the end record was read:
// nginx then has nothing more to send on this request.
bool drain_stdin(FCGX_Request& req) {
  constexpr size_t kDrainLimit = 1 << 20;
  char buf[4096];
  size_t total = 0;
  while (total < kDrainLimit) {
    int n = FCGX_GetStr(buf, sizeof buf, req.in);
    if (n <= 0) return FCGX_GetError(req.in) == 0;
    total += static_cast<size_t>(n);
  }
  req.keepConnection = 0;
  return false;
}

// Ends the request and, unless nginx keeps the connection, closes it.
// libfcgi's own close lingers: shutdown(SHUT_WR), then poll and read until
// nginx closes its end, so that unread input cannot turn the close into a
// reset. That costs three system calls and a sleep per request. When stdin
// was read to its end record nothing is left unread (nginx sends nothing
// after it), so a plain close is just as safe; otherwise libfcgi's way.
void finish_request(FCGX_Request& req, bool input_fully_read) {
  const bool close_here = input_fully_read && !req.keepConnection;
  if (close_here) req.keepConnection = 1;  // FCGX_Finish_r then frees the request but leaves the fd
  FCGX_Finish_r(&req);
  // libfcgi closed it itself (ipcFd -1) if writing the answer failed.
  if (close_here && req.ipcFd >= 0) {
    ::close(req.ipcFd);
    req.ipcFd = -1;
  }
}

bool put(FCGX_Request& req, std::string_view text) {
  return FCGX_PutStr(text.data(), static_cast<int>(text.size()), req.out) == static_cast<int>(text.size());
}

// Written piece by piece into libfcgi's own output buffer (a memcpy each),
// not assembled in a string first. FCGX_PutStr, not FCGX_FPrintF: libfcgi's
// own printf silently mangles %zu.
[[nodiscard]] bool write_response(FCGX_Request& req, const HttpResponse& resp) {
  bool ok = put(req, "Status: ") && put(req, status_line(resp.status)) && put(req, "\r\n");
  for (const auto& h : resp.headers) ok = ok && put(req, h.first) && put(req, ": ") && put(req, h.second) && put(req, "\r\n");
  return ok && put(req, "\r\n") && put(req, resp.body);
}

// The answer when even building one failed: the handler never throws, so
// this is reached only if reading the request did (out of memory, say).
HttpResponse last_resort_response(const char* why) {
  HttpResponse response;
  response.status = 500;
  response.body = R"({"code":20500,"message":"Internal Server Error",)"
                  R"("more_info":"https://www.twilio.com/docs/errors/20500","status":500})";
  response.set_header("Twilio-Request-Id", new_request_id());
  response.set_header("Content-Type", "application/json; charset=utf-8");
  response.set_header("Content-Length", std::to_string(response.body.size()));
  response.log_detail = why;
  return response;
}

}  // namespace

Result<int> open_listener(const std::string& spec) {
  std::string address = spec;
  bool unix_socket = spec.rfind("unix:", 0) == 0;
  if (unix_socket) {
    address = spec.substr(5);
    struct stat st;
    // A stale socket from a previous run would make bind fail.
    if (::lstat(address.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(address.c_str());
  } else if (spec.find(':') == std::string::npos) {
    return Error::invalid_argument("--listen " + spec + ": expected unix:PATH or HOST:PORT");
  }
  int fd = FCGX_OpenSocket(address.c_str(), 1024);
  if (fd < 0) return Error::io("cannot listen on " + spec + ": " + std::strerror(errno), errno);
  // nginx's workers may run as another user; the API itself asks for credentials.
  if (unix_socket) ::chmod(address.c_str(), 0666);
  return fd;
}

FcgiServer::FcgiServer(int listen_fd, int workers, RequestHandler handler)
    : listen_fd_(listen_fd),
      workers_(workers),
      handler_(std::move(handler)),
      log_([](std::string_view lines) { write_lines(2, lines); }) {}

FcgiServer::~FcgiServer() {
  stop();
  for (int fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

Status FcgiServer::start() {
  if (FCGX_Init() != 0) return Error::internal("FCGX_Init failed");
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) return Error::io(std::string("pipe: ") + std::strerror(errno), errno);
  // Workers sleep in a blocking accept(): the kernel wakes exactly one per
  // connection and hands it over in the same call. (Non-blocking accept plus
  // epoll cost two more system calls and a wasted wake-up whenever the queue
  // ran dry: measured, 10% of the throughput at one connection.) accept()
  // does not return when another thread closes the socket, and a signal
  // would also interrupt requests in flight, so SO_RCVTIMEO bounds each wait
  // and a worker looks at the stop flag between waits.
  int flags = ::fcntl(listen_fd_, F_GETFL);
  const struct timeval stop_check = {0, kStopCheckMicros};
  if (flags < 0 || ::fcntl(listen_fd_, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
      ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVTIMEO, &stop_check, sizeof stop_check) != 0) {
    return Error::io(std::string("listening socket: ") + std::strerror(errno), errno);
  }
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { worker_loop(); });
  return ok_status();
}

void FcgiServer::stop() {
  stopping_.store(true);
  if (stop_pipe_[1] >= 0) {
    ::close(stop_pipe_[1]);  // workers waiting on a kept connection see POLLHUP
    stop_pipe_[1] = -1;
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  log_.stop();  // the lines of the last requests, before the caller logs "stopped"
}

void FcgiServer::worker_loop() {
  FCGX_Request req;
  // listen_sock -1: libfcgi must never accept by itself (see the file header).
  FCGX_InitRequest(&req, -1, 0);
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (req.ipcFd < 0) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        // EAGAIN: SO_RCVTIMEO expired, time to look at the stop flag.
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          ::usleep(10000);  // EMFILE and the like: do not spin
        }
        continue;
      }
      // Hand our connection to libfcgi. keepConnection=1 stops FCGX_Accept_r's
      // opening FCGX_Finish_r from closing it; the begin record then sets the
      // real value from nginx's FCGI_KEEP_CONN flag.
      req.ipcFd = fd;
      req.keepConnection = 1;
    } else {
      // A connection nginx keeps open (fastcgi_keep_conn): wait for its next
      // request, or for stop.
      struct pollfd fds[2] = {{req.ipcFd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0) continue;
    }
    // Negative: the connection closed or broke; libfcgi closed it (ipcFd -1).
    if (FCGX_Accept_r(&req) < 0) continue;

    auto started = std::chrono::steady_clock::now();
    // Nothing thrown by one request may end the process: reading it is
    // guarded as well as handling it.
    HttpRequest request;
    HttpResponse response;
    try {
      request = read_request(req);
      response = handler_(request);
    } catch (const std::exception& e) {
      response = last_resort_response(e.what());
    } catch (...) {
      response = last_resort_response("unknown exception");
    }
    const bool input_fully_read = drain_stdin(req);
    if (!write_response(req, response)) {
      // nginx went away mid-answer; the log says so, the status stays what we meant to send.
      response.log_detail += response.log_detail.empty() ? "answer not delivered" : "; answer not delivered";
    }
    finish_request(req, input_fully_read);
    thread_local std::string line;  // each worker keeps its buffer: no allocation per request once warm
    format_request_line(&line, request, response, std::chrono::steady_clock::now() - started);
    log_.append(line);
  }
  if (req.ipcFd >= 0) {
    ::close(req.ipcFd);
    req.ipcFd = -1;
  }
  FCGX_Free(&req, 0);
}

}  // namespace webhookd
