#define BOOST_TEST_DYN_LINK
#include "base/cpu_quota.h"

#include <boost/test/unit_test.hpp>

#include <climits>
#include <map>

#include "test_support.h"

using namespace webhookd;

BOOST_AUTO_TEST_SUITE(cpu_quota)

namespace {
// Debian 12 (unified), a hybrid host like CI's, and a container given a subtree.
const std::string kV2Mounts =
    "24 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
    "29 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
const std::string kV1Mounts =
    "30 24 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "33 30 0:30 / /sys/fs/cgroup/unified rw,relatime shared:7 - cgroup2 cgroup2 rw\n"
    "35 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "36 30 0:33 / /sys/fs/cgroup/cpuset rw,relatime shared:10 - cgroup cgroup rw,cpuset\n";
const std::string kSubtreeMounts =
    "40 39 0:26 /system.slice/box.service /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
}  // namespace

BOOST_AUTO_TEST_CASE(the_smallest_quota_of_the_cgroup_and_its_ancestors) {
  struct Case {
    const char* name;
    std::string cgroup, mounts;
    std::map<std::string, std::string> files;
    std::optional<int> want;
  } cases[] = {
      {"v2, no quota anywhere", "0::/system.slice/webhookd.service\n", kV2Mounts,
       {{"/sys/fs/cgroup/system.slice/webhookd.service/cpu.max", "max 100000\n"},
        {"/sys/fs/cgroup/system.slice/cpu.max", "max 100000\n"}},
       std::nullopt},
      {"v2, CPUQuota=200%", "0::/system.slice/webhookd.service\n", kV2Mounts,
       {{"/sys/fs/cgroup/system.slice/webhookd.service/cpu.max", "200000 100000\n"}}, 2},
      {"v2, 150% is 2 CPUs' worth", "0::/system.slice/webhookd.service\n", kV2Mounts,
       {{"/sys/fs/cgroup/system.slice/webhookd.service/cpu.max", "150000 100000\n"}}, 2},
      {"v2, 10% is still 1", "0::/system.slice/webhookd.service\n", kV2Mounts,
       {{"/sys/fs/cgroup/system.slice/webhookd.service/cpu.max", "10000 100000\n"}}, 1},
      {"v2, a parent's smaller quota binds", "0::/system.slice/webhookd.service\n", kV2Mounts,
       {{"/sys/fs/cgroup/system.slice/webhookd.service/cpu.max", "400000 100000\n"},
        {"/sys/fs/cgroup/system.slice/cpu.max", "300000 100000\n"}},
       3},
      {"v2, the root cgroup (it has no cpu.max)", "0::/\n", kV2Mounts,
       {{"/sys/fs/cgroup/system.slice/cpu.max", "100000 100000\n"}}, std::nullopt},
      {"v2, the largest quota the kernel takes is INT_MAX CPUs, not a wrapped int",
       "0::/big\n", kV2Mounts, {{"/sys/fs/cgroup/big/cpu.max", "4294967297000 1000\n"}}, INT_MAX},
      {"v2, LLONG_MAX overflows nothing", "0::/big\n", kV2Mounts,
       {{"/sys/fs/cgroup/big/cpu.max", "9223372036854775807 100000\n"}}, INT_MAX},
      {"v2, outside the cgroup namespace's root (\"/..\"): not an ancestor", "0::/../other\n", kV2Mounts,
       {{"/sys/fs/cgroup/../other/cpu.max", "100000 100000\n"}, {"/sys/fs/cgroup/../cpu.max", "100000 100000\n"},
        {"/sys/fs/cgroup/cpu.max", "100000 100000\n"}},
       std::nullopt},
      {"v2, a mount point with a space (\\040)", "0::/svc\n",
       "29 24 0:26 / /run/my\\040cgroup rw shared:4 - cgroup2 cgroup2 rw\n",
       {{"/run/my cgroup/svc/cpu.max", "200000 100000\n"}}, 2},
      {"v2, of two mounts the one that shows the whole path", "0::/svc/in\n",
       "40 39 0:26 /svc/in /mnt/a rw - cgroup2 cgroup2 rw\n29 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
       {{"/mnt/a/cpu.max", "300000 100000\n"}, {"/sys/fs/cgroup/svc/in/cpu.max", "300000 100000\n"},
        {"/sys/fs/cgroup/svc/cpu.max", "100000 100000\n"}},
       1},
      {"v2, the same two mounts listed the other way round", "0::/svc/in\n",
       "29 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n40 39 0:26 /svc/in /mnt/a rw - cgroup2 cgroup2 rw\n",
       {{"/mnt/a/cpu.max", "300000 100000\n"}, {"/sys/fs/cgroup/svc/in/cpu.max", "300000 100000\n"},
        {"/sys/fs/cgroup/svc/cpu.max", "100000 100000\n"}},
       1},
      {"v2, a mount hidden by a later one on the same point is not read", "0::/box/inner\n",
       "29 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n40 29 0:26 /box /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
       {{"/sys/fs/cgroup/inner/cpu.max", "100000 100000\n"}, {"/sys/fs/cgroup/box/inner/cpu.max", "400000 100000\n"},
        {"/sys/fs/cgroup/box/cpu.max", "400000 100000\n"}},
       1},
      {"v2, a root with a space (\\040)", "0::/my box/in\n",
       "40 39 0:26 /my\\040box /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
       {{"/sys/fs/cgroup/in/cpu.max", "200000 100000\n"}}, 2},
      {"v2, no cgroup2 mount", "0::/system.slice/webhookd.service\n", "", {}, std::nullopt},
      {"v2, unreadable or garbled files", "0::/a/b\n", kV2Mounts,
       {{"/sys/fs/cgroup/a/b/cpu.max", "lots\n"}, {"/sys/fs/cgroup/a/cpu.max", "100000 0\n"}}, std::nullopt},
      {"v2 in a container given a subtree", "0::/system.slice/box.service/inner\n", kSubtreeMounts,
       {{"/sys/fs/cgroup/inner/cpu.max", "100000 100000\n"}}, 1},
      {"v2, a cgroup outside the mount's subtree", "0::/other.slice\n", kSubtreeMounts,
       {{"/sys/fs/cgroup/cpu.max", "100000 100000\n"}}, std::nullopt},
      {"v1 cpu,cpuacct with a quota", "12:cpu,cpuacct:/webhookd\n1:name=systemd:/\n0::/\n", kV1Mounts,
       {{"/sys/fs/cgroup/cpu,cpuacct/webhookd/cpu.cfs_quota_us", "100000\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/webhookd/cpu.cfs_period_us", "100000\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n"}},
       1},
      {"v1, -1 is no quota", "12:cpu,cpuacct:/webhookd\n", kV1Mounts,
       {{"/sys/fs/cgroup/cpu,cpuacct/webhookd/cpu.cfs_quota_us", "-1\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/webhookd/cpu.cfs_period_us", "100000\n"}},
       std::nullopt},
      {"v1, cpuset is not cpu", "3:cpuset:/webhookd\n", kV1Mounts,
       {{"/sys/fs/cgroup/cpuset/webhookd/cpu.cfs_quota_us", "100000\n"},
        {"/sys/fs/cgroup/cpuset/webhookd/cpu.cfs_period_us", "100000\n"}},
       std::nullopt},
      {"hybrid: cpu is in v1, so the unified hierarchy has no cpu.max", "12:cpu,cpuacct:/webhookd\n0::/webhookd\n",
       kV1Mounts,
       {{"/sys/fs/cgroup/cpu,cpuacct/webhookd/cpu.cfs_quota_us", "300000\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/webhookd/cpu.cfs_period_us", "100000\n"}},
       3},
      {"v1, a number with a sign is not one", "12:cpu,cpuacct:/w\n", kV1Mounts,
       {{"/sys/fs/cgroup/cpu,cpuacct/w/cpu.cfs_quota_us", "+100000\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/w/cpu.cfs_period_us", "100000\n"}},
       std::nullopt},
      {"v1, a number after a space is not one", "12:cpu,cpuacct:/w\n", kV1Mounts,
       {{"/sys/fs/cgroup/cpu,cpuacct/w/cpu.cfs_quota_us", "100000\n"},
        {"/sys/fs/cgroup/cpu,cpuacct/w/cpu.cfs_period_us", " 100000\n"}},
       std::nullopt},
  };
  for (const Case& c : cases) {
    const ReadWhole read = [&](const std::string& path) -> std::optional<std::string> {
      auto it = c.files.find(path);
      if (it == c.files.end()) return std::nullopt;
      return it->second;
    };
    // -1: no limit (std::optional has no operator<< for the report).
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(cgroup_cpu_limit(c.cgroup, c.mounts, read).value_or(-1) == c.want.value_or(-1));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
