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

}  // namespace webhookd
