// Who webhookctl is in a state directory. Run as root on a directory another
// user owns (webhookd's /var/lib/webhookd), it becomes that user for good
// before it touches anything there: root-owned lock, temp, record and state
// files would lock webhookd (User=webhookd) and webhookd-sync out, and every
// later POST of that service would answer 500.
#pragma once

#include <string>

#include "base/result.h"
#include "store/file_system.h"

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

// As root, in a directory another user owns, or one that a group or others
// may write: fs follows no symbolic link from now on
// (PosixFileSystem::refuse_links), since whoever may create a name there
// chooses where a link leads (a file only root may read, a device), and
// what root reads there is printed (check's problems), copied (export's
// DEST) or applied live. Only the commands that stay root need it: one that
// became the owner reads no further than the owner may. Not root, or root's
// own directory: nothing changes. Returns why links are refused ("" when
// they are not), for --verbose.
std::string refuse_links_others_planted(const std::string& dir, PosixFileSystem& fs);

// Who this process is, for --verbose: "uid 0 (root), gid 0".
std::string describe_self();

}  // namespace webhookd::ctl
