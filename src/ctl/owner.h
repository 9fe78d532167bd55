// Who webhookctl is in a state directory. Run as root on a directory another
// user owns (webhookd's /var/lib/webhookd), it becomes that user for good
// before it touches anything there: root-owned lock, temp, record and state
// files would lock webhookd (User=webhookd) and webhookd-sync out, and every
// later POST of that service would answer 500.
#pragma once

#include <string>

#include "base/result.h"

namespace webhookd::ctl {

// As root (euid 0) on a directory owned by another uid: drops to that uid,
// the directory's gid and the owner's supplementary groups (setgroups,
// setgid, setuid, in that order, each checked, then checked that root cannot
// come back). Not root, or root on a directory root owns: changes nothing.
// Refuses, naming the directory, its owner and why: when a step of the drop
// fails (kIOError with its errno), and, to_write, when the directory is
// root's but a group or others may write there too (kInvalidArgument: the
// files root left would be root's, and those users could not write them).
// Returns, for --verbose, who it now acts as.
Result<std::string> act_as_owner_of(const std::string& dir, bool to_write);

// Who this process is, for --verbose: "uid 0 (root), gid 0".
std::string describe_self();

}  // namespace webhookd::ctl
