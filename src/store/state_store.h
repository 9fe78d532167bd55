// StateStore: load a service's configuration, and update it under the
// service's lock with an atomic, durable replace. Reads take no lock: rename
// guarantees a reader sees the old file or the new one, never a mix.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/errors.h"
#include "resource/webhook_config.h"
#include "store/file_system.h"
#include "store/parse_cache.h"

namespace webhookd {

class StateStore {
 public:
  StateStore(FileSystem& fs, std::string dir, size_t cache_capacity = ParseCache::kDefaultCapacity)
      : fs_(fs), dir_(std::move(dir)), cache_(cache_capacity) {}

  const std::string& dir() const { return dir_; }

  // nullptr: no state file, so no such service. An unreadable or invalid
  // file is kInternal with the details. The file is read every time (so an
  // edit is seen at once); it is parsed only when its bytes changed.
  Result<ServiceStatePtr> load(const std::string& service_sid);

  // Reads the current configuration under the lock, asks `mutate` for the
  // next one (its Error is passed back untouched), and writes it unless it is
  // equal to the current one. nullptr: no such service. Updates of one
  // service that queue up behind a write are committed as a group: applied
  // in arrival order, each to the result of the one before, and made durable
  // by one write; each returns only once its change is on disk, with the
  // state its own mutation produced.
  // The mutation sees the stored state whole, so a precondition can use its
  // ETag instead of computing one again.
  using Mutation = std::function<Result<WebhookConfig>(const ServiceState& current)>;
  Result<ServiceStatePtr> update(const std::string& service_sid, const Mutation& mutate);

  // Updates of the service in its write queue, the one writing included.
  size_t queued_updates(const std::string& service_sid);

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
    ServiceStatePtr state;
  };
  Result<std::optional<Stored>> read(const std::string& service_sid);
  Result<ServiceStatePtr> remember(const std::string& service_sid, const std::string& bytes, WebhookConfig config,
                                   bool canonical);
  Status replace(const std::string& service_sid, const std::string& bytes);
  Result<ServiceStatePtr> make_state(const std::string& service_sid, const std::string& bytes, WebhookConfig config,
                                     bool canonical);

  // One update waiting for its group; it lives on its caller's stack.
  struct Waiter {
    const Mutation* mutate;
    Result<ServiceStatePtr> result{ServiceStatePtr{}};
    bool done = false;   // result is final
    bool leads = false;  // this caller writes the next group
  };
  // The updates of one service waiting for the write in progress.
  struct Queue {
    std::vector<Waiter*> waiting;
    std::condition_variable changed;
  };
  void commit_group(const std::string& service_sid, const std::vector<Waiter*>& group);

  FileSystem& fs_;
  std::string dir_;
  ParseCache cache_;
  // Held only to queue and hand over; never across file I/O.
  std::mutex queues_mu_;
  std::unordered_map<std::string, Queue> queues_;  // services with a write in progress
};

}  // namespace webhookd
