// StateStore: load a service's configuration, and update it under the
// service's lock with an atomic, durable replace. Reads take no lock: rename
// guarantees a reader sees the old file or the new one, never a mix.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/errors.h"
#include "resource/webhook_config.h"
#include "store/file_system.h"

namespace webhookd {

class StateStore {
 public:
  StateStore(FileSystem& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }

  // nullopt: no state file, so no such service. An unreadable or invalid
  // file is kInternal with the details.
  Result<std::optional<WebhookConfig>> load(const std::string& service_sid);

  // Reads the current configuration under the lock, asks `mutate` for the
  // next one (its Error is passed back untouched), and writes it unless it is
  // equal to the current one. nullopt: no such service.
  using Mutation = std::function<Result<WebhookConfig>(const WebhookConfig& current)>;
  Result<std::optional<WebhookConfig>> update(const std::string& service_sid, const Mutation& mutate);

  // Start-up tidying after a crash: removes temp files (never state: a crash
  // mid-write leaves one) and the lock files of services that no longer
  // exist, each under its service's lock so that a writer on another host
  // sharing the directory is never disturbed.
  struct CleanUp {
    int temp_files_removed = 0;
    int lock_files_removed = 0;
  };
  Result<CleanUp> clean_up();

 private:
  struct Stored {
    std::string bytes;  // exactly as on disk, to put back if a write cannot be made durable
    WebhookConfig config;
  };
  Result<std::optional<Stored>> read(const std::string& service_sid);
  Status replace(const std::string& service_sid, const std::string& bytes);

  FileSystem& fs_;
  std::string dir_;
};

}  // namespace webhookd
