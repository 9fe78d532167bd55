// The order is the only one that works: setgroups and setgid need root,
// which setuid gives up. Each call is checked, and so is the result
// (getresuid/getresgid, and setuid(0) must fail), because a drop that half
// happened would be worse than none: files owned by the owner but opened
// with root's rights, or a process that can still become root again.
#include "ctl/owner.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace webhookd::ctl {
namespace {

std::string user_name(uid_t uid) {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_name;
  return "";
}

std::string group_name(gid_t gid) {
  struct group gr, *found = nullptr;
  std::vector<char> buf(16384);
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found) return found->gr_name;
  return "";
}

// "webhookd (uid 998, gid 998)", or "uid 4242, gid 4242" for a uid with no name.
std::string who(uid_t uid, gid_t gid) {
  const std::string name = user_name(uid);
  const std::string ids = "uid " + std::to_string(uid) + ", gid " + std::to_string(gid);
  return name.empty() ? ids : name + " (" + ids + ")";
}

// The owner's groups as login would give them (getgrouplist), with the
// directory's group first: what webhookd gets from systemd's User=.
std::vector<gid_t> groups_of(uid_t uid, gid_t gid) {
  const std::string name = user_name(uid);
  std::vector<gid_t> groups{gid};
  if (name.empty()) return groups;  // no account: no supplementary groups either
  int n = 64;
  std::vector<gid_t> listed(static_cast<size_t>(n));
  while (getgrouplist(name.c_str(), gid, listed.data(), &n) < 0) listed.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (listed[static_cast<size_t>(i)] != gid) groups.push_back(listed[static_cast<size_t>(i)]);
  }
  return groups;
}

Error refused(const std::string& dir, const std::string& owner, const std::string& step, int err) {
  return Error::io("cannot act as " + owner + ", the owner of the state dir " + dir + ": " + step + ": " +
                       std::strerror(err) +
                       "; as root, webhookctl works in a state dir only as its owner (run it as that user "
                       "instead: runuser -u <user> -- webhookctl ...)",
                   err);
}

}  // namespace

std::string describe_self() { return who(geteuid(), getegid()); }

std::string refuse_links_others_planted(const std::string& dir, PosixFileSystem& fs) {
  if (geteuid() != 0) return "";
  struct stat st;
  // Missing or not a directory: nothing is read in it.
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "";
  std::string others;
  if (st.st_uid != 0) {
    others = who(st.st_uid, st.st_gid) + " owns " + dir;
  } else if (st.st_mode & S_IWOTH) {
    others = "anyone may write " + dir;
  } else if (st.st_mode & S_IWGRP) {
    const std::string group = group_name(st.st_gid);
    others = "group " + (group.empty() ? std::to_string(st.st_gid) : group) + " may write " + dir;
  } else {
    return "";
  }
  const std::string why = "webhookctl runs as root and " + others + ": as root it follows no link there";
  fs.refuse_links(why);
  return why;
}

Result<std::string> act_as_owner_of(const std::string& dir, bool to_write) {
  if (geteuid() != 0) return "acting as " + describe_self() + ", who runs it (not root: no change of user)";
  struct stat st;
  // A missing or unusable directory is reported by the caller's own check,
  // in the words it always used.
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::string("acting as root");
  const std::string owner = who(st.st_uid, st.st_gid);
  if (st.st_uid == 0) {
    if (to_write && (st.st_mode & (S_IWGRP | S_IWOTH))) {
      const std::string group = group_name(st.st_gid);
      return Error::invalid_argument(
          "refusing to write as root in the state dir " + dir + ": it belongs to root but " +
          ((st.st_mode & S_IWOTH) ? std::string("anyone") : "group " + (group.empty() ? std::to_string(st.st_gid) : group)) +
          " may write there too, and files root leaves would be root's, which webhookd could not write; "
          "chown the directory to the user webhookd runs as (then webhookctl acts as that user), or run webhookctl "
          "as that user");
    }
    return dir + " belongs to root: acting as root";
  }
  const std::vector<gid_t> groups = groups_of(st.st_uid, st.st_gid);
  if (::setgroups(groups.size(), groups.data()) != 0) return refused(dir, owner, "setgroups", errno);
  if (::setgid(st.st_gid) != 0) return refused(dir, owner, "setgid", errno);
  if (::setuid(st.st_uid) != 0) return refused(dir, owner, "setuid", errno);
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0) {
    return refused(dir, owner, "getresuid", errno);
  }
  if (ruid != st.st_uid || euid != st.st_uid || suid != st.st_uid || rgid != st.st_gid || egid != st.st_gid ||
      sgid != st.st_gid) {
    return refused(dir, owner, "the ids after setuid are not the owner's", EPERM);
  }
  if (::setuid(0) == 0) return refused(dir, owner, "root could be regained after setuid", EPERM);
  return dir + " belongs to " + owner + ": acting as that user";
}

}  // namespace webhookd::ctl
