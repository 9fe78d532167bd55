// Workers wait in epoll_wait on one set holding the listening socket, every
// open connection (EPOLLONESHOT: one worker per event) and a stop pipe. A
// worker reads what a connection has without waiting and serves every whole
// request in it, decoded here (fcgi_records.h), and writes each answer to
// the connection in one go. Why not let libfcgi read the connection: FCGX_Accept_r's
// own accept ties a kept connection to one thread until nginx closes it
// (more kept connections than threads hang requests); libfcgi reads 8 KiB at
// a time and frees what follows the request it was asked for, so a second
// request written behind the first was lost; and a request not all there yet
// held the worker in a blocking read that SO_RCVTIMEO bounds per read(), not
// per request (a trickling peer held one 7.1 s). A housekeeper thread closes
// requests that are not whole in time, resumes accepting after running out
// of descriptors, and does the closing part of a stop.
#include "edge/fcgi_server.h"

#include "base/cpu_quota.h"
#include "base/request_id.h"
#include "base/thread_name.h"
#include "edge/fcgi_records.h"
#include "edge/fcgi_params.h"
#include "edge/metrics_endpoint.h"

#include <dirent.h>
#include <fcgiapp.h>  // FCGX_OpenSocket only
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace webhookd {
namespace {

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The largest request webhookd takes: nginx sends at most 64 KiB of body
// (client_max_body_size in the shipped snippet) and its headers, 32 KiB by
// default (large_client_header_buffers). One read takes up to this much.
constexpr size_t kMaxRequest = 256 * 1024;
// Out of descriptors, the listener is left alone this long between tries.
constexpr long long kAcceptPauseMs = 100;
// A worker on one turn this long (1 to 2 ms: the clock counts whole ms) is
// held up (a GET takes tens of µs): it steps aside for a standby worker
// (see FcgiServer). Also the housekeeper's tick while workers are busy.
constexpr long long kHeldUpMs = 2;
// Descriptors kept free for the workers' own use, never taken by a
// connection. A worker holds three files at most at once (a POST's lock
// file and the state directory, open through the write, and under them the
// state file, its temp file, or the directory probed after a failure):
// four each, one a margin. And 8
// for the whole process: the start-up clean-up (the directory, a file, a
// lock), a reload (the config; a moved state_dir's clean-up), systemd's
// notify socket, the housekeeper's count of /proc/self/fd. Without a
// reserve, a burst of connections accepted the moment descriptors came free
// used them all again, and the requests they carried answered 500 (EMFILE
// opening the state file).
constexpr long long kReservePerWorker = 4, kReserveShared = 8;

// Epoll data: a connection's token (generation << 32 | fd, generation >= 1),
// or one of these. kArming and kFired only ever appear in Slot::parked.
constexpr uint64_t kListenToken = 0xffffffffull, kStopToken = 0xfffffffeull;
constexpr uint64_t kArming = 1ull << 62, kFired = 1ull << 63;
constexpr uint32_t kGenerationMask = (1u << 30) - 1;

// An empty FCGI_GET_VALUES_RESULT record (see serve_request).
constexpr char kNotKeptMarker[8] = {1, 10, 0, 0, 0, 0, 0, 0};

int token_fd(uint64_t token) { return static_cast<int>(token & 0xffffffffu); }

// The request from its decoded params and stdin; false when stdin ended
// before CONTENT_LENGTH bytes: a cut body must never reach the handler,
// where a truncated URL could be a valid one. What follows CONTENT_LENGTH is
// not read.
bool read_request(const DecodedRequest& decoded, HttpRequest* out) {
  RequestHead head = request_from_params(decoded.params);
  if (decoded.stdin_bytes.size() < head.body_length) return false;
  head.request.body.assign(decoded.stdin_bytes.substr(0, head.body_length));
  *out = std::move(head.request);
  return true;
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

// Descriptors open in this process now (not counting the one used to
// count them); -1 when /proc/self/fd cannot be read (out of descriptors).
long long open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  long long n = 0;
  while (const struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;
}

// The soft RLIMIT_NOFILE (0: unlimited), and the hard one in *hard (-1: unlimited).
long long descriptor_limit(long long* hard = nullptr) {
  struct rlimit files;
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return 0;
  if (hard) *hard = files.rlim_max == RLIM_INFINITY ? -1 : static_cast<long long>(files.rlim_max);
  return files.rlim_cur == RLIM_INFINITY ? 0 : static_cast<long long>(files.rlim_cur);
}

// Raises the soft limit to `wanted`, within the hard one. Not to the hard
// limit itself: the edge keeps a slot per possible descriptor, and a
// million of them (a shell's ulimit -n) would be memory for nothing.
void raise_descriptor_limit(long long wanted) {
  struct rlimit files;
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) return;
  if (files.rlim_cur >= static_cast<rlim_t>(wanted)) return;
  files.rlim_cur = files.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(wanted)
                                                   : std::min(static_cast<rlim_t>(wanted), files.rlim_max);
  (void)::setrlimit(RLIMIT_NOFILE, &files);
}

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(d.count()) / 1000);
  return text;
}

}  // namespace

// A worker thread's own buffers, kept warm between requests.
struct FcgiServer::Worker {
  std::unique_ptr<char[]> input{new char[kMaxRequest]};  // not zeroed: only what a read fills is touched
  std::string joined;                                   // a partial request and what arrived after it
  std::string text;                                     // an answer's status line and headers
  std::string answer;                                   // an answer's records
  DecodedRequest decoded;
  std::string line;
  // This turn's answer said the connection is not kept (see serve_request):
  // closed right after it. Decided when the answer was written, not after:
  // a stop that begins in between must not close a connection nginx keeps.
  bool last_answer_marked = false;
  // This turn on a connection ends by then (FcgiServerOptions::answer_timeout).
  long long turn_deadline_ms = 0;
  std::atomic<bool> running{false};         // one of the running workers (changed under gate_mu_)
  std::atomic<long long> busy_since_ms{0};  // the turn's start; 0 between turns
};

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
  // Every connection is a descriptor (systemd's default soft limit is
  // 1024): one rule, connections + fixed + reserve <= the soft limit, sets
  // the raise here, the warning (descriptor_warning) and the connections
  // accepted (count_descriptors). Raised once what is open for good is
  // counted.
  descriptor_reserve_ = kReservePerWorker * options_.workers + kReserveShared;

  // The listening socket is one-shot too: one worker accepts what is
  // waiting, then re-arms it. The stop pipe is level-triggered: once its
  // write end is closed, every worker sees it.
  struct epoll_event listen_event = {EPOLLIN | EPOLLONESHOT, {}};
  listen_event.data.u64 = kListenToken;
  struct epoll_event stop_event = {EPOLLIN, {}};
  stop_event.data.u64 = kStopToken;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event) != 0 ||
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_pipe_[0], &stop_event) != 0) {
    return os_error("epoll_ctl");
  }
  for (int i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>());
  // The CPUs this process may run on (a fixed set fails past 1,024 CPUs:
  // then the count of all, which is at least as many), and no more than
  // its cgroup's CPU quota allows (CPUQuota=): more running workers than
  // that only take turns being woken. Read once: a quota changed later
  // (systemctl set-property) is followed at the next start.
  cpu_set_t cpus;
  int cpu_count = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0
                      ? CPU_COUNT(&cpus)
                      : static_cast<int>(std::thread::hardware_concurrency());
  if (std::optional<int> quota = cgroup_cpu_limit(); quota && (cpu_count <= 0 || *quota < cpu_count)) {
    cpu_count = *quota;
  }
  running_limit_ = cpu_count > 0 ? std::min(cpu_count, options_.workers) : options_.workers;
  // Every descriptor the process holds for good is open by now.
  fixed_descriptors_ = std::max(open_descriptors(), 0LL);
  const long long wanted = options_.max_connections + fixed_descriptors_ + descriptor_reserve_;
  raise_descriptor_limit(wanted);
  const long long limit = descriptor_limit(&hard_limit_);
  // A slot per descriptor number a connection can get: numbers are the
  // lowest free, so below what is open at most, and below the limit.
  slot_count_ = static_cast<size_t>(limit == 0 ? wanted + 64 : std::min(limit, wanted + 64));
  slots_.reset(new Slot[slot_count_]);
  count_descriptors();
  for (auto& w : workers_) threads_.emplace_back([this, worker = w.get()] { worker_loop(*worker); });
  housekeeper_ = std::thread([this] { housekeeper_loop(); });
  return ok_status();
}

void FcgiServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (housekeeper_.joinable()) {
    stop_started_ms_ = now_ms();
    stopping_.store(true);
    // New connections wait in the socket's queue, for the next process.
    (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    poke_housekeeper();
    housekeeper_.join();  // returns once the workers are told to exit
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Only when the stop's deadline passed: what is still parked.
  int left = 0;
  for (size_t fd = 0; fd < slot_count_; ++fd) {
    uint64_t token = slots_[fd].parked.load(std::memory_order_acquire);
    if (token != 0 && slots_[fd].parked.compare_exchange_strong(token, 0, std::memory_order_acq_rel)) {
      close_connection(static_cast<int>(fd));
      ++left;
    }
  }
  if (left > 0) log_.append("webhookd: stopping: closed " + std::to_string(left) + " connection(s) still open at the stop's deadline\n");
  log_.stop();  // the lines of the last requests, before the caller logs "stopped"
}

ServerStats FcgiServer::stats() const {
  ServerStats s;
  s.connections_open = static_cast<uint64_t>(std::max(0, open_connections_.load(std::memory_order_relaxed)));
  s.workers_busy = static_cast<uint64_t>(std::max(0, busy_workers_.load(std::memory_order_relaxed)));
  s.connections_refused = refused_connections_.load(std::memory_order_relaxed);
  s.requests_timed_out = timed_out_requests_.load(std::memory_order_relaxed);
  s.log_lines_dropped = log_.dropped_total();
  return s;
}

void FcgiServer::count_descriptors() {
  // Read again each time: an operator may change a running webhookd's limit
  // (prlimit), and the reserve must hold under the new one.
  const long long limit = descriptor_limit();
  descriptor_limit_.store(limit);
  if (limit == 0) {
    connection_allowance_.store(options_.max_connections);
    return;
  }
  // What is open besides connections. Counted again after each pause: a
  // count taken while workers hold files is too high (fewer connections until
  // the next count), never too low (fixed_descriptors_, from start, is the floor).
  const long long open = open_descriptors();
  const long long fixed = open < 0 ? fixed_descriptors_
                                   : std::max(fixed_descriptors_, open - open_connections_.load());
  // As many connections as workers at least: a limit too small for the
  // reserve then answers some requests 503 (no descriptor for a file, with
  // Retry-After) rather than serve one connection at a time, where nginx's
  // kept connections waiting in the queue time out (start warns about it).
  connection_allowance_.store(std::max<long long>(options_.workers, limit - fixed - descriptor_reserve_));
}

std::string FcgiServer::descriptor_warning() const {
  const long long limit = descriptor_limit_.load();
  const long long allowed = connection_allowance_.load();
  if (limit == 0 || allowed >= options_.max_connections) return "";
  std::string line = "webhookd: warning: the file descriptor limit is " + std::to_string(limit) + " (hard " +
                     (hard_limit_ < 0 ? std::string("unlimited") : std::to_string(hard_limit_)) + "): it allows " +
                     std::to_string(allowed) + " connections at once, below --max-connections " +
                     std::to_string(options_.max_connections) + " (" + std::to_string(fixed_descriptors_) +
                     " descriptors open besides connections, " + std::to_string(descriptor_reserve_) + " kept for " +
                     std::to_string(options_.workers) + " workers' files); connections past " +
                     std::to_string(allowed) + " wait in the listening socket's queue until others close";
  if (limit - fixed_descriptors_ - descriptor_reserve_ < allowed) {
    line += "; the limit is too low for the workers' reserve too: a request may answer 503 when no descriptor is "
            "left for its file";
  }
  return line + "; raise LimitNOFILE (ulimit -n) to " +
         std::to_string(options_.max_connections + fixed_descriptors_ + descriptor_reserve_) +
         " or lower --max-connections";
}

bool FcgiServer::take_log_turn(std::atomic<long long>& last, long long interval_ms) {
  const long long now = now_ms();
  long long seen = last.load(std::memory_order_relaxed);
  if (seen != 0 && now - seen < interval_ms) return false;
  return last.compare_exchange_strong(seen, now);
}

void FcgiServer::log_at_most_each_second(std::atomic<long long>& last, const std::string& line) {
  if (take_log_turn(last, 1000)) log_.append(line);
}

void FcgiServer::pause_listener(const std::string& why) {
  listener_paused_until_ms_.store(now_ms() + kAcceptPauseMs);
  accept_pauses_.fetch_add(1);
  if (!take_log_turn(last_descriptor_log_ms_, 10000)) return;
  // Taken only by the thread whose line it is: a pause counted meanwhile
  // goes into the next line, never lost.
  const unsigned long long pauses = accept_pauses_.exchange(0);
  log_.append("webhookd: " + why + "; not accepting for " + std::to_string(kAcceptPauseMs) + " ms at a time (" +
              std::to_string(pauses) +
              " time(s) since the last line); raise LimitNOFILE (ulimit -n) or lower --max-connections\n");
}

void FcgiServer::close_connection(int fd) {
  if (slots_[fd].has_pending.load(std::memory_order_acquire)) {
    MutexLock lock(&pending_mu_);
    auto it = pending_.find(fd);
    if (it != pending_.end()) {
      pending_bytes_ -= it->second.bytes.size();
      pending_.erase(it);
    }
    slots_[fd].has_pending.store(false, std::memory_order_relaxed);
  }
  ::close(fd);
  open_connections_.fetch_sub(1, std::memory_order_acq_rel);
}

bool FcgiServer::claim(uint64_t token) {
  const uint64_t fd = token & 0xffffffffu;
  if (fd >= slot_count_) return false;
  std::atomic<uint64_t>& parked = slots_[fd].parked;
  uint64_t seen = parked.load(std::memory_order_acquire);
  for (;;) {
    if (seen == token) {
      if (parked.compare_exchange_weak(seen, 0, std::memory_order_acq_rel)) return true;
    } else if (seen == (token | kArming)) {
      // Its event beat the thread arming it: that thread arms it again.
      if (parked.compare_exchange_weak(seen, token | kArming | kFired, std::memory_order_acq_rel)) return false;
    } else {
      return false;  // a late event: the connection is another thread's, closed, or another one now
    }
  }
}

void FcgiServer::park(int fd, uint64_t token) {
  Slot& slot = slots_[fd];
  struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, {}};
  ev.data.u64 = token;
  for (;;) {
    // Marked before it is armed, claimable only after: nobody may close it
    // between the two (epoll_ctl on a number reused by then would arm
    // another connection with this one's token).
    slot.parked.store(token | kArming, std::memory_order_release);
    // MOD for a connection in the set; ADD for one served straight from accept.
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 &&
        (errno != ENOENT || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)) {
      slot.parked.store(0, std::memory_order_relaxed);
      close_connection(fd);
      return;
    }
    uint64_t arming = token | kArming;
    if (slot.parked.compare_exchange_strong(arming, token, std::memory_order_acq_rel)) return;
    // Its event came meanwhile and was left to us: arm it again (one-shot,
    // level-triggered: it fires again while the input is there).
  }
}

uint64_t FcgiServer::accept_connections() {
  // A bounded batch: the others wait for their turn in the epoll set. The
  // first is kept to be served by this worker at once: nginx writes a
  // request right after connecting, so going through epoll for it would
  // only cost a wake-up (measured: a tenth of the throughput with one
  // connection per request).
  uint64_t first = 0;
  for (int i = 0; i < 64 && !stopping_.load(std::memory_order_relaxed); ++i) {
    // Only when a connection waits (see start(): the socket may be blocking).
    struct pollfd waiting = {listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 0) != 1) break;
    // At --max-connections a connection is accepted and closed (below): the
    // refusal the README promises. Below it, one more would eat into the
    // workers' reserve: the connection waits in the listening socket's
    // queue, as out of descriptors (below).
    const int open = open_connections_.load();
    if (open < options_.max_connections && open >= connection_allowance_.load()) {
      pause_listener("cannot accept more connections: " + std::to_string(open) + " open, and " +
                     std::to_string(descriptor_reserve_) + " descriptors kept for the workers' files, of a limit of " +
                     std::to_string(descriptor_limit_.load()) + " (RLIMIT_NOFILE)");
      break;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The connection stays queued and the listener readable: re-armed
        // at once, it would wake a worker to fail again, forever (measured
        // before: every worker spinning, 678,446 log lines in 2 s). Leave it
        // alone for a while (the housekeeper re-arms it); the waiting
        // connection is served once descriptors are free again.
        const int error = errno;
        pause_listener("cannot accept a connection: " + std::string(std::strerror(error)) + " (" +
                       std::to_string(open_connections_.load()) + " connections open)");
      }
      break;  // EAGAIN: nothing more waiting
    }
    if (open_connections_.load(std::memory_order_relaxed) >= options_.max_connections ||
        static_cast<size_t>(fd) >= slot_count_) {
      // Counted before the close: a peer that has seen the close and scrapes
      // /metrics then must find it counted, even if this thread is
      // preempted right after the close (a loaded machine does that).
      refused_connections_.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      log_at_most_each_second(last_cap_log_ms_, "webhookd: " + std::to_string(options_.max_connections) +
                                                    " connections open, the limit (--max-connections): closing new ones until some close\n");
      continue;
    }
    open_connections_.fetch_add(1, std::memory_order_acq_rel);
    Slot& slot = slots_[fd];
    const uint32_t generation = slot.generation.load(std::memory_order_relaxed) % kGenerationMask + 1;  // never 0
    slot.generation.store(generation, std::memory_order_relaxed);
    const uint64_t token = (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
    if (first == 0) {
      first = token;
      continue;
    }
    park(fd, token);
  }
  return first;
}

bool FcgiServer::take_pending(int fd, std::string* into, long long* started_ms) {
  if (!slots_[fd].has_pending.load(std::memory_order_acquire)) return false;
  MutexLock lock(&pending_mu_);
  slots_[fd].has_pending.store(false, std::memory_order_relaxed);
  auto it = pending_.find(fd);
  if (it == pending_.end()) return false;
  pending_bytes_ -= it->second.bytes.size();
  into->swap(it->second.bytes);
  *started_ms = it->second.started_ms;
  pending_.erase(it);
  return true;
}

bool FcgiServer::store_pending(int fd, uint64_t token, std::string_view bytes, long long started_ms) {
  MutexLock lock(&pending_mu_);
  if (pending_bytes_ + bytes.size() > options_.pending_budget) return false;
  Pending& p = pending_[fd];
  p.bytes.assign(bytes);
  p.started_ms = started_ms;
  p.token = token;
  pending_bytes_ += bytes.size();
  slots_[fd].has_pending.store(true, std::memory_order_release);
  return true;
}

bool FcgiServer::answer(int fd, std::string_view bytes, long long deadline_ms) {
  while (!bytes.empty()) {
    ssize_t k = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) {
      bytes.remove_prefix(static_cast<size_t>(k));
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const long long left = deadline_ms - now_ms();
      if (left <= 0) {
        log_at_most_each_second(last_refusal_log_ms_, "webhookd: a connection's turn took more than " +
                                                          seconds_text(options_.answer_timeout) +
                                                          ": its peer took the answers too slowly (" +
                                                          std::to_string(bytes.size()) +
                                                          " bytes not taken); closing it\n");
        return false;
      }
      struct pollfd writable = {fd, POLLOUT, 0};
      (void)::poll(&writable, 1, static_cast<int>(left));
      continue;
    }
    return false;  // the peer is gone
  }
  return true;
}

FcgiServer::Outcome FcgiServer::serve_connection(int fd, uint64_t token, Worker& w) {
  // One deadline for the whole turn, not one per answer: a peer that
  // pipelined 800 requests and read 4 KiB every 4 s took each answer in
  // time, and held the worker for minutes (another connection got no
  // answer within 60 s). nginx never pipelines on a connection: it writes a
  // request only once it has read the answer before, so a turn of nginx's
  // is one request, and this only ever ends another peer's turn.
  w.turn_deadline_ms = now_ms() + options_.answer_timeout.count();
  int served = 0;  // requests and records answered in this turn
  w.joined.clear();
  long long started = 0;  // the first byte of the request not yet whole
  const bool had_pending = take_pending(fd, &w.joined, &started);
  ssize_t n;
  do {
    n = ::recv(fd, w.input.get(), kMaxRequest, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  // After EOF (a half-close included) or an error nothing more arrives, but
  // what did arrive is served first: its answers can still be read.
  const bool ended = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  std::string_view in = w.joined;
  if (n > 0) {
    if (had_pending) {
      w.joined.append(w.input.get(), static_cast<size_t>(n));
      in = w.joined;
    } else {
      in = std::string_view(w.input.get(), static_cast<size_t>(n));
    }
  }
  const long long now = now_ms();
  if (!had_pending) started = now;
  // A request without FCGI_KEEP_CONN is the connection's last (the peer
  // asks for the close after its answer): whatever the peer sent behind it
  // is not served, but never dropped without a word (nginx sends nothing
  // there; only another peer could).
  auto last_request = [&](size_t length) {
    if (in.size() > length) {
      log_at_most_each_second(last_refusal_log_ms_, "webhookd: " + std::to_string(in.size() - length) +
                                                        " bytes followed a request without FCGI_KEEP_CONN on its "
                                                        "connection: not served; closing it after that request's answer\n");
    }
    return Outcome::kClose;
  };
  for (;;) {
    const Scan scan = scan_records(in);
    if (scan.framing == Framing::kIncomplete) break;
    // The first request of a turn is always served, however long it took to
    // arrive; the ones pipelined after it only within the turn's time.
    if (served++ > 0 && scan.framing != Framing::kUnparsable && now_ms() >= w.turn_deadline_ms) {
      log_at_most_each_second(last_refusal_log_ms_, "webhookd: a connection's turn took more than " +
                                                        seconds_text(options_.answer_timeout) + ": " +
                                                        std::to_string(served - 1) + " pipelined requests answered, " +
                                                        std::to_string(in.size()) + " bytes of requests left; closing it\n");
      return Outcome::kClose;
    }
    switch (scan.framing) {
      case Framing::kIncomplete:
        break;
      case Framing::kUnparsable:
        log_at_most_each_second(last_refusal_log_ms_, "webhookd: a connection sent bytes that are not a FastCGI request; closing it\n");
        return Outcome::kClose;
      case Framing::kManagement: {
        const FcgiHeader h = parse_fcgi_header(reinterpret_cast<const unsigned char*>(in.data()));
        if (!answer(fd, management_reply(h.type, in.substr(kFcgiHeaderLength, h.content_length), options_.max_connections),
                    w.turn_deadline_ms)) {
          return Outcome::kClose;
        }
        break;
      }
      case Framing::kAborted:
        // Dropped, never handled: the spec's answer is END_REQUEST.
        if (!answer(fd, end_request_record(scan.request_id), w.turn_deadline_ms)) return Outcome::kClose;
        if (!scan.keep_connection) return last_request(scan.length);
        break;
      case Framing::kRequest:
        if (scan.length > kMaxRequest) {
          log_at_most_each_second(last_refusal_log_ms_, "webhookd: a request of more than " + std::to_string(kMaxRequest) +
                                                            " bytes; closing its connection\n");
          return Outcome::kClose;
        }
        if (scan.role != kFcgiResponder) {
          if (!answer(fd, end_request_record(scan.request_id, kFcgiUnknownRole), w.turn_deadline_ms)) {
            return Outcome::kClose;
          }
        } else if (serve_request(fd, in.substr(0, scan.length), scan.request_id, scan.keep_connection, w) ==
                   Outcome::kClose) {
          return scan.keep_connection ? Outcome::kClose : last_request(scan.length);
        }
        if (!scan.keep_connection) return last_request(scan.length);
        break;
    }
    in.remove_prefix(scan.length);
    started = now;  // what follows arrived by now
  }
  if (ended) {
    if (!in.empty()) {
      log_at_most_each_second(last_refusal_log_ms_, "webhookd: a connection closed in the middle of a request (" +
                                                        std::to_string(in.size()) + " bytes of it); dropped\n");
    }
    return Outcome::kClose;
  }
  if (in.empty()) return Outcome::kKeep;
  if (in.size() > kMaxRequest) {
    log_at_most_each_second(last_refusal_log_ms_, "webhookd: a request of more than " + std::to_string(kMaxRequest) +
                                                      " bytes; closing its connection\n");
    return Outcome::kClose;
  }
  if (now - started >= options_.request_timeout.count()) {
    timed_out_requests_.fetch_add(1, std::memory_order_relaxed);
    log_.append("webhookd: a request was not whole within " + seconds_text(options_.request_timeout) +
                " (--request-timeout; " + std::to_string(in.size()) + " bytes of it arrived): closing its connection\n");
    return Outcome::kClose;
  }
  if (!store_pending(fd, token, in, started)) {
    log_at_most_each_second(last_refusal_log_ms_, "webhookd: requests arriving in parts hold " +
                                                      std::to_string(options_.pending_budget >> 20) +
                                                      " MiB, the limit: closing a connection with " +
                                                      std::to_string(in.size()) + " more bytes\n");
    return Outcome::kClose;
  }
  return Outcome::kKeep;
}

FcgiServer::Outcome FcgiServer::serve_request(int fd, std::string_view request, unsigned request_id, bool keep,
                                              Worker& w) {
  // The request is whole from here on: its duration (log, metrics) starts now.
  const auto started = std::chrono::steady_clock::now();
  auto refuse = [&](const std::string& why) {
    log_at_most_each_second(last_refusal_log_ms_, "webhookd: " + why + "; closing its connection\n");
    return Outcome::kClose;
  };
  if (!decode_request(request, &w.decoded)) return refuse("a request's records were not FastCGI's (dropped, never handled)");
  w.answer.clear();  // what the edge answers itself comes first, as it came first
  for (const ManagementRecord& m : w.decoded.management) w.answer += management_reply(m.type, m.content, options_.max_connections);
  for (unsigned id : w.decoded.refused) w.answer += end_request_record(id, kFcgiCantMpxConn);
  // Nothing thrown by one request may end the process: reading it is
  // guarded as well as handling it.
  HttpRequest request_in;
  HttpResponse response;
  bool scrape = false;  // GET /metrics: answered here, and not counted as a request of the API
  try {
    if (!read_request(w.decoded, &request_in)) {
      return refuse("a request's body was shorter than its CONTENT_LENGTH (dropped, never handled)");
    }
    scrape = options_.metrics && is_metrics_request(request_in);
    // A write waits on the service's lock and on fsync: another worker
    // runs meanwhile (see FcgiServer).
    if (!scrape && request_in.method != "GET" && request_in.method != "HEAD") step_aside(w);
    response = scrape ? metrics_response(request_in, *options_.metrics, stats()) : handler_(request_in);
  } catch (const std::exception& e) {
    response = last_resort_response(e.what());
  } catch (...) {
    response = last_resort_response("unknown exception");
  }
  // The answer goes to the connection in one write.
  w.text.assign("Status: ").append(status_line(response.status)).append("\r\n");
  for (const auto& h : response.headers) w.text.append(h.first).append(": ").append(h.second).append("\r\n");
  w.text.append("\r\n");
  append_stdout(&w.answer, request_id, w.text);
  if (!response.body.empty()) append_stdout(&w.answer, request_id, response.body);
  append_stdout(&w.answer, request_id, "");
  w.answer += end_request_record(request_id);
  // Stopping, the connection is closed right after this answer. nginx
  // could read the answer before the close arrives, put the connection
  // back in its cache (last in, first out: the very next request takes
  // it), write a POST to it and fail it, for it never resends a POST
  // (measured: 7 POSTs in 30 restarts under load). A record after
  // END_REQUEST, in the same write, makes nginx not keep the connection at
  // all (ngx_http_fastcgi_input_filter: data after the end of the request).
  // An empty FCGI_GET_VALUES_RESULT: a management record any FastCGI
  // client can skip.
  if (keep && stopping_.load()) {
    w.answer.append(kNotKeptMarker, sizeof kNotKeptMarker);
    w.last_answer_marked = true;
  }
  const bool delivered = answer(fd, w.answer, w.turn_deadline_ms);
  if (!delivered) {
    // nginx went away mid-answer; the log says so, the status stays what we meant to send.
    response.log_detail += response.log_detail.empty() ? "answer not delivered" : "; answer not delivered";
  }
  const auto took = std::chrono::steady_clock::now() - started;
  // An answer not delivered was still given (and logged as such): counted.
  if (options_.metrics && !scrape) options_.metrics->count_request(request_in.method, response.status, took);
  format_request_line(&w.line, request_in, response, took);
  log_.append(w.line);
  return delivered && keep ? Outcome::kKeep : Outcome::kClose;
}

void FcgiServer::expire_partial_requests(long long now) {
  std::vector<std::pair<uint64_t, long long>> expired;  // token, started
  {
    MutexLock lock(&pending_mu_);
    for (const auto& entry : pending_) {
      if (now - entry.second.started_ms >= options_.request_timeout.count()) {
        expired.emplace_back(entry.second.token, entry.second.started_ms);
      }
    }
  }
  for (const auto& e : expired) {
    const int fd = token_fd(e.first);
    uint64_t token = e.first;
    // Only a parked connection: one a worker holds is checked by it.
    if (!slots_[fd].parked.compare_exchange_strong(token, 0, std::memory_order_acq_rel)) continue;
    size_t bytes = 0;
    bool still = false;
    {
      MutexLock lock(&pending_mu_);
      auto it = pending_.find(fd);
      if (it != pending_.end() && it->second.token == e.first &&
          now - it->second.started_ms >= options_.request_timeout.count()) {
        still = true;
        bytes = it->second.bytes.size();
      }
    }
    if (!still) {  // served meanwhile: a later request's part, with its own clock
      park(fd, e.first);
      continue;
    }
    timed_out_requests_.fetch_add(1, std::memory_order_relaxed);  // before the close, as above
    close_connection(fd);
    log_.append("webhookd: a request was not whole within " + seconds_text(options_.request_timeout) +
                " (--request-timeout; " + std::to_string(bytes) + " bytes of it arrived): closing its connection\n");
  }
}

void FcgiServer::close_idle_connections(long long now) {
  // Never before the bound. A kept connection closed here while idle can be
  // the one nginx writes its next request to at that very moment (it learns
  // of the close only in its next turn of events), and nginx never resends a
  // POST: closing those idle for 250 ms since the stop, bursts of 16 POSTs
  // fired at that moment lost some in 2 of 32 (review) and 2 of 100
  // (BurstAfterIdleTest: 17 POSTs) trials. nginx closes its idle ones
  // itself after its upstream keepalive_timeout, with no such race, and one
  // it writes to is answered and closed after the answer (serve_request).
  if (now - stop_started_ms_ < options_.drain_idle.count()) return;
  int closed = 0;
  for (size_t fd = 0; fd < slot_count_; ++fd) {
    Slot& slot = slots_[fd];
    uint64_t token = slot.parked.load(std::memory_order_acquire);
    if (token == 0 || (token & (kArming | kFired)) != 0) continue;
    if (slot.has_pending.load(std::memory_order_acquire)) continue;  // in flight: answered once whole
    if (!slot.parked.compare_exchange_strong(token, 0, std::memory_order_acq_rel)) continue;
    // A request that arrived since is served, not dropped: parked again, its event fires.
    char byte;
    if (::recv(static_cast<int>(fd), &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
      park(static_cast<int>(fd), token);
      continue;
    }
    close_connection(static_cast<int>(fd));
    ++closed;
  }
  if (closed > 0) {
    log_.append("webhookd: stopping: closed " + std::to_string(closed) + " idle kept connection(s) still open " +
                seconds_text(options_.drain_idle) +
                " after the stop began; a request written to one at this moment is lost: give nginx's upstream a "
                "keepalive_timeout below that (webhookd(8), SIGTERM)\n");
  }
}

void FcgiServer::housekeeper_loop() {
  name_this_thread("housekeeper");
  // The longest a stop waits: a partial request's time, an answer's, and a margin.
  const long long stop_bound = options_.request_timeout.count() + options_.answer_timeout.count() + 1000;
  long long last_chores = 0, last_busy = 0;
  for (;;) {
    const bool draining = stopping_.load();
    const long long chores_every = draining ? 10 : 100;
    // Watching the workers (see move_aside_held_up_workers) every kHeldUpMs
    // while any was busy in the last 100 ms; otherwise napping until the
    // chores are due, and a worker that begins a turn wakes it (a nap of
    // 100 ms held a worker up that long: 9 times in 30 in review 31).
    const long long before = now_ms();
    long long wait = std::max(1LL, last_chores + chores_every - before);
    if (running_limit_ < options_.workers) {
      if (before - last_busy < 100) {
        wait = std::min(wait, kHeldUpMs);
      } else {
        housekeeper_napping_.store(true);  // then busy_workers_: see worker_loop
        if (busy_workers_.load() > 0) {
          housekeeper_napping_.store(false);
          wait = std::min(wait, kHeldUpMs);
        }
      }
    }
    bool poked;
    {
      MutexLock lock(&housekeeper_mu_);
      poked = housekeeper_mu_.wait_for(housekeeper_wake_, std::chrono::milliseconds(wait),
                                       [&]() REQUIRES(housekeeper_mu_) { return housekeeper_poked_; });
      housekeeper_poked_ = false;
    }
    housekeeper_napping_.store(false, std::memory_order_relaxed);
    const long long now = now_ms();
    if (busy_workers_.load(std::memory_order_relaxed) > 0) last_busy = now;
    move_aside_held_up_workers(now);
    if (!poked && now - last_chores < chores_every) continue;
    last_chores = now;
    expire_partial_requests(now);
    long long paused = listener_paused_until_ms_.load();
    if (paused != 0 && now >= paused && listener_paused_until_ms_.compare_exchange_strong(paused, 0) &&
        !stopping_.load()) {
      count_descriptors();
      struct epoll_event again = {EPOLLIN | EPOLLONESHOT, {}};
      again.data.u64 = kListenToken;
      (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &again);
    }
    if (stopping_.load()) {
      close_idle_connections(now);
      if (open_connections_.load() == 0 || now - stop_started_ms_ >= stop_bound) {
        ::close(stop_pipe_[1]);  // the read end becomes readable (EOF) for every worker, for good
        stop_pipe_[1] = -1;
        {
          MutexLock lock(&gate_mu_);
          gate_closed_ = true;  // the standby ones exit too
        }
        gate_wake_.notify_all();
        return;
      }
    }
  }
}

void FcgiServer::poke_housekeeper() {
  {
    MutexLock lock(&housekeeper_mu_);
    housekeeper_poked_ = true;
  }
  housekeeper_wake_.notify_one();
}

bool FcgiServer::run(Worker& w) {
  MutexLock lock(&gate_mu_);
  gate_mu_.wait(gate_wake_, [&]() REQUIRES(gate_mu_) { return gate_closed_ || running_ < running_limit_; });
  if (gate_closed_) return false;
  ++running_;
  w.running.store(true, std::memory_order_relaxed);
  return true;
}

void FcgiServer::step_aside(Worker& w) {
  {
    MutexLock lock(&gate_mu_);
    if (!w.running.load(std::memory_order_relaxed)) return;
    w.running.store(false, std::memory_order_relaxed);
    --running_;
  }
  // A standby worker only when no running one waits in epoll_wait for the
  // next request: each wake-up is a thread switch (POSTs, which all step
  // aside, cost 138 µs of CPU each where they had cost 109). Meanwhile
  // running_ stays below the limit: the one stepping aside comes back at
  // once after its turn, and the housekeeper tops up while one is held up.
  if (waiting_in_epoll_.load() == 0) gate_wake_.notify_one();
}

void FcgiServer::move_aside_held_up_workers(long long now) {
  bool held_up = false;
  for (auto& w : workers_) {
    const long long since = w->busy_since_ms.load(std::memory_order_relaxed);
    if (since == 0 || now - since < kHeldUpMs) continue;
    held_up = true;
    if (w->running.load(std::memory_order_relaxed)) step_aside(*w);
  }
  if (!held_up) return;
  bool turn_free;
  {
    MutexLock lock(&gate_mu_);
    turn_free = running_ < running_limit_;
  }
  if (turn_free) gate_wake_.notify_one();
}

void FcgiServer::worker_loop(Worker& w) {
  name_this_thread("worker");
  for (;;) {
    // Not yet running, or held up on its last turn (stepped aside): runs
    // once a turn is free.
    if (!w.running.load(std::memory_order_relaxed) && !run(w)) return;
    struct epoll_event ev;
    waiting_in_epoll_.fetch_add(1, std::memory_order_relaxed);
    int n = ::epoll_wait(epoll_fd_, &ev, 1, -1);
    waiting_in_epoll_.fetch_sub(1, std::memory_order_relaxed);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) continue;
    uint64_t token = ev.data.u64;
    if (token == kStopToken) break;
    if (token == kListenToken) {
      token = accept_connections();
      // Re-armed before serving: other workers accept while this one serves.
      if (listener_paused_until_ms_.load() == 0 && !stopping_.load()) {
        struct epoll_event again = {EPOLLIN | EPOLLONESHOT, {}};
        again.data.u64 = kListenToken;
        (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &again);
      }
      if (token == 0) continue;
    } else if (!claim(token)) {
      continue;
    }
    const int fd = token_fd(token);
    w.last_answer_marked = false;
    // Sequentially consistent, as the housekeeper's napping_ store and this
    // load: one of the two sees the other, so a turn never begins unwatched.
    busy_workers_.fetch_add(1);
    if (housekeeper_napping_.load() && housekeeper_napping_.exchange(false)) poke_housekeeper();
    w.busy_since_ms.store(now_ms(), std::memory_order_relaxed);
    Outcome outcome = serve_connection(fd, token, w);
    w.busy_since_ms.store(0, std::memory_order_relaxed);
    busy_workers_.fetch_sub(1, std::memory_order_relaxed);
    // Stopping: a connection is closed right after an answer that told
    // nginx not to keep it (unless part of a next request is already here).
    // An idle connection closed instead could be the one nginx is writing
    // its next request to at that very moment, and nginx never resends a POST.
    if (outcome == Outcome::kKeep && w.last_answer_marked &&
        !slots_[fd].has_pending.load(std::memory_order_acquire)) {
      outcome = Outcome::kClose;
    }
    if (outcome == Outcome::kClose) {
      close_connection(fd);
    } else {
      park(fd, token);
    }
  }
  step_aside(w);  // a standby worker sees the stop too (or polls in its place after an error)
}

}  // namespace webhookd
