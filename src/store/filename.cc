// File names of the state directory. The SID check is repeated here as an
// assertion: a path is never built from an unchecked string.
#include "store/filename.h"

#include <stdexcept>

#include "base/text.h"

namespace webhookd {
namespace {

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

const std::string& checked(const std::string& sid) {
  if (!is_service_sid(sid)) throw std::invalid_argument("not a service SID: " + sid);
  return sid;
}

}  // namespace

std::string state_file_path(const std::string& dir, const std::string& sid) {
  return join(dir, checked(sid) + ".yaml");
}
std::string lock_file_path(const std::string& dir, const std::string& sid) {
  return join(dir, "." + checked(sid) + ".lock");
}
std::string temp_file_prefix(const std::string& dir, const std::string& sid) {
  return join(dir, "." + checked(sid) + ".tmp.");
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
