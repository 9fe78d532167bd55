// Parsing of /proc/self/cgroup (cgroups(7): "ID:controllers:path") and of
// /proc/self/mountinfo (proc(5): fields, optional ones, " - ", type,
// source, options). Every doubt reads as "no quota": the harmful direction
// is fewer running workers than the CPUs can run.
#include "base/cpu_quota.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <fstream>
#include <sstream>
#include <string_view>
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

// mountinfo writes a space, tab, newline or backslash in a path as \ooo.
std::string unescaped(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// A hierarchy's mount: where it is, and which cgroup its root is ("/", or
// a subtree bind-mounted into a container).
struct Mount {
  std::string point, root;
};

// Each visible mount of cgroup2 (v2), or of the v1 hierarchy that has the
// cpu controller (alone or as "cpu,cpuacct": a controller is in one
// hierarchy at most). A later mount on the same point hides the earlier.
std::vector<Mount> find_mounts(const std::string& mountinfo, bool v2) {
  std::vector<Mount> mounts;
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = split(line, ' ');
    size_t dash = 6;  // the optional fields ("shared:9 master:3") end at "-"
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size()) continue;
    const std::string& type = f[dash + 1];
    if (v2 ? type == "cgroup2" : type == "cgroup" && has_item(f[dash + 3], "cpu")) {
      Mount m{unescaped(f[4]), unescaped(f[3])};
      mounts.erase(std::remove_if(mounts.begin(), mounts.end(), [&](const Mount& o) { return o.point == m.point; }),
                   mounts.end());
      mounts.push_back(std::move(m));
    }
  }
  return mounts;
}

std::optional<long long> to_number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

// CPUs' worth of a quota, rounded up (50 % of one CPU is still one), at
// most INT_MAX: the kernel takes quotas of 2^44 µs a period of 1 ms.
std::optional<int> cpus_of(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  const long long cpus = quota / period + (quota % period != 0);
  return static_cast<int>(std::min<long long>(cpus, INT_MAX));
}

std::optional<int> quota_in(const std::string& dir, bool v2, const ReadWhole& read) {
  if (v2) {
    // Absent where the cpu controller is not enabled, and in the root.
    const std::optional<std::string> max = read(dir + "/cpu.max");
    if (!max) return std::nullopt;
    const size_t space = max->find(' ');
    if (space == std::string::npos) return std::nullopt;
    auto quota = to_number(std::string_view(*max).substr(0, space));  // "max": none
    auto period = to_number(std::string_view(*max).substr(space + 1));
    return quota && period ? cpus_of(*quota, *period) : std::nullopt;
  }
  const std::optional<std::string> quota_text = read(dir + "/cpu.cfs_quota_us");
  const std::optional<std::string> period_text = read(dir + "/cpu.cfs_period_us");
  if (!quota_text || !period_text) return std::nullopt;
  auto quota = to_number(*quota_text), period = to_number(*period_text);  // quota -1: none
  return quota && period ? cpus_of(*quota, *period) : std::nullopt;
}

// Whether a mount whose root is `root` shows the cgroup at `path`.
bool shows(const Mount& mount, const std::string& path) {
  const std::string& root = mount.root;
  return root == "/" ||
         (path.compare(0, root.size(), root) == 0 && (path.size() == root.size() || path[root.size()] == '/'));
}

// The smallest quota from the cgroup at `path` up to what `mount` (which
// shows it) shows of its hierarchy.
std::optional<int> limit_in(const Mount& mount, std::string path, bool v2, const ReadWhole& read) {
  if (mount.root != "/") path = path.substr(mount.root.size());
  std::optional<int> least;
  for (;;) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (std::optional<int> q = quota_in(mount.point + path, v2, read); q && (!least || *q < *least)) least = q;
    if (path.empty()) return least;
    path.erase(path.rfind('/'));
  }
}

// Of the hierarchy's mounts, the one that shows the most of the path to
// the cgroup (the whole hierarchy if mounted so, else the widest subtree).
// nullopt when none shows it, or when the path climbs ("/.."): outside its
// cgroup namespace a process sees paths relative to the namespace's root,
// and what they lead to is not its ancestors.
std::optional<int> limit_of(const std::vector<Mount>& mounts, const std::string& path, bool v2,
                            const ReadWhole& read) {
  for (const std::string& part : split(path, '/')) {
    if (part == "..") return std::nullopt;
  }
  const Mount* best = nullptr;
  for (const Mount& m : mounts) {
    if (shows(m, path) && (!best || m.root.size() < best->root.size())) best = &m;
  }
  return best ? limit_in(*best, path, v2, read) : std::nullopt;
}

}  // namespace

std::optional<int> cgroup_cpu_limit(const std::string& proc_self_cgroup, const std::string& mountinfo,
                                    const ReadWhole& read) {
  const std::vector<Mount> v1_mounts = find_mounts(mountinfo, false), v2_mounts = find_mounts(mountinfo, true);
  std::optional<int> least;
  std::istringstream in(proc_self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    const bool v2 = line.compare(0, a, "0") == 0 && controllers.empty();
    if (!v2 && !has_item(controllers, "cpu")) continue;
    if (path.empty() || path[0] != '/') continue;
    if (std::optional<int> q = limit_of(v2 ? v2_mounts : v1_mounts, path, v2, read); q && (!least || *q < *least)) {
      least = q;
    }
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
