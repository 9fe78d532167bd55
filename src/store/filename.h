// Every path of the state directory is built here, and only from a SID that
// scope_of_sid() accepted (a service's IS… or an account's AC…, whose file
// holds its global webhooks): no other code joins a directory and a name.
// Lock and temp files start with '.', so they never match IS*.yaml or AC*.yaml.
#pragma once

#include <string>

namespace webhookd {

// sid: IS… or AC….
std::string state_file_path(const std::string& dir, const std::string& sid);   // dir/IS….yaml, dir/AC….yaml
std::string lock_file_path(const std::string& dir, const std::string& sid);    // dir/.IS….lock, dir/.AC….lock
std::string temp_file_prefix(const std::string& dir, const std::string& sid);  // dir/.IS….tmp., dir/.AC….tmp.

// webhookctl apply's record of what it last applied (SID -> ETag), and the
// lock that lets one apply run at a time. Their names start with '.' and are
// no service's, so webhookd and its clean-up leave them alone.
std::string apply_record_path(const std::string& dir);         // dir/.webhookd-applied
std::string apply_record_temp_prefix(const std::string& dir);  // dir/.webhookd-applied.tmp.
std::string apply_lock_path(const std::string& dir);           // dir/.webhookd-apply.lock

// What a name in the state directory is; the SID (IS… or AC…) is set for
// kState, kLock and kTemp. kApplyTemp: a temp file of the apply record (an apply writing
// it, or a crash leftover), removed by the start-up clean-up under the
// apply lock.
enum class StateFileKind { kState, kLock, kTemp, kApplyTemp, kOther };
StateFileKind classify_state_dir_name(const std::string& name, std::string* sid);

// Why a name cannot be a state file, for webhookctl check: a lock or temp
// file (webhookd's own, never to be committed), a SID that is right but for
// its letter case, anything else. "" for a service's or an account's file name.
std::string state_dir_name_problem(const std::string& name);

}  // namespace webhookd
