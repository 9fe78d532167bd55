// Parsing of /proc/self/cgroup (cgroups(7): "ID:controllers:path") and of
// /proc/self/mountinfo (proc(5): fields, " - ", type, source, options).
#include "base/cpu_quota.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace webhookd {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

bool has_item(const std::string& comma_list, const std::string& item) {
  for (const std::string& x : split(comma_list, ',')) {
    if (x == item) return true;
  }
  return false;
}

// A hierarchy's mount: where it is, and which cgroup its root is (not "/"
// when a container was given a subtree).
struct Mount {
  std::string point, root;
};

// The first mount of cgroup2 (v2), or of the v1 hierarchy with the cpu
// controller.
std::optional<Mount> find_mount(const std::string& mountinfo, bool v2) {
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 > f.size()) continue;
    const std::string& type = f[dash + 1];
    const bool match = v2 ? type == "cgroup2" : type == "cgroup" && has_item(f[dash + 3], "cpu");
    if (match) return Mount{f[4], f[3]};
  }
  return std::nullopt;
}

std::optional<long long> to_number(const std::string& text) {
  try {
    size_t used = 0;
    const long long n = std::stoll(text, &used);
    return used == text.size() ? std::optional<long long>(n) : std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

std::string trimmed(const std::optional<std::string>& text) {
  if (!text) return "";
  size_t end = text->find_last_not_of(" \n");
  return end == std::string::npos ? "" : text->substr(0, end + 1);
}

// CPUs' worth of a quota, rounded up (50 % of one CPU is still one).
std::optional<int> cpus_of(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<int>((quota + period - 1) / period);
}

std::optional<int> quota_in(const std::string& dir, bool v2, const ReadWhole& read) {
  if (v2) {
    std::vector<std::string> f = split(trimmed(read(dir + "/cpu.max")), ' ');
    if (f.size() != 2 || f[0] == "max") return std::nullopt;
    auto quota = to_number(f[0]), period = to_number(f[1]);
    return quota && period ? cpus_of(*quota, *period) : std::nullopt;
  }
  auto quota = to_number(trimmed(read(dir + "/cpu.cfs_quota_us")));
  auto period = to_number(trimmed(read(dir + "/cpu.cfs_period_us")));
  return quota && period ? cpus_of(*quota, *period) : std::nullopt;
}

// The smallest quota from the cgroup at `path` up to its hierarchy's root.
std::optional<int> limit_in(const Mount& mount, std::string path, bool v2, const ReadWhole& read) {
  if (mount.root != "/") {
    if (path.compare(0, mount.root.size(), mount.root) != 0 ||
        (path.size() > mount.root.size() && path[mount.root.size()] != '/')) {
      return std::nullopt;  // the cgroup is not under what this mount shows
    }
    path = path.substr(mount.root.size());
  }
  std::optional<int> least;
  for (;;) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (std::optional<int> q = quota_in(mount.point + path, v2, read); q && (!least || *q < *least)) least = q;
    if (path.empty()) return least;
    path.erase(path.rfind('/'));
  }
}

}  // namespace

std::optional<int> cgroup_cpu_limit(const std::string& proc_self_cgroup, const std::string& mountinfo,
                                    const ReadWhole& read) {
  std::optional<int> least;
  std::istringstream in(proc_self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    const bool v2 = line.compare(0, a, "0") == 0 && controllers.empty();
    if (!v2 && !has_item(controllers, "cpu")) continue;
    std::optional<Mount> mount = find_mount(mountinfo, v2);
    if (!mount || path.empty() || path[0] != '/') continue;
    if (std::optional<int> q = limit_in(*mount, path, v2, read); q && (!least || *q < *least)) least = q;
  }
  return least;
}

std::optional<int> cgroup_cpu_limit() {
  const ReadWhole read = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return cgroup_cpu_limit(read("/proc/self/cgroup").value_or(""), read("/proc/self/mountinfo").value_or(""), read);
}

}  // namespace webhookd
