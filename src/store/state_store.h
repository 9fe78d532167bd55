// StateStore: load a state file's configuration (a service's, IS….yaml, or
// an account's global webhooks, AC….yaml: one write path for both, by SID),
// and update it under its lock with an atomic, durable replace. Reads take
// no lock: rename guarantees a reader sees the old file or the new one,
// never a mix.
#pragma once

#include <condition_variable>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "model/state_file.h"
#include "store/compact_cache.h"
#include "store/file_system.h"
#include "store/parse_cache.h"
#include "store/store_observer.h"

namespace webhookd {

class StateStore {
 public:
  // observer (may be null: webhookctl's stores) hears of cache lookups,
  // state errors and group commits; it must outlive the store. The
  // directory's identity is recorded here (see check_dir): a store is made
  // on a directory that is there, and a directory put in its place later is
  // served only by a new store (webhookd's restart, or a reload: see
  // webhookd's main.cc).
  StateStore(FileSystem& fs, std::string dir, size_t cache_capacity = ParseCache::kDefaultCapacity,
             StoreObserver* observer = nullptr);

  const std::string& dir() const { return dir_; }
  // The identity recorded when the store was made (see check_dir).
  const Result<DirIdentity>& dir_identity() const { return dir_identity_; }

  // kNotFound: no state file, so no such service. An account with no file
  // never set its global webhooks: its defaults (account_defaults), always
  // the same object. Both only while the directory is the one the store was
  // made on (see check_dir: looked at on these paths alone); otherwise
  // kUnavailable. kInvalidArgument: neither a service's nor an account's
  // SID. An unreadable file is kIOError, an invalid one kCorruption with
  // file:line:column; kUnavailable when the directory itself fails. The
  // file is read every time (so an edit is seen at once); it is parsed only
  // when its bytes changed. Thread-safe.
  Result<ServiceStatePtr> load(const std::string& sid);
  // As load, but kNotFound for an account with no file too: what is on disk
  // (GitOps plans files, not defaults).
  Result<ServiceStatePtr> load_stored(const std::string& sid);

  // What a GET answers from, at the least cost: the state file read into
  // *bytes (the caller's buffer), and either a view into *bytes with its
  // ETag (a file in webhookd's canonical form: no value built, and no
  // SHA-256 taken when its bytes are the same as last time) or the state
  // whole (a hot service's; a hand edit's, read by yaml-cpp or known by its
  // digest; an account with no file). The file is read every time, as for
  // load(); the same errors.
  struct Snapshot {
    std::optional<WebhookConfigView> view;  // into *bytes; valid while they are
    std::string etag;                       // with view
    ServiceStatePtr state;                  // without view
  };
  Result<Snapshot> snapshot(const std::string& sid, std::string* bytes);
  // snapshot() keeps a file's state whole (in the parse cache) each time
  // its same bytes were read this many times from the compact cache: the
  // hot services (again after the parse cache dropped them). The others
  // stay compact, so that 100,000 fit in memory.
  static constexpr unsigned kHotAfterReads = 8;

  // A mutation gets the stored state and returns the next configuration, or
  // an Error that update() passes back untouched (a foreign account as
  // kNotFound, a failed precondition as kConflict).
  //
  // Its contract: it may run more than once for one update (once on an
  // unlocked read, then again under the lock on the state it must apply to,
  // which may be another caller's result), so it must be pure: no side
  // effects, the same answer for the same state. It runs on the calling
  // thread or on the thread of another update of the same service.
  using Mutation = std::function<Result<WebhookConfig>(const ServiceState& current)>;

  // Reads the current state under the file's lock, asks `mutate` for the
  // next configuration and writes it unless it equals the current one. A
  // configuration that breaks a rule is kInvalidArgument, never written. An
  // account with no file starts from its defaults, and the first update that
  // changes them creates its file (a failure leaves no file).
  //
  // Concurrency: any number of threads and processes (and hosts sharing the
  // directory through flock) may update one service at once; none loses
  // another's fields. Updates of one service that queue up in this process
  // behind a write are committed as a group: applied in arrival order, each
  // to the result of the one before, and made durable by one write; each
  // returns only once its change is on disk, with the state its own
  // mutation produced, or the write's error (then nothing of the group is on
  // disk).
  Result<ServiceStatePtr> update(const std::string& sid, const Mutation& mutate);

  // A new service, written as an update is (lock, temp, fsync, rename,
  // directory fsync): kConflict if its state file exists already,
  // kInvalidArgument if the configuration breaks a rule.
  Result<ServiceStatePtr> create(const std::string& sid, WebhookConfig config);

  // Replaces a service whose state file is invalid (a person's broken edit),
  // on purpose (webhookctl apply --force): under its lock, one rename of the
  // new file over the broken one, so a reader finds the broken file or the
  // new one, never none, and a failed write leaves the broken file in place
  // byte for byte. kConflict if the file is valid by then (mended since:
  // a valid file is only ever replaced by update(), against its ETag),
  // kNotFound if it is gone, kInvalidArgument if config breaks a rule.
  Result<ServiceStatePtr> overwrite_invalid(const std::string& sid, WebhookConfig config);

  // Removes a service under its lock if its stored ETag is still
  // expected_etag (kConflict otherwise, kNotFound if it is gone). An empty
  // expected_etag removes an invalid file too (apply --force). Readers see
  // the file or no file, never a part of one (an account's: its defaults).
  Status remove(const std::string& sid, const std::string& expected_etag);

  // A lock on lock_path (in the state directory: the apply lock), made if
  // missing, and then only after check_dir: kUnavailable if the directory
  // is not the one the store was made on.
  Result<std::unique_ptr<FileLock>> lock_in_dir(const std::string& lock_path);

  // The SID of every state file in the directory (services' and accounts'),
  // as a stream.
  Status list_state_files(const std::function<void(const std::string& sid)>& visit);

  // Start-up tidying after a crash: removes temp files (never state: a crash
  // mid-write leaves one) and the lock files of services that no longer
  // exist, each under its service's lock so that a writer on another host
  // sharing the directory is never disturbed; and the temp files of
  // webhookctl apply's record, under the apply lock. A name that is not what
  // it should be (a FIFO or a directory named like a lock file, a state file
  // that is a FIFO) is skipped and reported, never waited on; any other
  // error (I/O, permissions) stops the clean-up.
  struct CleanUp {
    int temp_files_removed = 0;
    int lock_files_removed = 0;
    std::vector<std::string> skipped;  // "<path>: why", one per file left alone
  };
  Result<CleanUp> clean_up();

 private:
  friend struct StateStoreTestPeer;  // the unit tests watch the write queues

  struct Stored {
    std::string bytes;  // exactly as on disk, to put back if a write cannot be made durable
    ServiceStatePtr state;
    bool exists = true;  // false: an account with no file (state: its defaults)
  };
  Result<Stored> read(const std::string& sid);
  // A state file's scope, path and bytes (none: an account with no file in
  // this very directory), or the failed read's error, reported: what
  // read() and snapshot() both start from.
  struct File {
    Scope scope;
    std::string path;
    std::optional<std::string> bytes;
  };
  Result<File> read_bytes(const std::string& sid);
  // What a failed read of a state file means, reported: nullopt for an
  // account with no file in this very directory (it has its defaults).
  std::optional<Error> failed_read(Error error, Scope scope);
  // The state of a file read as `text`: from the parse cache, or parsed.
  // (From the compact cache when these are the canonical bytes seen last.)
  Result<ServiceStatePtr> parse(const std::string& sid, const std::string& text, const std::string& path, Scope scope);
  // A file not in canonical form: from the compact cache when its SHA-256
  // is the one seen last, otherwise read by yaml-cpp (and remembered so).
  // keep_whole: put in the parse cache even when not hot (load's callers).
  Result<ServiceStatePtr> read_hand_written(const std::string& sid, const std::string& bytes, const std::string& path,
                                            Scope scope, bool keep_whole);
  // Keeps bytes in canonical form (and their ETag) in the compact cache;
  // the second, with the view read_canonical_view already gave for them.
  void remember_compact(const std::string& sid, std::string_view bytes, Scope scope, const std::string& etag);
  void remember_compact(const std::string& sid, const WebhookConfigView& view, std::string_view bytes,
                        const std::string& etag);
  Status replace(const std::string& sid, const std::string& bytes);
  // An I/O error on a file is the directory's when the directory fails too
  // (kUnavailable: this host steps aside); otherwise it stays the file's.
  Error blame(Error error);
  // kUnavailable for error, now that the directory itself failed with dir;
  // error itself (kIOError: a 500) when dir's errno is the process's (out
  // of descriptors or memory), not the directory's.
  static Error directory_failed(Error error, const Error& dir);
  // OK while dir_ is the directory the store was made on (same_directory);
  // otherwise kUnavailable (gone, failing, or another directory in its
  // place), carrying what's message (a file not found, or one about to be
  // made). Asked only on those paths: a read that finds its file pays no
  // extra system call, so a directory swapped under a file that exists in
  // both is not seen (src/README.md, "What a moved state directory does").
  Status check_dir(const Error& what);
  // Counts a state error met while serving, for the observer.
  void report(const Error& error);

  // One update waiting for its group; it lives on its caller's stack. The
  // leader writes `result` before setting `done` under queues_mu_; the owner
  // reads it only after seeing `done`.
  struct Waiter {
    const Mutation* mutate;
    Result<ServiceStatePtr> result{Error::internal("update not committed")};
    bool done = false;   // result is final
    bool leads = false;  // this caller writes the next group
  };
  // The updates of one service waiting for the write in progress.
  struct Queue {
    std::vector<Waiter*> waiting;
    std::condition_variable changed;
  };
  // What one group commit came to, for the observer: a write counts only
  // when one was tried. A group that ends with nothing to write (no change
  // left under the lock, every mutation refused, the file removed, invalid
  // or unreadable when read again) is no write at all, neither a good one
  // nor a failed one: its clients' answers are their own errors.
  struct Commit {
    enum Outcome { kNothingWritten, kWritten, kWriteFailed } outcome = kNothingWritten;
    // The group's updates whose answer is this write's (success, or its
    // error): those applied, or the whole group when the lock failed before
    // any could be tried. A refused one is not counted.
    size_t updates = 0;
  };
  // kWriteFailed only when the lock, the temp file, the rename or the
  // directory fsync failed.
  Commit commit_group(const std::string& sid, const std::vector<Waiter*>& group);
  size_t queued_updates(const std::string& sid) EXCLUDES(queues_mu_);

  FileSystem& fs_;
  const std::string dir_;
  ParseCache cache_;
  CompactCache compact_;  // every file read or written (canonical: by its bytes; hand-written: by its digest)
  StoreObserver* const observer_;
  // What an account with no file reads as: one object, so that what is
  // rendered from it is cached as for a file.
  const ServiceStatePtr account_defaults_;
  // The directory as it was when the store was made (an error if it could
  // not be identified then: check_dir then trusts no directory).
  const Result<DirIdentity> dir_identity_;
  // Held only to queue and hand over; never across file I/O.
  Mutex queues_mu_;
  std::unordered_map<std::string, Queue> queues_ GUARDED_BY(queues_mu_);  // files with a write in progress
};

}  // namespace webhookd
