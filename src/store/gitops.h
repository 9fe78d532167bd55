// GitOps on the store: a directory of state files (a git checkout: services'
// IS….yaml and accounts' global AC….yaml side by side) read and checked as
// webhookd reads them, the live directory read for a plan, the
// plan carried out through the store's own lock + temp + fsync + rename, the
// record of what was applied, and the live state exported as canonical files.
// What webhookctl check, diff, apply and export stand on.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/config.h"
#include "model/service_plan.h"
#include "store/file_system.h"
#include "store/state_store.h"

namespace webhookd {

// Every state file of a directory. problems: one line per problem, each
// "<path>:<line>:<column>: <message>" or "<path>: <message>" (file names,
// stray lock and temp files, YAML, keys, types, values; with a config, an
// account file of an account the config does not list: webhookd would never
// read it). Names starting with '.' other than webhookd's lock and temp files
// (.git, .gitignore) are skipped.
struct SourceDir {
  std::map<std::string, ServiceState> services;  // by SID (IS… and AC…), only when the whole directory is valid
  std::vector<std::string> problems;
};
Result<SourceDir> read_source_dir(FileSystem& fs, const std::string& dir, const Config* config = nullptr);

// The problems of one file as webhookctl check sees it: its name (when
// check_name), its content (read as the kind of file its name says), and
// with a config, an account the config does not list.
std::vector<std::string> check_state_file(FileSystem& fs, const std::string& path, bool check_name,
                                          const Config* config = nullptr);

// Every live state file, read through the store (an invalid one with its
// problem); an account with no file is not listed.
Result<std::map<std::string, LiveService>> read_live(StateStore& store);

// The record of what the last apply left (model/service_plan.h); empty when
// nothing was ever applied. One line per service: `<SID> "<ETag>"`, or
// `<SID> "<ETag before>" "<ETag being written>"` while an apply is under way
// or after one that failed part way.
Result<ApplyRecord> read_apply_record(FileSystem& fs, const std::string& state_dir);

// The plan for source (a source directory's services, read whole and valid)
// against the live state and the record: what diff and apply --dry-run show.
// Takes no lock and writes nothing: a snapshot, which an apply running at the
// same moment may make stale (it is only shown, never recorded).
Result<Plan> plan_live(StateStore& store, FileSystem& fs, const std::map<std::string, ServiceState>& source,
                       bool prune);

// A plan made under the apply lock, which it holds until it is destroyed:
// the live state and the record are read only once no other apply runs, and
// stay as read (but for API writes, which each service's compare-and-swap
// catches) until this plan is carried out. Made before the lock, a plan
// could be stale by then: an apply in between changes a service this one
// sees unchanged, this one records the ETag it saw, and the next apply takes
// that service for drift.
class LockedPlan {
 public:
  const Plan& plan() const { return plan_; }

 private:
  friend Result<LockedPlan> plan_under_apply_lock(StateStore& store, FileSystem& fs,
                                                  const std::map<std::string, ServiceState>& source, bool prune);
  LockedPlan(std::unique_ptr<FileLock> lock, Plan plan) : lock_(std::move(lock)), plan_(std::move(plan)) {}
  std::unique_ptr<FileLock> lock_;  // .webhookd-apply.lock: one apply at a time
  Plan plan_;
};
// Takes the apply lock (waiting for an apply in progress), then plans as
// plan_live does.
Result<LockedPlan> plan_under_apply_lock(StateStore& store, FileSystem& fs,
                                         const std::map<std::string, ServiceState>& source, bool prune);

struct ApplyStep {
  std::string sid;
  PlanAction action;
  Status status;  // ok, or why this service could not be changed (nothing of it was)
};

// Carries out the plan on the store, under the apply lock it holds. Refuses
// (kConflict, nothing touched) when a service drifted, unless force. Each
// service is compared-and-swapped against the ETag the plan saw, so a write
// that lands while applying is never overwritten: that service fails and the
// others go on. The record is written ahead (each service to change accepted
// with its ETag before and after) and again at the end, atomically both
// times, so an apply that fails or dies part way is resumed by the next one,
// never taken for drift. progress is called after each service.
Result<std::vector<ApplyStep>> apply_plan(StateStore& store, FileSystem& fs, const LockedPlan& locked, bool force,
                                          const std::function<void(const ApplyStep&)>& progress);

// Writes each live state file's canonical form into dest through fs (the
// live state is read through the store's own; only files whose bytes
// differ) and removes the state files of dest that are not exported.
// The file of an account the config does not list is not exported
// (left_out): webhookd never reads it, and apply with that config would
// refuse it. Without a config, no account file is exported (apply without
// one refuses them all). Returns the SIDs written, removed and left out,
// for the caller to print. Fails, writing nothing, if an exported live file
// is invalid.
struct ExportResult {
  std::vector<std::string> written, removed, left_out;
  int unchanged = 0;
};
Result<ExportResult> export_live(StateStore& store, FileSystem& fs, const std::string& dest,
                                 const Config* config = nullptr);

}  // namespace webhookd
