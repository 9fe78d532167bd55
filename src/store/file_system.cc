// POSIX implementation. Locks are flock(2) on a descriptor opened for the one
// operation: fcntl record locks belong to the process (two threads would both
// "hold" one) and are dropped when any descriptor of the file is closed.
#include "store/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace webhookd {
namespace {

// Out of file descriptors (the process's: EMFILE; the system's: ENFILE) no
// file opens, whatever the file: the host's trouble, not the file's. It is
// kUnavailable, as a failing state directory is, so that the API answers
// 503 with Retry-After and a fleet's front asks another host, instead of a
// 500 it would pass on to the client.
Error os_error(const std::string& what, const std::string& path, int err) {
  std::string message = what + " " + path + ": " + std::strerror(err);
  if (err == EMFILE || err == ENFILE) return Error::unavailable(message + " (this host is out of descriptors)", err);
  return Error::io(std::move(message), err);
}

// One bad file, not a failing directory: kCorruption, as an invalid file is,
// so that the API answers 500 for it and never mistakes it for the state
// directory itself failing.
Error not_regular(const std::string& path, mode_t mode) {
  const char* kind = S_ISFIFO(mode)  ? "a FIFO"
                     : S_ISDIR(mode) ? "a directory"
                     : S_ISCHR(mode) ? "a character device"
                     : S_ISBLK(mode) ? "a block device"
                     : S_ISSOCK(mode) ? "a socket"
                     : S_ISLNK(mode)  ? "a symbolic link"
                                      : "an unknown kind of file";
  return Error::corruption(path + ": not a regular file (" + std::string(kind) + ")");
}

// The mode of what open() failed on, when that is not a regular file: a
// socket fails open() with ENXIO before fstat could look, and so may a device
// with no driver (ENXIO, ENODEV) or a file system's special file
// (EOPNOTSUPP); a link that loops, or any link under O_NOFOLLOW, fails with
// ELOOP. Its kind is the reason to report (one bad file), not the errno,
// which reads as the disk failing. Looked at as open() saw it (through links
// only when it followed them); stat never opens, so it never waits on a FIFO.
std::optional<mode_t> mode_if_not_regular(const std::string& path, int open_errno, bool follow) {
  struct stat st;
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) == 0) {
    if (S_ISREG(st.st_mode)) return std::nullopt;
    return st.st_mode;
  }
  if (open_errno == ELOOP && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return st.st_mode;
  return std::nullopt;
}

// Opens path and refuses anything but a regular file. O_NONBLOCK: open() of
// a FIFO otherwise waits for a writer, for ever (a worker, the start-up
// clean-up, webhookctl check). O_NOCTTY: a terminal must never become our
// controlling terminal. With refuse_links_why, O_NOFOLLOW (see
// PosixFileSystem::refuse_links). *st gets the file's fstat. Returns -1 with
// *error set on failure. The descriptor is left non-blocking: a regular file
// on a local file system ignores it, and a file system that honours it
// (a FUSE or network one may) answers EAGAIN, which read_file and lock deal
// with where it happens (clearing it up front cost every state-file read an
// fcntl, measured: one system call in twelve of a GET).
int open_regular(const std::string& path, int flags, const std::string& refuse_links_why, struct stat* st,
                 Error* error) {
  const bool follow = refuse_links_why.empty();
  int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0644);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && !(flags & O_CREAT)) {
      *error = Error::not_found(path + ": no such file");
    } else if (err == EISDIR) {  // O_RDWR on a directory
      *error = not_regular(path, S_IFDIR);
    } else if (std::optional<mode_t> mode = mode_if_not_regular(path, err, follow)) {
      *error = !follow && S_ISLNK(*mode) ? Error::corruption(path + ": a symbolic link, refused: " + refuse_links_why)
                                         : not_regular(path, *mode);
    } else {
      *error = os_error("open", path, err);
    }
    return -1;
  }
  if (::fstat(fd, st) != 0) {
    *error = os_error("fstat", path, errno);
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(st->st_mode)) {
    *error = not_regular(path, st->st_mode);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Blocking again, for a file system that passed O_NONBLOCK on to a regular
// file and answered EAGAIN (see open_regular).
bool make_blocking(int fd) { return ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0; }

class FlockLock : public FileLock {
 public:
  explicit FlockLock(int fd) : fd_(fd) {}
  ~FlockLock() override { ::close(fd_); }  // closing the descriptor releases the flock

 private:
  int fd_;
};

}  // namespace

bool same_directory(const DirIdentity& recorded, const DirIdentity& now) {
  if (recorded.device == now.device) return recorded.inode == now.inode;
  return recorded.inode == now.inode && recorded.fs_type == now.fs_type;
}

Status replace_file(FileSystem& fs, const std::string& temp_prefix, const std::string& path, const std::string& bytes) {
  std::string temp;
  auto fd = fs.create_temp(temp_prefix, &temp);
  if (!fd.ok()) return fd.error();
  Status s = fs.write_all(fd.value(), bytes);
  if (s.ok()) s = fs.sync(fd.value());  // before the rename: a crash must not publish a file with no data
  Status closed = fs.close(fd.value());
  if (s.ok()) s = closed;
  if (s.ok()) s = fs.rename(temp, path);
  if (!s.ok()) (void)fs.remove(temp);  // best effort; the error reported is the first one
  return s;
}

Result<std::string> PosixFileSystem::read_file(const std::string& path) {
  constexpr size_t kMaxBytes = 1u << 20;  // a state file is a few hundred bytes
  Error error = Error::internal("");
  struct stat st;
  int fd = open_regular(path, O_RDONLY, refuse_links_why_, &st, &error);
  if (fd < 0) return error;
  auto fail = [&](Error e) {
    ::close(fd);
    return e;
  };
  auto too_large = [&] { return fail(Error::io("read " + path + ": larger than 1 MiB", EFBIG)); };
  // One read of the size fstat gave, and one byte more: a read that stops
  // short exactly at that size is the end of the file, and the read that
  // would return 0 is saved (one system call in twelve of a GET). Any
  // other outcome (the file grew or shrank meanwhile, a short read of a
  // network file system) reads on to the end as before.
  const size_t expected = static_cast<size_t>(st.st_size);
  if (expected > kMaxBytes) return too_large();
  std::string data;
  data.resize(expected + 1);
  size_t got = 0;
  for (;;) {
    if (got == data.size()) {
      if (data.size() > kMaxBytes) return too_large();
      data.resize(std::min(2 * data.size(), kMaxBytes + 1));
    }
    const size_t asked = data.size() - got;
    ssize_t n = ::read(fd, &data[got], asked);
    if (n < 0) {
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && make_blocking(fd)) continue;
      return fail(os_error("read", path, errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
    if (got == expected && static_cast<size_t>(n) < asked) break;
  }
  if (got > kMaxBytes) return too_large();
  ::close(fd);
  data.resize(got);
  return data;
}

Result<std::unique_ptr<FileLock>> PosixFileSystem::lock(const std::string& lock_path, LockFile make) {
  for (;;) {
    Error error = Error::internal("");
    struct stat opened;
    // Left non-blocking: flock waits or not by LOCK_NB alone, and nothing
    // reads or writes through this descriptor.
    int fd = open_regular(lock_path, O_RDWR | (make == LockFile::kCreate ? O_CREAT : 0), refuse_links_why_, &opened,
                          &error);
    if (fd < 0) return error;
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return os_error("flock", lock_path, err);
    }
    // While we waited, the holder may have removed the lock file (start-up
    // clean-up) and another process created a new one: our lock would then
    // exclude nobody. Only a lock on the file the path still names counts.
    struct stat held, named;
    if (::fstat(fd, &held) == 0 && ::stat(lock_path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      return std::unique_ptr<FileLock>(new FlockLock(fd));
    }
    ::close(fd);
  }
}

Status PosixFileSystem::list_dir(const std::string& dir, const std::function<void(const std::string& name)>& visit) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return os_error("opendir", dir, errno);
  std::string name;
  for (;;) {
    errno = 0;  // readdir's only way to tell an error from the end
    struct dirent* e = ::readdir(d);
    if (!e) break;
    name = e->d_name;
    if (name != "." && name != "..") visit(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return os_error("readdir", dir, err);
  return ok_status();
}

Result<int> PosixFileSystem::create_temp(const std::string& path_prefix, std::string* temp_path) {
  std::vector<char> name(path_prefix.begin(), path_prefix.end());
  for (char c : std::string("XXXXXX")) name.push_back(c);
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return os_error("mkstemp", path_prefix, errno);
  ::fchmod(fd, 0644);  // mkstemp makes 0600; state files are meant to be read by people and git
  *temp_path = name.data();
  return fd;
}

Status PosixFileSystem::write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("write", "fd " + std::to_string(fd), errno);
    }
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status PosixFileSystem::sync(int fd) {
  if (::fsync(fd) != 0) return os_error("fsync", "fd " + std::to_string(fd), errno);
  return ok_status();
}

Status PosixFileSystem::close(int fd) {
  // Not retried on EINTR: on Linux the descriptor is gone either way.
  if (::close(fd) != 0) return os_error("close", "fd " + std::to_string(fd), errno);
  return ok_status();
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return os_error("rename", from + " -> " + to, errno);
  return ok_status();
}

Status FileSystem::sync_dir(const std::string& dir) {
  auto fd = open_dir(dir);
  if (!fd.ok()) return fd.error();
  Status synced = sync_open_dir(fd.value(), dir);
  (void)close(fd.value());  // read-only: the fsync's answer is the one
  return synced;
}

Result<int> PosixFileSystem::open_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error("open dir", dir, errno);
  return fd;
}

Status PosixFileSystem::sync_open_dir(int dir_fd, const std::string& dir) {
  if (::fsync(dir_fd) != 0) return os_error("fsync dir", dir, errno);
  return ok_status();
}

Status PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    if (errno == EISDIR) return not_regular(path, S_IFDIR);  // one bad name, not a failing directory
    return os_error("unlink", path, errno);
  }
  return ok_status();
}

Status PosixFileSystem::check_writable_dir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return os_error("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return os_error("stat", dir, ENOTDIR);
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) return os_error("access", dir, errno);
  return ok_status();
}

Result<DirIdentity> PosixFileSystem::identify_dir(const std::string& dir, bool with_fs_type) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return os_error("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return os_error("stat", dir, ENOTDIR);
  DirIdentity id;
  id.device = static_cast<uint64_t>(st.st_dev);
  id.inode = static_cast<uint64_t>(st.st_ino);
  if (with_fs_type) {
    struct statfs fs;
    if (::statfs(dir.c_str(), &fs) != 0) return os_error("statfs", dir, errno);
    id.fs_type = static_cast<int64_t>(fs.f_type);
  }
  return id;
}

Status PosixFileSystem::probe_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error("open dir", dir, errno);
  struct stat st;
  int rc = ::fstat(fd, &st);
  int err = errno;
  // Listing is not enough: without search permission no file in it opens.
  if (rc == 0 && ::faccessat(fd, ".", X_OK, AT_EACCESS) != 0) {
    rc = -1;
    err = errno;
  }
  ::close(fd);
  if (rc != 0) return os_error("probe dir", dir, err);
  return ok_status();
}

}  // namespace webhookd
