// The write protocol: lock file -> temp file in the same directory -> write
// -> fsync -> close -> rename over the state file -> fsync the directory (the
// rename itself is only durable once the directory is). Any failure removes
// the temp file; a failed directory fsync puts the old bytes back (or, for
// an account file the write created, removes it), so a 500 always means
// "nothing changed". Services' and accounts' files take the same path.
#include "store/state_store.h"

#include <sys/sysmacros.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "base/text.h"
#include "model/compact_state.h"
#include "store/filename.h"

namespace webhookd {

namespace {

// The configuration must be of the file's kind: a service's value written
// into an account's file (or the other way round) would never read back.
Status check_scope(const std::string& sid, const WebhookConfig& config) {
  if (scope_of_sid(sid) != config.scope) {
    return Error::invalid_argument(sid + ": the configuration is " +
                                   (config.scope == Scope::kService ? "a service's" : "an account's") +
                                   ", not of this kind of file");
  }
  return ok_status();
}

ServiceStatePtr make_account_defaults() {
  auto encoded = encode_state(account_defaults());
  if (!encoded.ok()) throw std::logic_error("the account defaults break a rule: " + encoded.error().message);
  return std::make_shared<const ServiceState>(std::move(encoded.value().state));
}

}  // namespace

StateStore::StateStore(FileSystem& fs, std::string dir, size_t cache_capacity, StoreObserver* observer)
    : fs_(fs),
      dir_(std::move(dir)),
      cache_(cache_capacity),
      observer_(observer),
      account_defaults_(make_account_defaults()),
      dir_identity_(fs_.identify_dir(dir_, /*with_fs_type=*/true)) {}

Result<StateStore::File> StateStore::read_bytes(const std::string& sid) {
  const std::optional<Scope> scope = scope_of_sid(sid);
  if (!scope) return Error::invalid_argument("not a service or account SID: " + sid);
  File file{*scope, state_file_path(dir_, sid), std::nullopt};
  auto bytes = fs_.read_file(file.path);
  if (!bytes.ok()) {
    std::optional<Error> e = failed_read(bytes.error(), *scope);
    if (e) return *e;
    return file;  // an account with no file: its defaults
  }
  file.bytes = std::move(bytes.value());
  return file;
}

Result<StateStore::Stored> StateStore::read(const std::string& sid) {
  auto file = read_bytes(sid);
  if (!file.ok()) return file.error();
  File& f = file.value();
  if (!f.bytes) return Stored{"", account_defaults_, false};
  auto state = parse(sid, *f.bytes, f.path, f.scope);
  if (!state.ok()) return state.error();
  return Stored{std::move(*f.bytes), std::move(state.value())};
}

std::optional<Error> StateStore::failed_read(Error e, Scope scope) {
  if (e.is_not_found()) {
    // "No such file" is a 404, or an account that never set its global
    // webhooks (its defaults), only in the directory this store was made
    // on: in a directory that is gone, or an empty one in its place (an
    // unmounted volume's mountpoint), it would be a confident wrong
    // answer that a fleet's front never steps around. update's read
    // under the lock passes here too before an account's first write
    // creates its file.
    Status here = check_dir(e);
    if (here.ok() && scope == Scope::kAccount) return std::nullopt;
    if (!here.ok()) e = here.error();
  } else {
    e = blame(std::move(e));
  }
  report(e);
  return e;
}

Result<ServiceStatePtr> StateStore::parse(const std::string& sid, const std::string& text, const std::string& path,
                                          Scope scope) {
  ServiceStatePtr cached = cache_.find(sid, text);
  if (cached) {
    if (observer_) observer_->parse_cache_lookup(true);
    return cached;
  }
  // The same bytes as the canonical ones seen last time: no check, no digest.
  WebhookConfigView in_bytes;
  bool hot = false;
  if (std::optional<std::string> etag = compact_.etag_if_same(sid, text, &in_bytes, kHotAfterReads, &hot)) {
    if (observer_) observer_->parse_cache_lookup(true);
    auto state = std::make_shared<const ServiceState>(ServiceState{config_of(in_bytes), std::move(*etag)});
    cache_.put(sid, text, state);
    return state;
  }
  // webhookd's own form: one read of it gives both the state (what
  // read_state_file's fast path gives; the bytes it accepts are ASCII, so
  // UTF-8) and the compact entry.
  if (std::optional<WebhookConfigView> view = read_canonical_view(text, scope)) {
    if (observer_) observer_->parse_cache_lookup(false);
    auto state = std::make_shared<const ServiceState>(ServiceState{config_of(*view), canonical_etag(text)});
    cache_.put(sid, text, state);
    remember_compact(sid, *view, text, state->etag);
    return state;
  }
  return read_hand_written(sid, text, path, scope, /*keep_whole=*/true);
}

Result<ServiceStatePtr> StateStore::read_hand_written(const std::string& sid, const std::string& bytes,
                                                      const std::string& path, Scope scope, bool keep_whole) {
  // Not webhookd's own form (a hand edit): its SHA-256 proves it the file
  // yaml-cpp read last time (0.3 us a KiB on this CPU; a parse costs tens),
  // and its state is held compactly as a canonical file's is, so that as
  // many hand-written services as canonical ones are answered without a
  // parse.
  const Sha256Digest digest = sha256_digest(bytes);
  bool hot = false;
  if (std::optional<ServiceState> known = compact_.state_if_same_digest(sid, digest, kHotAfterReads, &hot)) {
    if (observer_) observer_->parse_cache_lookup(true);
    auto state = std::make_shared<const ServiceState>(std::move(*known));
    if (keep_whole || hot) cache_.put(sid, bytes, state);
    return state;
  }
  if (observer_) observer_->parse_cache_lookup(false);
  auto parsed = read_state_file(bytes, path, scope);
  if (!parsed.ok()) {
    report(parsed.error());
    return parsed.error();
  }
  auto state = std::make_shared<const ServiceState>(std::move(parsed.value()));
  cache_.put(sid, bytes, state);
  if (std::optional<CompactState> compact = CompactState::of_hand_written(*state, digest)) {
    compact_.put(sid, std::move(*compact));
  }
  return state;
}

void StateStore::remember_compact(const std::string& sid, std::string_view bytes, Scope scope,
                                  const std::string& etag) {
  std::optional<WebhookConfigView> view = read_canonical_view(bytes, scope);
  if (!view) return;  // not webhookd's own form: read_hand_written keeps it when it reads it
  remember_compact(sid, *view, bytes, etag);
}

void StateStore::remember_compact(const std::string& sid, const WebhookConfigView& view, std::string_view bytes,
                                  const std::string& etag) {
  if (std::optional<CompactState> compact = CompactState::of(view, etag, bytes)) compact_.put(sid, std::move(*compact));
}

Result<StateStore::Snapshot> StateStore::snapshot(const std::string& sid, std::string* bytes) {
  auto file = read_bytes(sid);
  if (!file.ok()) return file.error();
  if (!file.value().bytes) return Snapshot{std::nullopt, "", account_defaults_};
  const Scope scope = file.value().scope;
  const std::string& path = file.value().path;
  *bytes = std::move(*file.value().bytes);
  // A hot file: its parsed state (and the API's JSON of it) kept whole.
  if (ServiceStatePtr hot = cache_.find(sid, *bytes)) {
    if (observer_) observer_->parse_cache_lookup(true);
    return Snapshot{std::nullopt, "", std::move(hot)};
  }
  // The same bytes as the canonical ones seen last time: valid, and their
  // ETag known.
  WebhookConfigView in_bytes;
  bool hot = false;
  if (std::optional<std::string> etag = compact_.etag_if_same(sid, *bytes, &in_bytes, kHotAfterReads, &hot)) {
    if (observer_) observer_->parse_cache_lookup(true);
    // Read often enough since it last changed (or since it was last put in
    // the parse cache, which may have dropped it since) to be kept whole: a
    // GET of it then costs about 3,500 instructions less (callgrind). Not
    // on every read: past 1,024 hot services that would rebuild a state per
    // GET only to push another one out.
    if (hot) {
      auto state = std::make_shared<const ServiceState>(ServiceState{config_of(in_bytes), *etag});
      cache_.put(sid, *bytes, state);
      return Snapshot{std::nullopt, "", std::move(state)};
    }
    return Snapshot{in_bytes, std::move(*etag), nullptr};
  }
  if (std::optional<WebhookConfigView> view = read_canonical_view(*bytes, scope)) {
    if (observer_) observer_->parse_cache_lookup(false);
    std::string etag = canonical_etag(*bytes);
    remember_compact(sid, *view, *bytes, etag);
    return Snapshot{view, std::move(etag), nullptr};
  }
  auto state = read_hand_written(sid, *bytes, path, scope, /*keep_whole=*/false);
  if (!state.ok()) return state.error();
  return Snapshot{std::nullopt, "", std::move(state.value())};
}

void StateStore::report(const Error& error) {
  if (!observer_) return;
  if (error.code == ErrorCode::kCorruption) observer_->state_error(StoreObserver::StateError::kInvalid);
  if (error.code == ErrorCode::kIOError || error.code == ErrorCode::kUnavailable) {
    observer_->state_error(StoreObserver::StateError::kIO);
  }
}

Error StateStore::blame(Error error) {
  if (error.code != ErrorCode::kIOError) return error;
  Status dir = fs_.probe_dir(dir_);
  if (dir.ok()) return error;
  return directory_failed(std::move(error), dir.error());
}

Error StateStore::directory_failed(Error error, const Error& dir) {
  // Out of descriptors or memory, the probe fails for the process, not for
  // the directory: that stays a 500 of this request.
  const int err = dir.os_errno;
  if (err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS) return error;
  return Error::unavailable(error.message + "; the state directory fails: " + dir.message, err);
}

namespace {

// The state directory, opened before a write and held until its fsync, so
// that nothing after the rename needs a new descriptor: out of descriptors
// there (EMFILE), the new file would stay on disk (putting the old bytes
// back needs a temp file, which fails the same way) while the client hears
// 503, "nothing written", and the front does not retry a POST. Opened
// first, the failure comes before anything is written.
class OpenDir {
 public:
  OpenDir(FileSystem& fs, std::string dir) : fs_(fs), dir_(std::move(dir)), fd_(fs_.open_dir(dir_)) {}
  ~OpenDir() {
    if (fd_.ok()) (void)fs_.close(fd_.value());
  }
  OpenDir(const OpenDir&) = delete;
  OpenDir& operator=(const OpenDir&) = delete;
  Status opened() const { return fd_.ok() ? ok_status() : Status(fd_.error()); }
  Status sync() { return fd_.ok() ? fs_.sync_open_dir(fd_.value(), dir_) : Status(fd_.error()); }

 private:
  FileSystem& fs_;
  const std::string dir_;
  const Result<int> fd_;
};

// with_type: only when the type was measured (statfs is asked only when the
// device number moved); an unmeasured 0 would read as a type.
std::string describe(const DirIdentity& id, bool with_type) {
  char text[96];
  std::snprintf(text, sizeof text, "device %u:%u inode %llu", major(static_cast<dev_t>(id.device)),
                minor(static_cast<dev_t>(id.device)), static_cast<unsigned long long>(id.inode));
  std::string out = text;
  if (with_type) {
    std::snprintf(text, sizeof text, " on a file system of type 0x%llx", static_cast<unsigned long long>(id.fs_type));
    out += text;
  }
  return out;
}

}  // namespace

Status StateStore::check_dir(const Error& what) {
  // One stat; the file system's type only when the device number moved
  // (a remount, or another file system), the one case it decides.
  auto now = fs_.identify_dir(dir_, /*with_fs_type=*/false);
  const bool typed = now.ok() && dir_identity_.ok() && now.value().device != dir_identity_.value().device;
  if (typed) now = fs_.identify_dir(dir_, /*with_fs_type=*/true);
  // Gone (ENOENT), or failing: the directory's error. `what` is a "no such
  // file" or a file about to be made: never itself the answer here.
  if (!now.ok()) {
    return directory_failed(Error::io(what.message + "; " + now.error().message, now.error().os_errno), now.error());
  }
  if (!dir_identity_.ok()) {
    return Error::unavailable(what.message + "; the state directory " + dir_ + " could not be identified when " +
                                  "this store was made (" + dir_identity_.error().message +
                                  "): it cannot be told from another directory put in its place",
                              ESTALE);
  }
  if (same_directory(dir_identity_.value(), now.value())) return ok_status();
  return Error::unavailable(what.message + "; the state directory " + dir_ + " is not the one this store was made " +
                                "on (" + describe(dir_identity_.value(), typed) + "), it is " +
                                describe(now.value(), typed) +
                                ": a volume no longer mounted there, or a directory put in its place; " +
                                "reload or restart webhookd to serve this one",
                            ESTALE);
}

Result<std::unique_ptr<FileLock>> StateStore::lock_in_dir(const std::string& lock_path) {
  auto held = fs_.lock(lock_path, FileSystem::LockFile::kExisting);
  if (held.ok() || !held.error().is_not_found()) return held;
  // The lock file is made here, so only in the directory this store was
  // made on: a lock file that exists is no file made, and costs no look.
  if (Status here = check_dir(held.error()); !here.ok()) return here.error();
  return fs_.lock(lock_path, FileSystem::LockFile::kCreate);
}

Result<ServiceStatePtr> StateStore::load(const std::string& sid) {
  auto stored = read(sid);
  if (!stored.ok()) return stored.error();
  return std::move(stored.value().state);
}

Result<ServiceStatePtr> StateStore::load_stored(const std::string& sid) {
  auto stored = read(sid);
  if (!stored.ok()) return stored.error();
  if (!stored.value().exists) return Error::not_found(state_file_path(dir_, sid) + ": no such file");
  return std::move(stored.value().state);
}

Result<ServiceStatePtr> StateStore::update(const std::string& sid, const Mutation& mutate) {
  // First without the lock: a missing or foreign service, a failed
  // precondition or an update that changes nothing is answered from this
  // read alone (it is what a request just before any concurrent write would
  // see), so it creates no lock file and waits for no writer.
  auto unlocked = read(sid);
  if (!unlocked.ok()) return unlocked.error();
  const ServiceStatePtr& seen = unlocked.value().state;
  auto guess = mutate(*seen);
  if (!guess.ok()) return guess.error();
  if (guess.value() == seen->config) return seen;

  // Queue behind the write in progress, if any. The first in an empty queue
  // leads: it takes everyone queued so far as one group, commits it, and
  // hands the lead to the first who queued meanwhile. Under load a group is
  // many updates for one write, lock and fsync.
  Waiter me{&mutate};
  MutexLock lk(&queues_mu_);
  Queue& queue = queues_[sid];  // unordered_map nodes stay put as others are added
  queue.waiting.push_back(&me);
  if (queue.waiting.size() > 1) queues_mu_.wait(queue.changed, [&] { return me.done || me.leads; });
  if (me.done) return std::move(me.result);
  std::vector<Waiter*> group = queue.waiting;
  lk.unlock();
  const auto began = std::chrono::steady_clock::now();
  const Commit commit = commit_group(sid, group);
  if (observer_ && commit.outcome != Commit::kNothingWritten) {
    observer_->group_commit(commit.outcome == Commit::kWritten, commit.updates,
                            std::chrono::steady_clock::now() - began);
  }
  lk.lock();
  for (Waiter* w : group) w->done = true;
  Queue& same = queues_[sid];  // the same node: it is erased only when empty, below
  same.waiting.erase(same.waiting.begin(), same.waiting.begin() + static_cast<std::ptrdiff_t>(group.size()));
  if (!same.waiting.empty()) same.waiting.front()->leads = true;
  // The queue (and its condition variable) may go once its waiters are all
  // notified: the standard allows it, glibc confirms each wake-up before the
  // waiter takes the mutex back, and a woken waiter then looks only at its
  // own Waiter.
  same.changed.notify_all();
  if (same.waiting.empty()) queues_.erase(sid);
  return std::move(me.result);
}

size_t StateStore::queued_updates(const std::string& sid) {
  MutexLock lk(&queues_mu_);
  auto it = queues_.find(sid);
  return it == queues_.end() ? 0 : it->second.waiting.size();
}

StateStore::Commit StateStore::commit_group(const std::string& sid, const std::vector<Waiter*>& group) {
  // Every waiter must get a final result, whatever happens here: the ones
  // not led would otherwise wait for ever.
  Commit commit;
  auto fail_all = [&](const Error& e) {
    for (Waiter* w : group) w->result = e;
    return commit;
  };
  try {
    // The lock is a separate file: a lock on the state file itself would be
    // lost the moment rename replaces its inode. A lock that fails is a
    // failed write of the whole group: none of it could even be tried.
    auto lock = lock_in_dir(lock_file_path(dir_, sid));
    if (!lock.ok()) {
      commit = {Commit::kWriteFailed, group.size()};
      Error e = blame(lock.error());
      report(e);
      return fail_all(e);
    }

    // Read again under the lock: another writer may have come first, and its
    // fields must survive. An invalid file (a person's broken edit) is
    // reported, never overwritten; a removed one is kNotFound for all. No
    // write is tried: read() has counted what is a state error.
    auto stored = read(sid);
    if (!stored.ok()) return fail_all(stored.error());
    const Stored& current = stored.value();

    // Each mutation sees the state the ones before it produced; a refused
    // one leaves it as it was for the next.
    ServiceStatePtr state = current.state;
    std::string bytes;  // of `state`, once a mutation changed it: what is written
    size_t applied = 0;
    for (Waiter* w : group) {
      auto next = (*w->mutate)(*state);
      if (!next.ok()) {
        w->result = next.error();
        continue;
      }
      if (Status kind = check_scope(sid, next.value()); !kind.ok()) {
        w->result = kind.error();
        continue;
      }
      if (next.value() != state->config) {
        auto encoded = encode_state(std::move(next.value()));
        if (!encoded.ok()) {
          w->result = encoded.error();
          continue;
        }
        state = std::make_shared<const ServiceState>(std::move(encoded.value().state));
        bytes = std::move(encoded.value().bytes);
      }
      w->result = state;
      ++applied;
    }
    if (bytes.empty()) return commit;  // nothing changed (emitted state is never empty): no write

    commit = {Commit::kWriteFailed, applied};  // until the directory fsync says otherwise
    OpenDir dir(fs_, dir_);
    Status written = dir.opened();
    if (written.ok()) written = replace(sid, bytes);
    if (written.ok()) {
      Status durable = dir.sync();
      if (!durable.ok()) {
        // The clients will hear 500, so the old configuration must stand
        // (an account's defaults: no file).
        Status restored = current.exists ? replace(sid, current.bytes) : fs_.remove(state_file_path(dir_, sid));
        Error e = durable.error();
        if (!restored.ok()) e.message += "; restoring the old file also failed: " + restored.error().message;
        written = e;
      }
    }
    if (!written.ok()) {
      // Nothing of the group is on disk: none of it may be reported done.
      const Error error = blame(written.error());
      report(error);
      for (Waiter* w : group) {
        if (w->result.ok()) w->result = error;
      }
      return commit;
    }
    cache_.put(sid, bytes, state);
    // Known compact too: the parse cache keeps only the hot services, and
    // the next read of these bytes then takes no digest and no parse.
    remember_compact(sid, bytes, state->config.scope, state->etag);
    commit.outcome = Commit::kWritten;
    return commit;
  } catch (const std::exception& e) {
    return fail_all(Error::internal(std::string("update: ") + e.what()));
  } catch (...) {
    return fail_all(Error::internal("update: unknown exception"));
  }
}

Result<StateStore::CleanUp> StateStore::clean_up() {
  // One pass over the directory that keeps only what is to be removed (crash
  // leftovers, rare): the directory may hold 100,000 services, and their
  // names must not sit in memory.
  std::map<std::string, std::vector<std::string>> temps;  // by SID
  std::set<std::string> orphan_locks;                     // lock files whose service was missing
  std::vector<std::string> apply_temps;                   // of webhookctl apply's record
  // Only "no such file" is missing: a state file that is a FIFO is refused
  // at once by read_file (never waited on), and its service's lock stays.
  auto missing = [&](const std::string& sid) {
    auto exists = fs_.read_file(state_file_path(dir_, sid));
    return !exists.ok() && exists.error().is_not_found();
  };
  Status listed = fs_.list_dir(dir_, [&](const std::string& name) {
    std::string sid;
    switch (classify_state_dir_name(name, &sid)) {
      case StateFileKind::kLock:
        if (missing(sid)) orphan_locks.insert(sid);
        break;
      case StateFileKind::kTemp: temps[sid].push_back(name); break;
      case StateFileKind::kApplyTemp: apply_temps.push_back(name); break;
      case StateFileKind::kState:
      case StateFileKind::kOther: break;
    }
  });
  if (!listed.ok()) return listed.error();
  CleanUp done;
  // One bad file (kCorruption: not a regular file) is noted and passed over;
  // any other error (I/O, permissions) stops the clean-up.
  auto skip = [&](const Error& e) {
    if (e.code != ErrorCode::kCorruption) return false;
    done.skipped.push_back(e.message);
    return true;
  };
  for (const auto& [sid, files] : temps) {
    // A live writer holds the lock for as long as its temp file exists.
    auto lock = lock_in_dir(lock_file_path(dir_, sid));
    if (!lock.ok()) {
      if (!skip(lock.error())) return lock.error();
      orphan_locks.erase(sid);  // the same bad lock file: reported once
      continue;
    }
    for (const std::string& f : files) {
      Status removed = fs_.remove(dir_ + "/" + f);
      if (!removed.ok()) {
        if (!skip(removed.error())) return removed.error();
        continue;
      }
      ++done.temp_files_removed;
    }
    if (missing(sid)) orphan_locks.insert(sid);  // taking the lock made one
  }
  if (!apply_temps.empty()) {
    // An apply holds its lock for as long as its record's temp file exists;
    // taken only when there is one, so that a directory where no apply ever
    // ran gets no apply lock file from webhookd.
    auto lock = lock_in_dir(apply_lock_path(dir_));
    if (!lock.ok()) {
      if (!skip(lock.error())) return lock.error();
    } else {
      for (const std::string& f : apply_temps) {
        Status removed = fs_.remove(dir_ + "/" + f);
        if (!removed.ok()) {
          if (!skip(removed.error())) return removed.error();
          continue;
        }
        ++done.temp_files_removed;
      }
    }
  }
  for (const std::string& sid : orphan_locks) {
    auto lock = lock_in_dir(lock_file_path(dir_, sid));
    if (!lock.ok()) {
      if (!skip(lock.error())) return lock.error();
      continue;
    }
    // Checked again under the lock: the service may have been created since.
    if (missing(sid)) {
      Status removed = fs_.remove(lock_file_path(dir_, sid));  // safe: lock() re-checks the inode
      if (!removed.ok()) return removed.error();
      ++done.lock_files_removed;
    }
  }
  return done;
}

Status StateStore::replace(const std::string& sid, const std::string& bytes) {
  return replace_file(fs_, temp_file_prefix(dir_, sid), state_file_path(dir_, sid), bytes);
}

Result<ServiceStatePtr> StateStore::create(const std::string& sid, WebhookConfig config) {
  if (!scope_of_sid(sid)) return Error::invalid_argument("not a service or account SID: " + sid);
  if (Status kind = check_scope(sid, config); !kind.ok()) return kind.error();
  auto encoded = encode_state(std::move(config));
  if (!encoded.ok()) return encoded.error();
  auto lock = lock_in_dir(lock_file_path(dir_, sid));
  if (!lock.ok()) return lock.error();
  // Under the lock: no writer of this service is mid-way, so a file that is
  // there is a service that exists.
  auto existing = fs_.read_file(state_file_path(dir_, sid));
  if (existing.ok()) return Error::conflict(sid + " exists already");
  if (!existing.error().is_not_found()) return existing.error();
  if (Status here = check_dir(existing.error()); !here.ok()) return here.error();  // a file is made: here only
  OpenDir dir(fs_, dir_);
  if (Status opened = dir.opened(); !opened.ok()) return opened.error();
  Status written = replace(sid, encoded.value().bytes);
  if (written.ok()) written = dir.sync();
  if (!written.ok()) {
    (void)fs_.remove(state_file_path(dir_, sid));  // a service the caller hears failed must not appear later
    return written.error();
  }
  auto state = std::make_shared<const ServiceState>(std::move(encoded.value().state));
  cache_.put(sid, encoded.value().bytes, state);
  remember_compact(sid, encoded.value().bytes, state->config.scope, state->etag);
  return ServiceStatePtr(state);
}

Result<ServiceStatePtr> StateStore::overwrite_invalid(const std::string& sid, WebhookConfig config) {
  if (!scope_of_sid(sid)) return Error::invalid_argument("not a service or account SID: " + sid);
  if (Status kind = check_scope(sid, config); !kind.ok()) return kind.error();
  auto encoded = encode_state(std::move(config));
  if (!encoded.ok()) return encoded.error();
  auto lock = lock_in_dir(lock_file_path(dir_, sid));
  if (!lock.ok()) return lock.error();
  // Under the lock, the file as it is now: its bytes to put back if the new
  // one cannot be made durable, and proof that it is still invalid.
  const std::string path = state_file_path(dir_, sid);
  auto old_bytes = fs_.read_file(path);
  if (!old_bytes.ok()) return old_bytes.error();
  if (read_state_file(old_bytes.value(), path, config.scope).ok()) {
    return Error::conflict(sid + " is valid again (mended since the plan): it is replaced only against its ETag");
  }
  OpenDir dir(fs_, dir_);
  if (Status opened = dir.opened(); !opened.ok()) return opened.error();
  Status written = replace(sid, encoded.value().bytes);
  if (written.ok()) {
    Status durable = dir.sync();
    if (!durable.ok()) {
      // The caller hears a failure, so the broken file must stand, as after any failed write.
      Status restored = replace(sid, old_bytes.value());
      Error e = durable.error();
      if (!restored.ok()) e.message += "; restoring the old file also failed: " + restored.error().message;
      written = e;
    }
  }
  if (!written.ok()) return written.error();
  auto state = std::make_shared<const ServiceState>(std::move(encoded.value().state));
  cache_.put(sid, encoded.value().bytes, state);
  remember_compact(sid, encoded.value().bytes, state->config.scope, state->etag);
  return ServiceStatePtr(state);
}

Status StateStore::remove(const std::string& sid, const std::string& expected_etag) {
  if (!scope_of_sid(sid)) return Error::invalid_argument("not a service or account SID: " + sid);
  auto lock = lock_in_dir(lock_file_path(dir_, sid));
  if (!lock.ok()) return lock.error();
  auto stored = read(sid);
  if (!stored.ok()) {
    // An invalid file has no ETag to compare: it is removed only on purpose
    // (expected_etag empty, webhookctl apply --force).
    if (stored.error().code != ErrorCode::kCorruption || !expected_etag.empty()) return stored.error();
  } else if (!stored.value().exists) {
    return Error::not_found(sid + " has no file");
  } else if (stored.value().state->etag != expected_etag) {
    return Error::conflict(sid + " changed: its ETag is " + stored.value().state->etag + ", not " + expected_etag);
  }
  // unlink is atomic for readers: they find the old file or none.
  OpenDir dir(fs_, dir_);
  if (Status opened = dir.opened(); !opened.ok()) return opened;
  Status removed = fs_.remove(state_file_path(dir_, sid));
  if (!removed.ok()) return removed;
  Status durable = dir.sync();
  if (!durable.ok()) return durable;
  // The lock file goes too: we hold its lock, and lock() re-checks the inode
  // it was granted on, so a waiter never holds a lock on a deleted file.
  return fs_.remove(lock_file_path(dir_, sid));
}

Status StateStore::list_state_files(const std::function<void(const std::string& sid)>& visit) {
  return fs_.list_dir(dir_, [&](const std::string& name) {
    std::string sid;
    if (classify_state_dir_name(name, &sid) == StateFileKind::kState) visit(sid);
  });
}

}  // namespace webhookd
