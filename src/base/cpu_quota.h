// cgroup_cpu_limit: how many CPUs' worth of time this process's cgroup quota
// allows (systemd's CPUQuota=, docker --cpus, a Kubernetes CPU limit),
// rounded up. The CPU affinity mask alone says 16 on a 16-CPU host whose
// unit may use 200 % of one; the standby workers (edge/fcgi_server.cc) run
// at most as many workers at a time as there are CPUs to run them.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace webhookd {

// A file's whole text; nullopt if it cannot be read.
using ReadWhole = std::function<std::optional<std::string>(const std::string& path)>;

// From the text of /proc/self/cgroup and /proc/self/mountinfo, reading the
// quota files through `read`: cgroup v2's cpu.max ("max 100000", "200000
// 100000") and v1's cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us, of
// the process's cgroup and of each ancestor up to the hierarchy's mount (a
// parent's quota binds its children): the smallest, at least 1. nullopt
// when no quota applies or none can be read (no cgroup file system, a
// cgroup outside the mount's root).
std::optional<int> cgroup_cpu_limit(const std::string& proc_self_cgroup, const std::string& mountinfo,
                                    const ReadWhole& read);

// The same for this process, from /proc.
std::optional<int> cgroup_cpu_limit();

}  // namespace webhookd
