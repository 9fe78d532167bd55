// An in-memory FileSystem for the fuzz targets: the handler can then run
// millions of updates without fsync. Single-threaded, like libFuzzer.
#pragma once

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/file_system.h"

namespace webhookd_fuzz {

using namespace webhookd;

class MemFileSystem : public FileSystem {
 public:
  std::map<std::string, std::string> files;

  Result<std::string> read_file(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return Error::not_found(path + ": no such file");
    return it->second;
  }
  Result<std::unique_ptr<FileLock>> lock(const std::string& path, LockFile make) override {
    if (make == LockFile::kExisting && !files.count(path)) return Error::not_found(path + ": no such file");
    files.emplace(path, "");
    return std::unique_ptr<FileLock>(new FileLock());
  }
  Status list_dir(const std::string& dir, const std::function<void(const std::string& name)>& visit) override {
    std::vector<std::string> names;  // collected first: visit may touch files
    for (const auto& f : files) {
      if (f.first.rfind(dir + "/", 0) == 0) names.push_back(f.first.substr(dir.size() + 1));
    }
    for (const auto& n : names) visit(n);
    return ok_status();
  }
  Result<int> create_temp(const std::string& prefix, std::string* path) override {
    int fd = next_fd_++;
    *path = prefix + std::to_string(fd);
    open_[fd] = *path;
    files[*path] = "";
    return fd;
  }
  Status write_all(int fd, const std::string& data) override {
    files[open_.at(fd)] += data;
    return ok_status();
  }
  Status sync(int) override { return ok_status(); }
  Status close(int fd) override {
    open_.erase(fd);
    return ok_status();
  }
  Status rename(const std::string& from, const std::string& to) override {
    auto it = files.find(from);
    if (it == files.end()) return Error::io("rename: no " + from, ENOENT);
    files[to] = it->second;
    files.erase(from);
    return ok_status();
  }
  Result<int> open_dir(const std::string&) override { return next_fd_++; }
  Status sync_open_dir(int, const std::string&) override { return ok_status(); }
  Status remove(const std::string& path) override {
    files.erase(path);
    return ok_status();
  }
  Status check_writable_dir(const std::string&) override { return ok_status(); }
  Status probe_dir(const std::string&) override { return ok_status(); }
  Result<DirIdentity> identify_dir(const std::string&, bool) override { return DirIdentity{1, 1, 1}; }

 private:
  int next_fd_ = 100;
  std::map<int, std::string> open_;
};

}  // namespace webhookd_fuzz
