// Every path of the state directory is built here, and only from a SID that
// is_service_sid() accepted: no other code joins a directory and a name.
// Lock and temp files start with '.', so they never match IS*.yaml.
#pragma once

#include <string>

namespace webhookd {

std::string state_file_path(const std::string& dir, const std::string& service_sid);  // dir/IS….yaml
std::string lock_file_path(const std::string& dir, const std::string& service_sid);   // dir/.IS….lock
std::string temp_file_prefix(const std::string& dir, const std::string& service_sid); // dir/.IS….tmp.

// webhookctl apply's record of what it last applied (SID -> ETag), and the
// lock that lets one apply run at a time. Their names start with '.' and are
// no service's, so webhookd and its clean-up leave them alone.
std::string apply_record_path(const std::string& dir);  // dir/.webhookd-applied
std::string apply_lock_path(const std::string& dir);    // dir/.webhookd-apply.lock

// What a name in the state directory is; the SID is set for all but kOther.
enum class StateFileKind { kState, kLock, kTemp, kOther };
StateFileKind classify_state_dir_name(const std::string& name, std::string* service_sid);

// Why a name cannot be a service's state file, for webhookctl check: a lock
// or temp file (webhookd's own, never to be committed), a SID that is right
// but for its letter case, anything else. "" for a service file name.
std::string state_dir_name_problem(const std::string& name);

}  // namespace webhookd
