// Every path of the state directory is built here, and only from a SID that
// is_service_sid() accepted: no other code joins a directory and a name.
// Lock and temp files start with '.', so they never match IS*.yaml.
#pragma once

#include <string>

namespace webhookd {

std::string state_file_path(const std::string& dir, const std::string& service_sid);  // dir/IS….yaml
std::string lock_file_path(const std::string& dir, const std::string& service_sid);   // dir/.IS….lock
std::string temp_file_prefix(const std::string& dir, const std::string& service_sid); // dir/.IS….tmp.

// What a name in the state directory is; the SID is set for all but kOther.
enum class StateFileKind { kState, kLock, kTemp, kOther };
StateFileKind classify_state_dir_name(const std::string& name, std::string* service_sid);

}  // namespace webhookd
