"""The host's cgroup hierarchies, for tests that make cgroups of their own
(a CPU quota around webhookd, a container's own cpu cgroups): which are
mounted where, and removing what a test made, whatever still runs in it."""
import os
import signal
import time


def cgroup_mounts():
    """The cgroup file systems this process sees, from /proc/self/mountinfo
    (proc(5)): (type "cgroup" or "cgroup2", its options as a set, the root
    of the hierarchy shown there, the mount point), in mount order."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")  # the optional fields end here
            if fields[dash + 1] in ("cgroup", "cgroup2"):
                mounts.append((fields[dash + 1], set(fields[dash + 3].split(",")), fields[3], fields[4]))
    return mounts


def remove_cgroup_tree(path):
    """A cgroup and whatever was made below it, deepest first, after killing
    whatever still runs there; retried while the killed are not yet gone."""
    for _ in range(50):
        left = []
        for below, _, _ in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
            try:
                with open(os.path.join(below, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        os.kill(int(pid), signal.SIGKILL)
                os.rmdir(below)
            except (OSError, ProcessLookupError):
                left.append(below)
        if not left:
            return
        time.sleep(0.1)  # the killed ones not yet gone
    raise RuntimeError("cgroups left behind: %s" % ", ".join(left))
