// Metrics: webhookd's Prometheus metrics, in prometheus-cpp's registry (core
// only: the registry, the families and the text serializer; no civetweb).
// prometheus-cpp stops in the edge: this header names none of its types, so
// only metrics.cc includes it. The request path costs an array lookup and an
// atomic add: every label set is resolved once (Family::Add hashes the labels
// and takes the family's lock on every call), at start for the usual
// (method, status) pairs and under a lock the first time for a rare status.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "store/store_observer.h"

namespace webhookd {

// What the FastCGI server knows about itself, read when a scrape is answered.
struct ServerStats {
  uint64_t connections_open = 0;
  uint64_t workers_busy = 0;
  uint64_t connections_refused = 0;  // closed at once: over --max-connections
  uint64_t requests_timed_out = 0;   // not whole within --request-timeout: dropped
  uint64_t log_lines_dropped = 0;    // request log lines stderr (journald) did not take in time
};

class Metrics final : public StoreObserver {
 public:
  explicit Metrics(std::string_view version);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One answer webhookd gave, and how long it took from the whole request to
  // the end of the answer. method is the request's; anything but GET, HEAD
  // and POST counts as OTHER.
  void count_request(std::string_view method, int status, std::chrono::nanoseconds took);

  // A SIGHUP's outcome; a good one (and the start-up's load) also sets
  // webhookd_config_last_reload_success_timestamp_seconds to now.
  void config_reload(bool ok);
  void config_loaded();

  // StoreObserver: the store's reports, from any worker.
  void parse_cache_lookup(bool hit) override;
  void state_error(StateError kind) override;
  void group_commit(bool ok, size_t updates, std::chrono::nanoseconds took) override;

  // Every metric now, in the Prometheus text format 0.0.4.
  std::string exposition(const ServerStats& server) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace webhookd
