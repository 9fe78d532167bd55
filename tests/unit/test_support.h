// Helpers shared by the unit tests: a temp directory that cleans itself up,
// whole-file read/write, and the heap in use.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <thread>
#include <vector>

#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "api/api_error.h"
#include "base/result.h"
#include "model/state_file.h"
#include "store/file_system.h"

namespace webhookd {
// So that BOOST_TEST can print a code or kind when a comparison fails.
inline std::ostream& operator<<(std::ostream& out, ErrorCode code) { return out << error_code_name(code); }
inline std::ostream& operator<<(std::ostream& out, ApiErrorKind kind) {
  return out << "ApiErrorKind(" << static_cast<int>(kind) << ")";
}
}  // namespace webhookd

namespace webhookd_test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/webhookd-unit-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::set<std::string> list_dir(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.insert(n);
    }
    closedir(d);
  }
  return names;
}

using namespace webhookd;

// A unix socket file at path, as a daemon that bound one leaves it: open()
// on it fails (ENXIO) before anything could fstat it. False if it cannot be
// made (the path is over the 107 bytes sun_path holds).
inline bool make_socket_file(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  path.copy(addr.sun_path, path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);  // the file stays
  return bound;
}

// Polls pred() every millisecond for at most `seconds`: every wait of a test
// on a gate, a thread or a process is bounded, so a regression fails with a
// message instead of hanging CI.
template <typename Pred>
bool wait_until(Pred pred, double seconds = 10.0) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Runs f on its own thread and says whether it returned within `seconds`.
// If not (a FIFO opened the blocking way waits for a writer for ever), each
// of `fifos` is opened for writing until f returns: a reader blocked in
// open() then goes on and reads end-of-file, so that the regression fails
// the test instead of hanging the run.
template <typename F>
bool returns_without_blocking(F f, const std::vector<std::string>& fifos, double seconds = 5.0) {
  std::atomic<bool> done{false};
  std::thread t([&] {
    f();
    done = true;
  });
  const bool in_time = wait_until([&] { return done.load(); }, seconds);
  while (!done.load()) {
    for (const std::string& fifo : fifos) {
      int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // ENXIO while nobody reads
      if (fd >= 0) ::close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  t.join();
  return in_time;
}

enum class Op { kNone, kCreateTemp, kWrite, kSync, kClose, kRename, kSyncDir, kLock, kOpenDir };

// The real file system, with one chosen operation failing the way the disk
// would: a short write then ENOSPC, EIO on fsync, and so on.
class FaultyFileSystem : public webhookd::PosixFileSystem {
 public:
  Op fail = Op::kNone;
  int temps_created = 0;
  // Non-zero: every read of a file (or lock) fails with this errno, as on
  // a dead FUSE mount or a file a person chmodded; dir_errno: the state
  // directory itself fails the store's probe with it too.
  int read_errno = 0;
  int dir_errno = 0;

  Result<std::string> read_file(const std::string& p) override {
    if (read_errno) return Error::io("injected: open " + p + ": " + std::strerror(read_errno), read_errno);
    return PosixFileSystem::read_file(p);
  }
  Status probe_dir(const std::string& dir) override {
    if (dir_errno) return Error::io("injected: open dir " + dir + ": " + std::strerror(dir_errno), dir_errno);
    return PosixFileSystem::probe_dir(dir);
  }
  // Counted: the store asks it only where "no such file" is the answer or
  // a file is about to be made. `identity`, when set, is what it answers
  // (a directory put in place of the state directory, a remount).
  int identify_dirs = 0, fs_types = 0;  // fs_types: of those, the ones asking statfs too
  std::optional<webhookd::DirIdentity> identity;
  Result<webhookd::DirIdentity> identify_dir(const std::string& dir, bool with_fs_type) override {
    ++identify_dirs;
    if (with_fs_type) ++fs_types;
    if (dir_errno) return Error::io("injected: stat " + dir + ": " + std::strerror(dir_errno), dir_errno);
    if (identity) return *identity;
    return PosixFileSystem::identify_dir(dir, with_fs_type);
  }

  Result<std::unique_ptr<FileLock>> lock(const std::string& p, LockFile make) override {
    if (fail == Op::kLock) return Error::io("injected: lock ENOLCK", ENOLCK);
    if (read_errno) return Error::io("injected: open " + p + ": " + std::strerror(read_errno), read_errno);
    return PosixFileSystem::lock(p, make);
  }
  Result<int> create_temp(const std::string& prefix, std::string* path) override {
    if (fail == Op::kCreateTemp) return Error::io("injected: mkstemp EMFILE", EMFILE);
    if (out_of_descriptors_after_rename && renamed) return Error::unavailable("injected: mkstemp EMFILE", EMFILE);
    ++temps_created;
    return PosixFileSystem::create_temp(prefix, path);
  }
  Status write_all(int fd, const std::string& data) override {
    if (fail == Op::kWrite) {
      (void)PosixFileSystem::write_all(fd, data.substr(0, data.size() / 2));  // torn temp file
      return Error::io("injected: write ENOSPC", ENOSPC);
    }
    return PosixFileSystem::write_all(fd, data);
  }
  Status sync(int fd) override {
    if (fail == Op::kSync) return Error::io("injected: fsync EIO", EIO);
    return PosixFileSystem::sync(fd);
  }
  Status close(int fd) override {
    Status s = PosixFileSystem::close(fd);
    if (fail == Op::kClose) return Error::io("injected: close EIO", EIO);
    return s;
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (fail == Op::kRename) return Error::io("injected: rename EXDEV", EXDEV);
    Status s = PosixFileSystem::rename(from, to);
    renamed = renamed || s.ok();
    return s;
  }
  // kOpenDir: the directory cannot be opened, the host being out of
  // descriptors. out_of_descriptors_after_rename: from the first rename
  // on, nothing more opens (a temp file, the directory), the same way.
  bool out_of_descriptors_after_rename = false, renamed = false;
  Result<int> open_dir(const std::string& dir) override {
    if (fail == Op::kOpenDir || (out_of_descriptors_after_rename && renamed)) {
      return Error::unavailable("injected: open dir " + dir + " EMFILE", EMFILE);
    }
    return PosixFileSystem::open_dir(dir);
  }
  Status sync_open_dir(int dir_fd, const std::string& dir) override {
    if (fail == Op::kSyncDir) return Error::io("injected: directory fsync EIO", EIO);
    return PosixFileSystem::sync_open_dir(dir_fd, dir);
  }
};

}  // namespace webhookd_test

// The i-th SID of a kind ("IS", "AC"): i as its 32 hex digits.
inline std::string numbered_sid(const char* prefix, int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%032x", prefix, i);
  return buf;
}

// A state as large as the rules let it grow, the caches' worst case: both
// URLs near 2,048 bytes (i makes them differ), 20 filters.
inline std::shared_ptr<webhookd::ServiceState> large_state(int i) {
  auto s = std::make_shared<webhookd::ServiceState>();
  s->config.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  s->config.pre_webhook_url = "https://x/" + std::to_string(i) + std::string(2000, 'u');
  s->config.post_webhook_url = "https://y/" + std::to_string(i) + std::string(2000, 'u');
  s->config.filters = std::vector<std::string>();
  for (int f = 0; f < 20; ++f) s->config.filters->push_back("onConversationStateUpdated");
  s->config.method = "POST";
  s->etag = webhookd::config_etag(s->config);
  return s;
}

// The bytes malloc has handed out and not had back (glibc's main arena, and
// its blocks of their own mapping), so that a cache's byte budget is checked
// against real memory, not against its own count. nullopt under a sanitizer,
// whose allocator glibc does not see.
inline std::optional<size_t> heap_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return std::nullopt;
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}
