// File names of the state directory. The SID check is repeated here as an
// assertion: a path is never built from an unchecked string.
#include "store/filename.h"

#include <cctype>
#include <stdexcept>
#include <string_view>

#include "base/text.h"
#include "model/webhook_config.h"

namespace webhookd {
namespace {

constexpr std::string_view kApplyRecordName = ".webhookd-applied";
constexpr std::string_view kApplyTempName = ".webhookd-applied.tmp.";

// dir + "/" + prefix + sid + suffix, built in one allocation (on every request).
std::string join(const std::string& dir, std::string_view prefix, const std::string& sid, std::string_view suffix) {
  if (!scope_of_sid(sid)) throw std::invalid_argument("not a service or account SID: " + sid);
  const bool slash = !dir.empty() && dir.back() != '/';
  std::string path;
  path.reserve(dir.size() + 1 + prefix.size() + sid.size() + suffix.size());
  path.append(dir);
  if (slash) path += '/';
  path.append(prefix).append(sid).append(suffix);
  return path;
}

}  // namespace

std::string state_file_path(const std::string& dir, const std::string& sid) {
  return join(dir, "", sid, ".yaml");
}
std::string lock_file_path(const std::string& dir, const std::string& sid) {
  return join(dir, ".", sid, ".lock");
}
std::string temp_file_prefix(const std::string& dir, const std::string& sid) {
  return join(dir, ".", sid, ".tmp.");
}

StateFileKind classify_state_dir_name(const std::string& name, std::string* sid) {
  auto sid_at = [&](size_t pos) {
    *sid = name.substr(pos, 34);
    return scope_of_sid(*sid).has_value();
  };
  if (name.size() == 34 + 5 && name.compare(34, 5, ".yaml") == 0 && sid_at(0)) return StateFileKind::kState;
  if (name.size() == 1 + 34 + 5 && name[0] == '.' && name.compare(35, 5, ".lock") == 0 && sid_at(1)) {
    return StateFileKind::kLock;
  }
  if (name.size() > 1 + 34 + 5 && name[0] == '.' && name.compare(35, 5, ".tmp.") == 0 && sid_at(1)) {
    return StateFileKind::kTemp;
  }
  sid->clear();
  if (name.size() > kApplyTempName.size() && name.compare(0, kApplyTempName.size(), kApplyTempName) == 0) {
    return StateFileKind::kApplyTemp;
  }
  return StateFileKind::kOther;
}

std::string apply_record_path(const std::string& dir) { return dir + "/" + std::string(kApplyRecordName); }
std::string apply_record_temp_prefix(const std::string& dir) { return dir + "/" + std::string(kApplyTempName); }
std::string apply_lock_path(const std::string& dir) { return dir + "/.webhookd-apply.lock"; }

std::string state_dir_name_problem(const std::string& name) {
  std::string sid;
  switch (classify_state_dir_name(name, &sid)) {
    case StateFileKind::kState: return "";
    case StateFileKind::kLock: return "a lock file of webhookd's: never state, never to be committed";
    case StateFileKind::kTemp: return "a temp file of webhookd's (a write in progress or a crash leftover): never to be committed";
    case StateFileKind::kApplyTemp:
      return "a temp file of webhookctl apply's record (an apply in progress or a crash leftover): never to be committed";
    case StateFileKind::kOther: break;
  }
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string prefix : {"IS", "AC"}) {
    const std::string lower_prefix = prefix == "IS" ? "is" : "ac";
    if (lower.size() == 34 + 5 && lower.compare(0, 2, lower_prefix) == 0 && lower.compare(34, 5, ".yaml") == 0 &&
        is_sid(prefix + lower.substr(2, 32), prefix)) {
      return "not a state file: the name differs from " + prefix + "<32 hex digits>.yaml only in letter case ('" +
             prefix + "' and '.yaml' must be exactly so)";
    }
  }
  return "not a state file: a state file is named IS<32 hex digits>.yaml (a service's) or AC<32 hex digits>.yaml "
         "(an account's global webhooks)";
}

}  // namespace webhookd
