"""Debian 12 roots made by mmdebstrap, and a container that boots one.

The tests of what we ship (the deploy test, the package lifecycle) boot a
root in systemd-nspawn with a private network; `make deb` builds in one.
Roots are cached under build/container/ as tarballs named by their purpose
and keyed by what they hold: a new root of one purpose replaces only that
purpose's old one, so the deploy test, the package test and `make deb` never
evict each other's (about 300 MB each)."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness.cgroups import cgroup_mounts, remove_cgroup_tree
from harness.stack import REPO

CACHE = os.path.join(REPO, "build", "container")


def root_tarball(name, packages, variant="minbase", hooks=(), options=()):
    """A bookworm root of `variant` with `packages`, the mmdebstrap
    customize `hooks` run and its other `options`, built once per contents,
    cached as `name`'s."""
    key = hashlib.sha256(" ".join(["bookworm", variant] + list(packages) + list(hooks) + list(options)).encode()
                         ).hexdigest()[:16]
    tarball = os.path.join(CACHE, "root-%s-%s.tar" % (name, key))
    if os.path.exists(tarball):
        return tarball
    os.makedirs(CACHE, exist_ok=True)
    for old in os.listdir(CACHE):
        # This purpose's older roots and leftovers of a killed build; and the
        # roots named by key alone, from before purposes had names.
        if old.startswith(("root-%s-" % name, "partial-%s-" % name)) or re.fullmatch(r"root-[0-9a-f]{16}\.tar", old):
            path = os.path.join(CACHE, old)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
    # mmdebstrap takes the format from the name: it must end in .tar.
    partial = os.path.join(CACHE, "partial-%s-%s.tar" % (name, key))
    print("building the %s root with mmdebstrap (a minute or more, cached in %s)" % (name, CACHE), flush=True)
    command = ["mmdebstrap", "--quiet", "--variant=" + variant]
    if packages:
        command.append("--include=" + ",".join(packages))
    command += ["--customize-hook=" + h for h in hooks] + list(options) + ["bookworm", partial]
    try:
        subprocess.run(command, check=True, timeout=1200)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    os.rename(partial, tarball)
    return tarball


def v1_cpu_hierarchies():
    """This process's cgroup v1 hierarchies that hold cpu or cpuacct, as
    (name in /proc/self/cgroup, this process's cgroup directory there);
    none on a cgroup v2 host."""
    mounts = [(options, point) for kind, options, root, point in cgroup_mounts() if kind == "cgroup" and root == "/"]
    found = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, name, path = line.rstrip("\n").split(":", 2)
            if {"cpu", "cpuacct"} & set(name.split(",")):
                points = [point for options, point in mounts if set(name.split(",")) <= options]
                if points:
                    found.append((name, os.path.join(points[0], path.lstrip("/"))))
    return found


class Container:
    """A booted systemd-nspawn container; run() executes inside it.

    cpu_quota: let the container's systemd apply CPUQuota= on a cgroup v1
    host too. nspawn mounts the v1 controller hierarchies read-only (unless
    it maps users): its systemd then has no cpu controller and CPUQuota=
    changes nothing (seen on our hybrid host: CPUQuotaPerSecUSec=1s, no
    quota in any cgroup). So the container starts in cpu and cpuacct
    cgroups of its own, the root of its cgroup namespace (what its systemd
    makes stays below them, apart from the host's and other containers'),
    and remounts those hierarchies writable before systemd starts, which
    reads its controllers once. Both: systemd takes cpu and cpuacct for one
    hierarchy (they usually are), and with cpuacct read-only it removed a
    service's new cpu cgroup at once. On a cgroup v2 host this does nothing.
    """

    def __init__(self, name="deploy", cpu_quota=False):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="webhookd-%s-" % name)
        self.root = os.path.join(self.dir, "root")
        self.proc = None
        self.init_pid = None
        self.cpu_quota = cpu_quota
        self.cgroups = []  # (name, directory) of the cgroups made for it
        self.cpu_quota_why = ""  # why cpu_quota was not set up, where it was asked for

    def unpack(self, tarball):
        os.mkdir(self.root)
        subprocess.run(["tar", "-xf", tarball, "-C", self.root], check=True)

    def own_cpu_cgroups(self):
        """Cgroups of the container's own in the v1 cpu and cpuacct
        hierarchies, or none if they cannot be made."""
        hierarchies = v1_cpu_hierarchies()
        if not hierarchies:
            self.cpu_quota_why = "no cgroup v1 hierarchy holds cpu or cpuacct here (a cgroup v2 host)"
        for name, parent in hierarchies:
            path = os.path.join(parent, os.path.basename(self.dir))
            try:
                os.mkdir(path)
            except OSError as e:
                for _, made in self.cgroups:
                    os.rmdir(made)
                self.cgroups = []
                self.cpu_quota_why = "cannot make %s: %s" % (path, e)
                return False
            self.cgroups.append((name, path))
        return bool(self.cgroups)

    def join_cgroups(self):
        # In nspawn's child, before exec: its cgroup namespace starts here.
        for _, path in self.cgroups:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def boot(self):
        console = open(os.path.join(self.dir, "console.log"), "w")
        # --register=no --keep-unit: no systemd (machined) needed on the host.
        command = ["systemd-nspawn", "--register=no", "--keep-unit", "--private-network", "--quiet",
                   "-D", self.root, "--machine=webhookd-%s-%d" % (self.name, os.getpid())]
        if self.cpu_quota and self.own_cpu_cgroups():
            # What --boot does, with the remounts first.
            remount = "".join("mount -o remount,bind,rw /sys/fs/cgroup/%s && " % name for name, _ in self.cgroups)
            command += ["--kill-signal=SIGRTMIN+3", "/bin/sh", "-c", remount + "exec /lib/systemd/systemd"]
        else:
            command.insert(1, "--boot")
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=self.join_cgroups if self.cgroups else None)
        deadline = time.monotonic() + 60
        # nspawn's first child may be a helper on its way to exec systemd:
        # only a child that is systemd is the container's init.
        while self.init_pid is None and time.monotonic() < deadline:
            children = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-x", "systemd"], capture_output=True,
                                      text=True).stdout.split()
            if children:
                self.init_pid = children[0]
            elif self.proc.poll() is not None:
                raise RuntimeError("systemd-nspawn exited: " + self.console())
            time.sleep(0.1)
        if self.init_pid is None:
            raise RuntimeError("the container's init never started: " + self.console())
        # The init found above may not have opened its private bus yet: then
        # systemctl prints no state at all ("Failed to connect to bus", seen
        # on a loaded machine), and --wait does not wait for the bus. Ask again.
        deadline = time.monotonic() + 90
        while True:
            r = self.run("systemctl is-system-running --wait", check=False,
                         timeout=max(deadline - time.monotonic(), 1))
            state = r.stdout.strip()
            if state or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if state not in ("running", "degraded"):
            raise RuntimeError("the container did not boot (%s; %s): %s" % (state, r.stderr.strip(), self.console()))

    def console(self):
        with open(os.path.join(self.dir, "console.log"), errors="replace") as f:
            return f.read()[-3000:]

    def run(self, command, check=True, timeout=60, input=None):
        # Without input, stdin is empty: nothing in the container (apt's
        # prompts, dpkg's conffile questions) ever waits on the runner's.
        stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        r = subprocess.run(["nsenter", "-t", self.init_pid, "-a", "sh", "-c", command], capture_output=True, text=True,
                           timeout=timeout, **stdin)
        if check and r.returncode != 0:
            raise AssertionError("in the container, `%s` exited %d:\n%s%s" % (command, r.returncode, r.stdout, r.stderr))
        return r

    def write(self, path, text):
        self.run("cat > %s" % path, input=text)

    def destroy(self):
        if self.proc and self.proc.poll() is None:
            # nspawn asks the container's systemd to power off on SIGTERM.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
        for _, path in self.cgroups:
            remove_cgroup_tree(path)

