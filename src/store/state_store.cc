// The write protocol: lock file -> temp file in the same directory -> write
// -> fsync -> close -> rename over the state file -> fsync the directory (the
// rename itself is only durable once the directory is). Any failure removes
// the temp file; a failed directory fsync puts the old bytes back, so a 500
// always means "nothing changed".
#include "store/state_store.h"

#include "store/filename.h"
#include "store/state_file.h"

namespace webhookd {

Result<std::optional<StateStore::Stored>> StateStore::read(const std::string& sid) {
  const std::string path = state_file_path(dir_, sid);
  auto bytes = fs_.read_file(path);
  if (!bytes.ok()) return bytes.error();
  if (!bytes.value()) return std::optional<Stored>{};
  auto config = parse_state_file(*bytes.value(), path);
  if (!config.ok()) return config.error();
  return std::optional<Stored>{Stored{std::move(*bytes.value()), std::move(config.value())}};
}

Result<std::optional<WebhookConfig>> StateStore::load(const std::string& sid) {
  auto stored = read(sid);
  if (!stored.ok()) return stored.error();
  if (!stored.value()) return std::optional<WebhookConfig>{};
  return std::optional<WebhookConfig>{std::move(stored.value()->config)};
}

Result<std::optional<WebhookConfig>> StateStore::update(const std::string& sid, const Mutation& mutate) {
  // The lock is a separate file: a lock on the state file itself would be
  // lost the moment rename replaces its inode.
  auto lock = fs_.lock(lock_file_path(dir_, sid));
  if (!lock.ok()) return lock.error();

  // An invalid file is a person's broken edit: report it, never overwrite it.
  auto stored = read(sid);
  if (!stored.ok()) return stored.error();
  if (!stored.value()) return std::optional<WebhookConfig>{};
  const Stored& current = *stored.value();

  auto next = mutate(current.config);
  if (!next.ok()) return next.error();
  if (next.value() == current.config) return std::optional<WebhookConfig>{current.config};

  Status written = replace(sid, emit_state_file(next.value()));
  if (!written.ok()) return written.error();
  Status durable = fs_.sync_dir(dir_);
  if (!durable.ok()) {
    // The client will hear 500, so the old configuration must stand.
    Status restored = replace(sid, current.bytes);
    Error e = durable.error();
    if (!restored.ok()) e.detail += "; restoring the old file also failed: " + restored.error().detail;
    return e;
  }
  return std::optional<WebhookConfig>{std::move(next.value())};
}

Status StateStore::replace(const std::string& sid, const std::string& bytes) {
  std::string temp;
  auto fd = fs_.create_temp(temp_file_prefix(dir_, sid), &temp);
  if (!fd.ok()) return fd.error();
  Status s = fs_.write_all(fd.value(), bytes);
  if (s.ok()) s = fs_.sync(fd.value());
  Status closed = fs_.close(fd.value());
  if (s.ok()) s = closed;
  if (s.ok()) s = fs_.rename(temp, state_file_path(dir_, sid));
  if (!s.ok()) fs_.remove(temp);  // best effort; the error reported is the first one
  return s;
}

}  // namespace webhookd
