// A mutex that clang's -Wthread-safety can reason about (abseil's Mutex and
// GUARDED_BY, in miniature): libstdc++'s std::mutex carries no capability
// annotations, so data "guarded by" one cannot be checked. The macros are
// empty for compilers other than clang.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define WEBHOOKD_TSA(x) __attribute__((x))
#else
#define WEBHOOKD_TSA(x)
#endif

#define CAPABILITY(x) WEBHOOKD_TSA(capability(x))
#define SCOPED_CAPABILITY WEBHOOKD_TSA(scoped_lockable)
#define GUARDED_BY(x) WEBHOOKD_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) WEBHOOKD_TSA(pt_guarded_by(x))
#define REQUIRES(...) WEBHOOKD_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) WEBHOOKD_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) WEBHOOKD_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) WEBHOOKD_TSA(release_capability(__VA_ARGS__))

namespace webhookd {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

  // Waits on cv until pred() holds; the mutex is held on entry and on return
  // (released while waiting), as with std::condition_variable::wait.
  template <typename Pred>
  void wait(std::condition_variable& cv, Pred pred) REQUIRES(this) {
    std::unique_lock<std::mutex> lk(mu_, std::adopt_lock);
    cv.wait(lk, pred);
    lk.release();  // still held: the caller's scope unlocks it
  }
  // As wait, giving up after `timeout`; returns pred().
  template <typename Duration, typename Pred>
  bool wait_for(std::condition_variable& cv, Duration timeout, Pred pred) REQUIRES(this) {
    std::unique_lock<std::mutex> lk(mu_, std::adopt_lock);
    bool ok = cv.wait_for(lk, timeout, pred);
    lk.release();
    return ok;
  }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope; unlock()/lock() let a scope step out of the
// lock for slow work (file I/O) and come back.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->unlock();
  }
  void unlock() RELEASE() {
    mu_->unlock();
    held_ = false;
  }
  void lock() ACQUIRE() {
    mu_->lock();
    held_ = true;
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
  bool held_ = true;
};

}  // namespace webhookd
