// The live directory is only ever changed through StateStore (create, update
// with a compare-and-swap on the ETag, remove): readers through nginx see the
// old file or the new one, never a missing or partial one, and an API write
// that lands during an apply is never lost.
#include "store/gitops.h"

#include <algorithm>
#include <set>

#include "base/text.h"
#include "store/filename.h"

namespace webhookd {
namespace {

std::string base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

Status write_apply_record(FileSystem& fs, const std::string& dir, const ApplyRecord& record) {
  std::string text =
      "# webhookctl apply: each service's ETag as the last apply left it (two: before and after, for a service\n"
      "# an unfinished apply was changing). Do not edit.\n";
  for (const auto& [sid, etags] : record) {
    text += sid;
    for (const std::string& etag : etags) text += " " + etag;
    text += "\n";
  }
  Status s = replace_file(fs, apply_record_temp_prefix(dir), apply_record_path(dir), text);
  return s.ok() ? fs.sync_dir(dir) : s;
}

}  // namespace

std::vector<std::string> check_state_file(FileSystem& fs, const std::string& path, bool check_name,
                                          const Config* config) {
  std::vector<std::string> problems;
  if (check_name) {
    std::string name_problem = state_dir_name_problem(base_name(path));
    if (!name_problem.empty()) return {path + ": " + name_problem};
  }
  // The name says the kind (an unchecked name that says neither: a service's).
  const std::string sid = base_name(path).substr(0, 34);
  const Scope scope = scope_of_sid(sid).value_or(Scope::kService);
  if (config && scope == Scope::kAccount && !config->credentials.account_token_digest.count(sid)) {
    problems.push_back(path + ": account " + sid + " is not in " + config->source +
                       ": webhookd serves only the accounts of its config, so it would never read this file");
  }
  auto bytes = fs.read_file(path);
  if (!bytes.ok()) {
    // A corruption already names the file ("<path>: not a regular file (a FIFO)").
    problems.push_back(bytes.error().code == ErrorCode::kCorruption ? bytes.error().message
                                                                   : path + ": " + bytes.error().message);
    return problems;
  }
  std::vector<std::string> content = state_file_problems(bytes.value(), path, scope);
  problems.insert(problems.end(), content.begin(), content.end());
  return problems;
}

Result<SourceDir> read_source_dir(FileSystem& fs, const std::string& dir, const Config* config) {
  std::vector<std::string> names;
  Status listed = fs.list_dir(dir, [&](const std::string& name) { names.push_back(name); });
  if (!listed.ok()) return listed.error();
  std::sort(names.begin(), names.end());
  SourceDir out;
  std::map<std::string, ServiceState> services;
  for (const std::string& name : names) {
    std::string sid;
    const StateFileKind kind = classify_state_dir_name(name, &sid);
    if (name[0] == '.' && kind == StateFileKind::kOther) continue;  // .git, .gitignore, ...
    const std::string path = join(dir, name);
    std::vector<std::string> problems = check_state_file(fs, path, /*check_name=*/true, config);
    if (!problems.empty()) {
      out.problems.insert(out.problems.end(), problems.begin(), problems.end());
      continue;
    }
    auto bytes = fs.read_file(path);
    if (!bytes.ok()) return bytes.error();
    auto state = read_state_file(bytes.value(), path, *scope_of_sid(sid));
    if (!state.ok()) return state.error();  // check_state_file said it was valid: a race with an editor
    services.emplace(sid, std::move(state.value()));
  }
  if (out.problems.empty()) out.services = std::move(services);
  return out;
}

Result<std::map<std::string, LiveService>> read_live(StateStore& store) {
  std::vector<std::string> sids;
  Status listed = store.list_state_files([&](const std::string& sid) { sids.push_back(sid); });
  if (!listed.ok()) return listed.error();
  std::map<std::string, LiveService> live;
  for (const std::string& sid : sids) {
    auto loaded = store.load_stored(sid);
    if (loaded.ok()) {
      live[sid].state = *loaded.value();
    } else if (loaded.error().code == ErrorCode::kCorruption) {
      live[sid].problem = loaded.error().message;
    } else if (!loaded.error().is_not_found()) {  // removed since the listing: not live
      return loaded.error();
    }
  }
  return live;
}

Result<ApplyRecord> read_apply_record(FileSystem& fs, const std::string& dir) {
  ApplyRecord record;
  auto text = fs.read_file(apply_record_path(dir));
  if (!text.ok()) {
    if (text.error().is_not_found()) return record;
    return text.error();
  }
  size_t pos = 0;
  const std::string& t = text.value();
  int line_no = 0;
  while (pos < t.size()) {
    size_t nl = t.find('\n', pos);
    std::string line = t.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? t.size() : nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words;
    for (size_t at = 0; at <= line.size();) {
      size_t space = line.find(' ', at);
      if (space == std::string::npos) space = line.size();
      words.push_back(line.substr(at, space - at));
      at = space + 1;
    }
    bool good = (words.size() == 2 || words.size() == 3) && scope_of_sid(words[0]).has_value();
    for (size_t i = 1; good && i < words.size(); ++i) {
      const std::string& etag = words[i];
      good = etag.size() == 34 && etag.front() == '"' && etag.back() == '"';
    }
    if (!good) {
      return Error::corruption(apply_record_path(dir) + ":" + std::to_string(line_no) +
                               ":1: not '<SID> \"<ETag>\"' (or two ETags)");
    }
    record[words[0]].assign(words.begin() + 1, words.end());
  }
  return record;
}

Result<Plan> plan_live(StateStore& store, FileSystem& fs, const std::map<std::string, ServiceState>& source,
                       bool prune) {
  auto live = read_live(store);
  if (!live.ok()) return live.error();
  auto applied = read_apply_record(fs, store.dir());
  if (!applied.ok()) return applied.error();
  return make_plan(source, live.value(), applied.value(), prune);
}

Result<LockedPlan> plan_under_apply_lock(StateStore& store, FileSystem& fs,
                                         const std::map<std::string, ServiceState>& source, bool prune) {
  // First the lock, then the reads: see LockedPlan.
  auto apply_lock = store.lock_in_dir(apply_lock_path(store.dir()));
  if (!apply_lock.ok()) return apply_lock.error();
  auto plan = plan_live(store, fs, source, prune);
  if (!plan.ok()) return plan.error();
  return LockedPlan(std::move(apply_lock.value()), std::move(plan.value()));
}

Result<std::vector<ApplyStep>> apply_plan(StateStore& store, FileSystem& fs, const LockedPlan& locked, bool force,
                                          const std::function<void(const ApplyStep&)>& progress) {
  const std::string& dir = store.dir();
  const Plan& plan = locked.plan();
  if (!force) {
    std::string drifted;
    for (const ServicePlan& s : plan.services) {
      if (s.drifted) drifted += (drifted.empty() ? "" : ", ") + s.sid;
    }
    if (!drifted.empty()) {
      return Error::conflict("refusing to overwrite services changed since the last apply: " + drifted +
                             " (see the plan; --force overwrites them)");
    }
  }
  auto record = read_apply_record(fs, dir);
  if (!record.ok()) return record.error();
  const ApplyRecord before = record.value();
  ApplyRecord& applied = record.value();

  // Written ahead: each service about to change is recorded with the ETag it
  // has now and the one this apply will give it (a function of git's
  // configuration alone), so whichever of the two the next apply finds, it
  // is no drift, however this one ends. Not with the ETag it has now when
  // that is already drift (forced): if the write fails, it must stay drift.
  // One more record write per apply, not one per service.
  bool writes_ahead = false;
  for (const ServicePlan& s : plan.services) {
    switch (s.action) {
      case PlanAction::kUnchanged:
        applied[s.sid] = {s.live_etag};  // it is what git says: adopt it
        break;
      case PlanAction::kCreate:
      case PlanAction::kUpdate: {
        const std::string next = config_etag(*s.desired);
        if (s.action == PlanAction::kUpdate && !s.drifted) {
          applied[s.sid] = {s.live_etag, next};
        } else {
          applied[s.sid] = {next};
        }
        writes_ahead = true;
        break;
      }
      case PlanAction::kRemove: break;  // removed or not, the ETag it has is the recorded one
    }
  }
  if (writes_ahead) {
    Status ahead = write_apply_record(fs, dir, applied);
    if (!ahead.ok()) return ahead.error();  // nothing was touched
  }

  std::vector<ApplyStep> steps;
  for (const ServicePlan& s : plan.services) {
    ApplyStep step{s.sid, s.action, ok_status()};
    switch (s.action) {
      case PlanAction::kUnchanged: continue;
      case PlanAction::kCreate: {
        auto created = store.create(s.sid, *s.desired);
        if (created.ok()) {
          applied[s.sid] = {created.value()->etag};
        } else {
          step.status = created.error();
        }
        break;
      }
      case PlanAction::kUpdate: {
        if (s.live_etag.empty()) {
          // The live file is invalid (only with force): it has no ETag to
          // compare, so it is replaced whole, in one rename under the
          // service's lock (never removed first: readers would find no
          // service, and a failed write would lose it).
          auto replaced = store.overwrite_invalid(s.sid, *s.desired);
          if (replaced.ok()) {
            applied[s.sid] = {replaced.value()->etag};
          } else {
            step.status = replaced.error();
          }
          break;
        }
        const WebhookConfig desired = *s.desired;
        const std::string expected = s.live_etag;
        // Pure, as the store requires: compare-and-swap on the ETag the plan saw.
        auto updated = store.update(s.sid, [&](const ServiceState& current) -> Result<WebhookConfig> {
          if (current.etag != expected) return Error::conflict(s.sid + " changed while applying; run apply again");
          return desired;
        });
        if (updated.ok()) {
          applied[s.sid] = {updated.value()->etag};
        } else {
          step.status = updated.error();
        }
        break;
      }
      case PlanAction::kRemove: {
        Status removed = store.remove(s.sid, s.live_etag);
        if (removed.ok() || removed.error().is_not_found()) {
          applied.erase(s.sid);
          removed = ok_status();
        }
        step.status = removed;
        break;
      }
    }
    if (progress) progress(step);
    steps.push_back(std::move(step));
  }
  // A failed service keeps what was written ahead: the write may or may not
  // have reached the disk. An apply that changed nothing writes nothing.
  if (applied != before) {
    Status recorded = write_apply_record(fs, dir, applied);
    if (!recorded.ok()) return recorded.error();
  }
  return steps;
}

Result<ExportResult> export_live(StateStore& store, FileSystem& fs, const std::string& dest, const Config* config) {
  auto live = read_live(store);
  if (!live.ok()) return live.error();
  ExportResult result;
  {
    // A file webhookd never reads (put there by hand, or its account since
    // dropped from the config) would make the next apply --config refuse
    // the whole checkout, and the sync every commit after it: it is left
    // out, and a copy an earlier export left in dest goes like any file
    // that is not exported. Without a config no account is known to be
    // served, and apply without one refuses every account file: all are
    // left out, so that export, then apply, still finds nothing to do.
    for (auto it = live.value().begin(); it != live.value().end();) {
      if (scope_of_sid(it->first) == Scope::kAccount &&
          (!config || !config->credentials.account_token_digest.count(it->first))) {
        result.left_out.push_back(it->first);
        it = live.value().erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& [sid, service] : live.value()) {
    if (!service.state) return Error::corruption("not exported, the live state has an invalid file: " + service.problem);
  }
  std::set<std::string> in_dest;
  Status listed = fs.list_dir(dest, [&](const std::string& name) {
    std::string sid;
    if (classify_state_dir_name(name, &sid) == StateFileKind::kState) in_dest.insert(sid);
  });
  if (!listed.ok()) return listed.error();
  for (const auto& [sid, service] : live.value()) {
    const std::string path = join(dest, sid + ".yaml");
    const std::string bytes = emit_state_file(service.state->config);
    auto current = fs.read_file(path);
    if (current.ok() && current.value() == bytes) {
      ++result.unchanged;
      continue;
    }
    Status written = replace_file(fs, join(dest, "." + sid + ".tmp."), path, bytes);
    if (!written.ok()) return written.error();
    result.written.push_back(sid);
  }
  for (const std::string& sid : in_dest) {
    if (live.value().count(sid)) continue;
    Status removed = fs.remove(join(dest, sid + ".yaml"));
    if (!removed.ok()) return removed.error();
    result.removed.push_back(sid);
  }
  Status durable = fs.sync_dir(dest);
  if (!durable.ok()) return durable.error();
  return result;
}

}  // namespace webhookd
