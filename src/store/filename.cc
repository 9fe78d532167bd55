// File names of the state directory. The SID check is repeated here as an
// assertion: a path is never built from an unchecked string.
#include "store/filename.h"

#include <stdexcept>

#include "base/text.h"

namespace webhookd {
namespace {

// dir + "/" + prefix + sid + suffix, built in one allocation (on every request).
std::string join(const std::string& dir, std::string_view prefix, const std::string& sid, std::string_view suffix) {
  if (!is_service_sid(sid)) throw std::invalid_argument("not a service SID: " + sid);
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
    return is_service_sid(*sid);
  };
  if (name.size() == 34 + 5 && name.compare(34, 5, ".yaml") == 0 && sid_at(0)) return StateFileKind::kState;
  if (name.size() == 1 + 34 + 5 && name[0] == '.' && name.compare(35, 5, ".lock") == 0 && sid_at(1)) {
    return StateFileKind::kLock;
  }
  if (name.size() > 1 + 34 + 5 && name[0] == '.' && name.compare(35, 5, ".tmp.") == 0 && sid_at(1)) {
    return StateFileKind::kTemp;
  }
  sid->clear();
  return StateFileKind::kOther;
}

}  // namespace webhookd
