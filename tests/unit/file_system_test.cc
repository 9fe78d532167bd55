#define BOOST_TEST_DYN_LINK
#include "store/file_system.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "store/state_store.h"
#include "test_support.h"

using namespace webhookd;
using webhookd_test::read_file;
using webhookd_test::TempDir;

namespace {

// A read of path and a lock of it, which must both return even though the
// FIFO named fifo never gets a writer (a blocked open would hang them).
struct ReadAndLock {
  std::optional<Result<std::string>> read;
  std::optional<Result<std::unique_ptr<FileLock>>> locked;
};
ReadAndLock read_and_lock(PosixFileSystem& fs, const std::string& path, const std::string& fifo) {
  ReadAndLock out;
  BOOST_TEST_REQUIRE(webhookd_test::returns_without_blocking(
      [&] {
        out.read.emplace(fs.read_file(path));
        out.locked.emplace(fs.lock(path, FileSystem::LockFile::kCreate));
      },
      {fifo}));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(file_system)

BOOST_AUTO_TEST_CASE(read_write_rename_remove) {
  TempDir dir;
  PosixFileSystem fs;
  auto missing = fs.read_file(dir.file("nope"));
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.error().code == ErrorCode::kNotFound));

  std::string temp;
  auto fd = fs.create_temp(dir.file(".x.tmp."), &temp);
  BOOST_TEST_REQUIRE(fd.ok());
  BOOST_TEST(temp.rfind(dir.file(".x.tmp."), 0) == 0u);
  BOOST_TEST(fs.write_all(fd.value(), "hello").ok());
  BOOST_TEST(fs.sync(fd.value()).ok());
  BOOST_TEST(fs.close(fd.value()).ok());
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(temp.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0644u);  // readable by people and git
  BOOST_TEST(fs.rename(temp, dir.file("x")).ok());
  BOOST_TEST(fs.sync_dir(dir.path()).ok());
  BOOST_TEST(fs.read_file(dir.file("x")).value() == "hello");
  BOOST_TEST(fs.remove(dir.file("x")).ok());
  BOOST_TEST(fs.remove(dir.file("x")).ok());  // already gone is fine
  BOOST_TEST(!fs.rename(dir.file("x"), dir.file("y")).ok());
  BOOST_TEST(!fs.sync_dir(dir.file("no-such-dir")).ok());
}

// read_file reads the size fstat gives in one read and stops at a short
// read there: every size around the old 8 KiB chunk and the 1 MiB cap
// comes back whole, and past the cap is refused.
BOOST_AUTO_TEST_CASE(reads_files_of_every_size_whole) {
  TempDir dir;
  PosixFileSystem fs;
  const size_t kMiB = 1u << 20;
  for (size_t size : {size_t{0}, size_t{1}, size_t{255}, size_t{8191}, size_t{8192}, size_t{8193}, size_t{100000},
                      kMiB - 1, kMiB, kMiB + 1, 3 * kMiB}) {
    BOOST_TEST_CONTEXT("size " << size) {
      std::string data(size, 'x');
      for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 26);
      webhookd_test::write_file(dir.file("f"), data);
      auto read = fs.read_file(dir.file("f"));
      if (size > kMiB) {
        BOOST_TEST_REQUIRE(!read.ok());
        BOOST_TEST((read.error().code == ErrorCode::kIOError));
        BOOST_TEST(read.error().message.find("larger than 1 MiB") != std::string::npos);
        continue;
      }
      BOOST_TEST_REQUIRE(read.ok());
      BOOST_TEST(read.value().size() == size);
      BOOST_TEST((read.value() == data));
    }
  }
}

// A FIFO named like a state file would hold open() until a writer came:
// every kind of non-regular file is refused at once, as one bad file
// (kCorruption, like an invalid one), never as the directory failing.
BOOST_AUTO_TEST_CASE(only_regular_files_are_read_or_locked) {
  TempDir dir;
  PosixFileSystem fs;
  BOOST_TEST_REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(::mkdir(dir.file("directory").c_str(), 0755) == 0);
  BOOST_TEST_REQUIRE(::symlink("/dev/null", dir.file("device").c_str()) == 0);
  BOOST_TEST_REQUIRE(::symlink("fifo", dir.file("link-to-fifo").c_str()) == 0);
  // A socket: open() fails (ENXIO) before fstat could say what it is.
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file("socket")));
  BOOST_TEST_REQUIRE(::symlink("socket", dir.file("link-to-socket").c_str()) == 0);
  BOOST_TEST_REQUIRE(::symlink("loop", dir.file("loop").c_str()) == 0);  // ELOOP, as open() reports it
  webhookd_test::write_file(dir.file("regular"), "state");
  BOOST_TEST_REQUIRE(::symlink("regular", dir.file("link-to-regular").c_str()) == 0);
  struct Case {
    const char* name;
    const char* kind;  // "" for a file that is read
  } cases[] = {
      {"fifo", "a FIFO"},
      {"directory", "a directory"},
      {"device", "a character device"},
      {"link-to-fifo", "a FIFO"},
      {"socket", "a socket"},
      {"link-to-socket", "a socket"},
      {"loop", "a symbolic link"},
      {"regular", ""},
      {"link-to-regular", ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string path = dir.file(c.name);
      auto [read, locked] = read_and_lock(fs, path, dir.file("fifo"));
      if (!*c.kind) {
        BOOST_TEST_REQUIRE(read->ok());
        BOOST_TEST(read->value() == "state");
        BOOST_TEST(locked->ok());
        continue;
      }
      BOOST_TEST_REQUIRE(!read->ok());
      BOOST_TEST((read->error().code == ErrorCode::kCorruption));
      BOOST_TEST(read->error().message == path + ": not a regular file (" + c.kind + ")");
      BOOST_TEST_REQUIRE(!locked->ok());
      BOOST_TEST((locked->error().code == ErrorCode::kCorruption));
      BOOST_TEST(locked->error().message == path + ": not a regular file (" + c.kind + ")");
    }
  }
  // A lock file is still created when missing, and a missing file is still kNotFound.
  BOOST_TEST(fs.lock(dir.file("new.lock"), FileSystem::LockFile::kCreate).ok());
  BOOST_TEST((fs.read_file(dir.file("nope")).error().code == ErrorCode::kNotFound));
  // A directory cannot be removed as a file: one bad name, not an I/O failure.
  Status removed = fs.remove(dir.file("directory"));
  BOOST_TEST_REQUIRE(!removed.ok());
  BOOST_TEST((removed.error().code == ErrorCode::kCorruption));
  BOOST_TEST(fs.remove(dir.file("fifo")).ok());  // unlink never opens it
}

// webhookctl as root in a directory another user may write: a link there
// leads wherever its maker chose (a file only root may read, a device), so
// none is followed, whatever it points at; each is named, refused.
BOOST_AUTO_TEST_CASE(links_are_refused_when_asked) {
  TempDir dir;
  PosixFileSystem fs;
  fs.refuse_links("why it is refused");
  webhookd_test::write_file(dir.file("regular"), "state");
  BOOST_TEST_REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  BOOST_TEST_REQUIRE(webhookd_test::make_socket_file(dir.file("socket")));
  struct Case {
    const char *name, *target;
  } cases[] = {{"to-regular", "regular"}, {"to-fifo", "fifo"},     {"to-socket", "socket"},
               {"to-device", "/dev/zero"}, {"dangling", "missing"}, {"loop", "loop"}};
  for (const Case& c : cases) {
    const std::string link = dir.file(c.name);
    BOOST_TEST_REQUIRE(::symlink(c.target, link.c_str()) == 0);
    BOOST_TEST_CONTEXT(link) {
      auto [read, locked] = read_and_lock(fs, link, dir.file("fifo"));
      for (const Error* e : {read->ok() ? nullptr : &read->error(), locked->ok() ? nullptr : &locked->error()}) {
        BOOST_TEST_REQUIRE(e);
        BOOST_TEST((e->code == ErrorCode::kCorruption));
        BOOST_TEST(e->message == link + ": a symbolic link, refused: why it is refused");
      }
    }
  }
  BOOST_TEST(fs.read_file(dir.file("regular")).value() == "state");  // the rest reads as ever
  BOOST_TEST(fs.read_file(dir.file("socket")).error().message == dir.file("socket") + ": not a regular file (a socket)");
  BOOST_TEST(fs.read_file(dir.file("missing")).error().is_not_found());
  BOOST_TEST(fs.lock(dir.file("new.lock"), FileSystem::LockFile::kCreate).ok());
  BOOST_TEST(PosixFileSystem().read_file(dir.file("to-regular")).value() == "state");  // by default, followed
}

BOOST_AUTO_TEST_CASE(locks_exclude_other_threads) {
  // flock on a descriptor per operation: two threads of one process exclude
  // each other (fcntl record locks would not).
  TempDir dir;
  PosixFileSystem fs;
  auto first = fs.lock(dir.file(".l.lock"), FileSystem::LockFile::kCreate);
  BOOST_TEST_REQUIRE(first.ok());
  std::atomic<bool> second_got_it{false};
  std::thread t([&] {
    auto second = fs.lock(dir.file(".l.lock"), FileSystem::LockFile::kCreate);
    second_got_it = second.ok();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(!second_got_it.load());
  first.value().reset();  // unlock
  t.join();
  BOOST_TEST(second_got_it.load());
}

BOOST_AUTO_TEST_CASE(a_lock_file_removed_by_its_holder_is_never_shared) {
  // The holder removes the lock file; a waiter that then gets the old inode
  // must notice and lock the new file instead, or two writers would run.
  TempDir dir;
  PosixFileSystem fs;
  const std::string path = dir.file(".l.lock");
  auto holder = fs.lock(path, FileSystem::LockFile::kCreate);
  BOOST_TEST_REQUIRE(holder.ok());
  std::atomic<bool> waiter_in{false};
  std::thread waiter([&] {
    auto got = fs.lock(path, FileSystem::LockFile::kCreate);
    waiter_in = got.ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // hold it a while
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(fs.remove(path).ok());
  holder.value().reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(waiter_in.load());
  // The waiter holds the lock on the file the path names now: a newcomer must wait.
  auto start = std::chrono::steady_clock::now();
  auto newcomer = fs.lock(path, FileSystem::LockFile::kCreate);
  BOOST_TEST(newcomer.ok());
  BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(100)));
  waiter.join();
}

BOOST_AUTO_TEST_CASE(lists_a_directory) {
  TempDir dir;
  PosixFileSystem fs;
  webhookd_test::write_file(dir.file("a"), "");
  webhookd_test::write_file(dir.file(".b"), "");
  std::multiset<std::string> names;
  auto listed = fs.list_dir(dir.path(), [&](const std::string& name) { names.insert(name); });
  BOOST_TEST_REQUIRE(listed.ok());
  BOOST_TEST((names == std::multiset<std::string>{"a", ".b"}));
  BOOST_TEST(!fs.list_dir(dir.file("missing"), [](const std::string&) {}).ok());
}

// A lock file is made only when asked: kExisting tells a missing one
// (kNotFound) so that the store can look at the directory first.
BOOST_AUTO_TEST_CASE(a_lock_file_is_made_only_when_asked) {
  TempDir dir;
  PosixFileSystem fs;
  auto missing = fs.lock(dir.file(".a.lock"), FileSystem::LockFile::kExisting);
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.error().code == ErrorCode::kNotFound));
  BOOST_TEST(webhookd_test::list_dir(dir.path()).empty());
  BOOST_TEST_REQUIRE(fs.lock(dir.file(".a.lock"), FileSystem::LockFile::kCreate).ok());
  BOOST_TEST(fs.lock(dir.file(".a.lock"), FileSystem::LockFile::kExisting).ok());
}

// What the store compares: the directory as stat and statfs see it. Moved
// aside and replaced, it has another inode; the real mountpoint beneath a
// mount (here /proc on /) is another device, inode and type.
BOOST_AUTO_TEST_CASE(a_directory_is_identified_by_device_inode_and_type) {
  TempDir dir;
  PosixFileSystem fs;
  auto first = fs.identify_dir(dir.path(), true);
  BOOST_TEST_REQUIRE(first.ok());
  BOOST_TEST(same_directory(first.value(), fs.identify_dir(dir.path(), true).value()));
  BOOST_TEST_REQUIRE(::rename(dir.path().c_str(), (dir.path() + ".moved").c_str()) == 0);
  BOOST_TEST_REQUIRE(::mkdir(dir.path().c_str(), 0700) == 0);
  auto second = fs.identify_dir(dir.path(), true);
  BOOST_TEST_REQUIRE(second.ok());
  BOOST_TEST(!same_directory(first.value(), second.value()));
  BOOST_TEST(same_directory(first.value(), fs.identify_dir(dir.path() + ".moved", true).value()));
  BOOST_TEST(std::system(("rm -rf '" + dir.path() + ".moved'").c_str()) == 0);
  auto proc = fs.identify_dir("/proc", true);
  BOOST_TEST_REQUIRE(proc.ok());
  BOOST_TEST(!same_directory(first.value(), proc.value()));
  BOOST_TEST(proc.value().fs_type != first.value().fs_type);
  auto untyped = fs.identify_dir(dir.path(), false);  // stat alone: no type
  BOOST_TEST_REQUIRE(untyped.ok());
  BOOST_TEST(untyped.value().device == second.value().device);
  BOOST_TEST(untyped.value().inode == second.value().inode);
  BOOST_TEST(untyped.value().fs_type == 0);
  auto gone = fs.identify_dir(dir.file("gone"), true);
  BOOST_TEST_REQUIRE(!gone.ok());
  BOOST_TEST(gone.error().os_errno == ENOENT);
  webhookd_test::write_file(dir.file("plain"), "x");
  auto file = fs.identify_dir(dir.file("plain"), true);
  BOOST_TEST_REQUIRE(!file.ok());
  BOOST_TEST(file.error().os_errno == ENOTDIR);
}

// The rule, row by row: a remount keeps the root's inode and the file
// system's type but not the device number.
BOOST_AUTO_TEST_CASE(same_directory_rules) {
  const DirIdentity made{10, 1, 0x65735546};
  struct Case {
    const char* name;
    DirIdentity now;
    bool same;
  } cases[] = {
      {"itself", {10, 1, 0x65735546}, true},
      {"remounted: a new device number", {11, 1, 0x65735546}, true},
      {"another directory of the same file system", {10, 2, 0x65735546}, false},
      {"the mountpoint beneath, another file system", {2049, 1, 0xef53}, false},
      {"another device and inode", {11, 2, 0x65735546}, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) { BOOST_TEST(same_directory(made, c.now) == c.same); }
  }
}

// Out of file descriptors no file opens, whatever the file: the host's
// failure, not the file's. Every open the store makes is kUnavailable then
// (EMFILE), and so is what the store answers, so that the API says 503 with
// Retry-After and a fleet's front asks another host; nothing is written.
// The real limit (RLIMIT_NOFILE set to the lowest free descriptor), not an
// injected errno.
BOOST_AUTO_TEST_CASE(out_of_descriptors_is_the_hosts_failure_not_the_files) {
  TempDir dir;
  PosixFileSystem fs;
  const std::string sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string path = dir.file(sid + ".yaml");
  const std::string bytes = "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nmethod: POST\n";
  webhookd_test::write_file(path, bytes);
  StateStore store(fs, dir.path());
  BOOST_TEST_REQUIRE(store.load(sid).ok());

  struct rlimit saved;
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(lowest_free >= 0);
  ::close(lowest_free);
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  // Nothing but the calls under test between setting and restoring the
  // limit (no BOOST_TEST: its log must not be the one to run out).
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  auto failure = [](const auto& result) { return result.ok() ? Error::internal("it worked") : result.error(); };
  std::string temp;
  const std::vector<Error> errors = {
      failure(fs.read_file(path)),
      failure(fs.lock(dir.file("." + sid + ".lock"), FileSystem::LockFile::kCreate)),
      failure(fs.create_temp(dir.file(".x.tmp."), &temp)),
      failure(fs.sync_dir(dir.path())),
  };
  auto loaded = store.load(sid);
  auto updated = store.update(sid, [](const ServiceState& s) -> Result<WebhookConfig> {
    WebhookConfig next = s.config;
    next.method = "GET";
    return next;
  });
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);

  for (const Error& e : errors) {
    BOOST_TEST_CONTEXT(e.message) {
      BOOST_TEST(e.code == ErrorCode::kUnavailable);
      BOOST_TEST(e.os_errno == EMFILE);
    }
  }
  BOOST_TEST_REQUIRE(!loaded.ok());
  BOOST_TEST(loaded.error().code == ErrorCode::kUnavailable);
  BOOST_TEST_REQUIRE(!updated.ok());
  BOOST_TEST(updated.error().code == ErrorCode::kUnavailable);
  BOOST_TEST(webhookd_test::read_file(path) == bytes);  // nothing written
  BOOST_TEST(store.load(sid).ok());                     // serves again once descriptors are free
}

BOOST_AUTO_TEST_SUITE_END()
