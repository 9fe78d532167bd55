// The small interface the state store writes through (leveldb's Env): every
// disk operation the store needs, one method each, so a test can make any one
// of them fail. PosixFileSystem is the only code that touches the disk.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace webhookd {

// Held for the duration of one update; unlocks when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// A directory as the kernel names it. The path alone cannot tell the state
// directory from an empty mountpoint left by an unmounted volume, or from a
// directory someone put in its place.
struct DirIdentity {
  uint64_t device = 0;   // st_dev
  uint64_t inode = 0;    // st_ino
  int64_t fs_type = 0;   // statfs's f_type (FUSE, ext4, tmpfs...), when asked for
};

// Whether `now` is still the directory `recorded` was: the same device and
// inode, or the same inode on the same kind of file system under a new
// device number (a volume mounted again: a FUSE mount gets a new st_dev at
// each mount, its root keeps its inode). An unmounted mountpoint is a
// directory of the file system beneath (another type, another inode); a
// directory put in place of another has another inode.
bool same_directory(const DirIdentity& recorded, const DirIdentity& now);

// Errors: kIOError with the errno, except where a method says otherwise,
// and kUnavailable (with EMFILE or ENFILE) when a descriptor could not be
// had: no file would open then, so it is the host's failure, not the file's.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // kNotFound when the file does not exist. Only a regular file is read: a
  // FIFO, directory, device or socket is kCorruption at once (one bad file,
  // like an invalid one), never a wait for a writer that may never come.
  virtual Result<std::string> read_file(const std::string& path) = 0;
  // Exclusive lock on a separate lock file; blocks only for the lock
  // itself: a lock file that is not a regular file is kCorruption at once,
  // as for read_file. A missing lock file is created with kCreate, and is
  // kNotFound with kExisting (so that the caller may check where it would
  // create one first).
  // The lock is always on the file the path names when it is granted, so a
  // lock file may be removed by whoever holds its lock.
  enum class LockFile { kCreate, kExisting };
  virtual Result<std::unique_ptr<FileLock>> lock(const std::string& lock_path, LockFile make) = 0;
  // Calls visit with each name in a directory, without "." and "..": a
  // visitor, not a list, so that 100,000 names never sit in memory at once.
  virtual Status list_dir(const std::string& dir, const std::function<void(const std::string& name)>& visit) = 0;
  // A new, uniquely named file whose name starts with path_prefix.
  virtual Result<int> create_temp(const std::string& path_prefix, std::string* temp_path) = 0;
  virtual Status write_all(int fd, const std::string& data) = 0;
  virtual Status sync(int fd) = 0;
  virtual Status close(int fd) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // open_dir, sync_open_dir, close: not virtual, so a file system (or a
  // test's injected failure) has one way to open and fsync a directory.
  Status sync_dir(const std::string& dir);
  // sync_dir in two steps, for a write that must not need a descriptor
  // after its rename: the directory opened first (close it with close()),
  // fsynced through that descriptor after the rename.
  virtual Result<int> open_dir(const std::string& dir) = 0;
  virtual Status sync_open_dir(int dir_fd, const std::string& dir) = 0;  // dir: for the message
  // OK when it is gone (or never was); a directory is kCorruption.
  virtual Status remove(const std::string& path) = 0;
  // OK when dir is a directory this process may read, write and search.
  virtual Status check_writable_dir(const std::string& dir) = 0;
  // OK when dir itself works: it opens as a directory, answers fstat and may
  // be searched. Asked only after a file in it could not be read, to tell one
  // bad file (a person's chmod) from a directory that fails every file (a
  // dead FUSE client: ENOTCONN; a stale NFS handle: ESTALE; EIO; EACCES).
  virtual Status probe_dir(const std::string& dir) = 0;
  // What dir is now: its device and inode numbers (stat(2)), and with
  // with_fs_type its file system's type too (statfs(2), a second call,
  // which on a FUSE volume asks the servers; 0 otherwise); an error when
  // it is not a directory or not there. Asked only where "no such file" is
  // the answer or a file is about to be made, never on a read that found
  // its file.
  virtual Result<DirIdentity> identify_dir(const std::string& dir, bool with_fs_type) = 0;
};

// Replaces `path` atomically with `bytes`: a temp file named from
// temp_prefix (in path's directory, so rename never crosses file systems) ->
// write -> fsync -> close -> rename. On any failure the temp file is removed
// and `path` is untouched. Durable only once the caller fsyncs the directory.
Status replace_file(FileSystem& fs, const std::string& temp_prefix, const std::string& path, const std::string& bytes);

class PosixFileSystem : public FileSystem {
 public:
  // From now on no symbolic link is followed when a file is opened (read or
  // locked): a link is kCorruption, "<path>: a symbolic link, refused: <why>"
  // (O_NOFOLLOW: the last component of the path, the name in its
  // directory). For root reading a directory someone else may write
  // (webhookctl): whoever may create a name there chooses where a link
  // leads, a file only root may read or a device. Called before the file
  // system is used, never once it is shared between threads.
  void refuse_links(std::string why) { refuse_links_why_ = std::move(why); }

  Result<std::string> read_file(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> lock(const std::string& lock_path, LockFile make) override;
  Status list_dir(const std::string& dir, const std::function<void(const std::string& name)>& visit) override;
  Result<int> create_temp(const std::string& path_prefix, std::string* temp_path) override;
  Status write_all(int fd, const std::string& data) override;
  Status sync(int fd) override;
  Status close(int fd) override;
  Status rename(const std::string& from, const std::string& to) override;
  Result<int> open_dir(const std::string& dir) override;
  Status sync_open_dir(int dir_fd, const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status check_writable_dir(const std::string& dir) override;
  Status probe_dir(const std::string& dir) override;
  Result<DirIdentity> identify_dir(const std::string& dir, bool with_fs_type) override;

 private:
  std::string refuse_links_why_;  // empty: links are followed
};

}  // namespace webhookd
