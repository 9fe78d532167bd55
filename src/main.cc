// webhookd: arguments, config loading, signals and the worker threads.
// Signals are blocked in every thread and taken by the main thread with
// sigwait(): SIGTERM/SIGINT stop (in-flight requests finish), SIGHUP reloads
// the config (a bad one is refused and the old one kept).
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/handler.h"
#include "base/sha256.h"
#include "base/thread_name.h"
#include "base/version.h"
#include "edge/fcgi_server.h"
#include "edge/metrics.h"
#include "edge/systemd.h"
#include "store/config_file.h"
#include "store/file_system.h"
#include "store/state_store.h"

namespace webhookd {
namespace {

struct Options {
  std::string config_path;
  std::string listen;     // empty: the socket is fd 0 (systemd, spawn-fcgi)
  std::string state_dir;  // overrides the config's state_dir
  int workers = 16;
  int max_connections = 4096;
  std::chrono::milliseconds request_timeout{10000};
  bool check_only = false;
  bool metrics = true;  // --no-metrics: nothing counted, no /metrics (what the counters cost, in make bench)
};

const char kUsage[] =
    "usage: webhookd --config FILE [--listen unix:PATH | HOST:PORT] [--workers N]\n"
    "                [--max-connections N] [--request-timeout SECONDS] [--state-dir DIR] [--no-metrics]\n"
    "                [--check]\n"
    "       webhookd --version | --help\n"
    "Serves Twilio's Conversations Per-Service Webhook Configuration API over FastCGI.\n"
    "Without --listen the FastCGI socket is taken from systemd socket activation\n"
    "(LISTEN_FDS) or from fd 0 (StandardInput=socket, spawn-fcgi).\n"
    "Any number of kept connections (nginx's keepalive + fastcgi_keep_conn) are\n"
    "served by the N workers (as many as there are CPUs at a time; the others\n"
    "stand by for one that writes or is held up by a disk or a slow peer); past\n"
    "--max-connections (default 4096) new ones are closed. Each connection is a\n"
    "file descriptor: webhookd raises its soft limit to --max-connections + what\n"
    "is open besides connections (about 7) + 4 x --workers + 8 kept for the\n"
    "workers' files, within the hard limit (LimitNOFILE, ulimit -n); when that\n"
    "allows fewer connections, it says how many at start, and the others wait in\n"
    "the socket's queue.\n"
    "A request not whole within --request-timeout (default 10) seconds of its first\n"
    "byte has its connection closed, with a line in the log.\n"
    "GET /metrics on the FastCGI socket answers Prometheus metrics (text format 0.0.4,\n"
    "no credentials: the shipped nginx location lets only loopback in); --no-metrics\n"
    "counts nothing and leaves /metrics to the API (404).\n"
    "--check loads the config and checks its state directory, and exits: 0 if both are good, 2 if not.\n"
    "Signals: SIGHUP reloads the config (a bad one is refused), SIGTERM stops\n"
    "accepting, answers every request that has arrived (whole or in part) and exits.\n";

enum class Parsed { kRun, kExit0, kUsageError };

Parsed parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string n;
    if (a == "--version") {
      std::printf("webhookd %s\n", kVersion);
      return Parsed::kExit0;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return Parsed::kExit0;
    } else if (a == "--config") {
      if (!next(&o->config_path)) return Parsed::kUsageError;
    } else if (a == "--listen") {
      if (!next(&o->listen)) return Parsed::kUsageError;
    } else if (a == "--state-dir") {
      if (!next(&o->state_dir)) return Parsed::kUsageError;
    } else if (a == "--workers") {
      if (!next(&n)) return Parsed::kUsageError;
      char* end = nullptr;
      long w = std::strtol(n.c_str(), &end, 10);
      if (!end || *end || w < 1 || w > 1024) return Parsed::kUsageError;
      o->workers = static_cast<int>(w);
    } else if (a == "--max-connections") {
      if (!next(&n)) return Parsed::kUsageError;
      char* end = nullptr;
      long m = std::strtol(n.c_str(), &end, 10);
      if (!end || *end || m < 1 || m > 1000000) return Parsed::kUsageError;
      o->max_connections = static_cast<int>(m);
    } else if (a == "--request-timeout") {
      if (!next(&n)) return Parsed::kUsageError;
      char* end = nullptr;
      double seconds = std::strtod(n.c_str(), &end);
      if (!end || *end || !(seconds >= 0.1 && seconds <= 3600)) return Parsed::kUsageError;
      o->request_timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    } else if (a == "--check") {
      o->check_only = true;
    } else if (a == "--no-metrics") {
      o->metrics = false;
    } else {
      return Parsed::kUsageError;
    }
  }
  return o->config_path.empty() ? Parsed::kUsageError : Parsed::kRun;
}

void log_line(const std::string& s) {
  std::string line = s + "\n";
  (void)!::write(2, line.data(), line.size());
}

// Whether dir is the root of a mounted file system (another device than
// its parent's): what an unmount takes away. Asked when a store is made.
bool is_mount_root(const std::string& dir) {
  struct stat self, parent;
  if (::stat(dir.c_str(), &self) != 0 || ::stat((dir + "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

// What a request needs, swapped whole on SIGHUP; requests in flight keep the
// one they started with. The store (its parse cache, its write queues) is
// kept across a reload that leaves state_dir the same directory: a reload
// costs no cold cache, and a worker still holding the old runtime holds no
// second one.
struct Runtime {
  Runtime(Config c, std::shared_ptr<StateStore> s, bool m)
      : config(std::move(c)), store(std::move(s)), mount_root(m) {}
  Config config;
  std::shared_ptr<StateStore> store;
  bool mount_root;  // state_dir was a mounted volume's root when the store was made
};

// A reload that keeps the state_dir string: is it still the directory the
// store was made on? A reload is the operator's deliberate act, so another
// directory there now (a symlink flipped, a directory replaced) is served
// from now on, with a new store. Except where the store was made on a
// mounted volume and what is there now is a plain directory of the file
// system beneath: a reload during an unmount must not serve (and write
// onto) the bare mountpoint, so that one keeps the old store, and its 503s,
// until the volume is back or webhookd restarts.
enum class DirNow { kSame, kReplaced, kUnmounted };
DirNow state_dir_now(FileSystem& fs, const Runtime& old) {
  auto now = fs.identify_dir(old.config.state_dir, /*with_fs_type=*/true);
  if (!now.ok()) return DirNow::kSame;  // load() has refused it already
  const Result<DirIdentity>& recorded = old.store->dir_identity();
  if (recorded.ok() && same_directory(recorded.value(), now.value())) return DirNow::kSame;
  if (old.mount_root && !is_mount_root(old.config.state_dir)) return DirNow::kUnmounted;
  return DirNow::kReplaced;
}

// The config as --config and --state-dir say, refused (at start-up and on
// reload alike) when its state_dir cannot be served from.
Result<Config> load(FileSystem& fs, const Options& o) {
  auto config = load_config(fs, o.config_path);
  if (!config.ok()) return config;
  if (!o.state_dir.empty()) config.value().state_dir = o.state_dir;
  Status usable = check_state_dir(fs, config.value());
  if (!usable.ok()) return usable.error();
  return config;
}

// Crash leftovers are tidied while already serving: the directory scan
// grows with the number of services, start-up must not. Safe alongside
// requests: every removal happens under the service's lock.
std::thread start_clean_up(std::shared_ptr<Runtime> rt) {
  return std::thread([rt = std::move(rt)] {
    name_this_thread("clean-up");
    auto cleaned = rt->store->clean_up();
    if (cleaned.ok()) {
      for (const std::string& why : cleaned.value().skipped) log_line("webhookd: clean-up left alone " + why);
    }
    if (!cleaned.ok()) {
      log_line("webhookd: cleaning up " + rt->config.state_dir + ": " + cleaned.error().message);
    } else if (cleaned.value().temp_files_removed || cleaned.value().lock_files_removed) {
      log_line("webhookd: removed " + std::to_string(cleaned.value().temp_files_removed) +
               " leftover temp file(s) and " + std::to_string(cleaned.value().lock_files_removed) +
               " lock file(s) of services that no longer exist in " + rt->config.state_dir);
    }
  });
}

// The runtime every worker reads, and how they learn it changed. A worker
// keeps its own reference and takes the new one only when the generation
// moved: libstdc++'s atomic shared_ptr load takes a mutex that every worker
// would otherwise contend on, on every request.
class RuntimeSlot {
 public:
  explicit RuntimeSlot(std::shared_ptr<Runtime> rt) : runtime_(std::move(rt)) {}
  std::shared_ptr<Runtime> get() const { return std::atomic_load(&runtime_); }
  void set(std::shared_ptr<Runtime> rt) {
    std::atomic_store(&runtime_, std::move(rt));
    generation_.fetch_add(1, std::memory_order_release);
  }
  HttpResponse handle(const HttpRequest& request) const {
    thread_local std::shared_ptr<Runtime> mine;
    thread_local uint64_t seen = ~uint64_t{0};
    const uint64_t now = generation_.load(std::memory_order_acquire);
    if (now != seen) {
      mine = get();
      seen = now;
    }
    return webhookd::handle(request, mine->config, *mine->store);
  }

 private:
  std::shared_ptr<Runtime> runtime_;  // only through atomic_load/atomic_store
  std::atomic<uint64_t> generation_{0};
};

// SIGHUP: the new config replaces the old only if it loads whole. A new
// state_dir, or another directory at the same one (state_dir_now), gets its
// own store (reporting to the same metrics) and its own clean-up of crash
// leftovers.
void reload(FileSystem& fs, const Options& o, RuntimeSlot& slot, std::vector<std::thread>& cleaners,
            Metrics* metrics) {
  notify_systemd("RELOADING=1");
  auto fresh = load(fs, o);
  if (metrics) metrics->config_reload(fresh.ok());
  if (!fresh.ok()) {
    log_line("webhookd: reload refused, keeping the old config: " + fresh.error().message);
  } else {
    std::shared_ptr<Runtime> old = slot.get();
    const bool moved = fresh.value().state_dir != old->config.state_dir;
    const DirNow now = moved ? DirNow::kReplaced : state_dir_now(fs, *old);
    const bool fresh_store = now == DirNow::kReplaced;
    auto store = fresh_store ? std::make_shared<StateStore>(fs, fresh.value().state_dir,
                                                            ParseCache::kDefaultCapacity, metrics)
                             : old->store;
    const bool mount_root = fresh_store ? is_mount_root(fresh.value().state_dir) : old->mount_root;
    auto rt = std::make_shared<Runtime>(std::move(fresh.value()), std::move(store), mount_root);
    slot.set(rt);
    if (fresh_store) cleaners.push_back(start_clean_up(rt));
    std::string what;
    if (moved) {
      what = ", state now in " + rt->config.state_dir;
    } else if (now == DirNow::kReplaced) {
      what = ", state_dir " + rt->config.state_dir + " is another directory now: served from it";
    } else if (now == DirNow::kUnmounted) {
      what = ", but state_dir " + rt->config.state_dir + " was a mounted volume and is a plain directory now " +
             "(unmounted?): not served (503) until the volume is mounted again, or webhookd restarts";
    }
    log_line("webhookd: reloaded " + o.config_path + what);
  }
  notify_systemd("READY=1");
}

Result<int> listening_socket(const Options& o) {
  if (o.listen.empty()) return inherited_listener();
  return open_listener(o.listen);
}

int run(const Options& o) {
  PosixFileSystem fs;
  auto config = load(fs, o);
  if (!config.ok()) {
    log_line("webhookd: bad config: " + config.error().message);
    return 2;
  }
  if (o.check_only) {
    log_line("webhookd: " + o.config_path + " is valid");
    return 0;
  }
  // glibc gives each thread that allocates its own arena (up to 8 per core);
  // with 16 workers that is most of the resident memory. Two are plenty for
  // requests this short, and keep RSS flat whatever the worker count.
  mallopt(M_ARENA_MAX, 2);
  // OpenSSL reads its config file and loads its providers on first use:
  // millions of instructions that would otherwise land on the first request.
  (void)sha256_digest("");

  // Block the signals before any thread exists, so that only sigwait() below
  // receives them; SIGPIPE (nginx gone mid-answer) must not kill us, nor
  // SIGUSR1 (a stray `kill -USR1`, a log rotation's habit), which libfcgi's
  // FCGX_Init used to catch before the edge decoded requests itself.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGUSR1, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto listen_fd = listening_socket(o);
  if (!listen_fd.ok()) {
    log_line("webhookd: " + listen_fd.error().message);
    return 2;
  }
  // Before the store and the server, which report to it, and outliving both.
  std::unique_ptr<Metrics> metrics = o.metrics ? std::make_unique<Metrics>(kVersion) : nullptr;
  auto store = std::make_shared<StateStore>(fs, config.value().state_dir, ParseCache::kDefaultCapacity, metrics.get());
  const bool mount_root = is_mount_root(config.value().state_dir);
  RuntimeSlot slot(std::make_shared<Runtime>(std::move(config.value()), std::move(store), mount_root));
  FcgiServerOptions server_options;
  server_options.workers = o.workers;
  server_options.max_connections = o.max_connections;
  server_options.request_timeout = o.request_timeout;
  server_options.metrics = metrics.get();
  FcgiServer server(listen_fd.value(), server_options, [&slot](const HttpRequest& r) { return slot.handle(r); });
  Status started = server.start();
  if (!started.ok()) {
    log_line("webhookd: " + started.error().message);
    return 2;
  }
  // Said at start, not discovered later: past what the descriptor limit
  // allows, connections wait in the listening socket's queue.
  if (std::string warning = server.descriptor_warning(); !warning.empty()) log_line(warning);
  log_line("webhookd " + std::string(kVersion) + ": serving " +
           (o.listen.empty() ? std::string("the inherited socket") : o.listen) + " with " +
           std::to_string(o.workers) + " workers, state in " + slot.get()->config.state_dir);
  notify_systemd("READY=1");
  std::vector<std::thread> cleaners;
  cleaners.push_back(start_clean_up(slot.get()));

  for (int sig = 0; sig != SIGTERM && sig != SIGINT;) {
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) reload(fs, o, slot, cleaners, metrics.get());
  }
  notify_systemd("STOPPING=1");
  log_line("webhookd: stopping; finishing requests in flight");
  server.stop();
  for (auto& t : cleaners) t.join();
  // A socket we created is ours to remove; an inherited one belongs to systemd.
  if (o.listen.rfind("unix:", 0) == 0) ::unlink(o.listen.substr(5).c_str());
  log_line("webhookd: stopped");
  return 0;
}

}  // namespace
}  // namespace webhookd

int main(int argc, char** argv) {
  webhookd::Options options;
  switch (webhookd::parse_args(argc, argv, &options)) {
    case webhookd::Parsed::kExit0: return 0;
    case webhookd::Parsed::kUsageError: std::fputs(webhookd::kUsage, stderr); return 2;
    case webhookd::Parsed::kRun: break;
  }
  return webhookd::run(options);
}
