// webhookd: arguments, config loading, signals and the worker threads.
// Signals are blocked in every thread and taken by the main thread with
// sigwait(): SIGTERM/SIGINT stop (in-flight requests finish), SIGHUP reloads
// the config (a bad one is refused and the old one kept).
#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "base/sha256.h"
#include "config.h"
#include "edge/fcgi_server.h"
#include "resource/handler.h"
#include "store/file_system.h"
#include "store/state_store.h"

namespace webhookd {
namespace {

struct Options {
  std::string config_path;
  std::string listen;     // empty: the socket is fd 0 (systemd, spawn-fcgi)
  std::string state_dir;  // overrides the config's state_dir
  int workers = 16;
  bool check_only = false;
};

const char kUsage[] =
    "usage: webhookd --config FILE [--listen unix:PATH | HOST:PORT] [--workers N]\n"
    "                [--state-dir DIR] [--check]\n"
    "Without --listen the FastCGI socket is taken from fd 0 (systemd StandardInput=socket,\n"
    "spawn-fcgi) or from systemd socket activation (LISTEN_FDS).\n"
    "--check loads the config and exits: 0 if it is valid.\n";

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string n;
    if (a == "--config") {
      if (!next(&o->config_path)) return false;
    } else if (a == "--listen") {
      if (!next(&o->listen)) return false;
    } else if (a == "--state-dir") {
      if (!next(&o->state_dir)) return false;
    } else if (a == "--workers") {
      if (!next(&n)) return false;
      char* end = nullptr;
      long w = std::strtol(n.c_str(), &end, 10);
      if (!end || *end || w < 1 || w > 1024) return false;
      o->workers = static_cast<int>(w);
    } else if (a == "--check") {
      o->check_only = true;
    } else {
      return false;
    }
  }
  return !o->config_path.empty();
}

// What a request needs, swapped whole on SIGHUP; requests in flight keep the
// one they started with. The store (its parse cache, its write queues) is
// kept across a reload that leaves state_dir as it was: a reload costs no
// cold cache, and a worker still holding the old runtime holds no second one.
struct Runtime {
  Runtime(Config c, std::shared_ptr<StateStore> s) : config(std::move(c)), store(std::move(s)) {}
  Config config;
  std::shared_ptr<StateStore> store;
};

void log_line(const std::string& s) {
  std::string line = s + "\n";
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

// systemd's sd_notify protocol, without linking libsystemd: one datagram to
// $NOTIFY_SOCKET. A no-op when not started by systemd with Type=notify.
void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@')) return;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len < sizeof addr.sun_path) {
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
             static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len));
  }
  ::close(fd);
}

// systemd socket activation hands the socket over as fd 3 with LISTEN_FDS;
// StandardInput=socket and spawn-fcgi hand it over as fd 0.
int inherited_listener() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid && fds && std::atol(pid) == static_cast<long>(::getpid()) && std::atoi(fds) >= 1) {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return 3;
  }
  return 0;
}

Result<Config> load(const Options& o) {
  auto config = load_config(o.config_path);
  if (config.ok() && !o.state_dir.empty()) config.value().state_dir = o.state_dir;
  return config;
}

int run(const Options& o) {
  auto config = load(o);
  if (!config.ok()) {
    log_line("webhookd: bad config: " + config.error().detail);
    return 2;
  }
  if (o.check_only) {
    log_line("webhookd: " + o.config_path + " is valid");
    return 0;
  }
  if (::access(config.value().state_dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    log_line("webhookd: state_dir " + config.value().state_dir + ": " + std::strerror(errno));
    return 2;
  }

  // glibc gives each thread that allocates its own arena (up to 8 per core);
  // with 16 workers that is most of the resident memory. Two are plenty for
  // requests this short, and keep RSS flat whatever the worker count.
  mallopt(M_ARENA_MAX, 2);
  // OpenSSL reads its config file and loads its providers on first use:
  // millions of instructions that would otherwise land on the first request.
  sha256_digest("");

  PosixFileSystem fs;
  auto first_store = std::make_shared<StateStore>(fs, config.value().state_dir);
  std::shared_ptr<Runtime> runtime = std::make_shared<Runtime>(std::move(config.value()), std::move(first_store));
  // Block the signals before any thread exists, so that only sigwait() below
  // receives them; SIGPIPE (nginx gone mid-answer) must not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  int listen_fd;
  bool own_socket = !o.listen.empty();
  if (own_socket) {
    auto fd = open_listener(o.listen);
    if (!fd.ok()) {
      log_line("webhookd: " + fd.error().detail);
      return 2;
    }
    listen_fd = fd.value();
  } else {
    listen_fd = inherited_listener();
  }

  // Bumped after each reload. A worker keeps its own reference to the
  // runtime and takes the new one only when the generation moved:
  // libstdc++'s atomic shared_ptr load takes a mutex that every worker
  // would otherwise contend on, on every request.
  std::atomic<uint64_t> generation{0};
  FcgiServer server(listen_fd, o.workers, [&runtime, &generation](const HttpRequest& request) {
    thread_local std::shared_ptr<Runtime> mine;
    thread_local uint64_t seen = ~uint64_t{0};
    const uint64_t now = generation.load(std::memory_order_acquire);
    if (now != seen) {
      mine = std::atomic_load(&runtime);
      seen = now;
    }
    return handle(request, mine->config, *mine->store);
  });
  Status started = server.start();
  if (!started.ok()) {
    log_line("webhookd: " + started.error().detail);
    return 2;
  }
  log_line("webhookd: serving " + (own_socket ? o.listen : std::string("the inherited socket")) + " with " +
           std::to_string(o.workers) + " workers, state in " + runtime->config.state_dir);
  notify_systemd("READY=1");

  // Crash leftovers are tidied while already serving: the directory scan
  // grows with the number of services, start-up must not. Safe alongside
  // requests: every removal happens under the service's lock.
  std::thread cleaner([rt = runtime] {
    auto cleaned = rt->store->clean_up();
    if (!cleaned.ok()) {
      log_line("webhookd: cleaning up " + rt->config.state_dir + ": " + cleaned.error().detail);
    } else if (cleaned.value().temp_files_removed || cleaned.value().lock_files_removed) {
      log_line("webhookd: removed " + std::to_string(cleaned.value().temp_files_removed) +
               " leftover temp file(s) and " + std::to_string(cleaned.value().lock_files_removed) +
               " lock file(s) of services that no longer exist");
    }
  });

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      notify_systemd("RELOADING=1");
      auto fresh = load(o);
      if (fresh.ok()) {
        std::shared_ptr<StateStore> store = fresh.value().state_dir == runtime->config.state_dir
                                                ? runtime->store
                                                : std::make_shared<StateStore>(fs, fresh.value().state_dir);
        std::atomic_store(&runtime, std::make_shared<Runtime>(std::move(fresh.value()), std::move(store)));
        generation.fetch_add(1, std::memory_order_release);
        log_line("webhookd: reloaded " + o.config_path);
      } else {
        log_line("webhookd: reload refused, keeping the old config: " + fresh.error().detail);
      }
      notify_systemd("READY=1");
      continue;
    }
    break;
  }
  notify_systemd("STOPPING=1");
  log_line("webhookd: stopping; finishing requests in flight");
  server.stop();
  cleaner.join();
  // A socket we created is ours to remove; an inherited one belongs to systemd.
  if (own_socket && o.listen.rfind("unix:", 0) == 0) ::unlink(o.listen.substr(5).c_str());
  log_line("webhookd: stopped");
  return 0;
}

}  // namespace
}  // namespace webhookd

int main(int argc, char** argv) {
  webhookd::Options options;
  if (!webhookd::parse_args(argc, argv, &options)) {
    std::fputs(webhookd::kUsage, stderr);
    return 2;
  }
  return webhookd::run(options);
}
