// StoreObserver: what the store tells whoever counts (the edge's metrics),
// through an interface of the store's own: the store never includes
// prometheus-cpp, and webhookctl's stores have no observer at all. Called on
// the request path, from any thread: an implementation must be cheap and
// thread-safe.
#pragma once

#include <chrono>
#include <cstddef>

namespace webhookd {

class StoreObserver {
 public:
  enum class StateError {
    kInvalid,  // a state file that is not valid state (or not a regular file): a person's edit
    kIO,       // the operating system refused a read or a write (the directory's failures included)
  };

  virtual ~StoreObserver() = default;
  // One look in the caches: hit means the file's state was already held,
  // proven by its bytes (the same bytes, or webhookd's own form of a state
  // held) or by its SHA-256 (a hand-written file read before); miss, that
  // it had to be checked or parsed.
  virtual void parse_cache_lookup(bool hit) = 0;
  // A state file that could not be read or written, as it was met.
  virtual void state_error(StateError kind) = 0;
  // One state write that was tried (a group commit that had a change to
  // write, or whose lock failed), from taking the lock to the directory
  // fsync or to the failure: ok when it reached the disk; `updates`, the
  // queued updates whose answer is this write's. A group with nothing to
  // write (no change left, a 412, the file gone or invalid by the time of
  // the lock) is not reported: it is no write.
  virtual void group_commit(bool ok, size_t updates, std::chrono::nanoseconds took) = 0;
};

}  // namespace webhookd
