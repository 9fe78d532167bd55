// Workers wait in epoll_wait on one set holding the listening socket, every
// open connection (EPOLLONESHOT: one worker per event) and a stop pipe, and
// hand each request's connection to libfcgi for the protocol. Why not
// FCGX_Accept_r's own accept: it ties a kept connection to one thread until
// nginx closes it (more kept connections than threads hang requests), a
// thread in accept() only wakes on a signal, and FCGX_ShutdownPending() makes
// every later libfcgi read fail with EINTR, cutting short requests in flight.
#include "edge/fcgi_server.h"

#include "base/request_id.h"
#include "edge/fcgi_records.h"
#include "edge/fcgi_params.h"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace webhookd {
namespace {

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}


// The request from libfcgi's params and stdin. The params are views into
// libfcgi's envp, which dies with the request: request_from_params copies.
// false when stdin ended before CONTENT_LENGTH bytes (the request was
// aborted, FCGI_ABORT_REQUEST, or the connection broke): a cut body must
// never reach the handler, where a truncated URL could be a valid one.
bool read_request(FCGX_Request& req, HttpRequest* out) {
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
    if (got < head.body_length) return false;
  }
  *out = std::move(head.request);
  return true;
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

FcgiServer::FcgiServer(int listen_fd, FcgiServerOptions options, RequestHandler handler)
    : listen_fd_(listen_fd),
      options_(options),
      handler_(std::move(handler)),
      log_([](std::string_view lines) { write_lines(2, lines); }) {}

FcgiServer::~FcgiServer() {
  stop();
  for (int fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status FcgiServer::start() {
  if (FCGX_Init() != 0) return Error::internal("FCGX_Init failed");
  auto os_error = [](const char* what) { return Error::io(std::string(what) + ": " + std::strerror(errno), errno); };
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) return os_error("pipe");
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return os_error("epoll_create1");
  // accept4 must never hold a worker. O_NONBLOCK cannot promise it: it
  // belongs to the open file description, which systemd shares with every
  // control process it starts with StandardInput=socket (ExecReload's
  // `webhookd --check` among them) and makes blocking again for them.
  // Seen: after one `systemctl reload`, a worker blocked in accept4 until the
  // next connection, and a stop waited for it until systemd's SIGKILL. So:
  // accept only after poll() saw a connection (accept_connections), and
  // bound each accept with SO_RCVTIMEO, a socket option nobody resets.
  const struct timeval accept_bound = {0, 100 * 1000};
  if (::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVTIMEO, &accept_bound, sizeof accept_bound) != 0) {
    return os_error("listening socket");
  }
  struct rlimit files;
  // A byte per descriptor number a connection can get: up to the soft limit,
  // but no more than the cap needs (a shell's ulimit -n may be a million).
  const size_t needed = static_cast<size_t>(options_.max_connections) + 1024;
  parked_size_ = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                     ? std::min(static_cast<size_t>(files.rlim_cur), needed)
                     : needed;
  parked_.reset(new std::atomic<unsigned char>[parked_size_]);
  has_pending_.reset(new std::atomic<unsigned char>[parked_size_]);
  for (size_t i = 0; i < parked_size_; ++i) {
    parked_[i].store(0, std::memory_order_relaxed);
    has_pending_[i].store(0, std::memory_order_relaxed);
  }

  // The listening socket is one-shot too: one worker accepts what is
  // waiting, then re-arms it. The stop pipe is level-triggered: every worker
  // sees it.
  struct epoll_event listen_event = {EPOLLIN | EPOLLONESHOT, {}};
  listen_event.data.fd = listen_fd_;
  struct epoll_event stop_event = {EPOLLIN, {}};
  stop_event.data.fd = stop_pipe_[0];
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event) != 0 ||
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_pipe_[0], &stop_event) != 0) {
    return os_error("epoll_ctl");
  }
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
  return ok_status();
}

void FcgiServer::stop() {
  stop_deadline_ms_.store(now_ms() + options_.io_timeout.count());
  stopping_.store(true);
  if (stop_pipe_[1] >= 0) {
    ::close(stop_pipe_[1]);  // the read end becomes readable (EOF) for every worker, for good
    stop_pipe_[1] = -1;
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // The workers are gone: what is parked is idle, waiting for a request
  // that will not be served here. nginx sees the close and opens a new
  // connection (to the next webhookd, or to this socket's next owner).
  for (size_t fd = 0; fd < parked_size_; ++fd) {
    if (parked_[fd].exchange(0) != 0) close_connection(static_cast<int>(fd));
  }
  log_.stop();  // the lines of the last requests, before the caller logs "stopped"
}

void FcgiServer::close_connection(int fd) {
  if (has_pending_[fd].load(std::memory_order_acquire)) (void)take_pending(fd);  // not the next connection's
  ::close(fd);
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
}

bool FcgiServer::park(int fd) {
  if (static_cast<size_t>(fd) >= parked_size_) return false;
  // Marked before it is armed: the worker that takes its next event clears it.
  parked_[fd].store(1, std::memory_order_release);
  struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, {}};
  ev.data.fd = fd;
  // MOD for a connection in the set; ADD for one served straight from accept.
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) return true;
  if (errno == ENOENT && ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) return true;
  parked_[fd].store(0, std::memory_order_relaxed);
  return false;
}

int FcgiServer::accept_connections() {
  // A bounded batch: the others wait for their turn in the epoll set. The
  // first is kept to be served by this worker at once: nginx writes a
  // request right after connecting, so going through epoll for it would
  // only cost a wake-up (measured: a tenth of the throughput with one
  // connection per request).
  int first = -1;
  for (int i = 0; i < 64; ++i) {
    // Only when a connection waits (see start(): the socket may be blocking).
    struct pollfd waiting = {listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 0) != 1) break;
    // Blocking connections (libfcgi reads them with plain read()), each wait
    // bounded by io_timeout.
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        log_.append("webhookd: out of file descriptors accepting a connection; raise LimitNOFILE\n");
      }
      break;  // EAGAIN: nothing more waiting
    }
    if (open_connections_.load(std::memory_order_relaxed) >= options_.max_connections ||
        static_cast<size_t>(fd) >= parked_size_) {
      ::close(fd);
      const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now().time_since_epoch()).count();
      if (last_cap_log_.exchange(now) != now) {  // at most one line a second
        log_.append("webhookd: " + std::to_string(options_.max_connections) +
                    " connections open, the limit (--max-connections): closing new ones until some close\n");
      }
      continue;
    }
    open_connections_.fetch_add(1, std::memory_order_relaxed);
    const struct timeval timeout = {static_cast<time_t>(options_.io_timeout.count() / 1000),
                                    static_cast<suseconds_t>(options_.io_timeout.count() % 1000 * 1000)};
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (first < 0) {
      first = fd;
      continue;
    }
    parked_[fd].store(1, std::memory_order_release);
    struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, {}};
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      parked_[fd].store(0, std::memory_order_relaxed);
      close_connection(fd);
    }
  }
  return first;
}

namespace {

// Largest request the fast path peeks at whole; nginx sends at most 64 KiB of
// body (client_max_body_size) and a few KiB of params. Bigger ones are read
// by libfcgi straight from the socket.
constexpr size_t kPeekMax = 160 * 1024;
// Largest split request webhookd holds in memory while the rest arrives.
constexpr size_t kMaxBuffered = 256 * 1024;

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t k = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(k));
  }
  return true;
}

// Appends whatever is there now, without waiting; false on EOF or an error.
bool read_available(int fd, std::string* out) {
  char buf[16384];
  for (;;) {
    ssize_t k = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (k > 0) {
      out->append(buf, static_cast<size_t>(k));
      if (out->size() > kMaxBuffered) return true;  // the caller refuses it
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

}  // namespace

std::string FcgiServer::take_pending(int fd) {
  if (!has_pending_[fd].load(std::memory_order_acquire)) return "";
  MutexLock lock(&pending_mu_);
  has_pending_[fd].store(0, std::memory_order_relaxed);
  partial_requests_.fetch_sub(1, std::memory_order_relaxed);
  auto it = pending_.find(fd);
  if (it == pending_.end()) return "";
  std::string bytes = std::move(it->second);
  pending_.erase(it);
  return bytes;
}

void FcgiServer::store_pending(int fd, std::string bytes) {
  if (bytes.empty()) return;
  MutexLock lock(&pending_mu_);
  pending_[fd] = std::move(bytes);
  has_pending_[fd].store(1, std::memory_order_release);
  partial_requests_.fetch_add(1, std::memory_order_relaxed);
}

FcgiServer::Outcome FcgiServer::serve_one(int fd, FCGX_Request& req) {
  std::string buffered = take_pending(fd);  // empty but after a split request
  if (buffered.empty()) {
    // The common case: the whole request is in the socket already, and
    // libfcgi reads it from there. A peek sees it without taking it.
    thread_local std::unique_ptr<char[]> peek(new char[kPeekMax]);
    ssize_t n;
    do {
      n = ::recv(fd, peek.get(), kPeekMax, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return Outcome::kClose;  // nginx closed the idle connection
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? Outcome::kKeep : Outcome::kClose;
    const Scan scan = scan_records(std::string_view(peek.get(), static_cast<size_t>(n)));
    const bool too_big_to_hold = scan.framing == Framing::kIncomplete && static_cast<size_t>(n) == kPeekMax;
    if (scan.framing == Framing::kRequest || scan.framing == Framing::kUnparsable || too_big_to_hold) {
      return serve_request(fd, req);
    }
    // Otherwise (a part of a request, a management record, an aborted
    // request): taken into the buffer below, so that no worker ever waits on
    // a connection for the rest of a request.
  }
  if (!read_available(fd, &buffered)) return Outcome::kClose;
  for (;;) {
    const Scan scan = scan_records(buffered);
    switch (scan.framing) {
      case Framing::kIncomplete:
        if (buffered.size() > kMaxBuffered) return Outcome::kClose;
        store_pending(fd, std::move(buffered));  // the rest wakes a worker when it arrives
        return Outcome::kKeep;
      case Framing::kUnparsable:
        return Outcome::kClose;
      case Framing::kManagement: {
        const FcgiHeader h = parse_fcgi_header(reinterpret_cast<const unsigned char*>(buffered.data()));
        const std::string_view content = std::string_view(buffered).substr(kFcgiHeaderLength, h.content_length);
        if (!send_all(fd, management_reply(h.type, content, options_.max_connections))) return Outcome::kClose;
        break;
      }
      case Framing::kAborted:
        // Dropped, never handled: the spec's answer is END_REQUEST.
        if (!send_all(fd, end_request_record(scan.request_id))) return Outcome::kClose;
        if (!scan.keep_connection) return Outcome::kClose;
        break;
      case Framing::kRequest: {
        const Outcome o = serve_buffered_request(fd, std::string_view(buffered).substr(0, scan.length), req);
        if (o != Outcome::kKeep) return o;
        break;
      }
    }
    buffered.erase(0, scan.length);
    if (buffered.empty()) return Outcome::kKeep;
  }
}

FcgiServer::Outcome FcgiServer::serve_buffered_request(int fd, std::string_view request, FCGX_Request& req) {
  // libfcgi reads from a descriptor: it gets one end of a socket pair that
  // holds exactly this request, and what it answers is relayed to nginx.
  // Only split requests come this way (nginx writes a request whole).
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Outcome::kClose;
  const int buffer = static_cast<int>(kMaxBuffered + 65536);
  (void)::setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  (void)::setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  if (!send_all(pair[1], request)) {
    ::close(pair[0]);
    ::close(pair[1]);
    return Outcome::kClose;
  }
  const Outcome served = serve_request(pair[0], req);
  if (served == Outcome::kKeep) ::close(pair[0]);  // otherwise libfcgi closed it
  std::string answer;
  for (;;) {  // to the end: pair[0] is closed, so this ends
    char buf[16384];
    ssize_t k = ::read(pair[1], buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    answer.append(buf, static_cast<size_t>(k));
  }
  ::close(pair[1]);
  const bool relayed = send_all(fd, answer);
  return relayed && served == Outcome::kKeep ? Outcome::kKeep : Outcome::kClose;
}

FcgiServer::Outcome FcgiServer::serve_request(int io_fd, FCGX_Request& req) {
  // Hand the connection to libfcgi. keepConnection=1 stops FCGX_Accept_r's
  // opening FCGX_Finish_r from closing it; the begin record then sets the
  // real value from nginx's FCGI_KEEP_CONN flag.
  req.ipcFd = io_fd;
  req.keepConnection = 1;
  // Negative: the connection closed or broke, and libfcgi closed it.
  if (FCGX_Accept_r(&req) < 0) {
    req.ipcFd = -1;
    return Outcome::kClosed;
  }
  auto started = std::chrono::steady_clock::now();
  // Nothing thrown by one request may end the process: reading it is
  // guarded as well as handling it.
  HttpRequest request;
  HttpResponse response;
  try {
    if (!read_request(req, &request)) {
      // Cut short: dropped unanswered, and the connection with it (what is
      // left of the request is on it).
      FCGX_Free(&req, 1);
      req.ipcFd = -1;
      return Outcome::kClosed;
    }
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
  // finish_request closed it unless nginx keeps it (FCGI_KEEP_CONN).
  const bool kept = req.ipcFd >= 0;
  req.ipcFd = -1;  // the connection is no longer this worker's
  return kept ? Outcome::kKeep : Outcome::kClosed;
}

void FcgiServer::worker_loop() {
  FCGX_Request req;
  // listen_sock -1: libfcgi must never accept by itself (see the file header).
  FCGX_InitRequest(&req, -1, 0);
  for (;;) {
    struct epoll_event ev;
    int n = ::epoll_wait(epoll_fd_, &ev, 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) continue;
    int fd = ev.data.fd;
    if (fd == stop_pipe_[0]) {
      // Stopping. A request whose first part has arrived is in flight: its
      // connection keeps being served until it is whole (bounded by
      // io_timeout). The stop pipe stays readable, so wait a little between
      // looks instead of spinning.
      if (partial_requests_.load() == 0 || now_ms() > stop_deadline_ms_.load()) break;
      struct epoll_event more;
      int k = ::epoll_wait(epoll_fd_, &more, 1, 5);
      if (k != 1 || more.data.fd == stop_pipe_[0] || more.data.fd == listen_fd_) continue;
      fd = more.data.fd;
    }
    if (fd == listen_fd_) {
      if (stopping_.load()) continue;  // no new connections once stopping; the listener stays unarmed
      fd = accept_connections();
      // Re-armed before serving: other workers accept while this one serves.
      struct epoll_event again = {EPOLLIN | EPOLLONESHOT, {}};
      again.data.fd = listen_fd_;
      (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &again);
      if (fd < 0) continue;
    }
    parked_[fd].store(0, std::memory_order_relaxed);  // this worker's now
    // A request that starts once stopping is not taken: nginx sees the close
    // and retries elsewhere. Requests in flight (being served, or partly
    // arrived) finish.
    if (stopping_.load() && !has_pending_[fd].load(std::memory_order_acquire)) {
      close_connection(fd);
      continue;
    }
    switch (serve_one(fd, req)) {
      case Outcome::kKeep:
        if (stopping_.load() || !park(fd)) close_connection(fd);
        break;
      case Outcome::kClose:
        close_connection(fd);
        break;
      case Outcome::kClosed:
        // Closed inside libfcgi or by finish_request; its number may already
        // be another connection's, so it is only counted, never touched.
        open_connections_.fetch_sub(1, std::memory_order_relaxed);
        break;
    }
  }
  FCGX_Free(&req, 0);
}

}  // namespace webhookd
