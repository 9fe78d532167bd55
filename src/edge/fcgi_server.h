// The FastCGI edge: worker threads that accept nginx's connections, turn each
// FastCGI request into an HttpRequest, call the handler and write the
// HttpResponse back. The only file that includes <fcgiapp.h>.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
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
#include "edge/metrics.h"
#include "edge/request_log.h"

namespace webhookd {

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// "unix:/path" or "host:port" / ":port"; returns the listening descriptor.
Result<int> open_listener(const std::string& spec);

struct FcgiServerOptions {
  // Threads. As many as the CPUs webhookd may run on take turns at the
  // connections; the others stand by for those held up by a disk (see
  // FcgiServer).
  int workers = 16;
  // Open connections at most; past it a new connection is closed at once
  // (nginx then answers 502, which its error page makes a JSON 503) and a
  // line says so in the log.
  int max_connections = 4096;
  // A request must be whole within this from its first byte; otherwise its
  // connection is closed, and the log says so (--request-timeout).
  std::chrono::milliseconds request_timeout{10000};
  // The most a worker spends on one turn of a connection while it waits for
  // the peer to take answers: one deadline for everything it had sent (a
  // peer may pipeline thousands of requests), not one per answer.
  std::chrono::milliseconds answer_timeout{5000};
  // Stopping: how long, from the stop's start, a kept connection with no
  // request in it is left to its peer (see stop()). nginx closes an idle one
  // itself after its upstream keepalive_timeout (1 s in the shipped files),
  // or writes a request to it, answered and then closed here. Only what is
  // still open after this is closed by webhookd.
  std::chrono::milliseconds drain_idle{1500};
  // Memory for requests that have arrived in part, all connections together.
  size_t pending_budget = 64u << 20;
  // Counts every answer and serves GET /metrics (before the handler, which
  // never sees it); nullptr: neither (--no-metrics), and /metrics goes to
  // the handler like any other path.
  Metrics* metrics = nullptr;
};

// Serves nginx's connections, kept or not, with a fixed set of worker
// threads and no thread per connection. Every connection waits in one epoll
// set, registered EPOLLONESHOT; idle workers wait in epoll_wait on it, so the
// kernel hands each readable connection to exactly one of them. That worker
// reads what has arrived without waiting, serves every whole request in it
// (decoded by fcgi_records.h, never waiting for a byte; the answer is framed
// there too and written in one go), keeps
// the part of a request that has not all arrived in memory, and gives the
// connection back (re-arms it), or closes it. An idle kept connection holds
// no worker; neither does a request arriving in pieces.
//
// Only as many workers run (wait in epoll_wait and serve) as there are CPUs
// to run them (the affinity mask, within the cgroup's CPU quota); the rest
// stand by, asleep. With every worker waiting in
// epoll_wait, each request woke a sleeping thread: at 16 connections on 2
// CPUs, 18.3 µs of webhookd's CPU a GET, and 12.9 µs with the standby
// workers (tests/bench/README.md, 2026-12-02). A worker about to wait steps
// aside and a standby one runs in its place: at once for a request that
// writes (the lock, fsync: POSTs need many workers for the store's group
// commit), and, moved aside by the housekeeper, for any request held up for
// kHeldUpMs (a slow disk, a dead mount, a peer slow to take its answers).
// Done, it runs again when a turn is free.
class FcgiServer {
 public:
  FcgiServer(int listen_fd, FcgiServerOptions options, RequestHandler handler);
  ~FcgiServer();
  // Raises the soft descriptor limit to what max_connections needs (within
  // the hard limit), then starts the worker threads and the housekeeper.
  Status start();
  // After start(): a warning for the log when the descriptor limit allows
  // fewer connections than max_connections; empty otherwise.
  std::string descriptor_warning() const;
  // Stops accepting (new connections wait in the listening socket's queue
  // for the next process), answers every request that has reached webhookd,
  // whole or in part, and closes each connection right after its answer. A
  // kept connection with no request is left to the peer to close (or to
  // use) until drain_idle after the stop began, and only then closed here.
  // Returns when no connection is left (or a partial request's time ran
  // out), with the workers joined.
  void stop();
  // The figures a scrape reads; any thread.
  ServerStats stats() const;

 private:
  struct Worker;  // a worker thread's own buffers
  // A connection's place, indexed by its descriptor. `parked` holds the
  // connection's token (generation << 32 | fd, the epoll data) while it
  // waits in the epoll set and belongs to no thread, 0 while a thread owns
  // it; a thread owns a connection only after exchanging its token for 0
  // (claim), so an event that comes late, for a connection closed since or
  // for an earlier connection with the same number, is never served.
  struct Slot {
    std::atomic<uint64_t> parked{0};
    std::atomic<uint32_t> generation{0};
    std::atomic<bool> has_pending{false};     // pending_ holds part of a request for it
  };
  struct Pending {
    std::string bytes;
    long long started_ms = 0;  // the request's first byte
    uint64_t token = 0;
  };
  enum class Outcome { kKeep, kClose };

  void worker_loop(Worker& w);
  void housekeeper_loop();
  // Waits until fewer than running_limit_ workers run, then runs; false once
  // the workers are to exit.
  bool run(Worker& w) EXCLUDES(gate_mu_);
  // Leaves the running workers, and wakes a standby one in its place.
  void step_aside(Worker& w) EXCLUDES(gate_mu_);
  // The housekeeper's part: steps aside each worker held up on one turn.
  void move_aside_held_up_workers(long long now) EXCLUDES(gate_mu_);
  // Wakes the housekeeper for its chores now.
  void poke_housekeeper() EXCLUDES(housekeeper_mu_);
  // Accepts what is waiting; returns the first connection's token (0 if
  // none), not yet in the epoll set, for the caller to serve at once.
  uint64_t accept_connections();
  bool claim(uint64_t token);
  void park(int fd, uint64_t token);
  Outcome serve_connection(int fd, uint64_t token, Worker& w);
  Outcome serve_request(int fd, std::string_view request, unsigned request_id, bool keep, Worker& w);
  // All of bytes to the peer, waiting for it until deadline_ms (the turn's).
  [[nodiscard]] bool answer(int fd, std::string_view bytes, long long deadline_ms);
  bool take_pending(int fd, std::string* into, long long* started_ms) EXCLUDES(pending_mu_);
  bool store_pending(int fd, uint64_t token, std::string_view bytes, long long started_ms) EXCLUDES(pending_mu_);
  void close_connection(int fd) EXCLUDES(pending_mu_);
  void expire_partial_requests(long long now) EXCLUDES(pending_mu_);
  void close_idle_connections(long long now);
  // Whether this thread writes the next line of a kind: at most one per
  // interval_ms; `last` is the kind's clock.
  bool take_log_turn(std::atomic<long long>& last, long long interval_ms);
  // A line for the log, at most once a second per kind.
  void log_at_most_each_second(std::atomic<long long>& last, const std::string& line);
  // Out of descriptors: accepts nothing for kAcceptPauseMs (the housekeeper
  // re-arms the listener), counts the pause, and says why at most every 10 s.
  void pause_listener(const std::string& why);

  const int listen_fd_;
  const FcgiServerOptions options_;
  RequestHandler handler_;
  int epoll_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};  // the write end is closed when the workers are to exit
  std::atomic<bool> stopping_{false};
  long long stop_started_ms_ = 0;  // set before stopping_, read after it
  std::atomic<int> open_connections_{0};
  std::atomic<int> busy_workers_{0};
  std::atomic<unsigned long long> refused_connections_{0};  // over max_connections
  std::atomic<unsigned long long> timed_out_requests_{0};   // not whole within request_timeout
  std::atomic<long long> listener_paused_until_ms_{0};  // out of descriptors: accept again then (0: armed)
  std::atomic<unsigned long long> accept_pauses_{0};    // since the last line about them
  std::atomic<long long> last_descriptor_log_ms_{0};
  // Descriptors, by one rule for the raise at start, the warning and the
  // connections accepted: connections + fixed + reserve <= the soft limit.
  // fixed: open besides connections (counted at start, again by the
  // housekeeper after each pause); reserve: kept for the workers' own files.
  std::atomic<long long> descriptor_limit_{0};  // the soft limit, read at each count; 0: none to respect
  long long hard_limit_ = 0;           // for the warning; -1: unlimited
  long long fixed_descriptors_ = 0;    // counted at start; a floor for later counts
  long long descriptor_reserve_ = 0;
  std::atomic<long long> connection_allowance_{0};
  void count_descriptors();  // sets connection_allowance_ (and reads the limit again)
  std::atomic<long long> last_cap_log_ms_{0};
  std::atomic<long long> last_refusal_log_ms_{0};
  std::unique_ptr<Slot[]> slots_;
  size_t slot_count_ = 0;  // descriptor numbers a connection can have
  Mutex pending_mu_;
  std::unordered_map<int, Pending> pending_ GUARDED_BY(pending_mu_);
  size_t pending_bytes_ GUARDED_BY(pending_mu_) = 0;
  Mutex housekeeper_mu_;
  std::condition_variable housekeeper_wake_;
  bool housekeeper_poked_ GUARDED_BY(housekeeper_mu_) = false;
  // The housekeeper naps (no worker was busy for 100 ms): the worker that
  // begins the next turn wakes it (see housekeeper_loop).
  std::atomic<bool> housekeeper_napping_{false};
  std::thread housekeeper_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // The workers that run (see the class comment). A worker's own `running`
  // flag changes only under gate_mu_.
  Mutex gate_mu_;
  std::condition_variable gate_wake_;
  int running_ GUARDED_BY(gate_mu_) = 0;
  bool gate_closed_ GUARDED_BY(gate_mu_) = false;  // the workers are to exit
  int running_limit_ = 1;  // the CPUs this process may run on (and its CPU quota allows), at most workers; set by start()
  std::atomic<int> waiting_in_epoll_{0};  // running workers in epoll_wait now
  std::vector<std::thread> threads_;
  bool stopped_ = false;
  RequestLog log_;  // one line per request on stderr
};

}  // namespace webhookd
